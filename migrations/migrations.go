// Package migrations holds sekisho's versioned SQL schema, one folder per
// dialect (sqlite/, postgres/), embedded in the binary and applied with
// goose. Files are named NNNNN_what.sql; every version exists in both
// folders so the two schemas stay in step.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

// FS holds the migrations of every dialect, each under its own folder.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS

// Dialect returns the migrations of one dialect ("sqlite" or "postgres")
// with the files at the root, as goose expects them.
func Dialect(name string) (fs.FS, error) {
	switch name {
	case "sqlite", "postgres":
		return fs.Sub(FS, name)
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", name)
	}
}
