package envelope

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAADEncoding(t *testing.T) {
	tests := []struct {
		parts []string
		want  []byte
	}{
		{nil, []byte{}},
		{[]string{""}, []byte{0}},
		{[]string{"ab", "c"}, []byte{2, 'a', 'b', 1, 'c'}},
		{[]string{string(make([]byte, 200))}, append([]byte{0xc8, 0x01}, make([]byte, 200)...)},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, AAD(tt.parts...)); diff != "" {
			t.Errorf("AAD(%q) mismatch (-want +got):\n%s", tt.parts, diff)
		}
	}
}

// TestAADInjective checks that part boundaries matter: no two of these
// sequences, which concatenate to similar strings, encode alike.
func TestAADInjective(t *testing.T) {
	seqs := [][]string{
		{},
		{""},
		{"", ""},
		{"abc"},
		{"ab", "c"},
		{"a", "bc"},
		{"a", "b", "c"},
		{"abc", ""},
		{"", "abc"},
		{"a|b", "c"},
		{"a", "b|c"},
		{"\x01a"},
		{"", "a"},
	}
	seen := make(map[string][]string)
	for _, s := range seqs {
		enc := string(AAD(s...))
		if prev, ok := seen[enc]; ok {
			t.Errorf("AAD(%q) == AAD(%q)", s, prev)
		}
		seen[enc] = s
	}
}
