package diagnostics

import (
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// maxName is the longest setting name accepted (ARM's limit on a resource
// name segment).
const maxName = 260

// maxRetentionDays is Azure Monitor's upper bound of retentionPolicy.days.
const maxRetentionDays = 365

// ValidName checks a setting name: 1–260 characters, none of the
// characters ARM reserves in a path segment, no control characters.
func ValidName(name string) error {
	bad := len(name) == 0 || len(name) > maxName || strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") ||
		strings.ContainsAny(name, `<>*%&:\?+/#|`)
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			bad = true
		}
	}
	if bad {
		return errkind.E(errkind.Invalid, "The diagnostic setting name '%s' is invalid: use 1–260 characters, "+
			"none of <>*%%&:\\?+/#| and no trailing dot or space.", truncate(name))
	}
	return nil
}

// normalise checks the log and metric entries and returns them with
// category names in their canonical spelling.
func normalise(spec Spec) ([]LogSetting, []MetricSetting, error) {
	if len(spec.Logs) == 0 && len(spec.Metrics) == 0 {
		return nil, nil, errkind.E(errkind.Invalid, "A diagnostic setting needs at least one entry in logs or metrics.")
	}
	logs := make([]LogSetting, 0, len(spec.Logs))
	seen := map[string]bool{}
	for _, l := range spec.Logs {
		switch {
		case l.Category != "" && l.Group != "":
			return nil, nil, errkind.E(errkind.Invalid, "A log entry names either a category or a categoryGroup, not both.")
		case l.Category != "":
			c, ok := canonical(l.Category, Logs)
			if !ok {
				return nil, nil, errkind.E(errkind.Invalid, "Category '%s' is not supported; Key Vault offers 'AuditEvent'.", truncate(l.Category))
			}
			l.Category = c
		case l.Group != "":
			g, ok := canonicalGroup(l.Group)
			if !ok {
				return nil, nil, errkind.E(errkind.Invalid, "Category group '%s' is not supported; use 'audit' or 'allLogs'.", truncate(l.Group))
			}
			l.Group = g
		default:
			return nil, nil, errkind.E(errkind.Invalid, "A log entry needs a category or a categoryGroup.")
		}
		key := strings.ToLower(l.Category + "|" + l.Group)
		if seen[key] {
			return nil, nil, errkind.E(errkind.Invalid, "Category '%s' appears more than once.", l.Category+l.Group)
		}
		seen[key] = true
		if err := checkRetention(l.Retention); err != nil {
			return nil, nil, err
		}
		logs = append(logs, l)
	}
	metrics := make([]MetricSetting, 0, len(spec.Metrics))
	for _, m := range spec.Metrics {
		c, ok := canonical(m.Category, Metrics)
		if !ok {
			return nil, nil, errkind.E(errkind.Invalid, "Metric category '%s' is not supported; Key Vault offers 'AllMetrics'.", truncate(m.Category))
		}
		if seen[strings.ToLower(c)] {
			return nil, nil, errkind.E(errkind.Invalid, "Category '%s' appears more than once.", c)
		}
		seen[strings.ToLower(c)] = true
		m.Category = c
		if err := checkRetention(m.Retention); err != nil {
			return nil, nil, err
		}
		metrics = append(metrics, m)
	}
	return logs, metrics, nil
}

func canonical(name string, t CategoryType) (string, bool) {
	for _, c := range Categories {
		if c.Type == t && strings.EqualFold(c.Name, name) {
			return c.Name, true
		}
	}
	return "", false
}

func canonicalGroup(name string) (string, bool) {
	for _, g := range []string{GroupAudit, GroupAllLogs} {
		if strings.EqualFold(g, name) {
			return g, true
		}
	}
	return "", false
}

func checkRetention(r *Retention) error {
	if r != nil && (r.Days < 0 || r.Days > maxRetentionDays) {
		return errkind.E(errkind.Invalid, "retentionPolicy.days must be between 0 and %d.", maxRetentionDays)
	}
	return nil
}

// parseAccountID checks that storageAccountId names a storage account.
// It is the one destination served; the transport refuses the others.
func parseAccountID(s string) (resource.ID, error) {
	if s == "" {
		return resource.ID{}, errkind.E(errkind.Invalid,
			"A diagnostic setting needs a destination; this server delivers to a storage account (storageAccountId).")
	}
	id, err := resource.Parse(s)
	if err != nil || id.Level() != resource.Resource || !strings.EqualFold(id.Type(), "Microsoft.Storage/storageAccounts") ||
		id.Parent().Level() != resource.ResourceGroup {
		return resource.ID{}, &errkind.Error{Kind: errkind.Invalid, Err: ErrStorageAccount,
			Message: "The storageAccountId '" + truncate(s) + "' is not the id of a storage account."}
	}
	return id, nil
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
