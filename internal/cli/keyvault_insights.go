package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// `edgevault keyvault insights` summarises a vault's audit trail from the
// management host's Edgevault.Audit/insights route: operations over time,
// failures by HTTP status, latency percentiles and the busiest callers,
// in the spirit of Azure's Key Vault Insights workbook
// (reference/keyvault-wire.md §4.4). -o json prints the server's answer
// as sent.

// insights is the answer of the insights route.
type insights struct {
	Since    string `json:"since"`
	Until    string `json:"until"`
	Interval string `json:"interval"`
	Timeline []struct {
		Time      string `json:"time"`
		Operation string `json:"operation"`
		Count     int64  `json:"count"`
	} `json:"timeline"`
	Failures []struct {
		Status int   `json:"status"`
		Count  int64 `json:"count"`
	} `json:"failures"`
	Latency struct {
		P50Ms int64 `json:"p50Ms"`
		P95Ms int64 `json:"p95Ms"`
		P99Ms int64 `json:"p99Ms"`
	} `json:"latency"`
	TopCallers []struct {
		ObjectID string `json:"objectId"`
		Count    int64  `json:"count"`
	} `json:"topCallers"`
	Records int64 `json:"records"`
}

// insightsFlags are the flags of `keyvault insights`.
type insightsFlags struct {
	vault                auditVaultFlags
	since, until         string
	sinceTime, untilTime time.Time
}

func (f *insightsFlags) validate() error {
	if err := validateVaultName("name", f.vault.name); err != nil {
		return err
	}
	if f.vault.resourceGroup != "" {
		if err := resource.ValidateResourceGroupName(f.vault.resourceGroup); err != nil {
			return usageError{err}
		}
	}
	var err error
	if f.sinceTime, err = parseSince("since", f.since); err != nil {
		return err
	}
	if f.untilTime, err = parseSince("until", f.until); err != nil {
		return err
	}
	if !f.sinceTime.IsZero() && !f.untilTime.IsZero() && !f.sinceTime.Before(f.untilTime) {
		return usagef("--since must be before --until")
	}
	return nil
}

// query is the route's query for the flags: the server takes the last 24
// hours when since is absent.
func (f *insightsFlags) query() url.Values {
	q := url.Values{}
	if !f.sinceTime.IsZero() {
		q.Set("since", f.sinceTime.Format(time.RFC3339Nano))
	}
	if !f.untilTime.IsZero() {
		q.Set("until", f.untilTime.Format(time.RFC3339Nano))
	}
	return q
}

func newKeyVaultInsightsCmd(a *app) *cobra.Command {
	var f insightsFlags
	cmd := &cobra.Command{
		Use:   "insights --name NAME [--since 24h]",
		Short: "Summarise a key vault's audit trail: operations, failures, latency, callers",
		Long: "Summarise the audit records of a key vault over a time range (the last 24 hours by default):\n" +
			"operations per minute (per hour beyond 6 hours), failures by HTTP status, latency percentiles\n" +
			"and the top 10 callers. Latencies are the upper bounds of log-2 buckets (1, 2, 4, ... ms);\n" +
			"callers are counted over the whole hours the range overlaps.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			p, err := f.vault.path(cmd.Context(), c)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if _, err := c.do(cmd.Context(), "GET", c.url(p+"/providers/"+auditNS+"/insights", keyVaultAPIVersion, f.query()), nil, &raw); err != nil {
				return err
			}
			var in insights
			if err := json.Unmarshal(raw, &in); err != nil {
				return fmt.Errorf("server returned invalid insights: %w", err)
			}
			return a.print(cmd.OutOrStdout(), raw, in)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.vault.name, "name", "n", "", "name of the key vault (live or soft-deleted)")
	fl.StringVarP(&f.vault.resourceGroup, "resource-group", "g", "", "resource group of the vault; found by name when omitted")
	fl.StringVar(&f.since, "since", "", "start of the range: a duration back from now (24h) or an RFC 3339 time; 24h before --until by default")
	fl.StringVar(&f.until, "until", "", "end of the range: a duration back from now or an RFC 3339 time; now by default")
	return cmd
}

// render draws the insights as titled sections.
func (in insights) render(w io.Writer) error {
	summary := record{{"range", in.Since + " to " + in.Until}, {"records", strconv.FormatInt(in.Records, 10)},
		{"latency p50", msText(in.Latency.P50Ms)}, {"latency p95", msText(in.Latency.P95Ms)},
		{"latency p99", msText(in.Latency.P99Ms)}}
	timeline := table{headers: []string{"TIME", "OPERATION", "COUNT"}}
	for _, p := range in.Timeline {
		timeline.rows = append(timeline.rows, []string{p.Time, p.Operation, strconv.FormatInt(p.Count, 10)})
	}
	failures := table{headers: []string{"STATUS", "COUNT"}}
	for _, f := range in.Failures {
		failures.rows = append(failures.rows, []string{strconv.Itoa(f.Status), strconv.FormatInt(f.Count, 10)})
	}
	callers := table{headers: []string{"CALLER", "COUNT"}}
	for _, c := range in.TopCallers {
		callers.rows = append(callers.rows, []string{c.ObjectID, strconv.FormatInt(c.Count, 10)})
	}
	interval := map[string]string{"PT1M": "per minute", "PT1H": "per hour"}[in.Interval]
	sections := []struct {
		title string
		r     renderer
		empty bool
	}{
		{"Summary", summary, false},
		{"Operations " + cmpOr(interval, in.Interval), timeline, len(timeline.rows) == 0},
		{"Failures by status", failures, len(failures.rows) == 0},
		{"Top callers", callers, len(callers.rows) == 0},
	}
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\n", s.title)
		if s.empty {
			fmt.Fprintln(w, "(none)")
			continue
		}
		if err := s.r.render(w); err != nil {
			return err
		}
	}
	return nil
}

// msText is a latency bound for a table: "≤4ms", or "-" without records.
func msText(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return "≤" + strconv.FormatInt(ms, 10) + "ms"
}
