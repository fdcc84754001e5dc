// Package audit owns edgevault's audit trail: one Record per data-plane
// request (allowed or denied) and per management write, written durably
// before the response leaves, and read back for export (AuditEvent JSON
// lines in the audit storage account) and insights.
//
// Invariants:
//   - Record returns nil only once the record is committed (SQLite with
//     synchronous=FULL, PostgreSQL with fsync'd commits). Any other outcome
//     is an error and the caller must fail the request closed: a secret is
//     never returned without its audit record (DESIGN.md §6;
//     reference/reliability.md T13).
//   - Concurrent Record calls share one transaction (group commit): the
//     cost of a durable commit is paid once per batch, not per request.
//   - The records of one resource form a hash chain: each stored entry
//     carries its sequence number (1, 2, ... per resource), the previous
//     entry's hash and its own hash, SHA-256(prev || canonical encoding).
//     Changing, deleting or reordering a stored record breaks the chain,
//     which Verify detects. Sequence numbers are assigned under a row lock
//     on the chain head, so the chain stays linear with several replicas
//     writing to one PostgreSQL database. The chain is unkeyed: it shows
//     tampering by anyone who does not rewrite every later entry and the
//     head as well, and cutting entries off the end together with the
//     head needs the head kept elsewhere (an export) to be seen.
//   - A record cannot carry a secret value: it has no free-form value
//     fields, only names, identifiers, status and client metadata, and the
//     request URI keeps no query parameter but api-version and maxresults.
package audit

import (
	"errors"
	"net/netip"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// OperationName names what was done, as Azure's AuditEvent operationName
// (reference/keyvault-wire.md §4.2).
type OperationName string

// Vault operations.
const (
	Authentication  OperationName = "Authentication"
	VaultGet        OperationName = "VaultGet"
	VaultPut        OperationName = "VaultPut"
	VaultDelete     OperationName = "VaultDelete"
	VaultPatch      OperationName = "VaultPatch"
	VaultList       OperationName = "VaultList"
	VaultPurge      OperationName = "VaultPurge"
	VaultRecover    OperationName = "VaultRecover"
	VaultGetDeleted OperationName = "VaultGetDeleted"
	// VaultListDeleted lists soft-deleted vaults.
	VaultListDeleted OperationName = "VaultListDeleted"
	// VaultAccessPolicyChanged is Azure's
	// VaultAccessPolicyChangedEventGridNotification.
	VaultAccessPolicyChanged OperationName = "VaultAccessPolicyChangedEventGridNotification"
)

// Secret operations.
const (
	SecretSet          OperationName = "SecretSet"
	SecretGet          OperationName = "SecretGet"
	SecretUpdate       OperationName = "SecretUpdate"
	SecretDelete       OperationName = "SecretDelete"
	SecretList         OperationName = "SecretList"
	SecretListVersions OperationName = "SecretListVersions"
	SecretPurge        OperationName = "SecretPurge"
	SecretBackup       OperationName = "SecretBackup"
	SecretRestore      OperationName = "SecretRestore"
	SecretRecover      OperationName = "SecretRecover"
	SecretGetDeleted   OperationName = "SecretGetDeleted"
	SecretListDeleted  OperationName = "SecretListDeleted"
	// SecretNearExpiry is Azure's SecretNearExpiryEventGridNotification.
	SecretNearExpiry OperationName = "SecretNearExpiryEventGridNotification"
	// SecretExpired is Azure's SecretExpiredEventGridNotification.
	SecretExpired OperationName = "SecretExpiredEventGridNotification"
)

// Category is the log category; Key Vault has one.
type Category string

// AuditEvent is the only category, and the default.
const AuditEvent Category = "AuditEvent"

// ResultType is the AuditEvent resultType. Azure writes "Success" even for
// requests answered 403, 404 or 409 and describes the failure in
// resultDescription (reference/keyvault-wire.md §4.1); the data plane
// decides which value it writes, and HTTPStatusCode is the unambiguous
// outcome for insights.
type ResultType string

const (
	Success ResultType = "Success"
	Failure ResultType = "Failure"
)

// Identity holds the caller's token claims that AuditEvent reports
// (identity.claim); all empty for an unauthenticated request.
type Identity struct {
	TenantID string // tid
	ObjectID string // oid, lower-case GUID
	AppID    string // appid
	UPN      string // upn, users only
	IDType   string // idtyp: "user" or "app"
}

// SecretAttributes are the attributes a SecretSet or SecretUpdate wrote
// (AuditEvent properties.secretProperties.attributes). Never the value.
type SecretAttributes struct {
	Enabled            bool
	NotBefore, Expires time.Time // zero when unset
}

// Properties are the AuditEvent properties.
type Properties struct {
	// ID is the object's URI: https://{vault}.vault.{suffix}/secrets/{name}[/{version}],
	// or the vault's URI for vault operations.
	ID string
	// RequestURI is the URL requested. The writer keeps scheme, host and
	// path and drops every query parameter except api-version and
	// maxresults (when they look like a version and a page size), and
	// any user information or fragment.
	RequestURI     string
	HTTPStatusCode int
	ClientInfo     string // User-Agent
	// IsAccessPolicyMatch says whether an access policy granted the
	// request; nil when no access-policy check applied (management
	// operations, unauthenticated requests).
	IsAccessPolicyMatch *bool
	TLSVersion          string // "TLS1_2", "TLS1_3"
	// SecretProperties is set on SecretSet and SecretUpdate.
	SecretProperties *SecretAttributes
}

// Record is one audit event, in the shape of Azure's AuditEvent
// (reference/keyvault-wire.md §4.1), before it is stored.
type Record struct {
	// Time is when the operation started; the writer's clock when zero.
	Time time.Time
	// ResourceID is the audited resource: the vault for data-plane
	// requests, the target for management writes, the root for events of
	// no resource. Each resource has its own hash chain.
	ResourceID        resource.ID
	OperationName     OperationName
	OperationVersion  string   // the api-version requested
	Category          Category // AuditEvent when empty
	ResultType        ResultType
	ResultSignature   string // HTTP reason phrase: "OK", "Forbidden", ...
	ResultDescription string // the client-safe error message (errkind.Message); never a cause
	DurationMs        int64
	CallerIPAddress   netip.Addr
	CorrelationID     string // x-ms-client-request-id, as sent by the client
	RequestID         string // x-ms-request-id, ours
	Identity          Identity
	Properties        Properties
}

// Entry is a Record as stored, with its place in its resource's chain.
type Entry struct {
	// ID is the store's global position of the entry: increasing in commit
	// order among the entries of one resource (a List cursor).
	ID int64
	// Seq numbers the entries of one resource from 1 without gaps.
	Seq int64
	// PrevHash is the Hash of entry Seq-1, or 32 zero bytes for Seq 1.
	PrevHash []byte
	// Hash is SHA-256(PrevHash || canonical encoding of Seq and Record).
	Hash []byte
	// Format is the version of the canonical encoding Hash was made with.
	Format int
	Record
}

// Head is the end of a resource's chain: the last sequence number and
// hash; Seq 0 for a resource with no records.
type Head struct {
	Seq  int64
	Hash []byte
}

// Filter selects entries for List. Zero fields do not filter.
type Filter struct {
	// ResourceID selects one resource's entries; nil selects every
	// resource's.
	ResourceID *resource.ID
	// From and To bound Time: From <= Time < To.
	From, To       time.Time
	Operation      OperationName
	CallerObjectID string
	ResultType     ResultType
	// After is a cursor: only entries with a greater ID, so the ID of the
	// last entry of one page is where the next starts. Entries of one
	// resource become visible in ID order, so a per-resource cursor never
	// skips an entry. Across resources on PostgreSQL with several
	// replicas, an entry with a smaller ID may commit after a larger one;
	// exporters page per resource. With Newest, After means before: only
	// entries with a smaller ID (no bound when 0).
	After int64
	// Newest lists newest first: in descending ID order, so a page of
	// Limit entries is the last Limit that match. The ID of the last
	// entry of a page is still where the next (older) page starts. An
	// entry committed after the first page was read is not on later
	// pages; to see new entries, list again without a cursor (or follow
	// in ID order).
	Newest bool
	// Limit caps the page size: DefaultLimit when zero, at most MaxLimit.
	Limit int
}

// Page sizes for List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ErrClosed is the cause of the error Record returns once the writer is
// closing.
var ErrClosed = errors.New("audit: writer closed")

// errUnavailable wraps every failure to make a record durable in the kind
// transports answer with 503: the request failed closed and may be
// retried.
func errUnavailable(err error) error {
	return errkind.Wrap(errkind.Unavailable, err, "the audit trail is unavailable")
}
