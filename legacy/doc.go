// Package legacy brings in the users of the product that sekisho replaces.
//
// A Reader reads an import file (CSV with a header row, or JSON Lines) one
// record at a time and reports each line it cannot import as a *LineError,
// so that `sekisho legacy import --file F` can list every bad line in one
// run. Detect checks, at import time, that a user's password hash is in one
// of the formats the old product wrote; Verify checks a password against
// such a hash at sign-in, after which the caller replaces it with a
// hash of its own.
package legacy
