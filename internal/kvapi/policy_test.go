package kvapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
)

// Every operation, for a principal lacking exactly its permission (403
// AccessDenied, audited, nothing looked up) and for one holding only it.
// The cases run in order, each leaving the state the next one needs.
func TestDenialMatrix(t *testing.T) {
	f := newFixture(t)
	admin := f.as(f.admin)
	all := []keyvault.SecretPermission{keyvault.SecretGet, keyvault.SecretList, keyvault.SecretSet, keyvault.SecretDelete,
		keyvault.SecretBackup, keyvault.SecretRestore, keyvault.SecretRecover, keyvault.SecretPurge}
	must(t, admin("PUT", "/secrets/target", `{"value":"v"}`), 200)
	var bk struct{ Value string }
	must(t, admin("POST", "/secrets/target/backup", ""), 200).json(t, &bk)
	cases := []struct {
		method, path, body string
		perm               keyvault.SecretPermission
		op                 string
		status             int
		setup              func() // puts the state the allowed call needs
	}{
		{"PUT", "/secrets/target", `{"value":"v2"}`, keyvault.SecretSet, "SecretSet", 200, nil},
		{"GET", "/secrets/target/", "", keyvault.SecretGet, "SecretGet", 200, nil},
		{"PATCH", "/secrets/target/", `{"tags":{}}`, keyvault.SecretSet, "SecretUpdate", 200, nil},
		{"GET", "/secrets", "", keyvault.SecretList, "SecretList", 200, nil},
		{"GET", "/secrets/target/versions", "", keyvault.SecretList, "SecretListVersions", 200, nil},
		{"POST", "/secrets/target/backup", "", keyvault.SecretBackup, "SecretBackup", 200, nil},
		{"DELETE", "/secrets/target", "", keyvault.SecretDelete, "SecretDelete", 200, nil},
		{"GET", "/deletedsecrets", "", keyvault.SecretList, "SecretListDeleted", 200, nil},
		{"GET", "/deletedsecrets/target", "", keyvault.SecretGet, "SecretGetDeleted", 200, nil},
		{"POST", "/deletedsecrets/target/recover", "", keyvault.SecretRecover, "SecretRecover", 200, nil},
		{"DELETE", "/deletedsecrets/target", "", keyvault.SecretPurge, "SecretPurge", 204, func() {
			must(t, admin("DELETE", "/secrets/target", ""), 200)
		}},
		{"POST", "/secrets/restore", `{"value":"` + bk.Value + `"}`, keyvault.SecretRestore, "SecretRestore", 200, nil},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			covered[c.method+" "+c.op] = true
			var others []keyvault.SecretPermission
			for _, p := range all {
				if p != c.perm {
					others = append(others, p)
				}
			}
			denied, allowed := f.principal(f.tenant), f.principal(f.tenant)
			v := f.vault
			f.grant(&v, f.tenant, denied.ObjectID, others...)
			f.grant(&v, f.tenant, allowed.ObjectID, c.perm)
			n := f.audit.count()
			r := f.as(denied)(c.method, c.path, c.body)
			code, inner := r.errCode()
			msg := fmt.Sprintf("does not have secrets %s permission on key vault 'myvault;location=westeurope'", c.perm)
			if r.status != 403 || code != "Forbidden" || inner != "AccessDenied" || !strings.Contains(string(r.body), msg) ||
				!strings.Contains(string(r.body), "oid="+denied.ObjectID) {
				t.Fatalf("denied: %d %s", r.status, r.body)
			}
			rec := f.audit.last(t)
			if f.audit.count() != n+1 || rec.OperationName != c.op || rec.IsAccessPolicyMatch || rec.StatusCode != 403 ||
				rec.CallerObjectID != denied.ObjectID || rec.ResultSignature != "Forbidden" {
				t.Errorf("denial audit: %+v", rec)
			}
			if c.setup != nil {
				c.setup()
			}
			r = f.as(allowed)(c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("allowed: %d %s", r.status, r.body)
			}
			if rec := f.audit.last(t); rec.OperationName != c.op || !rec.IsAccessPolicyMatch || rec.StatusCode != c.status {
				t.Errorf("allowed audit: %+v", rec)
			}
		})
	}
	for _, rt := range routes {
		if !covered[rt.method+" "+rt.op] {
			t.Errorf("route %s %s (%s) is not in the denial matrix", rt.method, rt.pattern, rt.op)
		}
	}
}

// Permission is checked before lookup: a caller without get learns
// nothing about which names exist.
func TestPermissionBeforeLookup(t *testing.T) {
	f := newFixture(t)
	must(t, f.as(f.admin)("PUT", "/secrets/exists", `{"value":"v"}`), 200)
	lister := f.principal(f.tenant)
	v := f.vault
	f.grant(&v, f.tenant, lister.ObjectID, keyvault.SecretList)
	do := f.as(lister)
	a, b := do("GET", "/secrets/exists/", ""), do("GET", "/secrets/missing/", "")
	if a.status != 403 || b.status != 403 {
		t.Errorf("probe: %d and %d", a.status, b.status)
	}
	// No policy at all: the same.
	stranger := f.principal(f.tenant)
	if r := f.as(stranger)("GET", "/secrets/exists/", ""); r.status != 403 {
		t.Errorf("no policy: %d", r.status)
	}
}

// A deleted or disabled principal's unexpired token stops working when
// Principals is wired.
type fakePrincipals map[string]principal.Principal

func (p fakePrincipals) Principal(_ context.Context, oid string) (principal.Principal, error) {
	if pr, ok := p[oid]; ok {
		return pr, nil
	}
	return principal.Principal{}, errkind.E(errkind.NotFound, "no principal")
}

func TestPrincipalChecks(t *testing.T) {
	ps := fakePrincipals{}
	f := newFixture(t, func(c *Config) { c.Principals = ps })
	ps[f.admin.ObjectID] = f.admin
	do := f.as(f.admin)
	must(t, do("GET", "/secrets", ""), 200)
	disabled := f.admin
	disabled.Enabled = false
	ps[f.admin.ObjectID] = disabled
	must(t, do("GET", "/secrets", ""), 401)
	delete(ps, f.admin.ObjectID)
	must(t, do("GET", "/secrets", ""), 401)
}

func TestRoutesNamePermissionAndOperation(t *testing.T) {
	for _, rt := range routes {
		if rt.perm == "" || rt.op == "" || rt.handle == nil {
			t.Errorf("route %s %s has no permission, operation or handler", rt.method, rt.pattern)
		}
	}
}
