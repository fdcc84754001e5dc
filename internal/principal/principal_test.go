package principal

import "testing"

func TestValidID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{NewID(), true},
		{"0b7f1e7c-3a9c-4c1a-9a55-1b2c3d4e5f60", true},
		{"0B7F1E7C-3A9C-4C1A-9A55-1B2C3D4E5F60", false}, // not canonical
		{"{0b7f1e7c-3a9c-4c1a-9a55-1b2c3d4e5f60}", false},
		{"", false},
		{"admin", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.in); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestKindValid(t *testing.T) {
	for _, k := range []Kind{User, ServicePrincipal, ManagedIdentity} {
		if !k.Valid() {
			t.Errorf("%s not valid", k)
		}
	}
	if Kind("Group").Valid() {
		t.Error("Group valid")
	}
}
