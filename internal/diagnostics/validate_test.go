package diagnostics

import (
	"strings"
	"testing"
)

// FuzzNormalise feeds arbitrary names and categories, as a PUT body may
// carry them, through the checks: they never panic, and what they accept
// is canonical.
func FuzzNormalise(f *testing.F) {
	f.Add("d1", "AuditEvent", "", "AllMetrics", 0)
	f.Add("x", "", "allLogs", "", 30)
	f.Add("bad/name", "auditevent", "audit", "allmetrics", 366)
	f.Add("", "Nope", "security", "", -1)
	f.Fuzz(func(t *testing.T, name, category, group, metric string, days int) {
		_ = ValidName(name)
		spec := Spec{StorageAccountID: "x", Logs: []LogSetting{{Category: category, Group: group, Enabled: true,
			Retention: &Retention{Enabled: true, Days: days}}}}
		if metric != "" {
			spec.Metrics = []MetricSetting{{Category: metric, Enabled: true}}
		}
		logs, metrics, err := normalise(spec)
		if err != nil {
			return
		}
		for _, l := range logs {
			if (l.Category == "") == (l.Group == "") || (l.Category != "" && l.Category != AuditEvent) ||
				(l.Group != "" && l.Group != GroupAudit && l.Group != GroupAllLogs) {
				t.Fatalf("accepted log entry %+v", l)
			}
		}
		for _, m := range metrics {
			if m.Category != AllMetrics {
				t.Fatalf("accepted metric entry %+v", m)
			}
		}
	})
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"audit-to-storage": true, "Send To Storage": true, strings.Repeat("a", 260): true,
		"": false, strings.Repeat("a", 261): false, "a/b": false, "a?b": false, "a#b": false, "trailing.": false,
		"trailing ": false, "tab\tin": false, "pipe|": false,
	} {
		if err := ValidName(name); (err == nil) != ok {
			t.Errorf("ValidName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
