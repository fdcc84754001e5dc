package secret_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/store"
)

var ctx = context.Background()

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	svc     *secret.Service
	store   *store.Store
	keyring *envelope.Keyring
	clock   *clock
}

// newFixture is the service over a real SQLite store and a real keyring.
func newFixture(t testing.TB, wrap ...func(secret.Store) secret.Store) fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.New(envelope.Config{RootKeyFile: filepath.Join(dir, "root.key"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	var s secret.Store = st
	for _, w := range wrap {
		s = w(s)
	}
	svc, err := secret.New(secret.Config{Store: s, Sealer: kr, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc: svc, store: st, keyring: kr, clock: clk}
}

var (
	tenantA = "aaaaaaaa-0000-0000-0000-000000000000"
	tenantB = "bbbbbbbb-0000-0000-0000-000000000000"
	vault1  = secret.Vault{UID: "11111111-1111-1111-1111-111111111111", TenantID: tenantA, RetentionDays: 7}
	vault2  = secret.Vault{UID: "22222222-2222-2222-2222-222222222222", TenantID: tenantA}
	vaultB  = secret.Vault{UID: "33333333-3333-3333-3333-333333333333", TenantID: tenantB}
)

func (f fixture) set(t testing.TB, v secret.Vault, name, value string, p secret.Properties) secret.Secret {
	t.Helper()
	p.Enabled = true
	s, err := f.svc.Set(ctx, v, name, sensitive.New(value), p)
	if err != nil {
		t.Fatalf("Set(%s): %v", name, err)
	}
	return s
}

func TestSetGetUpdate(t *testing.T) {
	f := newFixture(t)
	s1 := f.set(t, vault1, "Name", "one", secret.Properties{ContentType: "text/plain", Tags: map[string]string{"a": "b"}})
	if !secret.ValidVersion(s1.Version) || s1.Version != strings.ToLower(s1.Version) || s1.Value.Reveal() != "one" {
		t.Fatalf("Set = %+v", s1)
	}
	f.clock.set(f.clock.now().Add(time.Hour))
	s2 := f.set(t, vault1, "NAME", "two", secret.Properties{})
	if s2.Name != "Name" {
		t.Errorf("second version renamed the secret: %q", s2.Name)
	}
	got, err := f.svc.Get(ctx, vault1, "name", "")
	if err != nil || got.Value.Reveal() != "two" || got.Version != s2.Version {
		t.Fatalf("Get latest = %+v, %v", got, err)
	}
	got, err = f.svc.Get(ctx, vault1, "name", strings.ToUpper(s1.Version))
	if err != nil || got.Value.Reveal() != "one" || got.Tags["a"] != "b" || !got.Created.Equal(s1.Created) {
		t.Fatalf("Get v1 = %+v, %v", got, err)
	}
	// The same name in another vault is another secret.
	if _, err := f.svc.Get(ctx, vault2, "name", ""); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("other vault: %v", err)
	}
	off := false
	upd, err := f.svc.UpdateProperties(ctx, vault1, "name", s1.Version, secret.Update{Enabled: &off})
	if err != nil || upd.Enabled || !upd.Value.IsZero() || upd.Tags["a"] != "b" || !upd.Updated.After(upd.Created) {
		t.Fatalf("Update = %+v, %v", upd, err)
	}
	if _, err := f.svc.Get(ctx, vault1, "name", s1.Version); !errors.Is(err, secret.ErrDisabled) {
		t.Errorf("disabled version: %v", err)
	}
	if _, err := f.svc.Get(ctx, vault1, "name", ""); err != nil {
		t.Errorf("the other version stays enabled: %v", err)
	}
	// The redacting type keeps values out of formatted output.
	if s := fmt.Sprintf("%v %+v", got, got); strings.Contains(s, "one") {
		t.Errorf("formatted secret shows its value: %s", s)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t)
	tags := map[string]string{}
	for i := range 16 {
		tags[fmt.Sprint(i)] = "v"
	}
	for name, c := range map[string]struct {
		name, value string
		p           secret.Properties
		want        error
	}{
		"empty name":    {"", "v", secret.Properties{}, secret.ErrInvalidName},
		"long name":     {strings.Repeat("a", 128), "v", secret.Properties{}, secret.ErrInvalidName},
		"bad character": {"a.b", "v", secret.Properties{}, secret.ErrInvalidName},
		"unicode":       {"é", "v", secret.Properties{}, secret.ErrInvalidName},
		"big value":     {"a", strings.Repeat("v", 25601), secret.Properties{}, secret.ErrInvalid},
		"content type":  {"a", "v", secret.Properties{ContentType: strings.Repeat("é", 256)}, secret.ErrInvalid},
		"16 tags":       {"a", "v", secret.Properties{Tags: tags}, secret.ErrInvalid},
		"empty tag":     {"a", "v", secret.Properties{Tags: map[string]string{"": "v"}}, secret.ErrInvalid},
		"tag name":      {"a", "v", secret.Properties{Tags: map[string]string{strings.Repeat("k", 257): "v"}}, secret.ErrInvalid},
		"far future":    {"a", "v", secret.Properties{Expires: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, secret.ErrInvalid},
	} {
		_, err := f.svc.Set(ctx, vault1, c.name, sensitive.New(c.value), c.p)
		if !errors.Is(err, c.want) || errkind.KindOf(err) != errkind.Invalid {
			t.Errorf("%s: %v", name, err)
		}
		if strings.Contains(errkind.Message(err), "vvvv") {
			t.Errorf("%s: message echoes the value", name)
		}
	}
	// 255 characters of content type is fine, even multi-byte.
	f.set(t, vault1, "a", "v", secret.Properties{ContentType: strings.Repeat("é", 255)})
}

// swapStore hands out another version's ciphertext, as a row tampered
// with in the database would.
type swapStore struct {
	secret.Store
	sealed []byte
}

func (s *swapStore) SecretVersion(ctx context.Context, vault, name, version string, deleted bool) (secret.Record, error) {
	r, err := s.Store.SecretVersion(ctx, vault, name, version, deleted)
	if err == nil && s.sealed != nil {
		r.Sealed = s.sealed
	}
	return r, err
}

// A ciphertext moved to another row does not open: the AAD binds vault,
// name and version.
func TestValueBoundToRow(t *testing.T) {
	sw := &swapStore{}
	f := newFixture(t, func(s secret.Store) secret.Store { sw.Store = s; return sw })
	f.set(t, vault1, "a", "value-a", secret.Properties{})
	f.set(t, vault1, "b", "value-b", secret.Properties{})
	r, err := f.store.SecretVersion(ctx, vault1.UID, "a", "", false)
	if err != nil {
		t.Fatal(err)
	}
	sw.sealed = r.Sealed
	if _, err := f.svc.Get(ctx, vault1, "a", ""); err != nil {
		t.Fatalf("own row: %v", err)
	}
	_, err = f.svc.Get(ctx, vault1, "b", "")
	if errkind.KindOf(err) != errkind.Internal || strings.Contains(err.Error(), "value-a") {
		t.Fatalf("moved ciphertext: %v", err)
	}
}

func TestDeleteRecoverPurge(t *testing.T) {
	f := newFixture(t)
	s := f.set(t, vault1, "gone", "v", secret.Properties{})
	d, err := f.svc.Delete(ctx, vault1, "GONE")
	if err != nil || d.Version != s.Version || !d.ScheduledPurgeAt.Equal(d.DeletedAt.Add(7*24*time.Hour)) {
		t.Fatalf("Delete = %+v, %v", d, err)
	}
	if _, err := f.svc.Get(ctx, vault1, "gone", ""); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if _, err := f.svc.Set(ctx, vault1, "Gone", sensitive.New("x"), secret.Properties{}); !errors.Is(err, secret.ErrDeleted) ||
		!strings.Contains(errkind.Message(err), "deleted but recoverable") {
		t.Errorf("set deleted: %v", err)
	}
	if _, err := f.svc.Delete(ctx, vault1, "gone"); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := f.svc.Recover(ctx, vault1, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Recover(ctx, vault1, "gone"); !errors.Is(err, secret.ErrDeletedNotFound) {
		t.Errorf("recover active: %v", err)
	}
	if err := f.svc.Purge(ctx, vault1, "gone"); !errors.Is(err, secret.ErrDeletedNotFound) {
		t.Errorf("purge active: %v", err)
	}
	if _, err := f.svc.Delete(ctx, vault1, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Purge(ctx, vault1, "gone"); err != nil {
		t.Fatal(err)
	}
	f.set(t, vault1, "gone", "new life", secret.Properties{}) // the name is free
}

// The sweeper purges what is due, protected vaults included (protection
// refuses only early purges), and nothing else.
func TestPurgeExpiredAndProtection(t *testing.T) {
	f := newFixture(t)
	protected := vault2
	protected.PurgeProtection, protected.RetentionDays = true, 30
	f.set(t, vault1, "short", "v", secret.Properties{})
	f.set(t, protected, "long", "v", secret.Properties{})
	f.set(t, protected, "kept", "v", secret.Properties{})
	t0 := f.clock.now()
	for _, c := range []struct {
		v    secret.Vault
		name string
	}{{vault1, "short"}, {protected, "long"}} {
		if _, err := f.svc.Delete(ctx, c.v, c.name); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Purge(ctx, protected, "long"); !errors.Is(err, secret.ErrPurgeProtected) {
		t.Fatalf("early purge under protection: %v", err)
	}
	if n, err := f.svc.PurgeExpired(ctx, t0.Add(7*24*time.Hour-time.Second)); err != nil || n != 0 {
		t.Fatalf("sweep before any is due: %d, %v", n, err)
	}
	if n, err := f.svc.PurgeExpired(ctx, t0.Add(7*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep at 7 days: %d, %v", n, err)
	}
	if _, err := f.svc.GetDeleted(ctx, vault1, "short"); !errors.Is(err, secret.ErrDeletedNotFound) {
		t.Errorf("swept secret still there: %v", err)
	}
	if n, err := f.svc.PurgeExpired(ctx, t0.Add(30*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep at 30 days: %d, %v", n, err)
	}
	if _, err := f.svc.Get(ctx, protected, "kept", ""); err != nil {
		t.Errorf("active secret swept: %v", err)
	}
	if err := f.svc.PurgeVaultSecrets(ctx, protected.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, protected, "kept", ""); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("vault purge left a secret: %v", err)
	}
	if err := f.svc.PurgeVaultSecrets(ctx, ""); err == nil {
		t.Error("PurgeVaultSecrets of an empty UID succeeded")
	}
}

func TestBackupRestore(t *testing.T) {
	f := newFixture(t)
	nbf := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s1 := f.set(t, vault1, "Backed-Up", "one", secret.Properties{ContentType: "ct", Tags: map[string]string{"k": "v"}, NotBefore: nbf})
	f.clock.set(f.clock.now().Add(time.Minute))
	s2 := f.set(t, vault1, "backed-up", "", secret.Properties{})
	blob, err := f.svc.Backup(ctx, vault1, "BACKED-UP")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(blob), "one") || strings.Contains(string(blob), "Backed-Up") {
		t.Error("backup blob holds cleartext")
	}
	// Into another vault of the tenant: every version, as it was.
	got, err := f.svc.Restore(ctx, vault2, blob)
	if err != nil || got.Name != "Backed-Up" || got.Version != s2.Version || !got.Value.IsZero() {
		t.Fatalf("Restore = %+v, %v", got, err)
	}
	for _, want := range []secret.Secret{s1, s2} {
		g, err := f.svc.Get(ctx, vault2, "backed-up", want.Version)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, g, cmp.Comparer(func(a, b sensitive.String) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("restored version (-want +got):\n%s", diff)
		}
	}
	// Name in use: active, then deleted.
	if _, err := f.svc.Restore(ctx, vault2, blob); !errors.Is(err, secret.ErrExists) {
		t.Errorf("restore over active: %v", err)
	}
	if _, err := f.svc.Delete(ctx, vault2, "backed-up"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Restore(ctx, vault2, blob); !errors.Is(err, secret.ErrDeleted) {
		t.Errorf("restore over deleted: %v", err)
	}
	// Another tenant's vault, and every single-byte change, are refused.
	if _, err := f.svc.Restore(ctx, vaultB, blob); !errors.Is(err, secret.ErrBadBackup) {
		t.Errorf("restore into another tenant: %v", err)
	}
	for i := range blob {
		bad := append([]byte(nil), blob...)
		bad[i] ^= 0x01
		if _, err := f.svc.Restore(ctx, secret.Vault{UID: "fresh", TenantID: tenantA}, bad); !errors.Is(err, secret.ErrBadBackup) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	if _, err := f.svc.Backup(ctx, vault1, "missing"); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("backup of missing: %v", err)
	}
}

// Azure refuses to back up more than 500 versions; so do we.
func TestBackupVersionLimit(t *testing.T) {
	f := newFixture(t)
	for i := range secret.MaxBackupVersions + 1 {
		r := secret.Record{VaultUID: vault1.UID, Name: "many", Version: fmt.Sprintf("%032x", i), Sealed: []byte{1},
			Props: secret.Properties{Enabled: true}, Created: f.clock.now(), Updated: f.clock.now()}
		if _, err := f.store.InsertSecretVersion(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Backup(ctx, vault1, "many"); !errors.Is(err, secret.ErrInvalid) {
		t.Errorf("backup of 501 versions: %v", err)
	}
}

func TestListPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.set(t, vault1, fmt.Sprintf("s%d", i), "v", secret.Properties{})
	}
	var names []string
	cursor, pages := "", 0
	for {
		items, next, err := f.svc.List(ctx, vault1, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range items {
			names = append(names, s.Name)
			if !s.Value.IsZero() {
				t.Error("list shows a value")
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || strings.Join(names, ",") != "s0,s1,s2,s3,s4" {
		t.Errorf("%d pages: %v", pages, names)
	}
	if _, _, err := f.svc.ListVersions(ctx, vault1, "s0", "x", 2); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("bad versions cursor: %v", err)
	}
	if _, _, err := f.svc.ListVersions(ctx, vault1, "nope", "", 2); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("versions of missing: %v", err)
	}
}

// The sweeper runs at once and then on its ticker, until cancelled.
func TestRunSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		f.set(t, vault1, "due", "v", secret.Properties{})
		if _, err := f.svc.Delete(ctx, vault1, "due"); err != nil {
			t.Fatal(err)
		}
		f.clock.set(f.clock.now().Add(8 * 24 * time.Hour))
		sweepCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); f.svc.RunSweeper(sweepCtx, time.Hour) }()
		time.Sleep(time.Minute) // fake time: the first sweep has run
		synctest.Wait()
		if _, err := f.svc.GetDeleted(ctx, vault1, "due"); !errors.Is(err, secret.ErrDeletedNotFound) {
			t.Errorf("first sweep did not purge: %v", err)
		}
		stop()
		<-done
	})
}
