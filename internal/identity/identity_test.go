package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

// cheap keeps argon2id fast in tests; production uses DefaultArgon2.
var cheap = identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}

var ctx = context.Background()

// setup returns a Service over a real SQLite store with a bootstrapped
// tenant whose admin user has the given password.
func setup(t *testing.T, now func() time.Time) (*identity.Service, *store.Store, string) {
	t.Helper()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := identity.New(identity.Config{Store: st, Argon2: cheap, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	recs := storetest.SampleRecords()
	user, cred, err := svc.NewUser(recs.Tenant.ID, "Admin@Example", "Admin", sensitive.New("correct horse battery"), true)
	if err != nil {
		t.Fatal(err)
	}
	recs.Principals[0].Principal, recs.Principals[0].Credential = user, cred
	recs.RoleAssignments = nil
	if err := st.CommitBootstrap(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return svc, st, recs.Tenant.ID
}

func TestServicePrincipalLifecycle(t *testing.T) {
	svc, _, tenant := setup(t, nil)
	sp, secret, err := svc.CreateServicePrincipal(ctx, tenant, "ci pipeline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret.Reveal(), "evcs_") || secret.Len() < 40 {
		t.Errorf("client secret %d chars, want evcs_ + 43", secret.Len())
	}
	got, err := svc.AuthenticateClient(ctx, tenant, sp.ClientID, secret)
	if err != nil || got.ObjectID != sp.ObjectID {
		t.Fatalf("AuthenticateClient = %+v, %v", got, err)
	}
	for name, tc := range map[string]struct{ tenant, client, secret string }{
		"wrong secret":   {tenant, sp.ClientID, secret.Reveal() + "x"},
		"empty secret":   {tenant, sp.ClientID, ""},
		"unknown client": {tenant, principal.NewID(), secret.Reveal()},
		"other tenant":   {principal.NewID(), sp.ClientID, secret.Reveal()},
	} {
		if _, err := svc.AuthenticateClient(ctx, tc.tenant, tc.client, sensitive.New(tc.secret)); !errors.Is(err, identity.ErrInvalidClient) {
			t.Errorf("%s: err = %v, want ErrInvalidClient", name, err)
		}
	}
	_, fresh, err := svc.ResetClientSecret(ctx, tenant, sp.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateClient(ctx, tenant, sp.ClientID, secret); !errors.Is(err, identity.ErrInvalidClient) {
		t.Error("old secret still works after reset")
	}
	if _, err := svc.AuthenticateClient(ctx, tenant, sp.ClientID, fresh); err != nil {
		t.Errorf("new secret: %v", err)
	}
	if _, _, err := svc.ResetClientSecret(ctx, principal.NewID(), sp.ClientID); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("reset from another tenant: %v", err)
	}
	if err := svc.DeleteServicePrincipal(ctx, tenant, sp.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateClient(ctx, tenant, sp.ClientID, fresh); !errors.Is(err, identity.ErrInvalidClient) {
		t.Error("deleted service principal still authenticates")
	}
	if _, _, err := svc.CreateServicePrincipal(ctx, tenant, "  "); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("blank display name: %v", err)
	}
}

func TestPassword(t *testing.T) {
	svc, _, tenant := setup(t, nil)
	p, err := svc.AuthenticatePassword(ctx, tenant, " ADMIN@example ", sensitive.New("correct horse battery"))
	if err != nil || p.UserName != "admin@example" || !p.Admin {
		t.Fatalf("AuthenticatePassword = %+v, %v", p, err)
	}
	for name, tc := range map[string]struct{ user, pw string }{
		"wrong password": {"admin@example", "correct horse battery!"},
		"unknown user":   {"nobody", "correct horse battery"},
		"empty":          {"", ""},
	} {
		if _, err := svc.AuthenticatePassword(ctx, tenant, tc.user, sensitive.New(tc.pw)); !errors.Is(err, identity.ErrInvalidGrant) {
			t.Errorf("%s: err = %v, want ErrInvalidGrant", name, err)
		}
	}
	if _, _, err := svc.NewUser(tenant, "short", "x", sensitive.New("tooshort"), false); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("short password accepted: %v", err)
	}
}

func TestRefreshTokens(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc, _, tenant := setup(t, clock)
	user, err := svc.AuthenticatePassword(ctx, tenant, "admin@example", sensitive.New("correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	rt1, err := svc.IssueRefreshToken(ctx, user, principal.CLIClientID)
	if err != nil {
		t.Fatal(err)
	}
	p, rt2, err := svc.RedeemRefreshToken(ctx, tenant, principal.CLIClientID, rt1)
	if err != nil || p.ObjectID != user.ObjectID || rt2.Equal(rt1) {
		t.Fatalf("first redemption: %+v, %v", p, err)
	}
	// Replaying rt1 (already used) is theft: the family is revoked, so
	// rt2 stops working too.
	if _, _, err := svc.RedeemRefreshToken(ctx, tenant, principal.CLIClientID, rt1); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("replay: %v", err)
	}
	if _, _, err := svc.RedeemRefreshToken(ctx, tenant, principal.CLIClientID, rt2); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("sibling of a replayed token still works: %v", err)
	}
	// Expiry.
	rt3, _ := svc.IssueRefreshToken(ctx, user, principal.CLIClientID)
	now = now.Add(15 * 24 * time.Hour)
	if _, _, err := svc.RedeemRefreshToken(ctx, tenant, principal.CLIClientID, rt3); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("expired refresh token: %v", err)
	}
	// Wrong client and garbage.
	rt4, _ := svc.IssueRefreshToken(ctx, user, principal.CLIClientID)
	if _, _, err := svc.RedeemRefreshToken(ctx, tenant, principal.NewID(), rt4); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Errorf("other client: %v", err)
	}
	if _, _, err := svc.RedeemRefreshToken(ctx, tenant, principal.CLIClientID, sensitive.New("garbage")); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Errorf("garbage: %v", err)
	}
}
