package kvapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/akv"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
)

// bundle is the subset of SecretBundle/DeletedSecretBundle tests read; the
// timestamps are int64, so a float or a string would fail to decode, as
// it does in the Go SDK (reference/keyvault-wire.md §1.4).
type bundle struct {
	Value       *string `json:"value"`
	ID          string  `json:"id"`
	ContentType string  `json:"contentType"`
	Attributes  struct {
		Enabled         *bool  `json:"enabled"`
		NotBefore       *int64 `json:"nbf"`
		Expires         *int64 `json:"exp"`
		Created         *int64 `json:"created"`
		Updated         *int64 `json:"updated"`
		RecoverableDays *int64 `json:"recoverableDays"`
		RecoveryLevel   string `json:"recoveryLevel"`
	} `json:"attributes"`
	Tags               map[string]string `json:"tags"`
	RecoveryID         string            `json:"recoveryId"`
	DeletedDate        *int64            `json:"deletedDate"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate"`
}

type list struct {
	Value    []bundle `json:"value"`
	NextLink *string  `json:"nextLink"`
}

var versionedID = regexp.MustCompile(`^https://myvault\.vault\.localhost:8443/secrets/([0-9A-Za-z-]+)/([0-9a-f]{32})$`)

func TestChallengeBeforeAnythingElse(t *testing.T) {
	f := newFixture(t)
	want := `Bearer authorization="https://login.localhost:8443/` + f.tenant + `", resource="https://vault.localhost:8443"`
	for _, q := range []req{
		// The Go SDK's first request: no token, body removed.
		{method: "PUT", path: "/secrets/s1?api-version=" + api},
		// Nothing about the request is validated before authentication.
		{method: "PUT", path: "/secrets/bad_name!?api-version=nope", body: "{not json"},
		{method: "GET", path: "/no/such/route"},
		{method: "GET", path: "/secrets", tok: "not-a-jwt"},
		{method: "GET", path: "/secrets?api-version=" + api, header: map[string]string{"Authorization": "Basic eDp5"}},
	} {
		r := f.do(q)
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != want {
			t.Errorf("%s %s: %d %q, want 401 with %q", q.method, q.path, r.status, r.header.Get("WWW-Authenticate"), want)
		}
		if code, _ := r.errCode(); code != "Unauthorized" {
			t.Errorf("%s %s: code %q", q.method, q.path, code)
		}
		if rec := f.audit.last(t); rec.OperationName != "Authentication" || rec.StatusCode != 401 ||
			rec.ResultType != "Failure" || rec.CallerObjectID != "" || rec.IsAccessPolicyMatch {
			t.Errorf("audit of a 401: %+v", rec)
		}
	}
	// The body real Key Vault sends, byte for byte.
	r := f.do(req{method: "GET", path: "/secrets?api-version=" + api})
	if got := string(r.body); got != `{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}` {
		t.Errorf("401 body = %s", got)
	}
	// A token for another audience, or from another tenant, is refused.
	other := f.principal(principal.NewID())
	for name, tok := range map[string]string{
		"management audience": f.tokenFor(f.admin, "https://management.localhost:8443"),
		"other tenant":        f.token(other),
	} {
		r := f.do(req{method: "GET", path: withAPI("/secrets"), tok: tok})
		if r.status != 401 || r.header.Get("WWW-Authenticate") != want || !strings.Contains(string(r.body), "AKV100") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

func TestUnknownVault(t *testing.T) {
	f := newFixture(t)
	n := f.audit.count()
	for _, tok := range []string{"", f.token(f.admin)} {
		r := f.do(req{method: "GET", path: withAPI("/secrets"), vault: "novault", tok: tok})
		if code, _ := r.errCode(); r.status != 404 || code != "VaultNotFound" || r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("unknown vault: %d %s", r.status, r.body)
		}
	}
	if f.audit.count() != n {
		t.Error("a request to no vault was audited")
	}
	f.vaults.err = errkind.E(errkind.Unavailable, "database down")
	if r := f.do(req{method: "GET", path: withAPI("/secrets")}); r.status != 503 || strings.Contains(string(r.body), "database") {
		t.Errorf("vault lookup failure: %d %s", r.status, r.body)
	}
}

// The operations of the §1.3 table, in the order an SDK user meets them,
// with the exact success codes, ids and attribute shapes.
func TestSecretLifecycle(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	var set bundle
	must(t, do("PUT", "/secrets/Db-Password", `{"value":"s3cr3t","contentType":"text/plain","tags":{"env":"prod"},
		"attributes":{"exp":1900000000,"nbf":1700000000}}`), 200).json(t, &set)
	m := versionedID.FindStringSubmatch(set.ID)
	if m == nil || m[1] != "Db-Password" || set.Value == nil || *set.Value != "s3cr3t" {
		t.Fatalf("set = %+v", set)
	}
	v1 := m[2]
	a := set.Attributes
	if !*a.Enabled || *a.Expires != 1900000000 || *a.NotBefore != 1700000000 || a.Created == nil || *a.Created != *a.Updated ||
		*a.RecoverableDays != 90 || a.RecoveryLevel != "Recoverable+Purgeable" || set.Tags["env"] != "prod" {
		t.Errorf("set attributes = %+v", set)
	}
	if rec := f.audit.last(t); rec.OperationName != "SecretSet" || rec.SecretVersion != v1 || !rec.IsAccessPolicyMatch ||
		rec.CallerObjectID != f.admin.ObjectID || rec.ResultType != "Success" || rec.ResultSignature != "OK" ||
		rec.OperationVersion != api || rec.VaultUID != f.vault.UID {
		t.Errorf("set audit = %+v", rec)
	}
	// A second set is a new current version; names are case-insensitive.
	var set2 bundle
	must(t, do("PUT", "/secrets/db-password", `{"value":"v2"}`), 200).json(t, &set2)
	v2 := versionedID.FindStringSubmatch(set2.ID)[2]
	if !strings.Contains(set2.ID, "/Db-Password/") || v2 == v1 || len(set2.Tags) != 0 {
		t.Errorf("second set = %+v", set2)
	}
	// Latest with the SDKs' trailing slash, without it, and by version.
	for _, path := range []string{"/secrets/DB-PASSWORD/", "/secrets/db-password"} {
		var got bundle
		must(t, do("GET", path, ""), 200).json(t, &got)
		if *got.Value != "v2" || got.ID != set2.ID {
			t.Errorf("GET %s = %+v", path, got)
		}
	}
	var old bundle
	must(t, do("GET", "/secrets/db-password/"+strings.ToUpper(v1), ""), 200).json(t, &old)
	if *old.Value != "s3cr3t" || old.ContentType != "text/plain" {
		t.Errorf("GET v1 = %+v", old)
	}
	if code, _ := must(t, do("GET", "/secrets/db-password/"+strings.Repeat("0", 32), ""), 404).errCode(); code != "SecretNotFound" {
		t.Errorf("missing version: %s", code)
	}
	if code, _ := must(t, do("GET", "/secrets/db-password/notaversion", ""), 404).errCode(); code != "SecretNotFound" {
		t.Errorf("malformed version: %s", code)
	}
	// Update: properties only, no value in the answer; tags replace.
	f.clock.advance(time.Minute)
	var upd bundle
	must(t, do("PATCH", "/secrets/db-password/", `{"contentType":"application/json","tags":{"a":"b"},"attributes":{"exp":1950000000}}`), 200).json(t, &upd)
	if upd.Value != nil || upd.ID != set2.ID || upd.ContentType != "application/json" || upd.Tags["a"] != "b" ||
		*upd.Attributes.Expires != 1950000000 || *upd.Attributes.Updated <= *upd.Attributes.Created {
		t.Errorf("update = %+v (value present: %v)", upd, upd.Value != nil)
	}
	var upd1 bundle
	must(t, do("PATCH", "/secrets/db-password/"+v1, `{"tags":{}}`), 200).json(t, &upd1)
	if len(upd1.Tags) != 0 || upd1.ContentType != "text/plain" {
		t.Errorf("update of v1 with empty tags = %+v", upd1)
	}
	// Lists: base ids for /secrets, versioned ids for /versions, no values.
	must(t, do("PUT", "/secrets/other", `{"value":"x"}`), 200)
	var l list
	must(t, do("GET", "/secrets", ""), 200).json(t, &l)
	if len(l.Value) != 2 || l.Value[0].ID != "https://myvault.vault.localhost:8443/secrets/Db-Password" || l.NextLink != nil ||
		l.Value[0].Value != nil || l.Value[0].ContentType != "application/json" {
		t.Errorf("list = %+v", l)
	}
	if !strings.Contains(string(do("GET", "/secrets", "").body), `"nextLink":null`) {
		t.Error(`last page lacks "nextLink":null`)
	}
	must(t, do("GET", "/secrets/db-password/versions", ""), 200).json(t, &l)
	if len(l.Value) != 2 || !strings.HasSuffix(l.Value[0].ID, "/"+v1) || !strings.HasSuffix(l.Value[1].ID, "/"+v2) {
		t.Errorf("versions = %+v", l)
	}
	// Delete: the deleted bundle; the name is then invisible and reserved.
	var del bundle
	must(t, do("DELETE", "/secrets/db-password", ""), 200).json(t, &del)
	if del.ID != set2.ID || del.RecoveryID != "https://myvault.vault.localhost:8443/deletedsecrets/Db-Password" ||
		*del.ScheduledPurgeDate-*del.DeletedDate != 90*86400 || del.Value != nil {
		t.Errorf("delete = %+v", del)
	}
	if code, _ := must(t, do("GET", "/secrets/db-password/", ""), 404).errCode(); code != "SecretNotFound" {
		t.Errorf("get of deleted: %s", code)
	}
	if code, inner := must(t, do("PUT", "/secrets/DB-password", `{"value":"x"}`), 409).errCode(); code != "Conflict" ||
		inner != "ObjectIsDeletedButRecoverable" {
		t.Errorf("set on deleted: %s/%s", code, inner)
	}
	var gd bundle
	must(t, do("GET", "/deletedsecrets/db-password", ""), 200).json(t, &gd)
	if gd.RecoveryID != del.RecoveryID || *gd.DeletedDate != *del.DeletedDate {
		t.Errorf("get deleted = %+v", gd)
	}
	must(t, do("GET", "/deletedsecrets", ""), 200).json(t, &l)
	if len(l.Value) != 1 || l.Value[0].ID != "https://myvault.vault.localhost:8443/secrets/Db-Password" || l.Value[0].RecoveryID == "" {
		t.Errorf("list deleted = %+v", l)
	}
	// Recover, then the secret reads again.
	var rec bundle
	must(t, do("POST", "/deletedsecrets/db-password/recover", ""), 200).json(t, &rec)
	if rec.ID != set2.ID || rec.Value != nil {
		t.Errorf("recover = %+v", rec)
	}
	must(t, do("GET", "/secrets/db-password/", ""), 200)
	must(t, do("GET", "/deletedsecrets/db-password", ""), 404)
	// Backup, delete, purge, restore: every version comes back.
	var bk struct{ Value string }
	must(t, do("POST", "/secrets/db-password/backup", ""), 200).json(t, &bk)
	if strings.ContainsAny(bk.Value, "=+/") || bk.Value == "" {
		t.Errorf("backup blob is not unpadded base64url: %q", bk.Value)
	}
	must(t, do("DELETE", "/secrets/db-password", ""), 200)
	if r := must(t, do("DELETE", "/deletedsecrets/db-password", ""), 204); len(r.body) != 0 {
		t.Errorf("purge answered a body: %s", r.body)
	}
	must(t, do("GET", "/deletedsecrets/db-password", ""), 404)
	var rs bundle
	must(t, do("POST", "/secrets/restore", `{"value":"`+bk.Value+`"}`), 200).json(t, &rs)
	if rs.ID != set2.ID || rs.Value != nil {
		t.Errorf("restore = %+v", rs)
	}
	var got bundle
	must(t, do("GET", "/secrets/db-password/"+v1, ""), 200).json(t, &got)
	if *got.Value != "s3cr3t" {
		t.Errorf("restored v1 = %+v", got)
	}
	if code, _ := must(t, do("POST", "/secrets/restore", `{"value":"`+bk.Value+`"}`), 409).errCode(); code != "Conflict" {
		t.Errorf("restore over an existing secret: %s", code)
	}
	// The caching headers Key Vault sends.
	r := do("GET", "/secrets/db-password/", "")
	if r.header.Get("Cache-Control") != "no-cache" || r.header.Get("Content-Type") != "application/json; charset=utf-8" ||
		r.header.Get("x-ms-request-id") == "" || r.header.Get("x-ms-keyvault-region") != "westeurope" {
		t.Errorf("headers = %v", r.header)
	}
}

func TestDisabledSecret(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	var b bundle
	must(t, do("PUT", "/secrets/off", `{"value":"x","attributes":{"enabled":false}}`), 200).json(t, &b)
	r := must(t, do("GET", "/secrets/off/", ""), 403)
	if code, inner := r.errCode(); code != "Forbidden" || inner != "SecretDisabled" ||
		!strings.Contains(string(r.body), "Operation get is not allowed on a disabled secret.") {
		t.Errorf("disabled get: %s", r.body)
	}
	var l list
	must(t, do("GET", "/secrets", ""), 200).json(t, &l)
	if len(l.Value) != 1 || *l.Value[0].Attributes.Enabled {
		t.Errorf("list of disabled = %+v", l)
	}
	must(t, do("PATCH", "/secrets/off/", `{"attributes":{"enabled":true}}`), 200)
	must(t, do("GET", "/secrets/off/", ""), 200)
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	tagsJSON := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf(`"t%d":"v"`, i))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	for _, c := range []struct {
		name, path, body string
		status           int
	}{
		{"max value", "/secrets/ok", `{"value":"` + strings.Repeat("x", 25600) + `"}`, 200},
		{"value too large", "/secrets/ok", `{"value":"` + strings.Repeat("x", 25601) + `"}`, 400},
		{"max content type", "/secrets/ok", `{"value":"x","contentType":"` + strings.Repeat("c", 255) + `"}`, 200},
		{"content type too long", "/secrets/ok", `{"value":"x","contentType":"` + strings.Repeat("c", 256) + `"}`, 400},
		{"15 tags", "/secrets/ok", `{"value":"x","tags":` + tagsJSON(15) + `}`, 200},
		{"16 tags", "/secrets/ok", `{"value":"x","tags":` + tagsJSON(16) + `}`, 400},
		{"tag value too long", "/secrets/ok", `{"value":"x","tags":{"a":"` + strings.Repeat("v", 257) + `"}}`, 400},
		{"name 127", "/secrets/" + strings.Repeat("a", 127), `{"value":"x"}`, 200},
		{"name 128", "/secrets/" + strings.Repeat("a", 128), `{"value":"x"}`, 400},
		{"name with underscore", "/secrets/a_b", `{"value":"x"}`, 400},
		{"name encoded slash", "/secrets/a%2Fb", `{"value":"x"}`, 400},
		{"digits and dashes", "/secrets/-0-", `{"value":"x"}`, 200},
		{"no value", "/secrets/ok", `{"contentType":"x"}`, 400},
		{"value not a string", "/secrets/ok", `{"value":1}`, 400},
		{"float date", "/secrets/ok", `{"value":"x","attributes":{"exp":1.5}}`, 400},
		{"date out of range", "/secrets/ok", `{"value":"x","attributes":{"exp":99999999999999}}`, 400},
		{"trailing data", "/secrets/ok", `{"value":"x"} {}`, 400},
		{"not json", "/secrets/ok", `value=x`, 400},
		{"empty body", "/secrets/ok", ``, 400},
	} {
		r := do("PUT", c.path, c.body)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d: %.200s", c.name, r.status, c.status, r.body)
			continue
		}
		if code, _ := r.errCode(); c.status == 400 && code != "BadParameter" {
			t.Errorf("%s: code %q", c.name, code)
		}
	}
	if r := do("PUT", "/secrets/ok", `{"value":"`+strings.Repeat("x", 25601)+`"}`); strings.Contains(string(r.body), "xxxx") {
		t.Error("error message echoes the value")
	}
}

// A 10 MB body is refused with 413 without being read whole: at once when
// Content-Length says so, and after the limit when it is chunked.
func TestHugeBody(t *testing.T) {
	f := newFixture(t)
	tok := f.token(f.admin)
	for _, chunked := range []bool{false, true} {
		body := &countingReader{n: 10 << 20}
		r, _ := http.NewRequest("PUT", "/secrets/big?api-version="+api, body)
		r.Host = "myvault.vault.localhost:8443"
		r.Header.Set("Authorization", "Bearer "+tok)
		r.ContentLength = 10 << 20
		if chunked {
			r.ContentLength = -1
		}
		w := newRecorder()
		f.h.ServeHTTP(w, r)
		if code, _ := (resp{body: w.Body.Bytes()}).errCode(); w.Code != 413 || code != "RequestEntityTooLarge" {
			t.Errorf("chunked=%v: %d %s", chunked, w.Code, w.Body)
		}
		if body.read > DefaultMaxBodyBytes+64<<10 {
			t.Errorf("chunked=%v: read %d bytes of a 10 MB body", chunked, body.read)
		}
	}
}

func TestAPIVersions(t *testing.T) {
	f := newFixture(t)
	tok := f.token(f.admin)
	for _, v := range akv.Versions {
		if r := f.do(req{method: "GET", path: "/secrets?api-version=" + v, tok: tok}); r.status != 200 {
			t.Errorf("api-version %s: %d", v, r.status)
		}
	}
	// The JS SDK percent-encodes the parameter's name.
	if r := f.do(req{method: "GET", path: "/secrets?api%2Dversion=2025-07-01", tok: tok}); r.status != 200 {
		t.Errorf("api%%2Dversion: %d %s", r.status, r.body)
	}
	for _, q := range []string{"", "?api-version=", "?api-version=7.9", "?API-VERSION=7.4"} {
		r := f.do(req{method: "GET", path: "/secrets" + q, tok: tok})
		if code, _ := r.errCode(); r.status != 400 || code != "BadParameter" {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
}

func TestRoutingEdges(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	must(t, do("PUT", "/secrets/restore", `{"value":"a secret named restore"}`), 200)
	must(t, do("GET", "/secrets/restore", ""), 200)
	must(t, do("GET", "/SECRETS/restore/", ""), 200)
	must(t, do("GET", "/secrets/", ""), 200)
	must(t, do("GET", "/deletedsecrets/", ""), 200)
	must(t, do("DELETE", "/secrets/restore/", ""), 200)
	if r := do("POST", "/secrets", ""); r.status != 405 {
		t.Errorf("POST /secrets: %d", r.status)
	}
	for _, p := range []string{"/", "/keys/k1", "/secrets/a/b/c/d", "/certificates", strings.Repeat("/x", 20)} {
		if r := do("GET", p, ""); r.status != 404 {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	if rec := f.audit.last(t); rec.OperationName != "Unsupported" || rec.StatusCode != 404 {
		t.Errorf("audit of an unknown route: %+v", rec)
	}
}

func TestBackupAcrossTenants(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	must(t, do("PUT", "/secrets/s", `{"value":"v"}`), 200)
	var bk struct{ Value string }
	must(t, do("POST", "/secrets/s/backup", ""), 200).json(t, &bk)
	// Another vault of the same tenant takes it.
	f.newVault("sametenant", f.tenant, f.admin.ObjectID, keyvault.SecretAll)
	tok := f.token(f.admin)
	must(t, f.do(req{method: "POST", path: withAPI("/secrets/restore"), vault: "sametenant", tok: tok, body: `{"value":"` + bk.Value + `"}`}), 200)
	var got bundle
	must(t, f.do(req{method: "GET", path: withAPI("/secrets/s/"), vault: "sametenant", tok: tok}), 200).json(t, &got)
	if *got.Value != "v" || !strings.HasPrefix(got.ID, "https://sametenant.vault.localhost:8443/secrets/s/") {
		t.Errorf("restored into another vault: %+v", got)
	}
	// A vault of another tenant does not.
	other := f.principal(principal.NewID())
	f.newVault("othertenant", other.TenantID, other.ObjectID, keyvault.SecretAll)
	r := f.do(req{method: "POST", path: withAPI("/secrets/restore"), vault: "othertenant", tok: f.token(other), body: `{"value":"` + bk.Value + `"}`})
	if code, _ := r.errCode(); r.status != 400 || code != "BadParameter" {
		t.Errorf("restore into another tenant: %d %s", r.status, r.body)
	}
	// Tampered, truncated, padded, garbage.
	raw, _ := akv.DecodeBlob(bk.Value)
	flip := append([]byte(nil), raw...)
	flip[len(flip)/2] ^= 0x40
	for name, v := range map[string]string{
		"tampered":  akv.EncodeBlob(flip),
		"truncated": akv.EncodeBlob(raw[:len(raw)-1]),
		"garbage":   "AQID-g",
		"not b64":   "***",
		"empty":     "",
	} {
		r := do("POST", "/secrets/restore", `{"value":"`+v+`"}`)
		if code, _ := r.errCode(); r.status != 400 || code != "BadParameter" {
			t.Errorf("%s blob: %d %s", name, r.status, r.body)
		}
	}
	must(t, do("DELETE", "/secrets/s", ""), 200)
	must(t, do("DELETE", "/deletedsecrets/s", ""), 204)
	must(t, do("POST", "/secrets/restore", `{"value":"`+bk.Value+`="}`), 200) // padding tolerated
}

func TestPurgeProtection(t *testing.T) {
	f := newFixture(t)
	v := f.newVault("protected", f.tenant, f.admin.ObjectID, keyvault.SecretAll)
	v.PurgeProtection, v.Retention = true, 7
	f.vaults.put(v)
	tok := f.token(f.admin)
	call := func(method, path, body string) resp {
		return f.do(req{method: method, path: withAPI(path), vault: "protected", tok: tok, body: body})
	}
	var b bundle
	must(t, call("PUT", "/secrets/s", `{"value":"v"}`), 200).json(t, &b)
	if b.Attributes.RecoveryLevel != "CustomizedRecoverable" || *b.Attributes.RecoverableDays != 7 {
		t.Errorf("recovery attributes = %+v", b.Attributes)
	}
	must(t, call("DELETE", "/secrets/s", ""), 200)
	r := must(t, call("DELETE", "/deletedsecrets/s", ""), 403)
	if !strings.Contains(string(r.body), "purge protection is enabled") {
		t.Errorf("purge-protected purge: %s", r.body)
	}
	must(t, call("POST", "/deletedsecrets/s/recover", ""), 200) // recovery is still allowed
	must(t, call("DELETE", "/secrets/s", ""), 200)
	f.clock.advance(7*24*time.Hour + time.Second)
	must(t, call("DELETE", "/deletedsecrets/s", ""), 204) // after the scheduled date, it may go
}

func TestNewValidatesConfig(t *testing.T) {
	f := newFixture(t)
	good := Config{Vaults: f.vaults, Secrets: f.secrets, Tokens: f.tokens, Sealer: f.keyring, Auditor: f.audit,
		AuthorityHost: authority, Resource: resourceURL}
	for name, mod := range map[string]func(*Config){
		"no auditor":        func(c *Config) { c.Auditor = nil },
		"resource slash":    func(c *Config) { c.Resource = resourceURL + "/" },
		"resource http":     func(c *Config) { c.Resource = "http://vault.localhost" },
		"authority no /":    func(c *Config) { c.AuthorityHost = "https://login.localhost:8443" },
		"no vaults":         func(c *Config) { c.Vaults = nil },
		"resource has path": func(c *Config) { c.Resource = "https://vault.localhost/x" },
	} {
		c := good
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}
