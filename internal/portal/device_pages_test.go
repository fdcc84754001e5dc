package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAlertsPage(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	res, page := b.do("GET", "/resources/rg1/dev1/alerts", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("alerts page: %d\n%s", res.StatusCode, page)
	}
	crit, warn := strings.Index(page, "The key vault was deleted"), strings.Index(page, "Device offline")
	if crit < 0 || warn < 0 {
		t.Fatalf("alerts page lacks an alert:\n%s", page)
	}
	// The API lists the Warning first; the page puts the Critical one first.
	if crit > warn {
		t.Error("the Critical alert is not listed before the Warning")
	}
	if !strings.Contains(page, "Recover the key vault.") || !strings.Contains(page, `aria-current="page">Alerts`) {
		t.Errorf("alerts page lacks the recommendation or the current tab:\n%s", page)
	}
	f.api.forbid["/alerts"] = true
	if res, page := b.do("GET", "/resources/rg1/dev1/alerts", nil); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(page, "You do not have access") {
		t.Errorf("refused alerts: %d\n%s", res.StatusCode, page)
	}
}

func TestActivationKeysOnOverview(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	_, page := b.do("GET", "/resources/rg1/dev1", nil)
	for _, want := range []string{"Activation keys", "Unused", "Revoked", "2026-11-30 09:00:00 UTC", "Revoke unused keys"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	// The newest key is listed first.
	if strings.Index(page, "2026-11-30 09:00:00 UTC") > strings.Index(page, "2026-11-29 09:00:00 UTC") {
		t.Error("keys are not newest first")
	}
	res, _ := b.do("POST", "/resources/rg1/dev1/keys/revoke", url.Values{"csrf": {csrf(t, page)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/resources/rg1/dev1?notice=revoked#activation-keys" {
		t.Fatalf("revoke: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if f.api.revokeBody == nil || len(f.api.revokeBody) != 0 {
		t.Errorf("revoke sent key ids %v, want [] (every unused key)", f.api.revokeBody)
	}
	_, page = b.do("GET", "/resources/rg1/dev1?notice=revoked", nil)
	if !strings.Contains(page, "The unused activation keys are revoked.") {
		t.Error("the overview does not confirm the revocation")
	}
	// Text in the URL is never printed: only known notices are.
	if _, page = b.do("GET", "/resources/rg1/dev1?notice=%3Cb%3Ehi", nil); strings.Contains(page, "hi</b>") || strings.Contains(page, "&lt;b&gt;hi") {
		t.Error("the overview prints text from the URL")
	}
	// Without a CSRF token nothing is revoked.
	f.api.revokeBody = nil
	if res, _ := b.do("POST", "/resources/rg1/dev1/keys/revoke", url.Values{}); res.StatusCode != http.StatusForbidden || f.api.revokeBody != nil {
		t.Errorf("revoke without CSRF: %d, revoked %v", res.StatusCode, f.api.revokeBody)
	}
}

func TestReconfigureBlade(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	res, page := b.do("GET", "/resources/rg1/dev1/reconfigure", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("reconfigure blade: %d", res.StatusCode)
	}
	for _, want := range []string{"EnableManagedIdentity", "GrantManagedIdentityAccess", "RequestDeviceSync", "get, set", "kv1 (Active)"} {
		if !strings.Contains(page, want) {
			t.Errorf("reconfigure blade lacks %q", want)
		}
	}
	res, _ = b.do("POST", "/resources/rg1/dev1/reconfigure", url.Values{"csrf": {csrf(t, page)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operations/op1" {
		t.Fatalf("reconfigure: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !slices.Contains(f.api.calls, "POST "+mgmtHost+"/subscriptions/"+sub+"/resourceGroups/rg1/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/dev1/reconfigureManagedIdentity") {
		t.Errorf("reconfigureManagedIdentity was not called: %v", f.api.calls)
	}
	f.api.opStatus, f.api.lastStep = "Succeeded", "RequestDeviceSync"
	_, page = b.do("GET", "/operations/op1", nil)
	if !strings.Contains(page, "Reconfigure managed identity") || !strings.Contains(page, "has its access to the key vault again") {
		t.Errorf("progress page:\n%s", page)
	}
}

func TestSecurityPreferences(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	_, page := b.do("GET", "/resources/rg1/dev1/security", nil)
	for _, want := range []string{"Security preferences", `href="/resources/rg1/dev1/reconfigure"`, `href="/resources/rg1/dev1/recover"`,
		"Managed identity and access policy"} {
		if !strings.Contains(page, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
}

func TestSecretURL(t *testing.T) {
	for _, tc := range []struct{ vault, id, want string }{
		{"https://kv1.vault.localhost:8443/", "secrets/Bit/abc", "https://kv1.vault.localhost:8443/secrets/Bit/abc"},
		{"https://kv1.vault.localhost:8443", "secrets/Bit/abc", "https://kv1.vault.localhost:8443/secrets/Bit/abc"},
		{"https://kv1.vault.localhost:8443/", "https://kv1.vault.localhost:8443/secrets/Bit/abc", "https://kv1.vault.localhost:8443/secrets/Bit/abc"},
		{"https://kv1.vault.localhost:8443/", "", ""},
	} {
		if got := secretURL(tc.vault, tc.id); got != tc.want {
			t.Errorf("secretURL(%q, %q) = %q, want %q", tc.vault, tc.id, got, tc.want)
		}
	}
}

func TestSendSecret(t *testing.T) {
	f := newFixture(t)
	b, _ := f.signIn(t)
	_, page := b.do("GET", "/resources/rg1/dev1/security", nil)
	token := csrf(t, page)
	const value = "wifi-Passphrase-7QZ"
	res, _ := b.do("POST", "/resources/rg1/dev1/security/send", url.Values{"csrf": {token}, "secretName": {"Wifi"}, "secretValue": {value}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/resources/rg1/dev1/security?notice=sent#send" {
		t.Fatalf("send: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !slices.Equal(f.api.sent, []string{"Wifi=" + value}) {
		t.Errorf("the API received %v", f.api.sent)
	}
	// Refused by the API: the problem in words, the name kept, the value not.
	res, page = b.do("POST", "/resources/rg1/dev1/security/send", url.Values{"csrf": {token}, "secretName": {"bad-name"}, "secretValue": {value}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "1 to 64 letters and digits") || !strings.Contains(page, `value="bad-name"`) {
		t.Errorf("refused send: %d\n%s", res.StatusCode, page)
	}
	if strings.Contains(page, value) {
		t.Error("the page echoes the secret's value")
	}
	// An empty value never reaches the API.
	f.api.sent = nil
	res, page = b.do("POST", "/resources/rg1/dev1/security/send", url.Values{"csrf": {token}, "secretName": {"Wifi"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Enter the secret&#39;s value.") || f.api.sent != nil {
		t.Errorf("empty value: %d, sent %v", res.StatusCode, f.api.sent)
	}
}
