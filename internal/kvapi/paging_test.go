package kvapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/keyvault"
)

func TestPaging(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	for i := range 30 {
		must(t, do("PUT", fmt.Sprintf("/secrets/s%02d", i), `{"value":"x"}`), 200)
	}
	for i := range 3 {
		must(t, do("PUT", "/secrets/s00", fmt.Sprintf(`{"value":"%d"}`, i)), 200)
	}
	walk := func(path string) (ids []string, pages int, links []string) {
		t.Helper()
		next := withAPI(path)
		for next != "" {
			var l list
			must(t, f.do(req{method: "GET", path: next, tok: f.token(f.admin)}), 200).json(t, &l)
			pages++
			if len(l.Value) > 25 {
				t.Fatalf("page of %d", len(l.Value))
			}
			for _, b := range l.Value {
				ids = append(ids, b.ID)
			}
			next = ""
			if l.NextLink != nil {
				links = append(links, *l.NextLink)
				next = strings.TrimPrefix(*l.NextLink, "https://myvault.vault.localhost:8443")
				if next == *l.NextLink || !strings.Contains(next, "api-version="+api) || strings.Contains(*l.NextLink, ":443/") {
					t.Fatalf("nextLink %q", *l.NextLink)
				}
			}
		}
		return ids, pages, links
	}
	ids, pages, links := walk("/secrets")
	if len(ids) != 30 || pages != 2 || ids[0] != "https://myvault.vault.localhost:8443/secrets/s00" || ids[29] != "https://myvault.vault.localhost:8443/secrets/s29" {
		t.Errorf("list: %d ids in %d pages", len(ids), pages)
	}
	ids, pages, _ = walk("/secrets?maxresults=7")
	if len(ids) != 30 || pages != 5 {
		t.Errorf("maxresults=7: %d ids in %d pages", len(ids), pages)
	}
	ids, pages, _ = walk("/secrets/s00/versions?maxresults=2")
	if len(ids) != 4 || pages != 2 {
		t.Errorf("versions: %d ids in %d pages", len(ids), pages)
	}
	for _, q := range []string{"0", "26", "x", "-1"} {
		if r := do("GET", "/secrets?maxresults="+q, ""); r.status != 400 {
			t.Errorf("maxresults=%s: %d", q, r.status)
		}
	}
	// Skip tokens: forged, from another list, from another vault: refused.
	tok := strings.Split(strings.SplitN(links[0], "$skiptoken=", 2)[1], "&")[0]
	f.newVault("other", f.tenant, f.admin.ObjectID, keyvault.SecretAll)
	tampered := []byte(tok)
	tampered[10] ^= 1
	for name, q := range map[string]req{
		"forged":        {method: "GET", path: withAPI("/secrets?$skiptoken=AAAA")},
		"tampered":      {method: "GET", path: withAPI("/secrets?$skiptoken=" + string(tampered))},
		"other list":    {method: "GET", path: withAPI("/deletedsecrets?$skiptoken=" + tok)},
		"other secret":  {method: "GET", path: withAPI("/secrets/s01/versions?$skiptoken=" + tok)},
		"other vault":   {method: "GET", path: withAPI("/secrets?$skiptoken=" + tok), vault: "other"},
		"not base64url": {method: "GET", path: withAPI("/secrets?$skiptoken=%21%21")},
		"too long":      {method: "GET", path: withAPI("/secrets?$skiptoken=" + strings.Repeat("A", 2000))},
	} {
		q.tok = f.token(f.admin)
		r := f.do(q)
		if code, _ := r.errCode(); r.status != 400 || code != "BadParameter" {
			t.Errorf("%s skiptoken: %d %s", name, r.status, r.body)
		}
	}
	must(t, do("GET", "/secrets?$skiptoken="+tok, ""), 200)
}

func TestThrottling(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle = Throttle{Requests: 3, Window: 3 * time.Second} })
	do := f.as(f.admin)
	for range 3 {
		must(t, do("GET", "/secrets", ""), 200)
	}
	r := must(t, do("GET", "/secrets", ""), 429)
	if code, _ := r.errCode(); code != "Throttled" || r.header.Get("Retry-After") != "1" {
		t.Errorf("429: %s %v", r.body, r.header)
	}
	if rec := f.audit.last(t); rec.StatusCode != 429 {
		t.Errorf("429 not audited: %+v", rec)
	}
	// Another vault has its own budget; unauthenticated requests use none.
	f.newVault("second", f.tenant, f.admin.ObjectID, keyvault.SecretAll)
	must(t, f.do(req{method: "GET", path: withAPI("/secrets"), vault: "second", tok: f.token(f.admin)}), 200)
	f.clock.advance(time.Second) // one request per second refills
	must(t, do("GET", "/secrets", ""), 200)
	must(t, do("GET", "/secrets", ""), 429)
	f.clock.advance(10 * time.Second)
	for range 10 {
		must(t, f.do(req{method: "GET", path: withAPI("/secrets")}), 401)
	}
	for range 3 {
		must(t, do("GET", "/secrets", ""), 200)
	}
}

func TestRetryAfterRounding(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", 1500 * time.Millisecond: "2", 3 * time.Second: "3"} {
		if got := throttled(d).header.Get("Retry-After"); got != want {
			t.Errorf("Retry-After(%v) = %s, want %s", d, got, want)
		}
	}
}
