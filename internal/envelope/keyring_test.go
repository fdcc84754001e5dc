package envelope

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/google/go-cmp/cmp"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := newFixture(t).keyring(t)
	big := make([]byte, 1<<20)
	rand.Read(big)
	tests := []struct {
		name      string
		aad       []byte
		plaintext []byte
	}{
		{"empty value", AAD("secret", "v", "n", "1"), nil},
		{"one byte", AAD("secret", "v", "n", "1"), []byte{0}},
		{"text", AAD("secret", "v", "n", "1"), []byte("correct horse battery staple")},
		{"no aad", nil, []byte("x")},
		{"1 MiB", AAD("blob", "v", "n", "1"), big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blob, err := k.Seal(t.Context(), "vault", tt.aad, tt.plaintext)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if got, want := len(blob), len(tt.plaintext)+90; got != want {
				t.Errorf("blob of %d bytes, want %d (see the package doc)", got, want)
			}
			if v := blobVersion(t, blob); v != 1 {
				t.Errorf("KEK version = %d, want 1", v)
			}
			if bytes.Contains(blob, tt.plaintext) && len(tt.plaintext) > 4 {
				t.Error("blob contains the plaintext")
			}
			got, err := k.Open(t.Context(), "vault", tt.aad, blob)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %d bytes, want %d", len(got), len(tt.plaintext))
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	k := newFixture(t).keyring(t)
	a, b := seal(t, k, "vault", "n"), seal(t, k, "vault", "n")
	if bytes.Equal(a.blob, b.blob) {
		t.Error("two Seals of one value produced the same blob")
	}
}

// TestOpenRejectsMismatch moves a blob to other coordinates, and damages it.
func TestOpenRejectsMismatch(t *testing.T) {
	ctx := t.Context()
	k := newFixture(t).keyring(t)
	v := seal(t, k, "vault-a", "db-password")
	other := seal(t, k, "vault-b", "db-password") // vault-b has a KEK too
	sibling := seal(t, k, "vault-a", "api-key")

	// A wrapped DEK lifted from another blob of the same scope.
	spliced := append(bytes.Clone(sibling.blob[:2+wrappedKeySize]), v.blob[2+wrappedKeySize:]...)
	tests := []struct {
		name  string
		scope string
		aad   []byte
		blob  []byte
	}{
		{"other object name", "vault-a", AAD("secret", "vault-a", "api-key", "1"), v.blob},
		{"other object version", "vault-a", AAD("secret", "vault-a", "db-password", "2"), v.blob},
		{"other part boundaries", "vault-a", AAD("secret", "vault-a", "db-", "password1"), v.blob},
		{"no aad", "vault-a", nil, v.blob},
		{"other scope with a KEK", "vault-b", v.aad, v.blob},
		{"other scope with the other AAD", "vault-b", other.aad, v.blob},
		{"scope without a KEK", "vault-c", v.aad, v.blob},
		{"spliced wrapped DEK", "vault-a", v.aad, spliced},
		{"empty blob", "vault-a", v.aad, nil},
		{"unknown format", "vault-a", v.aad, append([]byte{2}, v.blob[1:]...)},
		{"KEK version 0", "vault-a", v.aad, append([]byte{1, 0}, v.blob[2:]...)},
		{"unknown KEK version", "vault-a", v.aad, append([]byte{1, 7}, v.blob[2:]...)},
		{"non-canonical KEK version", "vault-a", v.aad, append([]byte{1, 0x81, 0}, v.blob[2:]...)},
		{"KEK version too large", "vault-a", v.aad, append([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x08}, v.blob[2:]...)},
		{"overlong varint", "vault-a", v.aad, bytes.Repeat([]byte{1, 0xff}, 20)},
		{"header only", "vault-a", v.aad, v.blob[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(ctx, tt.scope, tt.aad, tt.blob)
			checkDecryptError(t, got, err, v.plaintext)
		})
	}
}

// checkDecryptError checks that err is an ErrDecrypt of kind Invalid that
// does not disclose plaintext.
func checkDecryptError(t *testing.T, got []byte, err error, plaintext []byte) {
	t.Helper()
	if err == nil {
		t.Fatalf("Open succeeded with %q", got)
	}
	if !errors.Is(err, ErrDecrypt) {
		t.Errorf("error %v is not ErrDecrypt", err)
	}
	if k := errkind.KindOf(err); k != errkind.Invalid {
		t.Errorf("kind = %v, want %v", k, errkind.Invalid)
	}
	if strings.Contains(err.Error(), string(plaintext)) {
		t.Errorf("error %q discloses the plaintext", err)
	}
}

// TestOpenRejectsTampering changes every bit position class of every byte,
// truncates at every length and appends a byte: all fail.
func TestOpenRejectsTampering(t *testing.T) {
	ctx := t.Context()
	k := newFixture(t).keyring(t)
	v := seal(t, k, "vault", "n")
	for i := range v.blob {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(v.blob)
			b[i] ^= bit
			got, err := k.Open(ctx, v.scope, v.aad, b)
			if err == nil || !errors.Is(err, ErrDecrypt) {
				t.Fatalf("byte %d ^ %#x: Open = %q, %v; want ErrDecrypt", i, bit, got, err)
			}
		}
	}
	for n := range len(v.blob) {
		if _, err := k.Open(ctx, v.scope, v.aad, v.blob[:n]); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrDecrypt", n, err)
		}
	}
	if _, err := k.Open(ctx, v.scope, v.aad, append(bytes.Clone(v.blob), 0)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("extended: err = %v, want ErrDecrypt", err)
	}
}

func TestEmptyScope(t *testing.T) {
	k := newFixture(t).keyring(t)
	if _, err := k.Seal(t.Context(), "", nil, []byte("x")); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("Seal: err = %v, want kind Invalid", err)
	}
	if _, err := k.Open(t.Context(), "", nil, []byte("x")); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("Open: err = %v, want kind Invalid", err)
	}
	if _, err := k.RotateKEK(t.Context(), ""); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("RotateKEK: err = %v, want kind Invalid", err)
	}
}

func TestRotateKEK(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	k := f.keyring(t)
	var vals []sealed
	for want := 1; want <= 3; want++ {
		v := seal(t, k, "vault", fmt.Sprint("n", want))
		if got := blobVersion(t, v.blob); got != want {
			t.Fatalf("blob sealed after %d rotations uses KEK version %d", want-1, got)
		}
		vals = append(vals, v)
		if got, err := k.RotateKEK(ctx, "vault"); err != nil || got != want+1 {
			t.Fatalf("RotateKEK = %d, %v; want %d", got, err, want+1)
		}
	}
	openAll(t, k, vals)
	openAll(t, f.keyring(t), vals) // cold cache
	var versions []int
	for _, r := range f.store.all() {
		versions = append(versions, r.Version)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4}, versions); diff != "" {
		t.Errorf("stored versions (-want +got):\n%s", diff)
	}
}

// TestCurrentTTL checks that a replica picks up another's KEK rotation:
// for Open at once, for Seal after CurrentTTL.
func TestCurrentTTL(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	a, b := f.keyring(t), f.keyring(t)
	seal(t, a, "vault", "n")
	if _, err := b.RotateKEK(ctx, "vault"); err != nil {
		t.Fatal(err)
	}
	if v := blobVersion(t, seal(t, a, "vault", "n").blob); v != 1 {
		t.Errorf("within TTL: version %d, want cached 1", v)
	}
	f.clock.Advance(DefaultCurrentTTL)
	if v := blobVersion(t, seal(t, a, "vault", "n").blob); v != 2 {
		t.Errorf("after TTL: version %d, want 2", v)
	}
	if _, err := b.RotateKEK(ctx, "vault"); err != nil {
		t.Fatal(err)
	}
	openAll(t, a, []sealed{seal(t, b, "vault", "n")}) // version 3, unknown to a's cache
	if v := blobVersion(t, seal(t, a, "vault", "n").blob); v != 3 {
		t.Errorf("after Open of version 3: version %d, want 3", v)
	}
}

// TestConcurrentFirstSeal seals in a fresh scope from many goroutines in two
// processes at once: one version 1 survives and every blob opens.
func TestConcurrentFirstSeal(t *testing.T) {
	f := newFixture(t)
	ks := []*Keyring{f.keyring(t), f.keyring(t)}
	const n = 16
	vals := make([]sealed, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			vals[i].scope, vals[i].aad, vals[i].plaintext = "vault", AAD(fmt.Sprint(i)), []byte(fmt.Sprint("v", i))
			vals[i].blob, errs[i] = ks[i%2].Seal(t.Context(), "vault", vals[i].aad, vals[i].plaintext)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if rows := f.store.all(); len(rows) != 1 || rows[0].Version != 1 {
		t.Fatalf("store holds %d rows, want one version 1", len(rows))
	}
	openAll(t, ks[0], vals)
	openAll(t, ks[1], vals)
}

// TestInsertRaceAdoptsWinner makes another replica create the KEK version
// between this one's read and its insert, deterministically.
func TestInsertRaceAdoptsWinner(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	fs := &faultStore{Store: f.store}
	a := f.keyring(t, func(c *Config) { c.Store = fs })
	b := f.keyring(t)

	var fromB sealed
	fs.beforeInsert = func() { fromB = seal(t, b, "vault", "b") }
	fromA := seal(t, a, "vault", "a")
	if len(f.store.all()) != 1 {
		t.Fatalf("store holds %d rows, want 1", len(f.store.all()))
	}
	openAll(t, a, []sealed{fromA, fromB})
	openAll(t, b, []sealed{fromA, fromB})

	fs.beforeInsert = func() {
		if _, err := b.RotateKEK(ctx, "vault"); err != nil {
			t.Error(err)
		}
	}
	if v, err := a.RotateKEK(ctx, "vault"); err != nil || v != 2 {
		t.Fatalf("racing RotateKEK = %d, %v; want adopted version 2", v, err)
	}
	if len(f.store.all()) != 2 {
		t.Errorf("store holds %d rows, want 2", len(f.store.all()))
	}
}

func TestStoreAndRandErrors(t *testing.T) {
	f := newFixture(t)
	down := errkind.E(errkind.Unavailable, "database is down")
	broken := f.keyring(t, func(c *Config) { c.Store = &faultStore{Store: f.store, failKEKs: down} })
	if _, err := broken.Seal(t.Context(), "vault", nil, []byte("x")); !errors.Is(err, down) || errkind.KindOf(err) != errkind.Unavailable {
		t.Errorf("Seal with store down: err = %v, want the store's Unavailable error", err)
	}
	noRand := f.keyring(t, func(c *Config) { c.Rand = io.LimitReader(rand.Reader, 0) })
	if _, err := noRand.Seal(t.Context(), "vault", nil, []byte("x")); errkind.KindOf(err) != errkind.Unavailable {
		t.Errorf("Seal without randomness: err = %v, want kind Unavailable", err)
	}
}

func benchmarkKeyring(b *testing.B) (*Keyring, []byte, []byte) {
	k := newFixture(b).keyring(b)
	value := make([]byte, 1024)
	rand.Read(value)
	aad := AAD("secret", "vault", "name", "1")
	if _, err := k.Seal(b.Context(), "vault", aad, value); err != nil { // create the KEK
		b.Fatal(err)
	}
	return k, aad, value
}

func BenchmarkSeal(b *testing.B) {
	k, aad, value := benchmarkKeyring(b)
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := k.Seal(b.Context(), "vault", aad, value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k, aad, value := benchmarkKeyring(b)
	blob, err := k.Seal(b.Context(), "vault", aad, value)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := k.Open(b.Context(), "vault", aad, blob); err != nil {
			b.Fatal(err)
		}
	}
}
