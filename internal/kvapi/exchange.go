package kvapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/akv"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/token"
)

// exchange is one request on its way through the pipeline, and what its
// audit record needs.
type exchange struct {
	w         http.ResponseWriter
	r         *http.Request
	start     time.Time // by the handler's clock: the record's Time
	began     time.Time // by the wall clock: the record's duration
	requestID string
	vaultName string // the Host label, lower case
	vaultURL  string // https://{name}.vault.S:P
	vault     keyvault.Vault

	route      *route
	params     routeParams
	apiVersion string // set once checked

	authenticated bool
	claims        token.Claims
	policyMatch   bool

	// The secret the request concerns, for the audit record; handlers
	// refine them (the version a set created, the one a get returned).
	secretName, secretVersion string
	secretAttrs               *AuditSecretAttributes // after a set or update
}

// concerns records the secret version a handler acted on, for the audit
// record; withAttrs adds its attributes (set and update).
func (x *exchange) concerns(s secret.Secret, withAttrs bool) {
	x.secretName, x.secretVersion = s.Name, s.Version
	if withAttrs {
		x.secretAttrs = &AuditSecretAttributes{Enabled: s.Enabled, NotBefore: s.NotBefore, Expires: s.Expires}
	}
}

func (h *Handler) newExchange(w http.ResponseWriter, r *http.Request) *exchange {
	name := httpx.Label(r.Context())
	return &exchange{w: w, r: r, start: h.now(), began: time.Now(), requestID: httpx.RequestID(r.Context()),
		vaultName: name, vaultURL: akv.VaultURL(name, h.resourceHost)}
}

// secretVault is the vault as the secret service needs it.
func (x *exchange) secretVault() secret.Vault {
	return secret.Vault{UID: x.vault.UID, TenantID: x.vault.TenantID, RetentionDays: x.vault.Retention,
		PurgeProtection: x.vault.PurgeProtection}
}

// checkAPIVersion requires a known api-version. Query names are decoded,
// so the JS SDK's "api%2Dversion" counts (reference/keyvault-wire.md §1.1).
func (x *exchange) checkAPIVersion() error {
	v := x.r.URL.Query().Get(akv.ParamAPIVersion)
	switch {
	case v == "":
		return errMissingAPIVersion
	case !akv.SupportedVersion(v):
		return unknownAPIVersion(v)
	}
	x.apiVersion = v
	return nil
}

// rendered is a response ready to be sent.
type rendered struct {
	status  int
	header  http.Header
	body    []byte // nil: no body
	message string // the error message, for the audit record
}

// render turns a result into bytes. An error goes through the error
// table; an internal one is logged here, once, with the request id.
func (h *Handler) render(x *exchange, res result) rendered {
	out := rendered{status: res.status, header: res.header}
	var body any = res.body
	if res.err != nil {
		status, e, internal := lookupError(res.err)
		if internal {
			h.log.ErrorContext(x.r.Context(), "vault: request failed", "err", res.err, "request_id", x.requestID,
				"vault", x.vaultName)
			e.Error.Message = "The server could not complete the request. Request id: " + x.requestID
		}
		out.status, out.message, body = status, e.Error.Message, e
	}
	if body == nil {
		return out
	}
	b, err := json.Marshal(body)
	if err != nil {
		h.log.ErrorContext(x.r.Context(), "vault: response not encodable", "err", err, "request_id", x.requestID)
		return h.render(x, fail(err))
	}
	out.body = b
	return out
}

// write sends a rendered response.
func (h *Handler) write(x *exchange, out rendered) {
	hd := x.w.Header()
	akv.SetHeaders(hd)
	for k, vs := range out.header {
		hd[k] = vs
	}
	if x.vault.Location != "" {
		hd.Set("x-ms-keyvault-region", x.vault.Location)
	}
	if out.body == nil {
		x.w.WriteHeader(out.status)
		return
	}
	hd.Set("Content-Type", httpx.ContentTypeJSON)
	hd.Set("Content-Length", strconv.Itoa(len(out.body)))
	hd.Set("X-Content-Type-Options", "nosniff")
	x.w.WriteHeader(out.status)
	_, _ = x.w.Write(out.body)
}
