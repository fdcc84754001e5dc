package identity

import (
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/sensitive"
)

func TestPasswordHashFormat(t *testing.T) {
	p := Argon2Params{Memory: 64, Time: 1, Threads: 1}
	h, err := hashPassword(sensitive.New("pw-123456789"), p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "pw-123456789") {
		t.Fatalf("hash = %s", h)
	}
	if ok, err := verifyPassword(sensitive.New("pw-123456789"), h); !ok || err != nil {
		t.Errorf("verify right password = %v, %v", ok, err)
	}
	if ok, _ := verifyPassword(sensitive.New("pw-123456780"), h); ok {
		t.Error("wrong password verified")
	}
	h2, _ := hashPassword(sensitive.New("pw-123456789"), p)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
}

func TestParsePHCRejects(t *testing.T) {
	for _, bad := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 95 GiB
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFz",
	} {
		if _, _, _, err := parsePHC(bad); err == nil {
			t.Errorf("parsePHC(%q) accepted", bad)
		}
	}
}
