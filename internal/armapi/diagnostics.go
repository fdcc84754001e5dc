package armapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/resource"
)

// Diagnostic settings: Microsoft.Insights/diagnosticSettings on Key Vault
// vaults, and the vault's diagnosticSettingsCategories
// (reference/edge-arm.md §3.10). Settings are extension resources: the
// {scope} is the vault, which must exist, and whose locks apply to its
// settings. Everything is synchronous: PUT 200, DELETE 200 or 204.
//
// A storageAccountId is a linked resource: besides diagnosticSettings/
// write on the vault, the caller must be able to read the account
// (ARM's linked access check, 403 LinkedAuthorizationFailed), checked
// before the account is looked up so nothing is learnt of accounts the
// caller cannot read. An account that is missing, not ready or of another
// tenant is 400 with one message (diagnostics.ErrStorageAccount).

// RBAC actions of Microsoft.Insights (Azure's resource-provider operations
// list).
const (
	actDiagnosticsRead      = "Microsoft.Insights/diagnosticSettings/read"
	actDiagnosticsWrite     = "Microsoft.Insights/diagnosticSettings/write"
	actDiagnosticsDelete    = "Microsoft.Insights/diagnosticSettings/delete"
	actDiagnosticCategories = "Microsoft.Insights/diagnosticSettingsCategories/read"
)

// diagnosticsScope admits the route's {scope} when it is an existing
// vault, once the server has a diagnostics service.
func (h *Handler) diagnosticsScope(q *request) (resource.ID, error) {
	if h.cfg.Diagnostics == nil {
		return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "No HTTP resource was found that matches the request URI."}
	}
	scope, err := h.extensionScope(q)
	if err != nil {
		return resource.ID{}, err
	}
	if !keyvault.IsVaultID(scope) {
		return resource.ID{}, &arm.Error{Status: http.StatusBadRequest, Code: "ResourceTypeNotSupported",
			Message: "Diagnostic settings are served for Key Vault vaults (Microsoft.KeyVault/vaults) only, not for '" +
				truncate(scope.Type()) + "'."}
	}
	return scope, nil
}

// settingID is the setting of the path, once the guard has admitted it.
func settingID(q *request) resource.ID {
	return diagnostics.SettingID(q.scope, q.vars["name"])
}

func toRetention(r *diagnostics.Retention) *arm.RetentionPolicy {
	if r == nil {
		return nil
	}
	return &arm.RetentionPolicy{Enabled: &r.Enabled, Days: &r.Days}
}

func toSetting(s diagnostics.Setting) arm.DiagnosticSetting {
	out := arm.DiagnosticSetting{ID: s.ID.String(), Name: s.Name(), Type: diagnostics.ResourceType,
		SystemData: &arm.SystemData{CreatedBy: s.CreatedBy, CreatedAt: wireTime(s.CreatedAt), LastModifiedAt: wireTime(s.UpdatedAt)},
		Properties: arm.DiagnosticSettingProperties{StorageAccountID: s.StorageAccountID.String(),
			Logs: []arm.LogSettings{}, Metrics: []arm.MetricSettings{}}}
	for _, l := range s.Logs {
		out.Properties.Logs = append(out.Properties.Logs, arm.LogSettings{Category: l.Category, CategoryGroup: l.Group,
			Enabled: &l.Enabled, RetentionPolicy: toRetention(l.Retention)})
	}
	for _, m := range s.Metrics {
		out.Properties.Metrics = append(out.Properties.Metrics, arm.MetricSettings{Category: m.Category,
			Enabled: &m.Enabled, TimeGrain: m.TimeGrain, RetentionPolicy: toRetention(m.Retention)})
	}
	return out
}

// settingSpec turns a PUT body into the domain's Spec, refusing the
// destinations this server does not deliver to.
func settingSpec(body arm.DiagnosticSetting) (diagnostics.Spec, error) {
	p := body.Properties
	for _, u := range []struct {
		raw  json.RawMessage
		name string
	}{{p.WorkspaceID, "workspaceId"}, {p.EventHubAuthorizationRuleID, "eventHubAuthorizationRuleId"},
		{p.EventHubName, "eventHubName"}, {p.ServiceBusRuleID, "serviceBusRuleId"},
		{p.MarketplacePartnerID, "marketplacePartnerId"}, {p.LogAnalyticsDestinationType, "logAnalyticsDestinationType"}} {
		if len(u.raw) != 0 && string(u.raw) != "null" && string(u.raw) != `""` {
			return diagnostics.Spec{}, &arm.Error{Status: http.StatusBadRequest, Code: "BadRequest",
				Message: "The property '" + u.name + "' is not supported by this server: diagnostic settings deliver to a storage account (storageAccountId) only."}
		}
	}
	spec := diagnostics.Spec{StorageAccountID: p.StorageAccountID}
	for _, l := range p.Logs {
		r, err := retention(l.RetentionPolicy)
		if err != nil {
			return diagnostics.Spec{}, err
		}
		if l.Enabled == nil {
			return diagnostics.Spec{}, errkind.E(errkind.Invalid, "The property 'enabled' of a log entry is required.")
		}
		spec.Logs = append(spec.Logs, diagnostics.LogSetting{Category: l.Category, Group: l.CategoryGroup, Enabled: *l.Enabled, Retention: r})
	}
	for _, m := range p.Metrics {
		r, err := retention(m.RetentionPolicy)
		if err != nil {
			return diagnostics.Spec{}, err
		}
		if m.Enabled == nil {
			return diagnostics.Spec{}, errkind.E(errkind.Invalid, "The property 'enabled' of a metric entry is required.")
		}
		spec.Metrics = append(spec.Metrics, diagnostics.MetricSetting{Category: m.Category, Enabled: *m.Enabled,
			TimeGrain: m.TimeGrain, Retention: r})
	}
	return spec, nil
}

func retention(r *arm.RetentionPolicy) (*diagnostics.Retention, error) {
	if r == nil {
		return nil, nil
	}
	if r.Enabled == nil || r.Days == nil {
		return nil, errkind.E(errkind.Invalid, "retentionPolicy needs both 'enabled' and 'days'.")
	}
	return &diagnostics.Retention{Enabled: *r.Enabled, Days: *r.Days}, nil
}

// linkedAccess is ARM's linked access check on the destination account:
// the caller must be able to read it. An id that is not an account's is
// left to the domain to refuse.
func (h *Handler) linkedAccess(q *request, accountID string) error {
	id, err := resource.Parse(accountID)
	if err != nil || id.Level() != resource.Resource || id.SubscriptionID() == "" {
		return nil
	}
	err = h.cfg.RBAC.Authorize(q.ctx(), q.caller.Principal, actStorageRead, id)
	if errkind.KindOf(err) == errkind.PermissionDenied {
		return &arm.Error{Status: http.StatusForbidden, Code: "LinkedAuthorizationFailed",
			Message: "The client '" + q.caller.Principal.ObjectID + "' has permission to perform action '" + actDiagnosticsWrite +
				"' on scope '" + truncate(q.scope.String()) + "'; however, it does not have permission to perform action '" +
				actStorageRead + "' on the linked scope '" + truncate(id.String()) + "'."}
	}
	return err
}

func (h *Handler) putDiagnosticSetting(w http.ResponseWriter, q *request) {
	var body arm.DiagnosticSetting
	err := arm.DecodeBody(q.Request, &body)
	var spec diagnostics.Spec
	if err == nil {
		spec, err = settingSpec(body)
	}
	if err == nil && spec.StorageAccountID != "" {
		err = h.linkedAccess(q, spec.StorageAccountID)
	}
	var s diagnostics.Setting
	if err == nil {
		s, _, err = h.cfg.Diagnostics.Put(q.ctx(), q.caller.Principal, settingID(q), spec)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toSetting(s))
}

func (h *Handler) getDiagnosticSetting(w http.ResponseWriter, q *request) {
	s, err := h.cfg.Diagnostics.Get(q.ctx(), settingID(q))
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toSetting(s))
}

func (h *Handler) deleteDiagnosticSetting(w http.ResponseWriter, q *request) {
	existed, err := h.cfg.Diagnostics.Delete(q.ctx(), settingID(q))
	switch {
	case err != nil:
		writeError(w, q.Request, err)
	case existed:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// listDiagnosticSettings returns every setting of the vault in one page
// (at most diagnostics.MaxPerResource).
func (h *Handler) listDiagnosticSettings(w http.ResponseWriter, q *request) {
	ss, err := h.cfg.Diagnostics.List(q.ctx(), q.scope)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.DiagnosticSetting]{Value: []arm.DiagnosticSetting{}}
	for _, s := range ss {
		out.Value = append(out.Value, toSetting(s))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func toCategory(scope resource.ID, c diagnostics.Category) arm.DiagnosticSettingCategory {
	return arm.DiagnosticSettingCategory{
		ID:   scope.Child(diagnostics.Namespace, "diagnosticSettingsCategories", c.Name).String(),
		Name: c.Name, Type: diagnostics.CategoryResourceType,
		Properties: arm.DiagnosticSettingCategoryProperties{CategoryType: string(c.Type), CategoryGroups: c.Groups}}
}

func (h *Handler) listDiagnosticCategories(w http.ResponseWriter, q *request) {
	out := arm.List[arm.DiagnosticSettingCategory]{Value: []arm.DiagnosticSettingCategory{}}
	for _, c := range diagnostics.Categories {
		out.Value = append(out.Value, toCategory(q.scope, c))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getDiagnosticCategory(w http.ResponseWriter, q *request) {
	for _, c := range diagnostics.Categories {
		if strings.EqualFold(c.Name, q.vars["name"]) {
			_ = httpx.WriteJSON(w, http.StatusOK, toCategory(q.scope, c))
			return
		}
	}
	writeError(w, q.Request, &arm.Error{Status: http.StatusNotFound, Code: "ResourceNotFound",
		Message: "The diagnostic settings category '" + truncate(q.vars["name"]) + "' does not exist for this resource."})
}
