package arm

import "encoding/json"

// Wire shapes of Microsoft.Insights diagnostic settings (armmonitor
// v0.13.0 models, api-version 2021-05-01-preview; reference/edge-arm.md
// §3.10). Field names are exactly the SDK models'.

// DiagnosticsVersions are the api-versions of diagnostic settings served
// here (armmonitor v0.13.0's DiagnosticSettingsClient pins
// 2021-05-01-preview).
var DiagnosticsVersions = Versions{"2021-05-01-preview"}

// DiagnosticSetting is the diagnostic-setting resource
// (DiagnosticSettingsResource).
type DiagnosticSetting struct {
	ID         string                      `json:"id"`
	Name       string                      `json:"name"`
	Type       string                      `json:"type"`
	SystemData *SystemData                 `json:"systemData,omitempty"`
	Properties DiagnosticSettingProperties `json:"properties"`
}

// DiagnosticSettingProperties are a setting's properties. On a PUT the
// destinations this server does not serve are read as raw JSON so the
// transport can refuse them; on the way out they are absent.
type DiagnosticSettingProperties struct {
	StorageAccountID            string           `json:"storageAccountId,omitempty"`
	WorkspaceID                 json.RawMessage  `json:"workspaceId,omitempty"`
	EventHubAuthorizationRuleID json.RawMessage  `json:"eventHubAuthorizationRuleId,omitempty"`
	EventHubName                json.RawMessage  `json:"eventHubName,omitempty"`
	ServiceBusRuleID            json.RawMessage  `json:"serviceBusRuleId,omitempty"`
	MarketplacePartnerID        json.RawMessage  `json:"marketplacePartnerId,omitempty"`
	LogAnalyticsDestinationType json.RawMessage  `json:"logAnalyticsDestinationType,omitempty"`
	Logs                        []LogSettings    `json:"logs"`
	Metrics                     []MetricSettings `json:"metrics"`
}

// LogSettings is one entry of logs: category or categoryGroup; enabled is
// required (a pointer, to tell it missing).
type LogSettings struct {
	Category        string           `json:"category,omitempty"`
	CategoryGroup   string           `json:"categoryGroup,omitempty"`
	Enabled         *bool            `json:"enabled"`
	RetentionPolicy *RetentionPolicy `json:"retentionPolicy,omitempty"`
}

// MetricSettings is one entry of metrics.
type MetricSettings struct {
	Category        string           `json:"category,omitempty"`
	Enabled         *bool            `json:"enabled"`
	TimeGrain       string           `json:"timeGrain,omitempty"`
	RetentionPolicy *RetentionPolicy `json:"retentionPolicy,omitempty"`
}

// RetentionPolicy is retentionPolicy; both members are required by the
// API, days 0 meaning forever.
type RetentionPolicy struct {
	Enabled *bool `json:"enabled"`
	Days    *int  `json:"days"`
}

// DiagnosticSettingCategory is a category description
// (DiagnosticSettingsCategoryResource).
type DiagnosticSettingCategory struct {
	ID         string                              `json:"id"`
	Name       string                              `json:"name"`
	Type       string                              `json:"type"`
	Properties DiagnosticSettingCategoryProperties `json:"properties"`
}

// DiagnosticSettingCategoryProperties: categoryType Logs or Metrics, and
// the category groups a log category belongs to.
type DiagnosticSettingCategoryProperties struct {
	CategoryType   string   `json:"categoryType"`
	CategoryGroups []string `json:"categoryGroups,omitempty"`
}
