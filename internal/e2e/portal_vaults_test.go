package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// TestPortalVaults drives the portal's Key vault pages over HTTP against
// the real server, signed in as the bootstrap admin (an Owner of the
// subscription): the vault an activation key made is listed and shown
// with its properties, access policies and lock; its secrets are hidden
// until revealed, and revealing needs an access policy, which Owner alone
// does not give; deleting is refused by the service's lock until the lock
// is removed; the deleted vault raises the edge resource's critical alert,
// is recovered, deleted again, and cannot be purged (purge protection);
// a vault without purge protection is purged after its name is typed.
func TestPortalVaults(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", &syncBuffer{})
	boot := srv.boot
	e := newEdgeEnv(t, srv, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	f := &vaultFlow{srv: srv, e: e, group: "rg-pv", device: "dev-pv", vault: "kv-pv-1"}
	e.group(t, f.group)
	e.createDevice(t, f.group, f.device)
	f.res = e.generate(t, f.group, f.device, f.vault)
	f.p = &vaultPortal{portalClient: signInPortal(t, srv, boot.Admin.Username, boot.Admin.Password)}
	f.url = "/vaults/" + f.group + "/" + f.vault
	f.deleted = "/vaults/deleted/westeurope/" + f.vault

	f.shown(t)
	f.revealRefused(t)
	f.revealGranted(t)
	f.deleteLocked(t)
	f.securityAfterDelete(t)
	f.recoverThenPurgeProtected(t)
	f.purgeUnprotected(t)
	f.p.checkURLs(t)
}

// vaultFlow is TestPortalVaults' state: the server, the edge resource
// and its vault, and the admin's portal session.
type vaultFlow struct {
	srv                  *inproc
	e                    *edgeEnv
	p                    *vaultPortal
	res                  activationResult
	group, device, vault string
	url, deleted         string // the vault's page; its deleted vault's actions
}

// shown: the list and the vault's page show the vault the activation
// key made, its properties, access policies and lock.
func (f *vaultFlow) shown(t *testing.T) {
	dev, err := f.e.devices.Get(context.Background(), f.device, f.group, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := f.p.page(t, "/vaults", http.StatusOK)
	wantIn(t, "vault list", list, `href="`+f.url+`"`, ">edge</span>")
	page := f.p.page(t, f.url, http.StatusOK)
	wantIn(t, "vault page", page, f.res.KeyVaultID, f.res.KeyVaultURI, "standard", "on, 90 days", "on: a deleted vault cannot be purged",
		"Vault access policies", "edgevault-operation", `href="/resources/`+f.group+`/`+f.device+`"`,
		*dev.Identity.PrincipalID, "get, set", "edgevault-keyvault-lock", "CanNotDelete", "this key vault",
		`href="`+f.url+`/audit"`, `href="`+f.url+`/insights"`)
}

// revealRefused: the admin is Owner but in no access policy, so the
// vault refuses to list its secrets to them; the page says which
// permission is missing, and so does Reveal.
func (f *vaultFlow) revealRefused(t *testing.T) {
	page := f.p.page(t, f.url, http.StatusOK)
	wantIn(t, "vault page as Owner only", page, `needs the secret permission "list"`, "You are not in the vault's access policies.",
		"does not have secrets list permission")
	st, out, _ := f.p.post(f.url+"/reveal", url.Values{"secret": {"anything"}})
	if st != http.StatusOK {
		t.Fatalf("reveal without a policy: %d", st)
	}
	wantIn(t, "reveal without a policy", out, "could not be found without listing the vault", `"list"`)
}

// revealGranted: with get and list granted, the secrets are listed
// without values, and a value appears only in the answer of its reveal.
func (f *vaultFlow) revealGranted(t *testing.T) {
	boot, e := f.srv.boot, f.e
	e.addPolicy(t, f.res.KeyVaultID, userObjectID(t, f.srv, boot.Admin.Username), "get", "list")
	e.addPolicy(t, f.res.KeyVaultID, boot.ServicePrincipal.ObjectID, "get", "list", "set")
	probe := "probe-" + randomHex(t)
	secrets := e.vaultSecrets(t, f.res.KeyVaultURI)
	if _, err := secrets.SetSecret(context.Background(), "portal-probe", azsecrets.SetSecretParameters{Value: to.Ptr(probe)}, nil); err != nil {
		t.Fatal(err)
	}
	page := f.p.page(t, f.url, http.StatusOK)
	cikName := regexp.MustCompile(`ase-cik-[A-Za-z0-9-]+`).FindString(page)
	if cikName == "" {
		t.Fatalf("the channel integrity key is not listed:\n%s", page)
	}
	cik, err := secrets.GetSecret(context.Background(), cikName, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.p.secrets = []string{probe, *cik.Value}
	// The page was read before the values were known: look again.
	page = f.p.page(t, f.url, http.StatusOK)
	wantIn(t, "vault page with a policy", page, "portal-probe", `<span class="badge">you</span>`, `action="`+f.url+`/reveal"`)
	for name, value := range map[string]string{"portal-probe": probe, cikName: *cik.Value} {
		st, out, loc := f.p.post(f.url+"/reveal", url.Values{"secret": {name}})
		out = html.UnescapeString(out)
		if st != http.StatusOK || loc != "" || !strings.Contains(out, value) {
			t.Fatalf("reveal %s: %d %q; value shown: %v", name, st, loc, strings.Contains(out, value))
		}
		wantIn(t, "revealed "+name, out, "the read is recorded in the vault's audit log", `data-copy="revealed-value"`)
	}
}

// deleteLocked: the service's lock refuses the delete, in words, with the
// way to the lock; once it is removed, the vault is deleted and listed
// among the deleted vaults.
func (f *vaultFlow) deleteLocked(t *testing.T) {
	f.p.page(t, f.url+"/delete", http.StatusOK)
	st, out, _ := f.p.post(f.url+"/delete", url.Values{"confirm": {f.vault}})
	if st != http.StatusConflict {
		t.Fatalf("delete a locked vault: %d\n%s", st, out)
	}
	wantIn(t, "locked delete", out, "A lock forbids deleting this vault",
		"cannot perform delete operation because following scope(s) are locked", `href="`+f.url+`#locks"`)
	f.p.removeLocks(t, f.url)
	f.p.deleteVault(t, f.url, f.vault)
	list := f.p.page(t, "/vaults", http.StatusOK)
	wantIn(t, "list after delete", list, `action="`+f.deleted+`/recover"`, `action="`+f.deleted+`/purge"`, "Made for an edge resource")
	if strings.Contains(list, `href="`+f.url+`"`) {
		t.Error("the deleted vault is still listed as live")
	}
}

// deviceOverview is the part of securityOverview the test reads.
type deviceOverview struct {
	KeyVault struct{ State string } `json:"keyVault"`
	Alerts   []struct {
		Properties struct{ AlertType, Severity string }
	} `json:"alerts"`
}

func (f *vaultFlow) overview(t *testing.T) deviceOverview {
	var o deviceOverview
	if st := f.e.raw(t, http.MethodGet, f.e.deviceURL(f.group, f.device, "/securityOverview"), nil, &o); st != http.StatusOK {
		t.Fatalf("securityOverview: %d", st)
	}
	return o
}

// securityAfterDelete: the edge resource's Security page and its
// securityOverview show the vault deleted and the critical alert.
func (f *vaultFlow) securityAfterDelete(t *testing.T) {
	security := f.p.page(t, "/resources/"+f.group+"/"+f.device+"/security", http.StatusOK)
	wantIn(t, "security page after delete", security, "SoftDeleted", "Critical", "Key Vault is deleted")
	o := f.overview(t)
	alerted := false
	for _, a := range o.Alerts {
		alerted = alerted || a.Properties.AlertType == "KeyVaultDeleted" && a.Properties.Severity == "Critical"
	}
	if o.KeyVault.State != "SoftDeleted" || !alerted {
		t.Errorf("securityOverview after delete: %+v", o)
	}
}

// recoverThenPurgeProtected: the vault is recovered whole (secrets
// included), deleted again, and purge protection refuses its purge.
func (f *vaultFlow) recoverThenPurgeProtected(t *testing.T) {
	st, _, loc := f.p.post(f.deleted+"/recover", url.Values{})
	if st != http.StatusSeeOther || loc != f.url+"?notice=recovered" {
		t.Fatalf("recover: %d to %q", st, loc)
	}
	page := f.p.page(t, loc, http.StatusOK)
	wantIn(t, "recovered vault", page, "The key vault was recovered", "portal-probe", "No locks apply to this vault")
	if o := f.overview(t); o.KeyVault.State != "Active" {
		t.Errorf("securityOverview after recovery: %+v", o)
	}
	f.p.deleteVault(t, f.url, f.vault)
	st, out, _ := f.p.post(f.deleted+"/purge", url.Values{"confirm": {f.vault}})
	if st != http.StatusMethodNotAllowed {
		t.Fatalf("purge a protected vault: %d\n%s", st, out)
	}
	wantIn(t, "protected purge", out, "Purge protection is on for this vault")
}

// purgeUnprotected: a vault without purge protection is purged once its
// name is typed back exactly.
func (f *vaultFlow) purgeUnprotected(t *testing.T) {
	const free = "kv-pv-free"
	e := f.e
	if st := e.raw(t, http.MethodPut, e.boot.ManagementEndpoint+e.rgScope(f.group)+"/providers/Microsoft.KeyVault/vaults/"+free+"?api-version=2023-07-01",
		map[string]any{"location": "westeurope", "properties": map[string]any{"tenantId": e.boot.TenantID,
			"sku": map[string]string{"family": "A", "name": "standard"}, "accessPolicies": []any{}}}, nil); st != http.StatusOK && st != http.StatusCreated {
		t.Fatalf("create %s: %d", free, st)
	}
	f.p.deleteVault(t, "/vaults/"+f.group+"/"+free, free)
	action := "/vaults/deleted/westeurope/" + free
	st, out, _ := f.p.post(action+"/purge", url.Values{"confirm": {"kv-pv-fre"}})
	if st != http.StatusBadRequest {
		t.Fatalf("purge with the name mistyped: %d", st)
	}
	wantIn(t, "mistyped purge", out, "Type the vault's name, "+free+", exactly")
	st, _, loc := f.p.post(action+"/purge", url.Values{"confirm": {free}})
	if st != http.StatusSeeOther || loc != "/vaults?notice=purged" {
		t.Fatalf("purge: %d to %q", st, loc)
	}
	list := f.p.page(t, loc, http.StatusOK)
	if strings.Contains(list, action) {
		t.Error("the purged vault is still listed")
	}
	wantIn(t, "list after purge", list, "purged", `action="`+f.deleted+`/recover"`)
}

// vaultPortal is a portal session that remembers every URL it visited or
// was sent to, and which secret values no page may show before a reveal.
type vaultPortal struct {
	*portalClient
	urls    []string
	secrets []string // values known to the test; only a reveal may show them
}

// page GETs path, which must answer want, and checks that no known
// secret value is on it.
func (p *vaultPortal) page(t *testing.T, path string, want int) string {
	t.Helper()
	p.urls = append(p.urls, path)
	st, page := p.get(path)
	if st != want {
		t.Fatalf("GET %s: %d, want %d\n%s", path, st, want, page)
	}
	for _, v := range p.secrets {
		if strings.Contains(html.UnescapeString(page), v) {
			t.Errorf("GET %s shows a secret value without a reveal", path)
		}
	}
	return page
}

func (p *vaultPortal) post(path string, form url.Values) (int, string, string) {
	p.t.Helper()
	st, page, loc := p.portalClient.post(path, form)
	p.urls = append(p.urls, path, loc)
	if form.Get("secret") == "" {
		for _, v := range p.secrets {
			if strings.Contains(html.UnescapeString(page), v) {
				p.t.Errorf("POST %s shows a secret value without a reveal", path)
			}
		}
	}
	return st, page, loc
}

// checkURLs fails if any URL carried a secret value.
func (p *vaultPortal) checkURLs(t *testing.T) {
	t.Helper()
	for _, u := range p.urls {
		for _, v := range p.secrets {
			if strings.Contains(u, v) {
				t.Errorf("a URL carries a secret value: %s", u)
			}
		}
	}
}

var lockFormRE = regexp.MustCompile(`name="lock" value="([^"]+)"`)

// removeLocks removes, through the vault page, every lock it lists.
func (p *vaultPortal) removeLocks(t *testing.T, vaultPage string) {
	t.Helper()
	page := p.page(t, vaultPage, http.StatusOK)
	for _, m := range lockFormRE.FindAllStringSubmatch(page, -1) {
		id := html.UnescapeString(m[1])
		if st, _, _ := p.post(vaultPage+"/locks/remove", url.Values{"lock": {id}}); st != http.StatusBadRequest {
			t.Fatalf("remove a lock unconfirmed: %d", st)
		}
		st, _, loc := p.post(vaultPage+"/locks/remove", url.Values{"lock": {id}, "confirm": {"yes"}})
		if st != http.StatusSeeOther || loc != vaultPage+"?notice=lock-removed#locks" {
			t.Fatalf("remove lock %s: %d to %q", id, st, loc)
		}
	}
	page = p.page(t, vaultPage, http.StatusOK)
	wantIn(t, "vault page without locks", page, "No locks apply to this vault")
}

// deleteVault deletes the vault through its blade.
func (p *vaultPortal) deleteVault(t *testing.T, vaultPage, name string) {
	t.Helper()
	p.page(t, vaultPage+"/delete", http.StatusOK)
	st, out, loc := p.post(vaultPage+"/delete", url.Values{"confirm": {name}})
	if st != http.StatusSeeOther || loc != "/vaults?notice=deleted" {
		t.Fatalf("delete %s: %d to %q\n%s", name, st, loc, out)
	}
}

// addPolicy adds an access policy for objectID with the secret
// permissions perms to the vault, as e's principal.
func (e *edgeEnv) addPolicy(t *testing.T, vaultID, objectID string, perms ...string) {
	t.Helper()
	body := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{
		"tenantId": e.boot.TenantID, "objectId": objectID, "permissions": map[string]any{"secrets": perms}}}}}
	if st := e.raw(t, http.MethodPut, e.boot.ManagementEndpoint+vaultID+"/accessPolicies/add?api-version=2023-07-01", body, nil); st != http.StatusOK {
		t.Fatalf("add access policy: %d", st)
	}
}

// userObjectID finds a user's object id through the admin API.
func userObjectID(t *testing.T, srv *inproc, userName string) string {
	t.Helper()
	boot := srv.boot
	api := adminAPI(srv.http, spToken(t, tokenClient(srv.http, boot), boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience))
	var users struct {
		Value []struct{ ObjectID, UserName string }
	}
	if err := api.Do(t.Context(), http.MethodGet, boot.ManagementEndpoint+adminPath+"/users", nil, &users); err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Value {
		if u.UserName == userName {
			return u.ObjectID
		}
	}
	t.Fatalf("no user %s", userName)
	return ""
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// wantIn fails for each of wants that page, unescaped, lacks.
func wantIn(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	page = html.UnescapeString(page)
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, page)
		}
	}
}
