// Package storetest is the store conformance suite, in the style of SPIRE's
// sqltest: the same tests run against every dialect, so SQLite and
// PostgreSQL cannot drift apart. Run it with a function that opens a fresh,
// empty store for each test.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/token"
)

// Opener returns a fresh, empty, migrated store; it registers its own cleanup.
type Opener func(t *testing.T) *store.Store

// Run runs the whole suite: every test registered by the files of this
// package, in file order.
func Run(t *testing.T, open Opener) {
	for _, tt := range suites {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

type suite struct {
	name string
	fn   func(*testing.T, Opener)
}

var suites []suite

// register adds a test to the suite; each file registers its own in init,
// so an aggregate's tests live beside each other.
func register(name string, fn func(*testing.T, Opener)) {
	suites = append(suites, suite{name, fn})
}

func init() {
	register("Migrations", testMigrations)
	register("Bootstrap", testBootstrap)
	register("Principals", testPrincipals)
	register("RefreshTokens", testRefreshTokens)
	register("SigningKeys", testSigningKeys)
	register("KEKs", testKEKs)
}

var ctx = context.Background()

// at is a fixed instant, truncated to what every dialect stores exactly.
var at = time.Date(2026, 11, 26, 12, 0, 0, 123456000, time.UTC)

func wantKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	if got := errkind.KindOf(err); got != k {
		t.Fatalf("error kind = %v (%v), want %v", got, err, k)
	}
}

func testMigrations(t *testing.T, open Opener) {
	s := open(t)
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// SampleRecords returns a consistent bootstrap for tests.
func SampleRecords() bootstrap.Records {
	tenant := principal.Tenant{ID: principal.NewID(), DisplayName: "Default Directory", CreatedAt: at}
	sub := principal.Subscription{ID: principal.NewID(), TenantID: tenant.ID, DisplayName: "Default", State: "Enabled", CreatedAt: at}
	user := principal.Principal{ObjectID: principal.NewID(), TenantID: tenant.ID, Kind: principal.User,
		DisplayName: "Administrator", UserName: "admin", Enabled: true, Admin: true, CreatedAt: at}
	return bootstrap.Records{
		Tenant:       tenant,
		Subscription: sub,
		Principals:   []bootstrap.Principal{{Principal: user, Credential: identity.Credential{PasswordHash: "$argon2id$x"}}},
		RoleAssignments: []rbac.Assignment{{ID: principal.NewID(), Scope: "/subscriptions/" + sub.ID,
			PrincipalID: user.ObjectID, PrincipalType: "User", RoleDefinitionID: rbac.Owner, CreatedAt: at}},
	}
}

func testBootstrap(t *testing.T, open Opener) {
	s := open(t)
	if tenant, err := s.BootstrappedTenant(ctx); err != nil || tenant != "" {
		t.Fatalf("fresh store: BootstrappedTenant = %q, %v", tenant, err)
	}
	r := SampleRecords()
	if err := s.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	if tenant, _ := s.BootstrappedTenant(ctx); tenant != r.Tenant.ID {
		t.Fatalf("BootstrappedTenant = %q, want %q", tenant, r.Tenant.ID)
	}
	got, err := s.Tenant(ctx, r.Tenant.ID)
	if err != nil || !cmp.Equal(got, r.Tenant) {
		t.Errorf("Tenant = %+v, %v; diff %s", got, err, cmp.Diff(r.Tenant, got))
	}
	subs, err := s.Subscriptions(ctx, r.Tenant.ID)
	if err != nil || !cmp.Equal(subs, []principal.Subscription{r.Subscription}) {
		t.Errorf("Subscriptions: %v %s", err, cmp.Diff([]principal.Subscription{r.Subscription}, subs))
	}
	ras, err := s.RoleAssignmentsForPrincipal(ctx, r.Principals[0].Principal.ObjectID)
	if err != nil || !cmp.Equal(ras, r.RoleAssignments) {
		t.Errorf("RoleAssignments: %v %s", err, cmp.Diff(r.RoleAssignments, ras))
	}
	// A second bootstrap (another replica racing) changes nothing.
	second := SampleRecords()
	wantKind(t, s.CommitBootstrap(ctx, second), errkind.Conflict)
	if _, err := s.Tenant(ctx, second.Tenant.ID); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("losing bootstrap left its tenant behind: %v", err)
	}
}

func seedTenant(t *testing.T, s *store.Store) string {
	t.Helper()
	r := SampleRecords()
	if err := s.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r.Tenant.ID
}

func testPrincipals(t *testing.T, open Opener) {
	s := open(t)
	tenant := seedTenant(t, s)
	sp := principal.Principal{ObjectID: principal.NewID(), TenantID: tenant, Kind: principal.ServicePrincipal,
		DisplayName: "ci", ClientID: principal.NewID(), Enabled: true, CreatedAt: at}
	hash := sha256.Sum256([]byte("secret"))
	cred := identity.Credential{SecretHash: hash[:], SecretCreatedAt: at}
	if err := s.CreatePrincipal(ctx, sp, cred); err != nil {
		t.Fatal(err)
	}
	gotP, gotC, err := s.PrincipalByClientID(ctx, sp.ClientID)
	if err != nil || !cmp.Equal(gotP, sp) || !cmp.Equal(gotC, cred) {
		t.Fatalf("PrincipalByClientID: %v\n%s%s", err, cmp.Diff(sp, gotP), cmp.Diff(cred, gotC))
	}
	dup := sp
	dup.ObjectID = principal.NewID()
	wantKind(t, s.CreatePrincipal(ctx, dup, cred), errkind.Conflict)

	user, _, err := s.PrincipalByUserName(ctx, tenant, "admin")
	if err != nil || user.Kind != principal.User || !user.Admin {
		t.Fatalf("PrincipalByUserName = %+v, %v", user, err)
	}
	_, _, err = s.PrincipalByUserName(ctx, tenant, "nobody")
	wantKind(t, err, errkind.NotFound)

	list, err := s.Principals(ctx, tenant, principal.ServicePrincipal)
	if err != nil || len(list) != 1 || list[0].ObjectID != sp.ObjectID {
		t.Fatalf("Principals = %+v, %v", list, err)
	}
	newHash := sha256.Sum256([]byte("rotated"))
	later := at.Add(time.Hour)
	if err := s.SetClientSecret(ctx, sp.ObjectID, newHash[:], later); err != nil {
		t.Fatal(err)
	}
	_, gotC, _ = s.PrincipalByClientID(ctx, sp.ClientID)
	if !bytes.Equal(gotC.SecretHash, newHash[:]) || !gotC.SecretCreatedAt.Equal(later) {
		t.Errorf("secret not replaced: %+v", gotC)
	}
	wantKind(t, s.SetClientSecret(ctx, user.ObjectID, newHash[:], later), errkind.NotFound) // users have no secret
	if err := s.DeletePrincipal(ctx, sp.ObjectID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Principal(ctx, sp.ObjectID)
	wantKind(t, err, errkind.NotFound)
	wantKind(t, s.DeletePrincipal(ctx, sp.ObjectID), errkind.NotFound)
}

func testRefreshTokens(t *testing.T, open Opener) {
	s := open(t)
	seedTenant(t, s)
	tenantUser := func() string {
		r, _ := s.BootstrappedTenant(ctx)
		u, _, err := s.PrincipalByUserName(ctx, r, "admin")
		if err != nil {
			t.Fatal(err)
		}
		return u.ObjectID
	}()
	mk := func(name string, expires time.Time) identity.RefreshToken {
		h := sha256.Sum256([]byte(name))
		return identity.RefreshToken{Hash: h[:], FamilyID: "fam-" + name, PrincipalID: tenantUser,
			ClientID: "cli", CreatedAt: at, ExpiresAt: expires}
	}
	live, expired := mk("live", at.Add(time.Hour)), mk("expired", at.Add(-time.Second))
	for _, rt := range []identity.RefreshToken{live, expired} {
		if err := s.InsertRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.RedeemRefreshToken(ctx, expired.Hash, at)
	wantKind(t, err, errkind.NotFound)

	// Concurrent redemption: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.RedeemRefreshToken(ctx, live.Hash, at)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if got.PrincipalID != tenantUser || got.FamilyID != live.FamilyID || !got.ExpiresAt.Equal(live.ExpiresAt) {
					t.Errorf("redeemed = %+v", got)
				}
			} else if errkind.KindOf(err) != errkind.NotFound {
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent redemptions won, want exactly 1", wins)
	}
	fam, err := s.RefreshTokenFamily(ctx, live.Hash)
	if err != nil || fam != live.FamilyID {
		t.Fatalf("RefreshTokenFamily = %q, %v", fam, err)
	}
	if err := s.RevokeRefreshTokenFamily(ctx, fam); err != nil {
		t.Fatal(err)
	}
	_, err = s.RefreshTokenFamily(ctx, live.Hash)
	wantKind(t, err, errkind.NotFound)
	if n, err := s.DeleteExpiredRefreshTokens(ctx, at); err != nil || n != 1 {
		t.Errorf("DeleteExpiredRefreshTokens = %d, %v", n, err)
	}
}

func testSigningKeys(t *testing.T, open Opener) {
	s := open(t)
	k1 := token.StoredKey{ID: "k1", Algorithm: "RS256", PublicDER: []byte{1}, PrivateSealed: []byte{2}, CreatedAt: at}
	k2 := token.StoredKey{ID: "k2", Algorithm: "RS256", PublicDER: []byte{3}, PrivateSealed: []byte{4}, CreatedAt: at.Add(time.Hour)}
	for _, k := range []token.StoredKey{k1, k2} {
		if err := s.InsertSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SigningKeys(ctx)
	k1.RetiredAt = k2.CreatedAt
	if err != nil || !cmp.Equal(got, []token.StoredKey{k1, k2}) {
		t.Fatalf("SigningKeys: %v %s", err, cmp.Diff([]token.StoredKey{k1, k2}, got))
	}
	if n, err := s.DeleteSigningKeysRetiredBefore(ctx, k2.CreatedAt.Add(time.Nanosecond)); err != nil || n != 1 {
		t.Fatalf("DeleteSigningKeysRetiredBefore = %d, %v", n, err)
	}
	got, _ = s.SigningKeys(ctx)
	if len(got) != 1 || got[0].ID != "k2" || !got[0].RetiredAt.IsZero() {
		t.Fatalf("after delete: %+v", got)
	}
}

func testKEKs(t *testing.T, open Opener) {
	s := open(t)
	if got, err := s.KEKs(ctx, "system"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty scope: %v, %v (want empty non-nil slice)", got, err)
	}
	r1 := envelope.KEKRecord{Scope: "system", Version: 1, Wrapped: []byte("w1"), RootKeyID: "aaaaaaaaaaaaaaaa", CreatedAt: at}
	r2 := envelope.KEKRecord{Scope: "system", Version: 2, Wrapped: []byte("w2"), RootKeyID: "bbbbbbbbbbbbbbbb", CreatedAt: at}
	v1 := envelope.KEKRecord{Scope: "/subscriptions/x/vault", Version: 1, Wrapped: []byte("v1"), RootKeyID: "aaaaaaaaaaaaaaaa", CreatedAt: at}
	for _, r := range []envelope.KEKRecord{r2, r1, v1} {
		if err := s.InsertKEK(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	dup := r1
	dup.Wrapped = []byte("other")
	wantKind(t, s.InsertKEK(ctx, dup), errkind.Conflict)
	got, _ := s.KEKs(ctx, "system")
	if !cmp.Equal(got, []envelope.KEKRecord{r1, r2}) {
		t.Fatalf("KEKs: %s", cmp.Diff([]envelope.KEKRecord{r1, r2}, got))
	}
	stale, err := s.KEKsNotWrappedBy(ctx, "bbbbbbbbbbbbbbbb", 1)
	if err != nil || len(stale) != 1 || stale[0].Scope != v1.Scope {
		t.Fatalf("KEKsNotWrappedBy limit 1 = %+v, %v", stale, err)
	}
	ok, err := s.RewrapKEK(ctx, "system", 1, "cccccccccccccccc", "bbbbbbbbbbbbbbbb", []byte("x"))
	if err != nil || ok {
		t.Fatalf("RewrapKEK with wrong old id = %v, %v; want false", ok, err)
	}
	for _, r := range []envelope.KEKRecord{r1, v1} {
		ok, err := s.RewrapKEK(ctx, r.Scope, r.Version, r.RootKeyID, "bbbbbbbbbbbbbbbb", []byte("new"))
		if err != nil || !ok {
			t.Fatalf("RewrapKEK = %v, %v", ok, err)
		}
	}
	if stale, _ := s.KEKsNotWrappedBy(ctx, "bbbbbbbbbbbbbbbb", 10); len(stale) != 0 {
		t.Fatalf("rows left after rewrap: %+v", stale)
	}
	got, _ = s.KEKs(ctx, "system")
	if string(got[0].Wrapped) != "new" || !got[0].CreatedAt.Equal(at) {
		t.Errorf("rewrapped row = %+v", got[0])
	}
}
