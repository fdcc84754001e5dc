package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// uuidRE matches a canonical lowercase UUID, the shape of Azure request ids.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestManagementAuth checks what the management host answers to callers
// that are not allowed in, and to requests it cannot serve, on the wire:
// status, ARM error code, the Bearer challenge on 401s, and the request id
// headers every answer carries (reference/edge-arm.md §3.2–3.4).
func TestManagementAuth(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", &syncBuffer{})
	boot := srv.boot
	tc := tokenClient(srv.http, boot)
	bsp := boot.ServicePrincipal
	admin := spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.ManagementAudience)
	api := adminAPI(srv.http, admin)
	ctx := t.Context()

	// An admin's token for another audience.
	vault := spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.VaultAudience)
	// A principal that is not an admin, and one deleted after its token
	// was issued.
	l := newLedger()
	userID, err := createSP(ctx, api, boot, "not-admin", l)
	if err != nil {
		t.Fatal(err)
	}
	notAdmin := spToken(t, tc, userID, l.live[userID], boot.ManagementAudience)
	goneID, err := createSP(ctx, api, boot, "deleted", l)
	if err != nil {
		t.Fatal(err)
	}
	gone := spToken(t, tc, goneID, l.live[goneID], boot.ManagementAudience)
	if err := deleteSP(ctx, api, boot, goneID, l); err != nil {
		t.Fatal(err)
	}
	before := listSPs(t, api, boot)

	sps := boot.ManagementEndpoint + adminPath + "/servicePrincipals"
	bearer := func(tok string) string { return "Bearer " + tok }
	tests := []struct {
		name      string
		rq        request
		status    int
		code      string // the ARM error code; "" for a success
		challenge bool   // a WWW-Authenticate: Bearer challenge is due
	}{
		{"no Authorization header", request{method: "GET", url: sps}, 401, "AuthenticationFailed", true},
		{"not a Bearer token", request{method: "GET", url: sps, auth: "Basic " + bsp.ClientID}, 401, "AuthenticationFailed", true},
		{"empty Bearer token", request{method: "GET", url: sps, auth: "Bearer "}, 401, "AuthenticationFailed", true},
		{"garbage token", request{method: "GET", url: sps, auth: "Bearer not.a.jwt"}, 401, "InvalidAuthenticationToken", true},
		{"vault audience", request{method: "GET", url: sps, auth: bearer(vault)}, 401, "InvalidAuthenticationTokenAudience", true},
		{"deleted principal", request{method: "GET", url: sps, auth: bearer(gone)}, 401, "InvalidAuthenticationToken", true},
		{"no token on a write", request{method: "POST", url: sps, body: `{"displayName":"x"}`}, 401, "AuthenticationFailed", true},
		{"not admin: list", request{method: "GET", url: sps, auth: bearer(notAdmin)}, 403, "AuthorizationFailed", false},
		{"not admin: create", request{method: "POST", url: sps, auth: bearer(notAdmin), body: `{"displayName":"x"}`}, 403, "AuthorizationFailed", false},
		{"not admin: reset another's secret", request{method: "POST", url: sps + "/" + bsp.ClientID + "/resetSecret", auth: bearer(notAdmin)}, 403, "AuthorizationFailed", false},
		{"not admin: rotate signing key", request{method: "POST", url: boot.ManagementEndpoint + adminPath + "/signingKeys/rotate", auth: bearer(notAdmin)}, 403, "AuthorizationFailed", false},
		{"not admin: rotate root key", request{method: "POST", url: boot.ManagementEndpoint + adminPath + "/rootKey/rotate", auth: bearer(notAdmin)}, 403, "AuthorizationFailed", false},
		{"malformed JSON", request{method: "POST", url: sps, auth: bearer(admin), body: `{"displayName":`}, 400, "BadRequest", false},
		{"unknown field", request{method: "POST", url: sps, auth: bearer(admin), body: `{"displayName":"x","admin":true}`}, 400, "BadRequest", false},
		{"two JSON objects", request{method: "POST", url: sps, auth: bearer(admin), body: `{"displayName":"x"}{}`}, 400, "BadRequest", false},
		{"JSON array", request{method: "POST", url: sps, auth: bearer(admin), body: `[]`}, 400, "BadRequest", false},
		{"empty display name", request{method: "POST", url: sps, auth: bearer(admin), body: `{"displayName":" "}`}, 400, "BadRequest", false},
		{"no body", request{method: "POST", url: sps, auth: bearer(admin)}, 400, "BadRequest", false},
		{"delete unknown principal", request{method: "DELETE", url: sps + "/" + goneID, auth: bearer(admin)}, 404, "NotFound", false},
		{"delete oneself", request{method: "DELETE", url: sps + "/" + bsp.ClientID, auth: bearer(admin)}, 409, "Conflict", false},
		{"unknown path", request{method: "GET", url: boot.ManagementEndpoint + "/no/such/path", auth: bearer(admin)}, 404, "NotFound", false},
		{"unknown path, no token", request{method: "GET", url: boot.ManagementEndpoint + "/edgevault/no-such-thing"}, 404, "NotFound", false},
		{"unknown host", request{method: "GET", url: boot.ManagementEndpoint + "/", host: "foo.bar.localhost"}, 404, "NotFound", false},
		{"unknown host, admin path", request{method: "GET", url: sps, host: "foo.bar.localhost", auth: bearer(admin)}, 404, "NotFound", false},
		{"admin list", request{method: "GET", url: sps, auth: bearer(admin)}, 200, "", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.clientRequestID = fmt.Sprintf("e2e-auth-%d", i)
			r := send(t, srv.http, tt.rq)
			if r.status != tt.status {
				t.Errorf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if got := r.header.Get("x-ms-request-id"); !uuidRE.MatchString(got) {
				t.Errorf("x-ms-request-id = %q, want a UUID", got)
			}
			if got := r.header.Get("x-ms-client-request-id"); got != tt.rq.clientRequestID {
				t.Errorf("x-ms-client-request-id = %q, want the one sent, %q", got, tt.rq.clientRequestID)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			checkChallenge(t, r, tt.challenge, boot.AuthorityHost)
			if tt.code == "" {
				return
			}
			// The ARM error envelope, and nothing else.
			var body struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			dec := json.NewDecoder(strings.NewReader(string(r.body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("body is not an ARM error: %v\n%s", err, r.body)
			}
			if body.Error.Code != tt.code || body.Error.Message == "" {
				t.Errorf("error = %+v, want code %s and a message", body.Error, tt.code)
			}
			// Error text never echoes a credential.
			for _, secret := range []string{admin, vault, notAdmin, gone, bsp.ClientSecret} {
				if strings.Contains(string(r.body), secret) || strings.Contains(r.header.Get("WWW-Authenticate"), secret) {
					t.Error("the answer echoes a credential")
				}
			}
		})
	}

	// None of the refused writes created anything.
	after := listSPs(t, api, boot)
	if diff := cmp.Diff(slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after))); diff != "" {
		t.Errorf("service principals changed (-before +after):\n%s", diff)
	}

	// An admin's create is acknowledged with 201, and the one answer that
	// holds a client secret is not to be cached.
	r := send(t, srv.http, request{method: "POST", url: sps, auth: bearer(admin), body: `{"displayName":"created"}`})
	var sp servicePrincipal
	if err := json.Unmarshal(r.body, &sp); err != nil || r.status != http.StatusCreated || sp.ClientSecret == "" {
		t.Errorf("admin create: status %d, client secret given %v, %v", r.status, sp.ClientSecret != "", err)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("admin create: Cache-Control = %q, want no-store", got)
	}
}

// checkChallenge checks the WWW-Authenticate header: on a 401, a Bearer
// challenge naming the authority (as ARM sends, so that SDKs know where to
// get a token); on anything else, none.
func checkChallenge(t *testing.T, r reply, want bool, authority string) {
	t.Helper()
	got := r.header.Get("WWW-Authenticate")
	if !want {
		if got != "" {
			t.Errorf("WWW-Authenticate = %q on a %d", got, r.status)
		}
		return
	}
	if !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("WWW-Authenticate = %q, want the Bearer scheme", got)
	}
	for _, param := range []string{`authorization_uri="` + authority + `"`, `error="invalid_token"`} {
		if !strings.Contains(got, param) {
			t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, param)
		}
	}
}
