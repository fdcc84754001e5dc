// Package diagnostics owns diagnostic settings
// (Microsoft.Insights/diagnosticSettings): the extension resources of a
// Key Vault vault that say which of its log and metric categories are sent
// where. It also answers the audit exporter's question, which settings
// deliver a vault's AuditEvent records to which storage account, and since
// when.
//
// Invariants (reference/edge-arm.md §3.10, keyvault-wire.md §4.3):
//   - A setting hangs off one vault: its id is
//     {vault id}/providers/Microsoft.Insights/diagnosticSettings/{name},
//     names compared ignoring case; a vault holds at most MaxPerResource.
//   - The only destination served is a storage account, of the caller's
//     tenant, that exists when the setting is written. Workspace, Event
//     Hub, Service Bus and partner destinations are refused, never
//     silently ignored.
//   - Log entries name exactly one of a category (AuditEvent) or a
//     category group (audit, allLogs); metric entries name AllMetrics.
//     A category reaches one storage account through at most one setting
//     of a vault (Azure's rule), so no record is delivered twice.
//   - A setting delivers from DeliverFrom on, never before: its creation,
//     or the moment audit delivery was last switched on or pointed at
//     another account. Deleting it stops delivery.
//   - Every change asks the lock checker with the setting's id, so the
//     vault's locks (and its group's, subscription's) apply.
package diagnostics

import (
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
)

// Namespace is the settings' resource provider.
const Namespace = "Microsoft.Insights"

// ResourceType is the ARM type of a setting.
const ResourceType = "Microsoft.Insights/diagnosticSettings"

// CategoryResourceType is the ARM type of a category description.
const CategoryResourceType = "Microsoft.Insights/diagnosticSettingsCategories"

// MaxPerResource is how many settings one resource may hold (Azure
// Monitor's documented limit).
const MaxPerResource = 5

// Log categories and category groups of a Key Vault vault.
const (
	// AuditEvent is the vault's one log category (Key Vault logging
	// how-to): every data- and management-plane request.
	AuditEvent = "AuditEvent"
	// GroupAudit and GroupAllLogs are the category groups holding
	// AuditEvent (reference/edge-arm.md §3.10 marks them UNVERIFIED for
	// Key Vault; both contain AuditEvent here).
	GroupAudit   = "audit"
	GroupAllLogs = "allLogs"
	// AllMetrics is the vault's one metric category.
	AllMetrics = "AllMetrics"
)

// CategoryType says whether a category holds logs or metrics, as on the
// wire.
type CategoryType string

const (
	Logs    CategoryType = "Logs"
	Metrics CategoryType = "Metrics"
)

// Category describes one category a vault offers.
type Category struct {
	Name   string
	Type   CategoryType
	Groups []string // category groups holding it (logs only)
}

// Categories are the categories of a Key Vault vault, in the order Azure
// lists them.
var Categories = []Category{
	{Name: AuditEvent, Type: Logs, Groups: []string{GroupAudit, GroupAllLogs}},
	{Name: AllMetrics, Type: Metrics},
}

// Retention is a retentionPolicy. Days 0 keeps records forever.
type Retention struct {
	Enabled bool
	Days    int
}

// LogSetting is one entry of logs: exactly one of Category and Group.
type LogSetting struct {
	Category  string
	Group     string
	Enabled   bool
	Retention *Retention
}

// MetricSetting is one entry of metrics.
type MetricSetting struct {
	Category  string
	Enabled   bool
	TimeGrain string // ISO 8601 duration, as sent; empty when absent
	Retention *Retention
}

// Setting is a diagnostic setting.
type Setting struct {
	// UID is the setting's immutable internal id (a GUID): a setting
	// deleted and created again under the same name gets a new one, so an
	// exporter's cursor never carries over.
	UID string
	// ID is the setting's resource id, as created.
	ID resource.ID
	// StorageAccountID is the destination account, as sent (normalised by
	// resource.Parse); StorageAccountUID is that account's UID when the
	// setting was written: an account deleted and created again under the
	// same id is another account, which receives nothing.
	StorageAccountID  resource.ID
	StorageAccountUID string
	Logs              []LogSetting
	Metrics           []MetricSetting
	// DeliverFrom is when audit delivery (to this account) began: the
	// exporter delivers records at or after it, and none before.
	DeliverFrom time.Time
	CreatedBy   string // object id
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Name returns the setting's name.
func (s Setting) Name() string { return s.ID.Name() }

// ResourceID returns the resource the setting extends (the vault).
func (s Setting) ResourceID() resource.ID { return s.ID.Parent() }

// DeliversAudit reports whether the setting sends AuditEvent records to a
// storage account: an enabled log entry for AuditEvent, or for a group
// holding it.
func (s Setting) DeliversAudit() bool {
	if s.StorageAccountID.Level() != resource.Resource {
		return false
	}
	for _, l := range s.Logs {
		if l.Enabled && (strings.EqualFold(l.Category, AuditEvent) ||
			strings.EqualFold(l.Group, GroupAudit) || strings.EqualFold(l.Group, GroupAllLogs)) {
			return true
		}
	}
	return false
}
