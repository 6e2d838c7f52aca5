//go:build race

package main

// largeImport is the size of the large-import test: the race detector
// makes the embedded SQLite about fifty times slower.
const largeImport = 10000
