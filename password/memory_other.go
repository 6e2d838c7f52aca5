//go:build !unix

package password

// hashMemory returns memory for n blocks that the Hasher keeps for its
// next hashes (from the heap where there is no mmap).
func hashMemory(n int) []block { return make([]block, n) }

// unmapHashMemory leaves heap memory to the collector.
func unmapHashMemory([]block) {}
