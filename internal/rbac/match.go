package rbac

import "strings"

// Match reports whether an action such as
// "Microsoft.KeyVault/vaults/write" matches a permission pattern of a role
// definition such as "*/read" or "Microsoft.Authorization/*".
//
// Matching follows Azure RBAC's rules (reference/edge-arm.md §3.14):
//   - it is case-insensitive, because Azure's own built-in roles spell the
//     same verb "Write" and "write";
//   - '*' matches any run of characters, '/' included, so "*/read" matches
//     every read action of every provider and "Microsoft.Authorization/*"
//     every action of that provider, however deep;
//   - every other character matches itself; the whole action must match.
//
// Case folding is ASCII only: action names are ASCII, and folding Unicode
// would let a look-alike letter match where Azure would not.
func Match(pattern, action string) bool {
	return compilePattern(pattern).match(action)
}

// pattern is a compiled action pattern: the literal pieces between the
// stars, lower-cased. One piece means the pattern has no star.
type pattern struct {
	parts []string
}

func compilePattern(p string) pattern {
	return pattern{parts: strings.Split(lowerASCII(p), "*")}
}

// match anchors the first piece at the start and the last at the end, then
// finds the middle pieces left to right; taking the leftmost occurrence of
// each is never wrong, because a star can absorb whatever it skips.
func (p pattern) match(s string) bool {
	if len(p.parts) == 1 {
		return equalFoldASCII(s, p.parts[0])
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(s) < len(first)+len(last) ||
		!equalFoldASCII(s[:len(first)], first) || !equalFoldASCII(s[len(s)-len(last):], last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := indexFoldASCII(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}

// matchAny reports whether any of ps matches s.
func matchAny(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// equalFoldASCII reports whether s equals lower, a lower-cased string,
// ignoring ASCII case in s.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// indexFoldASCII returns the first index of lower (lower-cased) in s,
// ignoring ASCII case in s, or -1. Actions are short: the simple loop is
// faster than anything cleverer at these sizes.
func indexFoldASCII(s, lower string) int {
	for i := 0; i+len(lower) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(lower)], lower) {
			return i
		}
	}
	return -1
}
