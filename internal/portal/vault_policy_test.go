package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAddAccessPolicyForm(t *testing.T) {
	_, fv, b := newVaultFixture(t)
	page := get(t, b, "/vaults/rg1/kv1", 200)
	wantAll(t, page, `action="/vaults/rg1/kv1/accessPolicies/add"`, `name="secrets" value="get" checked`,
		`name="secrets" value="list" checked`, `name="secrets" value="purge">`)
	token := csrf(t, page)
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no permission", url.Values{}, "Tick at least one secret permission."},
		{"bad object id", url.Values{"objectId": {"alice@example.com"}, "secrets": {"get"}}, "Enter the object id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fv.mu.Lock()
			calls := len(fv.calls)
			fv.mu.Unlock()
			tc.form.Set("csrf", token)
			res, page := b.do("POST", "/vaults/rg1/kv1/accessPolicies/add", tc.form)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, tc.want) {
				t.Errorf("answered %d without %q", res.StatusCode, tc.want)
			}
			fv.mu.Lock()
			defer fv.mu.Unlock()
			for _, c := range fv.calls[calls:] {
				if strings.Contains(c, "accessPolicies") {
					t.Errorf("a refused form reached the API: %s", c)
				}
			}
		})
	}
	// An unknown permission is refused before anything else.
	res, _ := b.do("POST", "/vaults/rg1/kv1/accessPolicies/add", url.Values{"csrf": {token}, "secrets": {"all"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown permission: %d", res.StatusCode)
	}
}
