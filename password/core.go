package password

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The core of a password is what is left of its guessable part once the
// usual disguises are undone: "P@ssw0rd2024!" and "Welcome1!" are
// "password" and "welcome" dressed up to pass the composition rules. The
// policy checks the cores of a password against the common-password list
// and the context words (see Policy.Check).
//
// A core is found in three steps, on the NFKC-normalised, case-folded
// password:
//
//  1. The ends are stripped: everything before the first letter and after
//     the last one (digits, symbols, spaces). Up to maxEdge characters of
//     the substitution table next to the letters may also stay in the core,
//     so that "@dmin" and "1loveyou" are found; each choice is one core.
//  2. Inside the core, the characters of the table are replaced by the
//     letter they stand for (leet).
//  3. '1' stands for i or l: with at most maxAmbiguous of them, every mix
//     is tried; with more, all i and all l. A password has at most
//     (maxEdge+1)² choices of ends × (1 + 2^maxAmbiguous) = 81 cores, so
//     the check stays cheap whatever is typed.
//
// Cores shorter than minCoreRunes are not checked: a short word plus
// digits and symbols ("Abc" in "Abc-2024-xyz!" is not a core, "Abc" in
// "Abc12345!" is) would otherwise make many passwords fail on a
// three-letter word that is on the list; such passwords already need
// four other characters to reach 8, and the whole password is still
// checked as typed.

// leet is the substitution table: a character and the letters it may
// stand for.
var leet = map[rune]string{
	'0': "o", '1': "il", '3': "e", '4': "a", '5': "s", '7': "t", '8': "b",
	'@': "a", '$': "s", '!': "i",
}

const (
	// minCoreRunes is the shortest core that is checked.
	minCoreRunes = 4
	// maxEdge is how many table characters before the first letter, and
	// after the last, a core may keep.
	maxEdge = 2
	// maxAmbiguous is how many '1's are tried in every mix of i and l.
	maxAmbiguous = 3
)

// cores returns the distinct cores of the folded password, as typed
// (between its ends) and with the table's substitutions, each at least
// minCoreRunes long; nil when it has no letter.
func cores(folded string) []string {
	rs := []rune(folded)
	first, last := -1, -1
	for i, r := range rs {
		if unicode.IsLetter(r) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for lo := first; lo >= 0 && first-lo <= maxEdge; lo-- {
		if _, ok := leet[rs[lo]]; lo < first && !ok {
			break
		}
		for hi := last; hi < len(rs) && hi-last <= maxEdge; hi++ {
			if _, ok := leet[rs[hi]]; hi > last && !ok {
				break
			}
			core := rs[lo : hi+1]
			if len(core) < minCoreRunes {
				continue
			}
			add(string(core))
			for _, v := range unleet(core) {
				add(v)
			}
		}
	}
	return out
}

// unleet returns core with the table's substitutions made, one string
// per mix of the letters that '1' may stand for; nil when core has no
// character of the table.
func unleet(core []rune) []string {
	base := make([]rune, len(core))
	var ambiguous []int
	for i, r := range core {
		sub, ok := leet[r]
		if !ok {
			base[i] = r
			continue
		}
		base[i] = rune(sub[0])
		if len(sub) > 1 {
			ambiguous = append(ambiguous, i)
		}
	}
	if string(base) == string(core) {
		return nil
	}
	with := func(pick func(bit int) bool) string {
		v := append([]rune(nil), base...)
		for bit, i := range ambiguous {
			if pick(bit) {
				v[i] = rune(leet[core[i]][1])
			}
		}
		return string(v)
	}
	if len(ambiguous) > maxAmbiguous {
		return []string{string(base), with(func(int) bool { return true })}
	}
	out := make([]string, 0, 1<<len(ambiguous))
	for mask := 0; mask < 1<<len(ambiguous); mask++ {
		out = append(out, with(func(bit int) bool { return mask&(1<<bit) != 0 }))
	}
	return out
}

// letters returns s with everything but letters removed, so that cores
// and context words compare without their separators ("alice.smith",
// "Alice Smith", "alice-smith").
func letters(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, s)
}

// contextWords returns the words that a core may not be, from the given
// texts (names, codes, the local part of an email): each text as a whole
// and each of its runs of letters, NFKC-normalised, folded and without
// separators, when at least minCoreRunes long.
func contextWords(texts ...string) []string {
	var out []string
	add := func(w string) {
		if utf8.RuneCountInString(w) >= minCoreRunes {
			out = append(out, w)
		}
	}
	for _, t := range texts {
		t, err := Normalize(t)
		if err != nil {
			continue // longer than any password
		}
		t = fold(t)
		add(letters(t))
		for _, w := range strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) }) {
			add(w)
		}
	}
	return out
}

// coreIsWord reports whether one of cs, without its separators, is one of
// words.
func coreIsWord(cs, words []string) bool {
	for _, c := range cs {
		c = letters(c)
		for _, w := range words {
			if c == w {
				return true
			}
		}
	}
	return false
}

// coreIsCommon reports whether one of cs is on the common-password list.
func coreIsCommon(cs []string) bool {
	for _, c := range cs {
		if isCommonFolded(c) {
			return true
		}
	}
	return false
}
