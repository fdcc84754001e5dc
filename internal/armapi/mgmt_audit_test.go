package armapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/token"
)

// oneSubscription is a Subscriptions with one subscription, of tenant t1.
type oneSubscription struct{ id string }

func (s oneSubscription) Subscription(_ context.Context, id string) (principal.Subscription, error) {
	if id != s.id {
		return principal.Subscription{}, errkind.E(errkind.NotFound, "no subscription")
	}
	return principal.Subscription{ID: id, TenantID: "t1"}, nil
}

func (s oneSubscription) Subscriptions(context.Context, string) ([]principal.Subscription, error) {
	return nil, nil
}

// TestAuditWrite runs the wrapper around stand-in handlers and reads the
// records back: one per request, with operation, caller, status and the
// failure message; a recovery PUT is VaultRecover; a failed request in a
// foreign subscription leaves nothing; when the trail fails the client gets
// 503, not the held answer.
func TestAuditWrite(t *testing.T) {
	e := newAuditEnv(t)
	vault := auditVaultID("kv1")
	e.h.cfg.Subscriptions = oneSubscription{id: vault.SubscriptionID()}
	serve := func(method, path, body string, scope resource.ID, op audit.OperationName, status int, answer string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, "https://management.localhost:8443"+path+"?api-version=2024-11-01&secret=x", strings.NewReader(body))
		r.Header.Set("User-Agent", "armkeyvault/1.5.0")
		q := &request{Request: r, vars: map[string]string{"vaultName": "kv1"}, scope: scope, apiVersion: "2024-11-01",
			caller: Caller{Principal: principal.Principal{ObjectID: "oid-1", TenantID: "t1"},
				Claims: token.Claims{ObjectID: "oid-1", TenantID: "t1", AppID: "app-1", UserName: "ann@contoso", IDType: token.User}}}
		w := httptest.NewRecorder()
		e.h.auditWrite(w, q, &route{Audit: op}, func(w http.ResponseWriter) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(answer))
			return status != http.StatusConflict
		})
		return w
	}
	group := resource.NewResourceGroup(vault.SubscriptionID(), vault.ResourceGroupName())
	if w := serve("PUT", vault.String(), `{"location":"westeurope"}`, group, audit.VaultPut, http.StatusCreated, `{"id":"x"}`); w.Code != http.StatusCreated || w.Body.String() != `{"id":"x"}` {
		t.Fatalf("PUT answered %d %s", w.Code, w.Body)
	}
	serve("PUT", vault.String(), `{"location":"westeurope","properties":{"createMode":"recover"}}`, group, audit.VaultPut, http.StatusOK, `{}`)
	serve("PATCH", vault.String(), `{}`, group, audit.VaultPatch, http.StatusForbidden, `{"error":{"code":"AuthorizationFailed","message":"denied."}}`)
	serve("PUT", vault.String()+"/accessPolicies/add", `{}`, group, VaultAccessPolicyUpdate, http.StatusOK, `{}`)
	serve("DELETE", vault.String(), ``, group, audit.VaultDelete, http.StatusOK, ``)
	// ARM's front door refused it (unregistered provider): not recorded.
	serve("PATCH", vault.String(), `{}`, group, audit.VaultPatch, http.StatusConflict, `{"error":{"code":"MissingSubscriptionRegistration","message":"x"}}`)
	foreign := resource.NewResourceGroup("00000000-0000-0000-0000-00000000ffff", "rg")
	serve("DELETE", foreign.String()+"/providers/Microsoft.KeyVault/vaults/kv1", ``, foreign, audit.VaultDelete, http.StatusNotFound, `{}`)

	got := e.page(t, vault, "")
	want := []struct {
		op     string
		status int
		result string
		desc   string
	}{
		{"VaultPut", 201, "Success", ""}, {"VaultRecover", 200, "Success", ""}, {"VaultPatch", 403, "Failure", "denied."},
		{"VaultAccessPolicyUpdate", 200, "Success", ""}, {"VaultDelete", 200, "Success", ""},
	}
	if len(got.Value) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(got.Value), len(want), got.Value)
	}
	for i, w := range want {
		ev := got.Value[i]
		if ev.OperationName != w.op || ev.Properties.HTTPStatusCode != w.status || ev.ResultType != w.result || ev.ResultDescription != w.desc {
			t.Errorf("record %d = %s %d %s %q, want %+v", i, ev.OperationName, ev.Properties.HTTPStatusCode, ev.ResultType, ev.ResultDescription, w)
		}
		if ev.Identity == nil || ev.Identity.Claim != (arm.AuditClaims{ObjectID: "oid-1", AppID: "app-1", UPN: "ann@contoso", TenantID: "t1", IDType: "user"}) {
			t.Errorf("record %d identity = %+v", i, ev.Identity)
		}
		if strings.Contains(ev.Properties.RequestURI, "secret") || ev.Properties.ClientInfo != "armkeyvault/1.5.0" || ev.OperationVersion != "2024-11-01" {
			t.Errorf("record %d properties = %+v", i, ev.Properties)
		}
	}
	if got := e.page(t, foreign.Child("Microsoft.KeyVault", "vaults", "kv1"), ""); len(got.Value) != 0 {
		t.Errorf("foreign subscription: %d records, want none", len(got.Value))
	}

	// A closed trail fails the request closed.
	if err := e.w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := serve("DELETE", vault.String(), ``, group, audit.VaultDelete, http.StatusOK, ``); w.Code != http.StatusServiceUnavailable {
		t.Errorf("with the trail closed: %d, want 503", w.Code)
	}
}
