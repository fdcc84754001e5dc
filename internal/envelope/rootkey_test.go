package envelope

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
)

func TestNewCreatesRootKey(t *testing.T) {
	f := newFixture(t)
	k := f.keyring(t)
	fi, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != keySize {
		t.Errorf("root key file holds %d bytes, want %d", fi.Size(), keySize)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("root key file mode = %04o, want 0600", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	id := k.RootKeyID()
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Errorf("RootKeyID = %q, want 16 lowercase hex digits", id)
	}
	if id != rootKeyID(raw) || strings.Contains(hex.EncodeToString(raw), id) {
		t.Errorf("RootKeyID = %q is not the HMAC-derived ID of the file", id)
	}
	if _, pending := k.RotationPending(); pending {
		t.Error("fresh keyring reports a pending rotation")
	}
	if err := k.Resume(t.Context()); err != nil {
		t.Errorf("Resume on a fresh deployment: %v", err)
	}

	v := seal(t, k, "vault", "n")
	again := f.keyring(t)
	if again.RootKeyID() != id {
		t.Errorf("restart: RootKeyID = %q, want %q", again.RootKeyID(), id)
	}
	openAll(t, again, []sealed{v})
}

func TestRootKeyIDDiffers(t *testing.T) {
	a, b := make([]byte, keySize), make([]byte, keySize)
	b[31] = 1
	if rootKeyID(a) == rootKeyID(b) {
		t.Error("two keys share an ID")
	}
}

// secretKey is recognisable key content: no error may contain it.
var secretKey = bytes.Repeat([]byte("K3Y!"), keySize/4)

func TestNewRejectsBadKeyFiles(t *testing.T) {
	write := func(name string, data []byte, mode os.FileMode) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			p := path + name
			if err := os.WriteFile(p, data, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil { // umask
				t.Fatal(err)
			}
		}
	}
	noModes := runtime.GOOS == "windows"
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string // in the message, besides the path
		skip  bool
	}{
		{"empty", write("", nil, 0o600), "0 bytes", false},
		{"short", write("", secretKey[:31], 0o600), "31 bytes", false},
		{"long", write("", append(bytes.Clone(secretKey), 'x'), 0o600), "33 bytes", false},
		{"group readable", write("", secretKey, 0o640), "mode 0640", noModes},
		{"world readable", write("", secretKey, 0o644), "mode 0644", noModes},
		{"executable", write("", secretKey, 0o700), "mode 0700", noModes},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file", false},
		{"next file short", func(t *testing.T, path string) {
			write("", secretKey, 0o600)(t, path)
			write(nextSuffix, secretKey[:16], 0o600)(t, path)
		}, "16 bytes", false},
		{"next file without root key", write(nextSuffix, secretKey, 0o600), "is missing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("file modes are unix only")
			}
			f := newFixture(t)
			tt.setup(t, f.path)
			_, err := New(Config{RootKeyFile: f.path, Store: f.store})
			if err == nil {
				t.Fatal("New accepted the key file")
			}
			msg := err.Error()
			if errkind.KindOf(err) != errkind.Invalid || !strings.Contains(msg, f.path) || !strings.Contains(msg, tt.want) {
				t.Errorf("err = %q (kind %v); want kind Invalid naming the path and %q", msg, errkind.KindOf(err), tt.want)
			}
			if strings.Contains(msg, "K3Y!") || strings.Contains(msg, hex.EncodeToString(secretKey[:4])) {
				t.Errorf("err = %q discloses key content", msg)
			}
		})
	}
}

func TestNewAcceptsReadOnlyKeyFile(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(f.path, secretKey, 0o400); err != nil {
		t.Fatal(err)
	}
	if k := f.keyring(t); k.RootKeyID() != rootKeyID(secretKey) {
		t.Errorf("RootKeyID = %q, want the file's", k.RootKeyID())
	}
}

func TestNewRequiresConfig(t *testing.T) {
	for _, cfg := range []Config{{Store: newMemStore()}, {RootKeyFile: filepath.Join(t.TempDir(), "root.key")}} {
		if _, err := New(cfg); errkind.KindOf(err) != errkind.Invalid {
			t.Errorf("New(%+v): err = %v, want kind Invalid", cfg, err)
		}
	}
}

// TestNewRemovesTempFiles covers a crash inside createKeyFile, before the
// link: the temporary file is deleted and nothing else changes.
func TestNewRemovesTempFiles(t *testing.T) {
	f := newFixture(t)
	id := f.keyring(t).RootKeyID()
	dir := filepath.Dir(f.path)
	temps := []string{".root.key.tmp-123", ".root.key.next.tmp-456"}
	for _, name := range append(temps, "unrelated") {
		if err := os.WriteFile(filepath.Join(dir, name), secretKey, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k := f.keyring(t)
	if k.RootKeyID() != id {
		t.Errorf("RootKeyID changed to %q", k.RootKeyID())
	}
	if _, pending := k.RotationPending(); pending {
		t.Error("a leftover temporary file started a rotation")
	}
	for _, name := range temps {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: not removed (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "unrelated")); err != nil {
		t.Errorf("unrelated file: %v", err)
	}
}

// TestResumeRejectsForeignRootKey: a lost or wrong root key file must stop
// the server at start, not fail every Open later.
func TestResumeRejectsForeignRootKey(t *testing.T) {
	tests := []struct {
		name    string
		replace func(t *testing.T, path string)
		want    string
	}{
		{"lost and recreated", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "(created on this start)"},
		{"replaced", func(t *testing.T, path string) {
			if err := os.WriteFile(path+".new", secretKey, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".new", path); err != nil {
				t.Fatal(err)
			}
		}, "restore the original root key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			orig := f.keyring(t)
			seal(t, orig, "vault", "n")
			tt.replace(t, f.path)
			k := f.keyring(t)
			err := k.Resume(t.Context())
			if err == nil {
				t.Fatal("Resume accepted a store wrapped by another root key")
			}
			msg := err.Error()
			for _, s := range []string{orig.RootKeyID(), k.RootKeyID(), f.path, tt.want} {
				if !strings.Contains(msg, s) {
					t.Errorf("err = %q, want it to mention %q", msg, s)
				}
			}
		})
	}
}
