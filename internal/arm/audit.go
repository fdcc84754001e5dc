package arm

import (
	"strings"
	"time"
)

// Wire shapes of the audit trail: Azure's AuditEvent record
// (reference/keyvault-wire.md §4.1), as the management API lists it and as
// the storage-account delivery writes it (one record per line of PT1H.json,
// §4.3), and edgevault's own Edgevault.Audit list and verify bodies. The
// record is rendered here once so that both readers see identical bytes.

// AuditVersions are the api-versions of the Edgevault.Audit routes: the
// vault's, since they hang off a vault's ARM id.
var AuditVersions = KeyVaultVersions

// AuditEvent is one AuditEvent record. Field names are Azure's; durationMs
// is a string and resourceId upper-case, as in real records.
type AuditEvent struct {
	Time              string          `json:"time"`
	ResourceID        string          `json:"resourceId"`
	OperationName     string          `json:"operationName"`
	OperationVersion  string          `json:"operationVersion"`
	Category          string          `json:"category"`
	ResultType        string          `json:"resultType"`
	ResultSignature   string          `json:"resultSignature"`
	ResultDescription string          `json:"resultDescription,omitempty"`
	DurationMs        string          `json:"durationMs"`
	CallerIPAddress   string          `json:"callerIpAddress"`
	CorrelationID     string          `json:"correlationId"`
	Identity          *AuditIdentity  `json:"identity,omitempty"`
	Properties        AuditProperties `json:"properties"`
}

// AuditIdentity is the caller's token claims (identity.claim), with the
// data plane's short JWT claim names. Absent for unauthenticated requests.
type AuditIdentity struct {
	Claim AuditClaims `json:"claim"`
}

// AuditClaims are the claims AuditEvent reports.
type AuditClaims struct {
	ObjectID string `json:"oid,omitempty"`
	AppID    string `json:"appid,omitempty"`
	UPN      string `json:"upn,omitempty"`
	TenantID string `json:"tid,omitempty"`
	IDType   string `json:"idtyp,omitempty"`
}

// AuditProperties are the AuditEvent properties.
type AuditProperties struct {
	ID                  string                 `json:"id"`
	RequestURI          string                 `json:"requestUri"`
	HTTPStatusCode      int                    `json:"httpStatusCode"`
	ClientInfo          string                 `json:"clientInfo"`
	IsAccessPolicyMatch *bool                  `json:"isAccessPolicyMatch,omitempty"`
	TLSVersion          string                 `json:"tlsVersion,omitempty"`
	SecretProperties    *AuditSecretProperties `json:"secretProperties,omitempty"`
	// RequestID is edgevault's x-ms-request-id of the request, which
	// Azure's record lacks: it joins a record to the server's logs.
	RequestID string `json:"requestId,omitempty"`
}

// AuditSecretProperties are the attributes a SecretSet or SecretUpdate
// wrote; times are Unix seconds as in Key Vault's attributes.
type AuditSecretProperties struct {
	Attributes AuditSecretAttributes `json:"attributes"`
}

// AuditSecretAttributes are a secret's attributes in an AuditEvent.
type AuditSecretAttributes struct {
	Enabled   bool   `json:"enabled"`
	NotBefore *int64 `json:"nbf,omitempty"`
	Expires   *int64 `json:"exp,omitempty"`
}

// AuditTime renders an AuditEvent time: UTC with seven fractional digits,
// as Azure writes it ("2024-04-04T06:43:43.7508346Z").
func AuditTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// AuditResourceID renders an AuditEvent resourceId: the ARM id in upper
// case, as Azure writes it.
func AuditResourceID(id string) string { return strings.ToUpper(id) }

// AuditUnix is a secret attribute time in Unix seconds; nil when unset.
func AuditUnix(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	s := t.Unix()
	return &s
}

// AuditLogList is a page of a vault's audit records. Cursor resumes after
// the last record of this page (or where the request started when the page
// is empty): in the default order (oldest first), polling with it sees each
// new record once, which is how `edgevault audit logs --follow` tails the
// trail; newest first (order=desc), it is where the next, older page
// starts. NextLink is set when more records already match.
type AuditLogList struct {
	Value    []AuditEvent `json:"value"`
	NextLink string       `json:"nextLink,omitempty"`
	Cursor   string       `json:"cursor"`
}

// AuditVerification is the result of verifying a vault's hash chain.
type AuditVerification struct {
	Status  string `json:"status"` // "intact" or "broken"
	Records int64  `json:"records"`
	// Head is the hex hash of the last verified record, when intact: keep
	// it elsewhere to detect a later truncation of the trail.
	Head           string `json:"head,omitempty"`
	FirstBrokenSeq int64  `json:"firstBrokenSeq,omitempty"`
	// Reason classifies the break: modified, deleted, reordered,
	// truncated, inserted or unknown; Detail says it in words.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Audit verification statuses.
const (
	AuditIntact = "intact"
	AuditBroken = "broken"
)
