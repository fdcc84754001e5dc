package agent

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/edgevault/edgevault/internal/devicewire"
)

// initAgent initialises an appliance in a temporary directory and opens it.
func initAgent(t *testing.T) *Agent {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Init(dir, "SN-0001", nil); err != nil {
		t.Fatal(err)
	}
	a, err := Open(Config{DataDir: dir, Terminal: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// secretValues returns every secret value in the agent's state, for
// asserting that none leaks.
func secretValues(t *testing.T, a *Agent) []string {
	t.Helper()
	st := a.State()
	var out []string
	for _, s := range st.Secrets {
		out = append(out, s.Value.Reveal())
	}
	for _, c := range st.CustomerSecrets {
		out = append(out, c.Value.Reveal())
	}
	if act := st.Activation; act != nil {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(act.CIK.Reveal())), act.DeviceKey.Reveal())
	}
	return out
}

func secretValue(t *testing.T, st *State, name string) string {
	t.Helper()
	for _, s := range st.Secrets {
		if s.Name == name {
			return s.Value.Reveal()
		}
	}
	t.Fatalf("no secret %s", name)
	return ""
}

func TestInitSecretFormats(t *testing.T) {
	a := initAgent(t)
	st := a.State()
	if got, want := st.SecretNames(), devicewire.DeviceSecretNames; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("secrets = %v, want %v", got, want)
	}
	rk := secretValue(t, st, devicewire.SystemVolumeBitLockerRecoveryKey)
	if !regexp.MustCompile(`^\d{6}(-\d{6}){7}$`).MatchString(rk) || !ValidRecoveryPassword(rk) {
		t.Errorf("recovery key has the wrong form (length %d)", len(rk))
	}
	for _, name := range []string{devicewire.HcsDataVolumeBitLockerExternalKey, devicewire.HcsInternalVolumeBitLockerExternalKey} {
		b, err := base64.StdEncoding.DecodeString(secretValue(t, st, name))
		if err != nil || len(b) != 32 {
			t.Errorf("%s is not base64 of 32 bytes", name)
		}
	}
	pw := secretValue(t, st, devicewire.BMCDefaultUserPassword)
	classes := map[string]bool{}
	for _, c := range pw {
		switch {
		case unicode.IsUpper(c):
			classes["upper"] = true
		case unicode.IsLower(c):
			classes["lower"] = true
		case unicode.IsDigit(c):
			classes["digit"] = true
		default:
			classes["symbol"] = true
		}
	}
	if len(pw) != 16 || len(classes) != 4 {
		t.Errorf("BMC password: %d characters, classes %v; want 16 with all four classes", len(pw), classes)
	}
	// Two appliances do not share secrets.
	if b := initAgent(t); secretValue(t, b.State(), devicewire.SystemVolumeBitLockerRecoveryKey) == rk {
		t.Error("two appliances got the same recovery key")
	}
}

func TestRecoveryPasswordRule(t *testing.T) {
	for range 50 {
		p, err := newRecoveryPassword()
		if err != nil || !ValidRecoveryPassword(p.Reveal()) {
			t.Fatal("generated recovery password does not follow the rule")
		}
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"000000-000011-720885-123453-000000-000000-000000-000000", true},
		{"000000-000011-720896-123453-000000-000000-000000-000000", false}, // 720896 is the bound
		{"000000-000012-000000-000000-000000-000000-000000-000000", false}, // not a multiple of 11
		{"000000-000011-000000-000000-000000-000000-000000", false},        // 7 groups
		{"00000-0000011-000000-000000-000000-000000-000000-000000", false},
		{"00000a-000011-000000-000000-000000-000000-000000-000000", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidRecoveryPassword(tt.in); got != tt.want {
			t.Errorf("ValidRecoveryPassword(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestInitSuppliedSecrets(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const rk = "111111-222222-333333-444444-555555-666666-000011-000022"
	parse := func(arg string) (string, []byte) {
		name, path, err := ParseSecretFlag(arg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ReadSecretFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return name, v
	}
	supplied := map[string][]byte{}
	n, v := parse(devicewire.SystemVolumeBitLockerRecoveryKey + "=@" + write("rk", rk+"\n"))
	supplied[n] = v
	n, v = parse("IpmiAdminPassword=@" + write("ipmi", "s3cret!\r\n"))
	supplied[n] = v

	dir := filepath.Join(tmp, "data")
	names, err := Init(dir, "HW-42", supplied)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]string(nil), devicewire.DeviceSecretNames...), "IpmiAdminPassword"); strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("names = %v, want %v", names, want)
	}
	a, err := Open(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st := a.State()
	if got := secretValue(t, st, devicewire.SystemVolumeBitLockerRecoveryKey); got != rk {
		t.Error("the supplied recovery key was not stored as read (less its newline)")
	}
	if got := secretValue(t, st, "IpmiAdminPassword"); got != "s3cret!" {
		t.Error("the supplied extra secret was not stored as read")
	}

	for _, arg := range []string{"lowercase=@x", "Has-Dash=@x", "NoAt=x", "Empty=@", strings.Repeat("A", 65) + "=@x",
		devicewire.ChannelIntegrityKey + "=@x", "=@x"} {
		if _, _, err := ParseSecretFlag(arg); err == nil {
			t.Errorf("ParseSecretFlag(%q) accepted it", arg)
		}
	}
	bad := []map[string][]byte{
		{devicewire.SystemVolumeBitLockerRecoveryKey: []byte("not-a-recovery-key")},
		{"Empty": nil},
		{"Binary": {0xff, 0xfe}},
		{"Huge": bytes.Repeat([]byte("a"), devicewire.MaxSecretSize+1)},
	}
	for i, m := range bad {
		if _, err := Init(filepath.Join(tmp, "bad", string(rune('a'+i))), "SN", m); err == nil {
			t.Errorf("Init accepted bad secret set %d", i)
		}
	}
	for _, serial := range []string{"", "has space", strings.Repeat("x", 65), "a/b"} {
		if _, err := Init(filepath.Join(tmp, "serial"), serial, nil); err == nil {
			t.Errorf("Init accepted serial %q", serial)
		}
	}
}

func TestInitRefusesOverwriteAndSetsModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Init(dir, "SN-1", nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StateFileName)
	before, _ := os.ReadFile(path)
	if _, err := Init(dir, "SN-2", nil); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("second Init: %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the refused Init changed the state file")
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", di.Mode().Perm())
	}
}

func TestSaveIsAtomic(t *testing.T) {
	a := initAgent(t)
	for i := range 5 {
		if err := a.update(func(s *State) error { s.DeviceStatus = string(rune('A' + i)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(a.dir)
	if len(entries) != 1 || entries[0].Name() != StateFileName {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data directory holds %v, want only %s", names, StateFileName)
	}
	b, err := Open(Config{DataDir: a.dir})
	if err != nil {
		t.Fatal(err)
	}
	if b.State().DeviceStatus != "E" {
		t.Errorf("reloaded status %q, want E", b.State().DeviceStatus)
	}
	// A failed update changes nothing, on disk or in memory.
	want := errors.New("no")
	if err := a.update(func(s *State) error { s.DeviceStatus = "X"; return want }); err != want {
		t.Fatal(err)
	}
	if a.State().DeviceStatus != "E" {
		t.Error("a failed update changed the state in memory")
	}
}

func TestCorruptedState(t *testing.T) {
	tests := []struct {
		name   string
		damage func([]byte) []byte
		reason string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "not valid JSON"},
		{"empty", func(b []byte) []byte { return nil }, "not valid JSON"},
		{"flipped byte in a value", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"serial"`)) + len(`"serial":"`) + 1
			b[i] ^= 0x01
			return b
		}, "checksum"},
		{"bad checksum", func(b []byte) []byte {
			return regexp.MustCompile(`"sha256": "[0-9a-f]+"`).ReplaceAll(b, []byte(`"sha256": "`+strings.Repeat("0", 64)+`"`))
		}, "checksum"},
		{"wrong version", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"version": 1`), []byte(`"version": 9`), 1)
		}, "unsupported format version 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := initAgent(t)
			values := secretValues(t, a)
			path := filepath.Join(a.dir, StateFileName)
			orig, _ := os.ReadFile(path)
			damaged := tt.damage(bytes.Clone(orig))
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(Config{DataDir: a.dir})
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a *CorruptError", err)
			}
			msg := err.Error()
			for _, want := range []string{path, "corrupted", tt.reason, "backup", "new activation key"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			for _, v := range values {
				if strings.Contains(msg, v) {
					t.Error("the error quotes a secret value")
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
				t.Error("the damaged file was changed")
			}
			if _, err := Init(a.dir, "SN-0001", nil); err == nil {
				t.Error("Init replaced a damaged state file")
			}
		})
	}
}

func TestStateFileReadableByOthersRefused(t *testing.T) {
	a := initAgent(t)
	path := filepath.Join(a.dir, StateFileName)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{DataDir: a.dir}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Open = %v, want a refusal naming chmod 600", err)
	}
}

func TestOpenNotInitialized(t *testing.T) {
	if _, err := Open(Config{DataDir: t.TempDir()}); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Open = %v, want ErrNotInitialized", err)
	}
}
