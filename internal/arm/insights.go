package arm

// AuditInsights summarises a vault's audit trail over [Since, Until):
// edgevault's answer to Azure's Key Vault Insights workbook
// (reference/keyvault-wire.md §4.4). Since and Until are the range
// summarised, widened to whole minutes; Interval is the width of a
// timeline point (ISO 8601: PT1M up to 6 hours, PT1H beyond).
type AuditInsights struct {
	Since      string               `json:"since"`
	Until      string               `json:"until"`
	Interval   string               `json:"interval"`
	Timeline   []AuditTimelinePoint `json:"timeline"`
	Failures   []AuditStatusCount   `json:"failures"`
	Latency    AuditLatency         `json:"latency"`
	TopCallers []AuditCallerCount   `json:"topCallers"`
	Records    int64                `json:"records"`
}

// AuditTimelinePoint counts one operation's records in one interval.
type AuditTimelinePoint struct {
	Time      string `json:"time"`
	Operation string `json:"operation"`
	Count     int64  `json:"count"`
}

// AuditStatusCount counts the records answered with one HTTP status of
// 400 or above.
type AuditStatusCount struct {
	Status int   `json:"status"`
	Count  int64 `json:"count"`
}

// AuditLatency holds latency percentiles in ms. Each is the upper bound
// of the log-2 histogram bucket holding the percentile (1, 2, 4, 8, ...
// ms), not an exact value.
type AuditLatency struct {
	P50Ms int64 `json:"p50Ms"`
	P95Ms int64 `json:"p95Ms"`
	P99Ms int64 `json:"p99Ms"`
}

// AuditCallerCount counts one caller's records; callers are counted over
// the whole hours overlapping the range.
type AuditCallerCount struct {
	ObjectID string `json:"objectId"`
	Count    int64  `json:"count"`
}
