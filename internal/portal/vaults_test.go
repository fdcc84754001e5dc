package portal

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// newVaultFixture is newFixture with fakeVaults in front of its API, and
// alice signed in.
func newVaultFixture(t *testing.T) (*fixture, *fakeVaults, *browser) {
	t.Helper()
	f := newFixture(t)
	fv := newFakeVaults(f.api)
	h, err := New(Config{Auth: fakeAuth{}, API: fv, ManagementHost: mgmtHost, VaultHost: vaultHost, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	b, _ := f.signIn(t)
	return f, fv, b
}

// get fetches path, which must answer want.
func get(t *testing.T, b *browser, path string, want int) string {
	t.Helper()
	res, page := b.do("GET", path, nil)
	if res.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", path, res.StatusCode, want, page)
	}
	return page
}

// post posts form (with the page's CSRF token) to path; it returns the
// status, the page and the redirect's Location.
func post(t *testing.T, b *browser, page, path string, form url.Values) (int, string, string) {
	t.Helper()
	form.Set("csrf", csrf(t, page))
	res, out := b.do("POST", path, form)
	return res.StatusCode, out, res.Header.Get("Location")
}

func wantAll(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q:\n%s", w, page)
		}
	}
}

func TestVaultList(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults", 200)
	wantAll(t, page, `<a href="/vaults/rg1/kv1">kv1</a>`, ">edge</span>", "Deleted vaults",
		"kvold", "rg2", "2026-11-20 08:00:00 UTC", "2027-02-18 08:00:00 UTC",
		`action="/vaults/deleted/eastus/kvold/recover"`, `action="/vaults/deleted/eastus/kvold/purge"`,
		`<label for="purge-kvold">`, `id="purge-kvold" name="confirm" required`, "purge protection on", `href="/static/vaults.css"`)
	// Empty states, in words, while Key Vault's provider is not registered.
	fv.mu.Lock()
	fv.unregistered = true
	fv.mu.Unlock()
	page = get(t, b, "/vaults", 200)
	wantAll(t, page, "No key vaults in this subscription", "No deleted key vaults.")
}

func TestVaultPage(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults/rg1/kv1", 200)
	wantAll(t, page, kv1ID, "https://kv1."+vaultHost+"/", "standard (family A)", "on, 90 days",
		"on: a deleted vault cannot be purged", "Vault access policies", "Enabled", "op-123", "edgevault-operation",
		`<a href="/resources/rg1/dev1">dev1</a>`,
		// access policies, the user's marked
		aliceID+`</code> <span class="badge">you</span>`, "get, list", "get, set",
		// the lock and its Remove form
		"edgevault-keyvault-lock", "CanNotDelete", "this key vault", `action="/vaults/rg1/kv1/locks/remove"`,
		`name="lock" value="`+kv1LockID+`"`, `name="confirm" value="yes" required`,
		// the secrets, with Reveal forms
		"ase-cik-op-123", "BitLockerRecoveryKey", "application/octet-stream", `action="/vaults/rg1/kv1/reveal"`,
		// the other pages of the vault
		`href="/vaults/rg1/kv1/audit"`, `href="/vaults/rg1/kv1/insights"`, `href="/vaults/rg1/kv1/delete"`)
	for _, v := range []string{cikVal, secretVal} {
		if strings.Contains(page, v) {
			t.Errorf("the page shows a secret value before it was revealed")
		}
	}
	if fv.called("GET kv1." + vaultHost + "/secrets/") {
		t.Errorf("showing the page read a secret: %v", fv.calls)
	}
	get(t, b, "/vaults/rg1/nope", 404)
	get(t, b, "/vaults/rg2/kv1", 404) // another group's
}

func TestVaultReveal(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults/rg1/kv1", 200)
	// Revealing is a POST: a GET of the action is no route.
	if res, _ := b.do("GET", "/vaults/rg1/kv1/reveal?secret=ase-cik-op-123", nil); res.StatusCode == 200 {
		t.Error("a GET revealed")
	}
	st, out, _ := post(t, b, page, "/vaults/rg1/kv1/reveal", url.Values{"secret": {"ase-cik-op-123"}})
	if st != 200 {
		t.Fatalf("reveal: %d\n%s", st, out)
	}
	wantAll(t, out, cikVal, "recorded in the vault's audit log", `data-copy="revealed-value"`)
	if strings.Contains(out, secretVal) {
		t.Error("the page shows a secret that was not asked for")
	}
	if !fv.called("GET kv1." + vaultHost + "/secrets/ase-cik-op-123?api-version=7.5") {
		t.Errorf("the value was not read from the listed secret's URL: %v", fv.calls)
	}
	for _, c := range fv.calls {
		if strings.Contains(c, cikVal) {
			t.Errorf("a URL carries the value: %s", c)
		}
	}
	// A name the vault does not list is not read.
	n := fv.callCount()
	_, out, _ = post(t, b, out, "/vaults/rg1/kv1/reveal", url.Values{"secret": {"../../keys/k1"}})
	wantAll(t, out, "The vault has no secret of that name.")
	for _, c := range fv.calls[n:] {
		if strings.Contains(c, "keys") {
			t.Errorf("an unlisted name reached the vault: %s", c)
		}
	}
}

func TestVaultRevealRefused(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults/rg1/kv1", 200)
	fv.mu.Lock()
	fv.getForbid = true
	fv.mu.Unlock()
	_, out, _ := post(t, b, page, "/vaults/rg1/kv1/reveal", url.Values{"secret": {"BitLockerRecoveryKey"}})
	wantAll(t, out, `needs the secret permission &#34;get&#34;`, "Your access policy grants the secret permissions get, list",
		"does not have secrets get permission")
	if strings.Contains(out, secretVal) {
		t.Error("a refused read shows the value")
	}
	// Without list, the page says so, and Reveal cannot find the secret.
	fv.mu.Lock()
	fv.listForbid = true
	fv.vaults["kv1"].policies = fv.vaults["kv1"].policies[:1] // alice's policy gone
	fv.mu.Unlock()
	page = get(t, b, "/vaults/rg1/kv1", 200)
	wantAll(t, page, `needs the secret permission &#34;list&#34;`, "You are not in the vault&#39;s access policies.")
	_, out, _ = post(t, b, page, "/vaults/rg1/kv1/reveal", url.Values{"secret": {"BitLockerRecoveryKey"}})
	wantAll(t, out, "could not be found without listing the vault", `&#34;list&#34;`)
}

func TestVaultDeleteLockedThenUnlocked(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	blade := get(t, b, "/vaults/rg1/kv1/delete", 200)
	wantAll(t, blade, `<label for="confirm">`, `action="/vaults/rg1/kv1/delete"`)
	// The name typed wrong: nothing is called.
	n := fv.callCount()
	st, out, _ := post(t, b, blade, "/vaults/rg1/kv1/delete", url.Values{"confirm": {"kv"}})
	if st != 400 || fv.called("DELETE") || fv.callCount() != n {
		t.Fatalf("wrong name: %d, calls %v", st, fv.calls[n:])
	}
	wantAll(t, out, "Type the vault&#39;s name, kv1, exactly.")
	// Locked: refused, in words, with the way to the lock.
	st, out, _ = post(t, b, out, "/vaults/rg1/kv1/delete", url.Values{"confirm": {"kv1"}})
	if st != http.StatusConflict {
		t.Fatalf("locked delete: %d\n%s", st, out)
	}
	wantAll(t, out, "A lock forbids deleting this vault", "Please remove the lock", `href="/vaults/rg1/kv1#locks"`)
	// Removing the lock needs the box ticked.
	page := get(t, b, "/vaults/rg1/kv1", 200)
	st, out, _ = post(t, b, page, "/vaults/rg1/kv1/locks/remove", url.Values{"lock": {kv1LockID}})
	if st != 400 || fv.called("DELETE "+mgmtHost+kv1LockID) {
		t.Fatalf("unconfirmed removal: %d", st)
	}
	wantAll(t, out, "Tick the box next to the lock edgevault-keyvault-lock")
	// A lock id the vault does not list is not deleted.
	other := "/subscriptions/" + sub + "/resourceGroups/rg9/providers/Microsoft.Authorization/locks/x"
	st, _, _ = post(t, b, out, "/vaults/rg1/kv1/locks/remove", url.Values{"lock": {other}, "confirm": {"yes"}})
	if st != 400 || fv.called("DELETE "+mgmtHost+other) {
		t.Fatalf("foreign lock: %d", st)
	}
	st, _, loc := post(t, b, out, "/vaults/rg1/kv1/locks/remove", url.Values{"lock": {kv1LockID}, "confirm": {"yes"}})
	if st != http.StatusSeeOther || loc != "/vaults/rg1/kv1?notice=lock-removed#locks" {
		t.Fatalf("remove lock: %d to %q", st, loc)
	}
	if !fv.called("DELETE " + mgmtHost + kv1LockID + "?api-version=2020-05-01") {
		t.Errorf("lock not deleted through the API: %v", fv.calls)
	}
	page = get(t, b, "/vaults/rg1/kv1?notice=lock-removed", 200)
	wantAll(t, page, "The lock was removed.", "No locks apply to this vault")
	// Now the delete goes through, and the vault is among the deleted.
	st, _, loc = post(t, b, page, "/vaults/rg1/kv1/delete", url.Values{"confirm": {"kv1"}})
	if st != http.StatusSeeOther || loc != "/vaults?notice=deleted" {
		t.Fatalf("delete: %d to %q", st, loc)
	}
	page = get(t, b, loc, 200)
	wantAll(t, page, "The key vault was deleted.", `action="/vaults/deleted/eastus/kv1/recover"`, "Made for an edge resource")
	if strings.Contains(page, `href="/vaults/rg1/kv1"`) {
		t.Error("the deleted vault is still listed as live")
	}
}

func TestDeletedVaultRecover(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults", 200)
	st, _, loc := post(t, b, page, "/vaults/deleted/eastus/kvold/recover", url.Values{})
	if st != http.StatusSeeOther || loc != "/vaults/rg2/kvold?notice=recovered" {
		t.Fatalf("recover: %d to %q", st, loc)
	}
	// The PUT went to the vault's original group, read from its vaultId.
	if !fv.called("PUT " + mgmtHost + "/subscriptions/" + sub + "/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvold?api-version=2023-07-01") {
		t.Errorf("calls: %v", fv.calls)
	}
	if got := fv.bodies[len(fv.bodies)-1]; !strings.Contains(got, `"createMode":"recover"`) || !strings.Contains(got, `"location":"eastus"`) {
		t.Errorf("recover body %s", got)
	}
	wantAll(t, get(t, b, loc, 200), "The key vault was recovered")
	// A vault that is not (or no longer) deleted: said in words.
	st, out, _ := post(t, b, page, "/vaults/deleted/eastus/kvold/recover", url.Values{})
	if st != http.StatusConflict {
		t.Fatalf("recover again: %d\n%s", st, out)
	}
	wantAll(t, out, "no longer there")
}

func TestDeletedVaultPurge(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults", 200)
	// The name typed wrong: nothing is purged.
	st, out, _ := post(t, b, page, "/vaults/deleted/eastus/kvold/purge", url.Values{"confirm": {"kvol"}})
	if st != 400 || fv.called("POST "+mgmtHost+deletedOld+"/purge") {
		t.Fatalf("wrong name: %d", st)
	}
	wantAll(t, out, "Type the vault&#39;s name, kvold, exactly, to purge it.", `value="kvol"`)
	// Purge protection refuses, in words.
	st, out, _ = post(t, b, out, "/vaults/deleted/eastus/kvprot/purge", url.Values{"confirm": {"kvprot"}})
	if st != http.StatusMethodNotAllowed {
		t.Fatalf("protected purge: %d\n%s", st, out)
	}
	wantAll(t, out, "Purge protection is on for this vault", "scheduled purge date")
	st, _, loc := post(t, b, out, "/vaults/deleted/eastus/kvold/purge", url.Values{"confirm": {"kvold"}})
	if st != http.StatusSeeOther || loc != "/vaults?notice=purged" {
		t.Fatalf("purge: %d to %q", st, loc)
	}
	if !fv.called("POST " + mgmtHost + deletedOld + "/purge?api-version=2023-07-01") {
		t.Errorf("calls: %v", fv.calls)
	}
	page = get(t, b, loc, 200)
	wantAll(t, page, "purged")
	if strings.Contains(page, "purge-kvold") {
		t.Error("the purged vault is still listed")
	}
}

func TestVaultNamesCheckedFirst(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults", 200)
	n := fv.callCount()
	for _, path := range []string{"/vaults/rg1/k", "/vaults/rg1/kv--1", "/vaults/rg%20x/kv1", "/vaults/rg1/1kv/delete"} {
		get(t, b, path, 404)
	}
	for _, path := range []string{"/vaults/deleted/East%20US/kvold/recover", "/vaults/deleted/eastus/kv_old/purge", "/vaults/rg1/k/reveal"} {
		if st, _, _ := post(t, b, page, path, url.Values{"confirm": {"kv_old"}}); st != 404 {
			t.Errorf("POST %s: %d", path, st)
		}
	}
	if fv.callCount() != n {
		t.Errorf("invalid names reached the API: %v", fv.calls[n:])
	}
	// And every POST needs the session's CSRF token.
	res, _ := b.do("POST", "/vaults/rg1/kv1/delete", url.Values{"confirm": {"kv1"}})
	if res.StatusCode != http.StatusForbidden || fv.called("DELETE") {
		t.Errorf("POST without CSRF: %d", res.StatusCode)
	}
}

// inlineRE finds inline script or style, which the CSP forbids.
var inlineRE = regexp.MustCompile(`(?i)<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`)

func TestVaultPagesNoInline(t *testing.T) {
	_, _, b := newVaultFixture(t)
	for _, path := range []string{"/vaults", "/vaults/rg1/kv1", "/vaults/rg1/kv1/delete", "/static/vaults.css"} {
		page := get(t, b, path, 200)
		if m := inlineRE.FindString(page); m != "" && !strings.HasSuffix(path, ".css") {
			t.Errorf("%s has inline code %q", path, m)
		}
	}
}
