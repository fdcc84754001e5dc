package kvapi

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/akv"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/secret"
)

// AuditRecord is what the data plane reports of each request, shaped after
// Key Vault's AuditEvent (reference/keyvault-wire.md §4.1). It never holds
// a secret value, a token, or a query value other than api-version and
// maxresults.
type AuditRecord struct {
	Time             time.Time   // when the request arrived, UTC
	OperationName    string      // SecretGet, SecretSet, ...; Authentication for a 401; Unsupported for an unknown URI
	OperationVersion string      // the api-version, when valid
	VaultUID         string      // the vault's immutable internal id
	ResourceID       resource.ID // the vault's ARM resource id
	VaultName        string
	TenantID         string // the vault's tenant

	// The caller, from the access token; empty for a 401.
	CallerObjectID string
	CallerAppID    string
	CallerUPN      string // users only
	CallerTenantID string
	CallerIDType   string // idtyp: "app" or "user"

	ClientIP      netip.Addr // the TCP peer (no forwarding header is trusted)
	RequestID     string     // x-ms-request-id
	CorrelationID string     // the client's x-ms-client-request-id, when valid
	// RequestURI is https://{vault host}{path}?api-version=..., with no
	// other query values (a skip token is opaque and could be replayed).
	RequestURI string
	// ObjectID is the object the request concerned, as AuditEvent's
	// properties.id: the secret's id (with version when one was read,
	// created or named), else the vault's URL.
	ObjectID   string
	TLSVersion string // "TLS1_2", "TLS1_3"; "" without TLS

	ResultType        string // "Success" (2xx) or "Failure"
	ResultSignature   string // the HTTP reason phrase: "OK", "Forbidden", ...
	ResultDescription string // the error message sent, on failure
	StatusCode        int
	DurationMs        int64
	ClientInfo        string // the User-Agent, truncated

	// IsAccessPolicyMatch reports whether the vault's access policy granted
	// the operation's permission to the caller.
	IsAccessPolicyMatch bool

	SecretName    string // the secret the request named, if any
	SecretVersion string // the version read, created or named, if any
	// SecretAttributes are the attributes a set or update left on the
	// version (AuditEvent's secretProperties); nil otherwise.
	SecretAttributes *AuditSecretAttributes
}

// AuditSecretAttributes are a version's attributes in an audit record.
type AuditSecretAttributes struct {
	Enabled            bool
	NotBefore, Expires time.Time // zero when unset
}

// Auditor writes audit records. Record must return only once the record is
// durable (or fail): the data plane sends its response after, and answers
// 503 without the result when Record fails.
type Auditor interface {
	Record(ctx context.Context, r AuditRecord) error
}

// AuditorFunc adapts a function to Auditor.
type AuditorFunc func(ctx context.Context, r AuditRecord) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, r AuditRecord) error { return f(ctx, r) }

// Lengths beyond which audit fields are cut: they come from the client.
const (
	maxAuditURI       = 2048
	maxAuditUserAgent = 512
)

// auditRecord builds the record of the request as answered.
func (x *exchange) auditRecord(status int, message string) AuditRecord {
	rec := AuditRecord{
		Time:             x.start.UTC(),
		OperationName:    "Unsupported",
		OperationVersion: x.apiVersion,
		VaultUID:         x.vault.UID,
		ResourceID:       x.vault.ID,
		VaultName:        x.vaultName,
		TenantID:         x.vault.TenantID,
		ClientIP:         clientIP(x.r),
		RequestID:        x.requestID,
		CorrelationID:    httpx.ClientRequestID(x.r.Context()),
		RequestURI:       x.requestURI(),
		ObjectID:         x.vaultURL,
		TLSVersion:       tlsVersion(x.r),
		ResultType:       "Success",
		ResultSignature:  http.StatusText(status),
		StatusCode:       status,
		DurationMs:       time.Since(x.began).Milliseconds(),
		ClientInfo:       clip(x.r.UserAgent(), maxAuditUserAgent),

		IsAccessPolicyMatch: x.policyMatch,
		SecretName:          clip(x.secretName, secret.MaxNameLen+1),
		SecretVersion:       clip(x.secretVersion, secret.VersionLen+1),
		SecretAttributes:    x.secretAttrs,
	}
	if rec.SecretName != "" {
		rec.ObjectID = akv.SecretID(x.vaultURL, rec.SecretName, rec.SecretVersion)
	}
	if x.route != nil {
		rec.OperationName = x.route.op
	}
	if !x.authenticated {
		// Key Vault logs unauthenticated requests as "Authentication".
		rec.OperationName = "Authentication"
	} else {
		rec.CallerObjectID, rec.CallerAppID = x.claims.ObjectID, x.claims.AppID
		rec.CallerUPN, rec.CallerTenantID = x.claims.UserName, x.claims.TenantID
		rec.CallerIDType = string(x.claims.IDType)
	}
	if status >= 300 {
		rec.ResultType, rec.ResultDescription = "Failure", message
	}
	return rec
}

// requestURI is the request's URL without query values, but for a valid
// api-version and maxresults.
func (x *exchange) requestURI() string {
	u := x.vaultURL + clip(x.r.URL.EscapedPath(), maxAuditURI)
	q := x.r.URL.Query()
	kept := url.Values{}
	if v := q.Get(akv.ParamAPIVersion); akv.SupportedVersion(v) {
		kept.Set(akv.ParamAPIVersion, v)
	}
	if n, err := strconv.Atoi(q.Get(akv.ParamMaxResults)); err == nil && n >= 1 && n <= akv.MaxPageSize {
		kept.Set(akv.ParamMaxResults, strconv.Itoa(n))
	}
	if len(kept) > 0 {
		u += "?" + kept.Encode()
	}
	return u
}

func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func tlsVersion(r *http.Request) string {
	if r.TLS == nil {
		return ""
	}
	switch r.TLS.Version {
	case tls.VersionTLS12:
		return "TLS1_2"
	case tls.VersionTLS13:
		return "TLS1_3"
	}
	return "TLS"
}
