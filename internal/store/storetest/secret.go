package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/store"
)

func init() {
	register("SecretVersions", testSecretVersions)
	register("SecretLists", testSecretLists)
	register("SecretSoftDelete", testSecretSoftDelete)
	register("SecretRestore", testSecretRestore)
	register("SecretPurgeSweep", testSecretPurgeSweep)
	register("SecretConcurrentSet", testSecretConcurrentSet)
}

const (
	vaultA = "11111111-1111-1111-1111-111111111111"
	vaultB = "22222222-2222-2222-2222-222222222222"
)

// rec is a version record with distinct, round-trippable fields.
func rec(vault, name string, n int) secret.Record {
	return secret.Record{VaultUID: vault, Name: name, Version: fmt.Sprintf("%032x", n), Sealed: []byte{byte(n), 0, 0xff},
		Props: secret.Properties{ContentType: "text/plain", Tags: map[string]string{"n": fmt.Sprint(n)}, Enabled: n%2 == 1,
			NotBefore: at.Add(-time.Hour), Expires: at.Add(time.Duration(n) * time.Hour)},
		Created: at.Add(time.Duration(n) * time.Second), Updated: at.Add(time.Duration(n) * time.Second)}
}

func insert(t *testing.T, s *store.Store, r secret.Record) secret.Record {
	t.Helper()
	got, err := s.InsertSecretVersion(ctx, r)
	if err != nil {
		t.Fatalf("InsertSecretVersion(%s/%s): %v", r.Name, r.Version, err)
	}
	return got
}

func testSecretVersions(t *testing.T, open Opener) {
	s := open(t)
	v1 := insert(t, s, rec(vaultA, "Db-Password", 1))
	if v1.Seq != 1 || v1.Name != "Db-Password" {
		t.Fatalf("first version: %+v", v1)
	}
	// Another casing adds a version to the same secret, which keeps the
	// casing of its first version.
	in2 := rec(vaultA, "DB-PASSWORD", 2)
	in2.Props.NotBefore, in2.Props.Tags = time.Time{}, nil // unset fields round-trip as unset
	v2 := insert(t, s, in2)
	if v2.Seq != 2 || v2.Name != "Db-Password" {
		t.Fatalf("second version: %+v", v2)
	}
	latest, err := s.SecretVersion(ctx, vaultA, "db-password", "", false)
	want := in2
	want.Name, want.Seq = "Db-Password", 2
	if err != nil || !cmp.Equal(latest, want) {
		t.Fatalf("latest: %v %s", err, cmp.Diff(want, latest))
	}
	first, err := s.SecretVersion(ctx, vaultA, "db-password", v1.Version, false)
	if err != nil || !cmp.Equal(first, v1) {
		t.Fatalf("version 1: %v %s", err, cmp.Diff(v1, first))
	}
	for _, c := range []struct{ vault, name, version string }{
		{vaultB, "db-password", ""}, {vaultA, "other", ""}, {vaultA, "db-password", fmt.Sprintf("%032x", 9)},
	} {
		_, err := s.SecretVersion(ctx, c.vault, c.name, c.version, false)
		wantKind(t, err, errkind.NotFound)
	}
	// Update changes the properties of one version only.
	upd := first
	upd.Props = secret.Properties{ContentType: "application/json", Tags: map[string]string{"env": "prod"}, Enabled: false}
	upd.Updated = at.Add(time.Hour)
	got, err := s.UpdateSecretVersion(ctx, upd)
	if err != nil || !cmp.Equal(got, upd) {
		t.Fatalf("UpdateSecretVersion: %v %s", err, cmp.Diff(upd, got))
	}
	if again, _ := s.SecretVersion(ctx, vaultA, "db-password", "", false); !cmp.Equal(again, want) {
		t.Errorf("update touched another version: %s", cmp.Diff(want, again))
	}
	upd.Version = fmt.Sprintf("%032x", 9)
	_, err = s.UpdateSecretVersion(ctx, upd)
	wantKind(t, err, errkind.NotFound)
}

func testSecretLists(t *testing.T, open Opener) {
	s := open(t)
	for i, name := range []string{"c", "A", "b", "d"} {
		insert(t, s, rec(vaultA, name, 2*i+1))
		insert(t, s, rec(vaultA, name, 2*i+2))
	}
	insert(t, s, rec(vaultB, "a", 99))
	names := func(rs []secret.Record) (out []string) {
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s/%d", r.Name, r.Seq))
		}
		return out
	}
	page1, err := s.Secrets(ctx, vaultA, false, "", 3)
	if err != nil || !cmp.Equal(names(page1), []string{"A/2", "b/2", "c/2"}) {
		t.Fatalf("page 1: %v %v", names(page1), err)
	}
	page2, err := s.Secrets(ctx, vaultA, false, "c", 3)
	if err != nil || !cmp.Equal(names(page2), []string{"d/2"}) {
		t.Fatalf("page 2: %v %v", names(page2), err)
	}
	if len(page1[0].Sealed) == 0 || page1[0].Version != fmt.Sprintf("%032x", 4) {
		t.Errorf("list entry is not the newest version: %+v", page1[0])
	}
	vs, err := s.SecretVersions(ctx, vaultA, "B", 0, 10)
	if err != nil || !cmp.Equal(names(vs), []string{"b/1", "b/2"}) {
		t.Fatalf("versions: %v %v", names(vs), err)
	}
	vs, err = s.SecretVersions(ctx, vaultA, "b", 1, 10)
	if err != nil || !cmp.Equal(names(vs), []string{"b/2"}) {
		t.Fatalf("versions after 1: %v %v", names(vs), err)
	}
	if vs, err := s.SecretVersions(ctx, vaultA, "b", 2, 10); err != nil || vs == nil || len(vs) != 0 {
		t.Fatalf("versions past the end = %v, %v; want empty, nil", vs, err)
	}
	_, err = s.SecretVersions(ctx, vaultA, "missing", 0, 10)
	wantKind(t, err, errkind.NotFound)
	if rs, err := s.Secrets(ctx, vaultA, true, "", 10); err != nil || len(rs) != 0 {
		t.Fatalf("deleted list of a vault with none: %v %v", names(rs), err)
	}
}

func testSecretSoftDelete(t *testing.T, open Opener) {
	s := open(t)
	insert(t, s, rec(vaultA, "Gone", 1))
	insert(t, s, rec(vaultA, "gone", 2))
	insert(t, s, rec(vaultA, "kept", 3))
	purgeAt := at.Add(90 * 24 * time.Hour)
	d, err := s.DeleteSecret(ctx, vaultA, "GONE", at, purgeAt)
	if err != nil || d.Name != "Gone" || d.Seq != 2 || !d.DeletedAt.Equal(at) || !d.PurgeAt.Equal(purgeAt) {
		t.Fatalf("DeleteSecret = %+v, %v", d, err)
	}
	_, err = s.DeleteSecret(ctx, vaultA, "gone", at, purgeAt)
	wantKind(t, err, errkind.NotFound)
	_, err = s.SecretVersion(ctx, vaultA, "gone", "", false)
	wantKind(t, err, errkind.NotFound)
	_, err = s.SecretVersions(ctx, vaultA, "gone", 0, 10)
	wantKind(t, err, errkind.NotFound)
	if got, err := s.SecretVersion(ctx, vaultA, "gone", "", true); err != nil || got.Seq != 2 || got.DeletedAt.IsZero() {
		t.Fatalf("deleted secret: %+v, %v", got, err)
	}
	if _, err := s.InsertSecretVersion(ctx, rec(vaultA, "GONE", 4)); !errors.Is(err, secret.ErrDeleted) {
		t.Fatalf("set on a deleted name: %v, want ErrDeleted", err)
	}
	upd := rec(vaultA, "gone", 1)
	_, err = s.UpdateSecretVersion(ctx, upd)
	wantKind(t, err, errkind.NotFound)
	if rs, _ := s.Secrets(ctx, vaultA, false, "", 10); len(rs) != 1 || rs[0].Name != "kept" {
		t.Errorf("active list shows a deleted secret: %+v", rs)
	}
	if rs, _ := s.Secrets(ctx, vaultA, true, "", 10); len(rs) != 1 || rs[0].Name != "Gone" || rs[0].PurgeAt.IsZero() {
		t.Errorf("deleted list: %+v", rs)
	}
	wantKind(t, s.PurgeSecret(ctx, vaultA, "kept"), errkind.NotFound) // purge needs a deleted secret
	got, err := s.RecoverSecret(ctx, vaultA, "gone")
	if err != nil || got.Seq != 2 || !got.DeletedAt.IsZero() {
		t.Fatalf("RecoverSecret = %+v, %v", got, err)
	}
	_, err = s.RecoverSecret(ctx, vaultA, "gone")
	wantKind(t, err, errkind.NotFound)
	if v := insert(t, s, rec(vaultA, "gone", 5)); v.Seq != 3 {
		t.Fatalf("set after recover: seq %d, want 3", v.Seq)
	}
	if _, err := s.DeleteSecret(ctx, vaultA, "gone", at, purgeAt); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeSecret(ctx, vaultA, "gone"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.PurgeSecret(ctx, vaultA, "gone"), errkind.NotFound)
	_, err = s.SecretVersion(ctx, vaultA, "gone", "", true)
	wantKind(t, err, errkind.NotFound)
	// The name is free again, with no trace of the old versions.
	v := insert(t, s, rec(vaultA, "gone", 1))
	if vs, _ := s.SecretVersions(ctx, vaultA, "gone", 0, 10); v.Seq != 1 || v.Name != "gone" || len(vs) != 1 {
		t.Fatalf("after purge: %+v, %d versions", v, len(vs))
	}
}

func testSecretRestore(t *testing.T, open Opener) {
	s := open(t)
	vs := []secret.Record{rec("ignored", "Restored", 1), rec("ignored", "restored", 2)}
	got, err := s.RestoreSecret(ctx, vaultB, vs)
	if err != nil || got.Name != "Restored" || got.Seq != 2 || got.VaultUID != vaultB || got.Version != vs[1].Version {
		t.Fatalf("RestoreSecret = %+v, %v", got, err)
	}
	if list, _ := s.SecretVersions(ctx, vaultB, "restored", 0, 10); len(list) != 2 || list[0].Version != vs[0].Version {
		t.Fatalf("restored versions: %+v", list)
	}
	if _, err := s.RestoreSecret(ctx, vaultB, vs); !errors.Is(err, secret.ErrExists) {
		t.Fatalf("restore over an active secret: %v, want ErrExists", err)
	}
	if _, err := s.DeleteSecret(ctx, vaultB, "restored", at, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	other := []secret.Record{rec(vaultB, "restored", 7)}
	if _, err := s.RestoreSecret(ctx, vaultB, other); !errors.Is(err, secret.ErrDeleted) {
		t.Fatalf("restore over a deleted secret: %v, want ErrDeleted", err)
	}
	// A refused restore changed nothing.
	if d, err := s.SecretVersion(ctx, vaultB, "restored", "", true); err != nil || d.Version != vs[1].Version {
		t.Fatalf("after refused restore: %+v, %v", d, err)
	}
	mixed := []secret.Record{rec(vaultA, "one", 1), rec(vaultA, "two", 2)}
	if _, err := s.RestoreSecret(ctx, vaultA, mixed); err == nil {
		t.Fatal("restore of two secrets' versions succeeded")
	}
	_, err = s.SecretVersion(ctx, vaultA, "one", "", false)
	wantKind(t, err, errkind.NotFound)
}

func testSecretPurgeSweep(t *testing.T, open Opener) {
	s := open(t)
	for i, name := range []string{"due-1", "due-2", "due-3", "later", "active"} {
		insert(t, s, rec(vaultA, name, i+1))
	}
	insert(t, s, rec(vaultB, "other", 1))
	for i, name := range []string{"due-1", "due-2", "due-3"} {
		if _, err := s.DeleteSecret(ctx, vaultA, name, at, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteSecret(ctx, vaultA, "later", at, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	now := at.Add(2 * time.Minute) // due-3 is due exactly now
	if n, err := s.PurgeExpiredSecrets(ctx, now, 2); err != nil || n != 2 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	if n, err := s.PurgeExpiredSecrets(ctx, now, 2); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	if n, err := s.PurgeExpiredSecrets(ctx, now, 2); err != nil || n != 0 {
		t.Fatalf("third batch: %d, %v", n, err)
	}
	if rs, _ := s.Secrets(ctx, vaultA, true, "", 10); len(rs) != 1 || rs[0].Name != "later" {
		t.Fatalf("deleted after sweep: %+v", rs)
	}
	if rs, _ := s.Secrets(ctx, vaultA, false, "", 10); len(rs) != 1 || rs[0].Name != "active" {
		t.Fatalf("active after sweep: %+v", rs)
	}
	if n, err := s.PurgeVaultSecrets(ctx, vaultA); err != nil || n != 2 {
		t.Fatalf("PurgeVaultSecrets = %d, %v", n, err)
	}
	if rs, _ := s.Secrets(ctx, vaultA, true, "", 10); len(rs) != 0 {
		t.Errorf("vault A keeps %d deleted secrets", len(rs))
	}
	if rs, _ := s.Secrets(ctx, vaultB, false, "", 10); len(rs) != 1 {
		t.Errorf("purging vault A touched vault B: %+v", rs)
	}
	if n, err := s.PurgeVaultSecrets(ctx, vaultA); err != nil || n != 0 {
		t.Errorf("second PurgeVaultSecrets = %d, %v", n, err)
	}
}

// Concurrent sets of one new name all land, each with its own seq, and
// deletes racing them leave the secret either deleted or active, never
// half-written.
func testSecretConcurrentSet(t *testing.T, open Opener) {
	s := open(t)
	var wg sync.WaitGroup
	const n = 8
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.InsertSecretVersion(ctx, rec(vaultA, "race", i+1)); err != nil {
				t.Errorf("concurrent insert: %v", err)
			}
		}()
	}
	wg.Wait()
	vs, err := s.SecretVersions(ctx, vaultA, "race", 0, 100)
	if err != nil || len(vs) != n {
		t.Fatalf("%d versions, %v; want %d", len(vs), err, n)
	}
	for i, v := range vs {
		if v.Seq != int64(i+1) {
			t.Fatalf("seqs not 1..%d: %+v", n, vs)
		}
	}
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.InsertSecretVersion(ctx, rec(vaultA, "race", 100+i))
			if err != nil && !errors.Is(err, secret.ErrDeleted) {
				t.Errorf("insert racing delete: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			_, err := s.DeleteSecret(ctx, vaultA, "race", at, at.Add(time.Hour))
			if err != nil && errkind.KindOf(err) != errkind.NotFound {
				t.Errorf("delete racing insert: %v", err)
			}
		}()
	}
	wg.Wait()
	d, err := s.SecretVersion(ctx, vaultA, "race", "", true)
	if err != nil {
		t.Fatalf("after the race the secret is not deleted: %v", err)
	}
	if d.Seq < n {
		t.Errorf("newest version seq %d", d.Seq)
	}
}
