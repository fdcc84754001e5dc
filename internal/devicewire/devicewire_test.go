package devicewire

import (
	"bytes"
	"errors"
	"testing"
)

var testCIK = bytes.Repeat([]byte{7}, CIKSize)

func TestSecretRoundTripAndBinding(t *testing.T) {
	sealed, err := SealSecret(testCIK, "/subscriptions/s/r", "BMCDefaultUserPassword", "push-1", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := OpenSecret(testCIK, "/subscriptions/s/r", "BMCDefaultUserPassword", "push-1", sealed); err != nil || string(pt) != "hunter2" {
		t.Fatalf("OpenSecret = %q, %v", pt, err)
	}
	other := bytes.Repeat([]byte{8}, CIKSize)
	for name, open := range map[string]func() ([]byte, error){
		"other resource": func() ([]byte, error) {
			return OpenSecret(testCIK, "/subscriptions/s/x", "BMCDefaultUserPassword", "push-1", sealed)
		},
		"other name": func() ([]byte, error) {
			return OpenSecret(testCIK, "/subscriptions/s/r", "SystemVolumeBitLockerRecoveryKey", "push-1", sealed)
		},
		"other push": func() ([]byte, error) {
			return OpenSecret(testCIK, "/subscriptions/s/r", "BMCDefaultUserPassword", "push-2", sealed)
		},
		"other key": func() ([]byte, error) {
			return OpenSecret(other, "/subscriptions/s/r", "BMCDefaultUserPassword", "push-1", sealed)
		},
		"flipped bit": func() ([]byte, error) {
			b := bytes.Clone(sealed)
			b[len(b)/2] ^= 1
			return OpenSecret(testCIK, "/subscriptions/s/r", "BMCDefaultUserPassword", "push-1", b)
		},
		"truncated": func() ([]byte, error) {
			return OpenSecret(testCIK, "/subscriptions/s/r", "BMCDefaultUserPassword", "push-1", sealed[:10])
		},
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestCIKRoundTripAndBinding(t *testing.T) {
	k, pub, err := GenerateHPKEKey()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := SealCIK(pub, "/subscriptions/s/r", "key-1", testCIK)
	if err != nil {
		t.Fatal(err)
	}
	if cik, err := OpenCIK(k, "/subscriptions/s/r", "key-1", sealed); err != nil || !bytes.Equal(cik, testCIK) {
		t.Fatalf("OpenCIK = %x, %v", cik, err)
	}
	if _, err := OpenCIK(k, "/subscriptions/s/r", "key-2", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("another key id: %v, want ErrOpen", err)
	}
	b := bytes.Clone(sealed)
	b[5] ^= 0x80
	if _, err := OpenCIK(k, "/subscriptions/s/r", "key-1", b); !errors.Is(err, ErrOpen) {
		t.Errorf("flipped bit: %v, want ErrOpen", err)
	}
	if _, err := SealCIK([]byte("short"), "/subscriptions/s/r", "key-1", testCIK); err == nil {
		t.Error("SealCIK accepted a malformed public key")
	}
}

// FuzzOpenSecret: the sealed-secret decoder, fed anything a device or the
// network could send, never panics and opens only what was sealed.
func FuzzOpenSecret(f *testing.F) {
	sealed, _ := SealSecret(testCIK, "r", "n", "m", []byte("value"))
	f.Add(sealed, "r", "n", "m")
	f.Add([]byte{}, "", "", "")
	f.Add(bytes.Repeat([]byte{0}, 40), "r", "n", "m")
	f.Fuzz(func(t *testing.T, blob []byte, resource, name, message string) {
		pt, err := OpenSecret(testCIK, resource, name, message, blob)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("error %v is not ErrOpen", err)
			}
			return
		}
		// Only the seed was sealed under testCIK, for r/n/m: nothing else
		// may open (the seed itself is re-sealed per process, so compare
		// what it binds rather than its bytes).
		if resource != "r" || name != "n" || message != "m" || string(pt) != "value" {
			t.Fatalf("forged blob opened to %q", pt)
		}
	})
}

// FuzzOpenCIK: HPKE-sealed CIKs from a hostile server never panic the
// agent.
func FuzzOpenCIK(f *testing.F) {
	k, pub, err := GenerateHPKEKey()
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := SealCIK(pub, "r", "k", testCIK)
	f.Add(sealed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, blob []byte) {
		cik, err := OpenCIK(k, "r", "k", blob)
		if err == nil && !bytes.Equal(cik, testCIK) {
			t.Fatal("a forged CIK opened")
		}
	})
}
