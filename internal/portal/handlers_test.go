package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/httpx"
)

func TestSignInFailure(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, user, pw string
		status         int
		want           string
	}{
		{"wrong password", "alice", "nope-Xq7-wrong", http.StatusUnauthorized, "The user name or password is wrong."},
		{"unknown user", "mallory", "mallory-Pw-9zq", http.StatusUnauthorized, "The user name or password is wrong."},
		{"empty", "", "", http.StatusBadRequest, "Enter your user name and password."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, f.h)
			_, page := b.do("GET", "/signin", nil)
			res, page := b.do("POST", "/signin", url.Values{"csrf": {csrf(t, page)}, "username": {tc.user}, "password": {tc.pw}})
			if res.StatusCode != tc.status || !strings.Contains(page, tc.want) {
				t.Errorf("answered %d, want %d with %q:\n%s", res.StatusCode, tc.status, tc.want, page)
			}
			if _, ok := b.cookies[sessionCookie]; ok {
				t.Error("a failed sign-in set a session cookie")
			}
			if strings.Contains(page, tc.pw) && tc.pw != "" {
				t.Error("the page echoes the password")
			}
		})
	}
}

func TestSignInCookie(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h)
	_, page := b.do("GET", "/signin", nil)
	res, _ := b.do("POST", "/signin", url.Values{"csrf": {csrf(t, page)}, "username": {"alice"}, "password": {"pw"}})
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == sessionCookie {
			c = x
		}
	}
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie attributes: %+v", c)
	}
	if len(c.Value) != 43 { // 32 bytes, base64url without padding
		t.Errorf("session id %q is not 256 bits", c.Value)
	}
	res, home := b.do("GET", "/", nil)
	if res.StatusCode != 200 || !strings.Contains(home, "dev1") || !strings.Contains(home, "Signed in as") {
		t.Errorf("home page: %d\n%s", res.StatusCode, home)
	}
	// Sign-out ends the session at the server, not only in the browser.
	id := b.cookies[sessionCookie]
	res, _ = b.do("POST", "/signout", url.Values{"csrf": {csrf(t, home)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	b.cookies[sessionCookie] = id
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("after sign-out, GET / answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestSignedOutRedirect(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h)
	if res, _ := b.do("GET", "/resources/rg1/dev1", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("GET without session: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := b.do("POST", "/resources/rg1/dev1/generate", url.Values{}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without session: %d", res.StatusCode)
	}
	if len(f.api.calls) != 0 {
		t.Errorf("the API was called without a session: %v", f.api.calls)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	b, home := f.signIn(t)
	good := csrf(t, home)
	// A token one character off (never the good one by chance).
	wrong := "x" + good[1:]
	if wrong == good {
		wrong = "y" + good[1:]
	}
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no token", url.Values{"keyVaultName": {"kv1"}}},
		{"wrong token", url.Values{"csrf": {wrong}, "keyVaultName": {"kv1"}}},
		{"empty token", url.Values{"csrf": {""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.api.calls)
			res, page := b.do("POST", "/resources/rg1/dev1/generate", tc.form)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "The form has expired") {
				t.Errorf("answered %d:\n%s", res.StatusCode, page)
			}
			if len(f.api.calls) != before {
				t.Errorf("a refused form reached the API: %v", f.api.calls[before:])
			}
		})
	}
	// Another session's token does not do either.
	b2, home2 := f.signIn(t)
	if res, _ := b2.do("POST", "/signout", url.Values{"csrf": {good}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: %d", res.StatusCode)
	}
	_ = home2
	// Sign-in without its double-submit cookie is refused.
	nb := newBrowser(t, f.h)
	_, page := nb.do("GET", "/signin", nil)
	tok := csrf(t, page)
	delete(nb.cookies, signInCookie)
	if res, _ := nb.do("POST", "/signin", url.Values{"csrf": {tok}, "username": {"alice"}, "password": {"pw"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without its cookie: %d", res.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	for _, path := range []string{"/signin", "/", "/static/portal.css", "/static/portal.js", "/nope", "/resources/rg1/dev1/security"} {
		res, _ := b.do("GET", path, nil)
		h := res.Header
		for k, want := range map[string]string{
			"Content-Security-Policy": contentSecurityPolicy, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "script-src 'self'") || strings.Contains(contentSecurityPolicy, "unsafe") {
		t.Errorf("CSP %q", contentSecurityPolicy)
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	// Idle: 29 minutes is fine, and renews; 30 idle minutes end it.
	b, _ := f.signIn(t)
	f.advance(29 * time.Minute)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != 200 {
		t.Fatalf("after 29 idle minutes: %d", res.StatusCode)
	}
	f.advance(29 * time.Minute)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != 200 {
		t.Fatalf("29 minutes after the last request: %d", res.StatusCode)
	}
	f.advance(30 * time.Minute)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 30 idle minutes: %d", res.StatusCode)
	}
	// Absolute: a session used every 20 minutes ends after 12 hours.
	b, _ = f.signIn(t)
	for elapsed := time.Duration(0); elapsed < AbsoluteTimeout-20*time.Minute; elapsed += 20 * time.Minute {
		f.advance(20 * time.Minute)
		if res, _ := b.do("GET", "/", nil); res.StatusCode != 200 {
			t.Fatalf("at %v: %d", elapsed+20*time.Minute, res.StatusCode)
		}
	}
	f.advance(20 * time.Minute)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 12 hours: %d", res.StatusCode)
	}
}

func TestPagesRenderAPIData(t *testing.T) {
	f := newFixture(t)
	b, home := f.signIn(t)
	for _, want := range []string{"dev1", "rg1", "eastus", "ReadyToSetup", sub} {
		if !strings.Contains(home, want) {
			t.Errorf("resource list lacks %q", want)
		}
	}
	res, page := b.do("GET", "/resources/rg1/dev1", nil)
	for _, want := range []string{"ReadyToSetup", "pid-1", "KeyVaultSynced", "BitLockerRecoveryKey", "Generate activation key"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview (%d) lacks %q", res.StatusCode, want)
		}
	}
	res, page = b.do("GET", "/resources/rg1/dev1/security", nil)
	for _, want := range []string{"kv1", "edgevault-protect", "CanNotDelete", "get, set", "BitLockerRecoveryKey", "abc123", "Sync device secrets"} {
		if !strings.Contains(page, want) {
			t.Errorf("security page (%d) lacks %q", res.StatusCode, want)
		}
	}
	// Every call was made with the user's token, on the management host.
	for _, c := range f.api.calls {
		if !strings.Contains(c, mgmtHost) {
			t.Errorf("call %q not on the management host", c)
		}
	}
}

func TestCreateResource(t *testing.T) {
	f := newFixture(t)
	b, home := f.signIn(t)
	res, _ := b.do("POST", "/resources", url.Values{"csrf": {csrf(t, home)}, "name": {"new1"}, "group": {"rg1"}, "location": {"eastus"}, "sku": {"EdgeP_Base"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/resources/rg1/new1" {
		t.Errorf("create: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := b.do("POST", "/resources", url.Values{"csrf": {csrf(t, home)}, "name": {"bad/name"}, "group": {"rg1"}, "location": {"eastus"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Enter a name") {
		t.Errorf("invalid name: %d", res.StatusCode)
	}
}

func TestAPIForbiddenIsNoAccess(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	f.api.forbid["/securityOverview"] = true
	res, page := b.do("GET", "/resources/rg1/dev1/security", nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "You do not have access") {
		t.Errorf("answered %d:\n%s", res.StatusCode, page)
	}
	f.api.forbid["/dataBoxEdgeDevices"] = true
	if res, page := b.do("GET", "/", nil); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "You do not have access") {
		t.Errorf("list: %d:\n%s", res.StatusCode, page)
	}
}

func TestSecretOnlyWhenRevealed(t *testing.T) {
	f := newFixture(t)
	b, home := f.signIn(t)
	pages := []string{home}
	for _, p := range []string{"/resources/rg1/dev1", "/resources/rg1/dev1/security"} {
		_, page := b.do("GET", p, nil)
		pages = append(pages, page)
	}
	for i, page := range pages {
		if strings.Contains(page, secretVal) {
			t.Errorf("page %d shows the secret value unrevealed", i)
		}
	}
	_, sec := b.do("GET", "/resources/rg1/dev1/security", nil)
	res, page := b.do("POST", "/resources/rg1/dev1/security/reveal", url.Values{"csrf": {csrf(t, sec)}, "secret": {"BitLockerRecoveryKey"}})
	if res.StatusCode != 200 || !strings.Contains(page, secretVal) || !strings.Contains(page, "audit log") {
		t.Errorf("reveal: %d\n%s", res.StatusCode, page)
	}
	last := f.api.calls[len(f.api.calls)-1]
	if last != "GET kv1."+vaultHost+"/secrets/BitLockerRecoveryKey/abc123" {
		t.Errorf("the value was read by %q", last)
	}
	// The revealed value is not in the next page.
	if _, page := b.do("GET", "/resources/rg1/dev1/security", nil); strings.Contains(page, secretVal) {
		t.Error("the value stays after the reveal")
	}
	// A secret the device does not have is not read at all.
	n := len(f.api.calls)
	if res, _ := b.do("POST", "/resources/rg1/dev1/security/reveal", url.Values{"csrf": {csrf(t, sec)}, "secret": {"Other"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown secret: %d", res.StatusCode)
	}
	for _, c := range f.api.calls[n:] {
		if strings.Contains(c, vaultHost) && strings.Contains(c, "/secrets/") {
			t.Errorf("unknown secret read %q", c)
		}
	}
	// The vault's refusal says which access policy is missing.
	f.api.vault403 = true
	res, page = b.do("POST", "/resources/rg1/dev1/security/reveal", url.Values{"csrf": {csrf(t, sec)}, "secret": {"BitLockerRecoveryKey"}})
	if res.StatusCode != 200 || !strings.Contains(page, "access policies") || !strings.Contains(page, "get") || strings.Contains(page, secretVal) {
		t.Errorf("vault 403: %d\n%s", res.StatusCode, page)
	}
}

func TestGenerateActivationKey(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	_, ov := b.do("GET", "/resources/rg1/dev1", nil)
	// An invalid vault name is refused next to the field, without a call.
	n := len(f.api.calls)
	res, page := b.do("POST", "/resources/rg1/dev1/generate", url.Values{"csrf": {csrf(t, ov)}, "keyVaultName": {"9x"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "3 to 24 characters") {
		t.Errorf("invalid vault name: %d", res.StatusCode)
	}
	for _, c := range f.api.calls[n:] {
		if strings.HasSuffix(c, "/generateActivationKey") {
			t.Error("an invalid vault name reached the API")
		}
	}
	res, _ = b.do("POST", "/resources/rg1/dev1/generate", url.Values{"csrf": {csrf(t, ov)}, "keyVaultName": {"kv-one"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operations/op1" {
		t.Fatalf("generate: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	f.api.lastStep = "LockKeyVault"
	res, page = b.do("GET", "/operations/op1", nil)
	if res.StatusCode != 200 || !strings.Contains(page, "CreateKeyVault") || !strings.Contains(page, "LockKeyVault") ||
		!strings.Contains(page, `http-equiv="refresh"`) || strings.Contains(page, keyVal) {
		t.Errorf("progress page: %d\n%s", res.StatusCode, page)
	}
	res, js := b.do("GET", "/operations/op1/status", nil)
	var p progress
	if err := json.Unmarshal([]byte(js), &p); err != nil || res.StatusCode != 200 || p.Done || len(p.Steps) != 2 {
		t.Errorf("status JSON: %d %v %+v", res.StatusCode, err, p)
	}
	f.api.opStatus, f.api.lastStep = "Succeeded", ""
	_, page = b.do("GET", "/operations/op1", nil)
	if !strings.Contains(page, keyVal) || !strings.Contains(page, "2026-12-01 00:00:00 UTC") || !strings.Contains(page, "Copy") ||
		strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("result page:\n%s", page)
	}
	// Shown once.
	if _, page = b.do("GET", "/operations/op1", nil); strings.Contains(page, keyVal) || !strings.Contains(page, "already shown") {
		t.Errorf("second view:\n%s", page)
	}
	// Another session cannot follow the operation.
	b2, _ := f.signIn(t)
	if res, _ := b2.do("GET", "/operations/op1", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("another session: %d", res.StatusCode)
	}
}

func TestSyncDeviceSecrets(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	_, sec := b.do("GET", "/resources/rg1/dev1/security", nil)
	res, _ := b.do("POST", "/resources/rg1/dev1/security/sync", url.Values{"csrf": {csrf(t, sec)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync: %d", res.StatusCode)
	}
	f.api.opStatus = "Succeeded"
	if _, page := b.do("GET", res.Header.Get("Location"), nil); !strings.Contains(page, "Device secrets synced.") {
		t.Errorf("no notification:\n%s", page)
	}
}

func TestCreateRegistersProvider(t *testing.T) {
	f := newFixture(t)
	f.api.unregistered = true
	b, home := f.signIn(t) // the list is empty, not an error
	if !strings.Contains(home, "No edge resources yet.") {
		t.Errorf("unregistered provider: home page\n%s", home)
	}
	res, _ := b.do("POST", "/resources", url.Values{"csrf": {csrf(t, home)}, "name": {"new1"}, "group": {"rg1"}, "location": {"eastus"}})
	if res.StatusCode != http.StatusSeeOther || f.api.unregistered {
		t.Errorf("create with registration: %d, still unregistered %v; calls %v", res.StatusCode, f.api.unregistered, f.api.calls)
	}
}

func TestDeleteBlade(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	_, blade := b.do("GET", "/resources/rg1/dev1/delete", nil)
	tok := csrf(t, blade)
	for _, tc := range []struct {
		name, confirm, vault, want string
	}{
		{"wrong name", "dev", "", "Type the resource&#39;s name"},
		{"vault not Yes", "dev1", "yes please", "Type Yes to delete the key vault too"},
	} {
		n := len(f.api.calls)
		res, page := b.do("POST", "/resources/rg1/dev1/delete", url.Values{"csrf": {tok}, "confirm": {tc.confirm}, "deleteVault": {tc.vault}})
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d\n%s", tc.name, res.StatusCode, page)
		}
		if len(f.api.calls) != n {
			t.Errorf("%s: the API was called: %v", tc.name, f.api.calls[n:])
		}
	}
	for _, tc := range []struct{ vault, want string }{{"", "false"}, {"Yes", "true"}} {
		res, _ := b.do("POST", "/resources/rg1/dev1/delete", url.Values{"csrf": {tok}, "confirm": {"dev1"}, "deleteVault": {tc.vault}})
		if res.StatusCode != http.StatusSeeOther || f.api.lastQuery.Get("deleteKeyVault") != tc.want {
			t.Errorf("delete (vault %q): %d, deleteKeyVault=%q", tc.vault, res.StatusCode, f.api.lastQuery.Get("deleteKeyVault"))
		}
	}
	f.api.opStatus = "Succeeded"
	if _, page := b.do("GET", "/operations/op1", nil); !strings.Contains(page, "is deleted") {
		t.Errorf("no confirmation of the deletion:\n%s", page)
	}
}

func TestRecoverBlade(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	res, blade := b.do("GET", "/resources/rg1/dev1/recover", nil)
	for _, step := range []string{"RecoverKeyVault", "LockKeyVault", "GrantManagedIdentityAccess", "WaitForDeviceSync"} {
		if !strings.Contains(blade, step) {
			t.Errorf("the recover blade does not list the step %s", step)
		}
	}
	if res.StatusCode != 200 || !strings.Contains(blade, "Recover key vault") {
		t.Fatalf("blade: %d", res.StatusCode)
	}
	res, _ = b.do("POST", "/resources/rg1/dev1/recover", url.Values{"csrf": {csrf(t, blade)}, "keyVaultName": {"kv-new"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recover: %d", res.StatusCode)
	}
	// Recovery's plan shares names with activation's: the page follows
	// the recovery plan.
	f.api.lastStep = "LockKeyVault"
	_, page := b.do("GET", "/operations/op1", nil)
	if !strings.Contains(page, "RecoverKeyVault") || strings.Contains(page, "CreateKeyVault") {
		t.Errorf("recover progress:\n%s", page)
	}
}

func TestCheckVaultName(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	for _, tc := range []struct {
		name      string
		available bool
		message   string
	}{
		{"kv-free", true, "The name is available."},
		{"taken-kv", false, "already in use"},
		{"9bad", false, "3 to 24 characters"},
		{"a--b", false, "3 to 24 characters"},
	} {
		res, body := b.do("GET", "/checkVaultName?name="+url.QueryEscape(tc.name), nil)
		var a struct {
			Checked, Available bool
			Message            string
		}
		if err := json.Unmarshal([]byte(body), &a); err != nil || res.StatusCode != 200 || !a.Checked ||
			a.Available != tc.available || !strings.Contains(a.Message, tc.message) {
			t.Errorf("%s: %d %s", tc.name, res.StatusCode, body)
		}
	}
}

// TestAPICallIsItsOwnRequest: the server's middleware keeps per-request
// state in the context; an API call made for a page must get its own
// (request id, surface), and carry the page's request id as correlation.
func TestAPICallIsItsOwnRequest(t *testing.T) {
	f := newFixture(t)
	h, err := New(Config{Auth: fakeAuth{}, API: httpx.RequestIDs(f.api), ManagementHost: mgmtHost, VaultHost: vaultHost, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	b, _ := f.signIn(t)
	b.h = httpx.RequestIDs(h)
	f.api.ids = nil
	res, _ := b.do("GET", "/resources/rg1/dev1", nil)
	page := res.Header.Get(httpx.HeaderRequestID)
	if page == "" || len(f.api.ids) == 0 {
		t.Fatalf("page request id %q, %d calls", page, len(f.api.ids))
	}
	for _, id := range f.api.ids {
		if id[0] == "" || id[0] == page || id[1] != page {
			t.Errorf("call ids %v, page request id %s", id, page)
		}
	}
}
