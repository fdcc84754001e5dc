package secret_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/store"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz/FuzzRestore")

// The fuzz service is deterministic: a fixed root key and a seeded random
// source seal fixed records in a fixed order, so the valid blob in
// testdata/fuzz/FuzzRestore is the same in every run. The fuzzer mutates a
// real backup, and TestRestoreSeeds doubles as a golden test that blobs
// written by earlier versions of the package still restore.

// lockedReader makes a deterministic source safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

var fuzzVault = secret.Vault{UID: "f0000000-0000-0000-0000-000000000000", TenantID: "7e000000-0000-0000-0000-000000000000"}

// fuzzService returns the deterministic service and the backup blob of a
// secret with three versions.
func fuzzService(t testing.TB) (*secret.Service, []byte) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root := make([]byte, 32)
	for i := range root {
		root[i] = byte(i)
	}
	path := filepath.Join(dir, "root.key")
	if err := os.WriteFile(path, root, 0o600); err != nil {
		t.Fatal(err)
	}
	src := &lockedReader{r: rand.NewChaCha8([32]byte{'s', 'e', 'c', 'r', 'e', 't'})}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	kr, err := envelope.New(envelope.Config{RootKeyFile: path, Store: st, Rand: src, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := secret.New(secret.Config{Store: st, Sealer: kr, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	source := secret.Vault{UID: "50000000-0000-0000-0000-000000000000", TenantID: fuzzVault.TenantID}
	for i, value := range []string{"", "hello", strings.Repeat("x", 300)} {
		version := fmt.Sprintf("%032x", i+1)
		// The AAD of secret values (package secret's valueAAD): vault,
		// lower-cased name, version.
		sealed, err := kr.Seal(ctx, secret.Scope(source.UID), envelope.AAD("secret", source.UID, "fuzz-secret", version), []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		r := secret.Record{VaultUID: source.UID, Name: "Fuzz-Secret", Version: version, Sealed: sealed,
			Props: secret.Properties{Enabled: i != 1, ContentType: "text/plain", Tags: map[string]string{"i": strconv.Itoa(i)},
				Expires: at.Add(time.Duration(i) * time.Hour)},
			Created: at.Add(time.Duration(i) * time.Second), Updated: at.Add(time.Duration(i) * time.Second)}
		if _, err := st.InsertSecretVersion(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	blob, err := svc.Backup(ctx, source, "fuzz-secret")
	if err != nil {
		t.Fatal(err)
	}
	return svc, blob
}

// malformedBackups are parser edge cases, kept in the corpus.
var malformedBackups = map[string][]byte{
	"empty":        {},
	"magic-only":   []byte("EVSB\x01"),
	"format-2":     []byte("EVSB\x02\x01"),
	"azure-prefix": append([]byte{0x29}, "AzureKeyVaultSecretBackupV1.microsoft.com"...),
	"magic-short":  []byte("EVSB\x01\x01\x00"),
}

func seedDir() string { return filepath.Join("testdata", "fuzz", "FuzzRestore") }

func writeSeed(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(seedDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seedDir(), name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readSeed parses a seed file written by writeSeed.
func readSeed(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(seedDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[1])
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
	if err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	return []byte(s)
}

// TestRestoreSeeds checks the corpus: the valid blob (written by an
// earlier version of Backup) still restores, with its versions; the
// malformed ones are refused.
func TestRestoreSeeds(t *testing.T) {
	svc, blob := fuzzService(t)
	if *update {
		writeSeed(t, "valid-backup", blob)
		for name, b := range malformedBackups {
			writeSeed(t, "malformed-"+name, b)
		}
	}
	valid := readSeed(t, "valid-backup")
	if !bytes.Equal(valid, blob) {
		t.Log("Backup output changed (run with -update if the format changed on purpose); the old blob must still restore")
	}
	got, err := svc.Restore(ctx, fuzzVault, valid)
	if err != nil || got.Name != "Fuzz-Secret" || got.Version != fmt.Sprintf("%032x", 3) {
		t.Fatalf("restore of the seed blob = %+v, %v", got, err)
	}
	if s, err := svc.Get(ctx, fuzzVault, "fuzz-secret", fmt.Sprintf("%032x", 3)); err != nil || s.Value.Reveal() != strings.Repeat("x", 300) ||
		s.Tags["i"] != "2" {
		t.Fatalf("restored value = %+v, %v", s, err)
	}
	for name := range malformedBackups {
		if _, err := svc.Restore(ctx, fuzzVault, readSeed(t, "malformed-"+name)); !errors.Is(err, secret.ErrBadBackup) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzRestore feeds backup blobs to Restore. Only genuine blobs may
// restore; everything else is ErrBadBackup, and nothing panics.
func FuzzRestore(f *testing.F) {
	svc, blob := fuzzService(f)
	stored := readSeed(f, "valid-backup") // equal to blob unless Backup's output changed
	f.Add(blob)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := svc.Restore(ctx, fuzzVault, b)
		switch {
		case err == nil, errors.Is(err, secret.ErrExists):
			if !bytes.Equal(b, blob) && !bytes.Equal(b, stored) {
				t.Fatalf("a blob Backup did not make was restored: %x", b)
			}
		case !errors.Is(err, secret.ErrBadBackup):
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
