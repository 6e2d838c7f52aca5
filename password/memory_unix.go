//go:build unix

package password

import (
	"syscall"
	"unsafe"
)

// hashMemory returns memory for n blocks that the Hasher keeps for its
// next hashes. It is mapped from the system outside the garbage-collected
// heap: kept in the heap, it would count as live data and let the
// collector's goal grow by as much again (GOGC), for memory that is never
// garbage. It is never unmapped; the Hasher keeps at most one per slot.
func hashMemory(n int) []block {
	b, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(block{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]block, n)
	}
	return unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
