//go:build !race

package main

// largeImport is the size of the large-import test.
const largeImport = 100000
