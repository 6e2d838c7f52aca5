package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswords holds 49,233 common passwords, most frequent first, one per
// line, all lower-case ASCII. Its source and licence are in
// COMMON-PASSWORDS-LICENSE. The whole list is used, not the top 10,000: the
// tail holds passwords that pass composition rules, such as "iloveyou!"
// (rank 19,167) and "pa$$w0rd" (rank 35,375), and the set is small: about
// 1.7 MB of heap, built in about 10 ms on first use (BenchmarkLoadCommon).
//
//go:embed common-passwords.txt
var commonPasswords string

// commonSet is the set of folded common passwords, built on first use. Its
// keys are substrings of commonPasswords where no folding is needed, so only
// the map itself is allocated.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	return loadCommon(commonPasswords)
})

// loadCommon builds the set of the non-empty lines of list, case-folded.
func loadCommon(list string) map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(list, "\n")+1)
	for line := range strings.Lines(list) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !isFoldedASCII(line) {
			line = fold(line)
		}
		set[line] = struct{}{}
	}
	return set
}

// isFoldedASCII reports whether s has no upper-case or non-ASCII byte, so
// that fold(s) == s.
func isFoldedASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// IsCommon reports whether password, normalised to NFKC and ignoring case,
// is on the built-in list of common passwords. A password that Normalize
// refuses is not on it.
func IsCommon(password string) bool {
	pw, err := Normalize(password)
	if err != nil {
		return false
	}
	return isCommonFolded(fold(pw))
}

// isCommonFolded reports whether the normalised, folded password is common.
func isCommonFolded(folded string) bool {
	_, ok := commonSet()[folded]
	return ok
}
