package errkind

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOf(t *testing.T) {
	cause := errors.New("disk on fire")
	tests := []struct {
		name string
		err  error
		kind Kind
		msg  string
	}{
		{"plain", errors.New("x"), Other, ""},
		{"direct", E(NotFound, "vault %q not found", "v1"), NotFound, `vault "v1" not found`},
		{"wrapped by fmt", fmt.Errorf("loading: %w", E(Conflict, "taken")), Conflict, "taken"},
		{"with cause", Wrap(Unavailable, cause, "database unavailable"), Unavailable, "database unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := Message(tt.err); got != tt.msg {
				t.Errorf("Message = %q, want %q", got, tt.msg)
			}
		})
	}
	if !errors.Is(Wrap(Unavailable, cause, "x"), cause) {
		t.Error("Wrap does not unwrap to its cause")
	}
}

func TestKindString(t *testing.T) {
	for k := Other; k <= Internal; k++ {
		if s := k.String(); s == "" || s[0] == 'k' {
			t.Errorf("Kind %d has no name: %q", k, s)
		}
	}
	if got := Kind(200).String(); got != "kind(200)" {
		t.Errorf("unknown kind = %q", got)
	}
}
