package dnsname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name        string
		label, full bool
	}{
		{"localhost", true, true},
		{"edge.example.com", false, true},
		{"a-b", true, true},
		{"-ab", false, false},
		{"ab-", false, false},
		{"", false, false},
		{"Upper", false, false},
		{"under_score", false, false},
		{"\u212aelvin", false, false}, // Kelvin sign
		{"127.0.0.1", false, false},
		{"a..b", false, false},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), false, false},
		{strings.Repeat("a.", 127) + "a", false, false}, // 255 chars
	}
	for _, tt := range tests {
		if got := ValidLabel(tt.name); got != tt.label {
			t.Errorf("ValidLabel(%q) = %v", tt.name, got)
		}
		if got := ValidName(tt.name); got != tt.full {
			t.Errorf("ValidName(%q) = %v", tt.name, got)
		}
	}
}
