package rbac

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.KeyVault/vaults/write", true},
		{"*", "", true},
		{"*/read", "Microsoft.KeyVault/vaults/read", true},
		{"*/read", "Microsoft.KeyVault/vaults/secrets/read", true},
		{"*/read", "Microsoft.KeyVault/vaults/READ", true},
		{"*/read", "Microsoft.KeyVault/vaults/write", false},
		{"*/read", "Microsoft.KeyVault/vaults/readSomething", false},
		{"*/read", "read", false},
		{"Microsoft.Authorization/*", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*", "microsoft.authorization/elevateAccess/action", true},
		{"Microsoft.Authorization/*", "Microsoft.AuthorizationX/locks/write", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/locks/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/policyAssignments/privateLinkAssociations/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/locks/read", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/write", false}, // the star sits between two slashes
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/roleAssignments/delete", true},
		{"Microsoft.Subscription/cancel/action", "MICROSOFT.SUBSCRIPTION/CANCEL/ACTION", true},
		{"Microsoft.Subscription/cancel/action", "Microsoft.Subscription/cancel/actions", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"a*bc*bc", "abcbc", true},
		{"a*a", "a", false},
		{"**", "x", true},
		{"", "", true},
		{"", "x", false},
		{"K", "\u212a", false}, // Kelvin sign: ASCII folding only
	} {
		if got := Match(tt.pattern, tt.action); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

// matchTable is the reference matcher: the textbook dynamic programme
// over (pattern prefix, action prefix), with ASCII case folding.
func matchTable(pattern, action string) bool {
	p, s := lowerASCII(pattern), lowerASCII(action)
	// ok[j]: pattern[:i] matches s[:j], for the current i.
	ok := make([]bool, len(s)+1)
	ok[0] = true
	for i := 0; i < len(p); i++ {
		next := make([]bool, len(s)+1)
		if p[i] == '*' {
			seen := false
			for j := 0; j <= len(s); j++ {
				seen = seen || ok[j]
				next[j] = seen
			}
		} else {
			for j := 1; j <= len(s); j++ {
				next[j] = ok[j-1] && s[j-1] == p[i]
			}
		}
		ok = next
	}
	return ok[len(s)]
}

// matchRegexp is a second reference: the pattern as an anchored regular
// expression. It needs valid UTF-8.
func matchRegexp(pattern, action string) bool {
	parts := strings.Split(lowerASCII(pattern), "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile(`^(?s:` + strings.Join(parts, ".*") + `)$`)
	return re.MatchString(lowerASCII(action))
}

func FuzzMatch(f *testing.F) {
	for _, d := range builtIns {
		for _, p := range append(append([]string{}, d.Actions...), d.NotActions...) {
			f.Add(p, "Microsoft.Authorization/roleAssignments/write")
			f.Add(p, "Microsoft.KeyVault/vaults/read")
		}
	}
	f.Add("a*b*c", "aXbYbc")
	f.Add("*a*a*a*a*", "aaaa")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		got := Match(pattern, action)
		if want := matchTable(pattern, action); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference (table) says %v", pattern, action, got, want)
		}
		if utf8.ValidString(pattern) && utf8.ValidString(action) {
			if want := matchRegexp(pattern, action); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference (regexp) says %v", pattern, action, got, want)
			}
		}
		// A pattern with no star is an ASCII-case-insensitive equality.
		if !strings.Contains(pattern, "*") && got != (lowerASCII(pattern) == lowerASCII(action)) {
			t.Fatalf("Match(%q, %q) = %v, not equality", pattern, action, got)
		}
	})
}
