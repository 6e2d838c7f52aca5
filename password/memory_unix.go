//go:build unix

package password

import (
	"syscall"
	"unsafe"
)

// hashMemory returns memory for n blocks that the Hasher keeps for its
// next hashes, or nil when the system has none to give. It is mapped
// outside the garbage-collected heap: kept in the heap, it would count as
// live data and let the collector's goal grow by as much again (GOGC),
// for memory that is never garbage. The Hasher keeps at most one per
// slot, and unmaps them when it is itself collected (unmapHashMemory).
func hashMemory(n int) []block {
	b, err := syscall.Mmap(-1, 0, n*blockBytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// unmapHashMemory gives memory of hashMemory back to the system; nothing
// may use it after.
func unmapHashMemory(m []block) {
	if cap(m) > 0 {
		_ = syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m))), cap(m)*blockBytes))
	}
}
