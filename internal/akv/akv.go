// Package akv holds the Azure Key Vault data-plane wire shapes: the
// api-versions the secrets API accepts, the JSON models of requests and
// responses, object identifiers, the backup-blob text encoding and the Key
// Vault error envelope (reference/keyvault-wire.md §1). Wire shapes live
// here so that adding an api-version never touches the domain; mapping
// between these shapes and the secret package is the kvapi handler's job.
//
// Rules every shape follows, because the SDKs enforce them (§1.4, §8):
// timestamps are integer Unix seconds; absent optional fields are omitted
// rather than null (except nextLink, which is null on the last page, as
// Azure sends it); backup blobs are base64url without padding.
package akv

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/httpx"
)

// Versions are the api-versions the secrets API accepts, oldest first
// (reference/keyvault-wire.md §1.1): every stable and preview version the
// swagger and TypeSpec declare, and the previews SDKs and tools have sent.
// Every version behaves the same: the secrets API has not changed a field
// that plain (non-certificate) secrets use.
var Versions = []string{
	"7.0-preview", "7.0", "7.1-preview", "7.1", "7.2-preview", "7.2", "7.3-preview", "7.3",
	"7.4-preview.1", "7.4", "7.5-preview.1", "7.5", "7.6-preview.1", "7.6-preview.2", "7.6",
	"2025-06-01-preview", "2025-07-01", "2026-01-01-preview", "2026-03-01-preview", "2026-04-01",
	"2026-05-01-preview", "2026-07-01-preview",
}

// LatestVersion is the newest stable version, named in errors.
const LatestVersion = "2026-04-01"

// SupportedVersion reports whether v is one of Versions.
func SupportedVersion(v string) bool { return slices.Contains(Versions, v) }

// Query parameters of the secrets API.
const (
	ParamAPIVersion = "api-version"
	ParamMaxResults = "maxresults"
	ParamSkipToken  = "$skiptoken"
	// MaxPageSize is the largest (and the default) page of a list
	// (reference/keyvault-wire.md §1.3).
	MaxPageSize = 25
)

// Unix is a timestamp as the wire carries it: integer seconds, or absent
// for the zero time.
func Unix(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	s := t.Unix()
	return &s
}

// FromUnix converts a wire timestamp; nil gives the zero time.
func FromUnix(s *int64) time.Time {
	if s == nil {
		return time.Time{}
	}
	return time.Unix(*s, 0).UTC()
}

// VaultURL is the URL of a vault: https://{name}.{resourceHost}, where
// resourceHost is the host (and port, unless 443) of the challenge
// resource, e.g. "vault.localhost:8443". No trailing slash.
func VaultURL(vaultName, resourceHost string) string {
	return "https://" + strings.ToLower(vaultName) + "." + resourceHost
}

// SecretID is a secret's identifier at the vault's URL root:
// {vault}/secrets/{name}, or {vault}/secrets/{name}/{version} when version
// is set (reference/keyvault-wire.md §1.2: SDKs take the name and version
// from the 2nd and 3rd path segments).
func SecretID(vaultURL, name, version string) string {
	id := vaultURL + "/secrets/" + name
	if version != "" {
		id += "/" + version
	}
	return id
}

// RecoveryID is a deleted secret's recoveryId: {vault}/deletedsecrets/{name}.
func RecoveryID(vaultURL, name string) string { return vaultURL + "/deletedsecrets/" + name }

// EncodeBlob encodes a backup blob as the wire carries it: base64url
// without padding (the Go SDK's decoder rejects padding).
func EncodeBlob(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeBlob decodes a backup blob (or a skip token) from the wire.
// Padding is tolerated, since some clients add it; any other character
// outside the base64url alphabet, and non-zero trailing bits, are errors.
// (Newlines are skipped, as encoding/base64 always does.)
func DecodeBlob(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// ErrorResponse is Key Vault's error envelope (reference/keyvault-wire.md
// §1.6): {"error":{"code","message","innererror":{"code"}}}.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error is one error; InnerError carries the finer code (AccessDenied,
// SecretDisabled, ObjectIsDeletedButRecoverable, ...).
type Error struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *InnerError `json:"innererror,omitempty"`
}

// InnerError is the finer code of an error; it has no message of its own.
type InnerError struct {
	Code string `json:"code"`
}

// NewError returns an error body; inner may be "".
func NewError(code, message, inner string) ErrorResponse {
	e := ErrorResponse{Error: Error{Code: code, Message: message}}
	if inner != "" {
		e.Error.InnerError = &InnerError{Code: inner}
	}
	return e
}

// SetHeaders sets the caching headers Key Vault sends on every response
// (reference/keyvault-wire.md §1.7): responses carry secrets and must not
// be cached by anything in between.
func SetHeaders(h http.Header) {
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
}

// WriteError writes an error response.
func WriteError(w http.ResponseWriter, status int, body ErrorResponse) {
	SetHeaders(w.Header())
	_ = httpx.WriteJSON(w, status, body)
}
