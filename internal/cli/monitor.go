package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// Diagnostic settings: `edgevault monitor diagnostic-settings`, shaped
// like `az monitor diagnostic-settings` (--resource, --storage-account,
// --logs and --metrics as JSON arrays).

// diagnosticsAPIVersion is the Microsoft.Insights api-version of
// diagnostic settings (reference/edge-arm.md §3.10).
const diagnosticsAPIVersion = "2021-05-01-preview"

// diagnosticSetting is a Microsoft.Insights/diagnosticSettings resource.
type diagnosticSetting struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		StorageAccountID string          `json:"storageAccountId,omitempty"`
		Logs             []diagnosticLog `json:"logs"`
		Metrics          []diagnosticLog `json:"metrics"`
	} `json:"properties"`
}

// diagnosticLog is one entry of logs or metrics; what the CLI does not
// show is kept as it came (retentionPolicy, timeGrain).
type diagnosticLog struct {
	Category        string          `json:"category,omitempty"`
	CategoryGroup   string          `json:"categoryGroup,omitempty"`
	Enabled         bool            `json:"enabled"`
	TimeGrain       string          `json:"timeGrain,omitempty"`
	RetentionPolicy json.RawMessage `json:"retentionPolicy,omitempty"`
}

// enabledText lists the enabled entries: categories by name, groups as
// "group:NAME".
func enabledText(entries []diagnosticLog) string {
	var out []string
	for _, e := range entries {
		switch {
		case !e.Enabled:
		case e.CategoryGroup != "":
			out = append(out, "group:"+e.CategoryGroup)
		default:
			out = append(out, e.Category)
		}
	}
	return strings.Join(out, ",")
}

func (d diagnosticSetting) record() record {
	return record{
		{"name", d.Name}, {"resource", scopeOfExtension(d.ID)}, {"storage account", d.Properties.StorageAccountID},
		{"logs", enabledText(d.Properties.Logs)}, {"metrics", enabledText(d.Properties.Metrics)}, {"id", d.ID},
	}
}

func newMonitorCmd(a *app) *cobra.Command {
	return newGroup("monitor", "Manage monitoring: diagnostic settings",
		newGroup("diagnostic-settings", "Manage the diagnostic settings of a vault",
			newDiagCreateCmd(a), newDiagShowCmd(a), newDiagListCmd(a), newDiagDeleteCmd()))
}

// diagFlags are --resource and (for one setting) --name.
type diagFlags struct{ resource, name string }

func (f *diagFlags) add(cmd *cobra.Command, withName bool) {
	cmd.Flags().StringVar(&f.resource, "resource", "", "id of the vault (/subscriptions/.../providers/Microsoft.KeyVault/vaults/NAME)")
	if withName {
		cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the diagnostic setting")
	}
}

// validate checks the flags before any network call and returns the
// resource id.
func (f *diagFlags) validate(withName bool) (resource.ID, error) {
	if withName && f.name == "" {
		return resource.ID{}, usagef("--name is required")
	}
	if withName && (strings.ContainsAny(f.name, `<>*%&:\?+/#|`) || len(f.name) > 260) {
		return resource.ID{}, usagef("invalid --name %q: at most 260 characters, none of <>*%%&:\\?+/#|", f.name)
	}
	if f.resource == "" {
		return resource.ID{}, usagef("--resource is required")
	}
	id, err := resource.Parse(f.resource)
	if err != nil || id.Level() != resource.Resource {
		return resource.ID{}, usagef("--resource %q is not a resource id (want /subscriptions/.../providers/...)", f.resource)
	}
	return id, nil
}

// diagPath is the ARM path of setting name on a resource, or of the list
// when name is empty.
func diagPath(res resource.ID, name string) string {
	p := res.String() + "/providers/Microsoft.Insights/diagnosticSettings"
	if name != "" {
		p += "/" + name
	}
	return p
}

// parseEntries reads --logs or --metrics: a JSON array of entries.
func parseEntries(flag, s string) ([]diagnosticLog, error) {
	if s == "" {
		return nil, nil
	}
	var out []diagnosticLog
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, usagef("--%s is not a JSON array of {category|categoryGroup, enabled, retentionPolicy}: %v", flag, err)
	}
	return out, nil
}

// storageAccountID turns --storage-account into an id: an id as given, or
// an account name in the resource group of the vault (as az does).
func storageAccountID(s string, res resource.ID) (string, error) {
	if s == "" {
		return "", usagef("--storage-account is required (the only destination served)")
	}
	if strings.HasPrefix(s, "/") {
		if _, err := resource.Parse(s); err != nil {
			return "", usagef("--storage-account %q is not a resource id", s)
		}
		return s, nil
	}
	if err := validateStorageName(s); err != nil {
		return "", err
	}
	return storagePath(res.SubscriptionID(), res.ResourceGroupName(), s), nil
}

func newDiagCreateCmd(a *app) *cobra.Command {
	var f diagFlags
	var account, logs, metrics string
	cmd := &cobra.Command{
		Use:   "create --name NAME --resource ID --storage-account ID|NAME [--logs JSON] [--metrics JSON]",
		Short: "Create or replace a diagnostic setting that sends a vault's logs to a storage account",
		Long: "Create or replace a diagnostic setting. Vault log category: AuditEvent (groups audit and allLogs);\n" +
			"metric category: AllMetrics. Example:\n" +
			`  --logs '[{"category":"AuditEvent","enabled":true}]' --metrics '[{"category":"AllMetrics","enabled":true}]'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := f.validate(true)
			if err != nil {
				return err
			}
			acct, err := storageAccountID(account, res)
			if err != nil {
				return err
			}
			ls, err := parseEntries("logs", logs)
			if err != nil {
				return err
			}
			ms, err := parseEntries("metrics", metrics)
			if err != nil {
				return err
			}
			if len(ls) == 0 && len(ms) == 0 {
				return usagef("give --logs or --metrics")
			}
			var body diagnosticSetting
			body.Properties.StorageAccountID, body.Properties.Logs, body.Properties.Metrics = acct, ls, ms
			if body.Properties.Logs == nil {
				body.Properties.Logs = []diagnosticLog{}
			}
			if body.Properties.Metrics == nil {
				body.Properties.Metrics = []diagnosticLog{}
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			var d diagnosticSetting
			if _, err := c.do(cmd.Context(), http.MethodPut, c.url(diagPath(res, f.name), diagnosticsAPIVersion, nil),
				map[string]any{"properties": body.Properties}, &d); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), d, d.record())
		},
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&account, "storage-account", "", "destination storage account: its id, or its name in the vault's resource group")
	cmd.Flags().StringVar(&logs, "logs", "", "JSON array of log entries")
	cmd.Flags().StringVar(&metrics, "metrics", "", "JSON array of metric entries")
	return cmd
}

func newDiagShowCmd(a *app) *cobra.Command {
	var f diagFlags
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource ID",
		Short: "Show a diagnostic setting",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := f.validate(true)
			if err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			var d diagnosticSetting
			if _, err := c.do(cmd.Context(), http.MethodGet, c.url(diagPath(res, f.name), diagnosticsAPIVersion, nil), nil, &d); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), d, d.record())
		},
	}
	f.add(cmd, true)
	return cmd
}

func newDiagListCmd(a *app) *cobra.Command {
	var f diagFlags
	cmd := &cobra.Command{
		Use:   "list --resource ID",
		Short: "List the diagnostic settings of a vault",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := f.validate(false)
			if err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			ds, err := listAll[diagnosticSetting](cmd.Context(), c, c.url(diagPath(res, ""), diagnosticsAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "STORAGE ACCOUNT", "LOGS", "METRICS"}}
			for _, d := range ds {
				t.rows = append(t.rows, []string{d.Name, d.Properties.StorageAccountID, enabledText(d.Properties.Logs), enabledText(d.Properties.Metrics)})
			}
			return a.print(cmd.OutOrStdout(), ds, t)
		},
	}
	f.add(cmd, false)
	return cmd
}

func newDiagDeleteCmd() *cobra.Command {
	var f diagFlags
	cmd := &cobra.Command{
		Use:   "delete --name NAME --resource ID",
		Short: "Delete a diagnostic setting: delivery through it stops",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := f.validate(true)
			if err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), http.MethodDelete, c.url(diagPath(res, f.name), diagnosticsAPIVersion, nil), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted diagnostic setting %s of %s.\n", f.name, res)
			return nil
		},
	}
	f.add(cmd, true)
	return cmd
}
