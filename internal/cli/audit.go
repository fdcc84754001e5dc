package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// The audit trail of a vault: `edgevault audit logs` reads its records
// (Azure's AuditEvent shape, reference/keyvault-wire.md §4.1) from the
// management host's Edgevault.Audit routes, and `edgevault audit verify`
// has the server walk the vault's hash chain.

// auditNS is edgevault's extension namespace for the audit routes, which
// take the vault's api-version.
const auditNS = "Edgevault.Audit"

// auditPollInterval is how often `audit logs --follow` asks for new
// records by default.
const auditPollInterval = 5 * time.Second

// auditNow is the clock that turns --since 1h into a time. Tests replace
// it.
var auditNow = time.Now

// auditEvent holds what the table shows of one AuditEvent record; -o json
// prints the record exactly as the server sent it.
type auditEvent struct {
	Time            string `json:"time"`
	OperationName   string `json:"operationName"`
	ResultType      string `json:"resultType"`
	DurationMs      string `json:"durationMs"`
	CallerIPAddress string `json:"callerIpAddress"`
	Identity        *struct {
		Claim struct {
			ObjectID string `json:"oid"`
			AppID    string `json:"appid"`
			UPN      string `json:"upn"`
		} `json:"claim"`
	} `json:"identity"`
	Properties struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"properties"`
}

// auditPage is one page of a vault's audit records. Cursor resumes after
// its last record; polling with it is how --follow tails the trail.
type auditPage struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"nextLink"`
	Cursor   string            `json:"cursor"`
}

// auditVerification is the answer of the verify route.
type auditVerification struct {
	Status         string `json:"status"`
	Records        int64  `json:"records"`
	Head           string `json:"head,omitempty"`
	FirstBrokenSeq int64  `json:"firstBrokenSeq,omitempty"`
	Reason         string `json:"reason,omitempty"`
	Detail         string `json:"detail,omitempty"`
}

func newAuditCmd(a *app) *cobra.Command {
	return newGroup("audit", "Read and verify a key vault's audit trail",
		newAuditLogsCmd(a), newAuditVerifyCmd(a))
}

// auditVaultFlags name the vault whose trail is read: --vault and an
// optional --resource-group.
type auditVaultFlags struct{ name, resourceGroup string }

func (f *auditVaultFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.name, "vault", "", "name of the key vault (live or soft-deleted)")
	cmd.Flags().StringVarP(&f.resourceGroup, "resource-group", "g", "", "resource group of the vault; found by name when omitted")
}

func (f *auditVaultFlags) validate() error {
	if err := validateVaultName("vault", f.name); err != nil {
		return err
	}
	if f.resourceGroup != "" {
		if err := resource.ValidateResourceGroupName(f.resourceGroup); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// path returns the ARM path of the vault: with --resource-group, built
// from it; otherwise found by name among the subscription's live vaults,
// then among its soft-deleted ones, whose trail the server keeps.
func (f *auditVaultFlags) path(ctx context.Context, c *armClient) (string, error) {
	sub, err := c.subscription()
	if err != nil {
		return "", err
	}
	if f.resourceGroup != "" {
		return vaultPath(sub, f.resourceGroup, f.name), nil
	}
	vaults, err := listAll[vault](ctx, c, c.url(subVaultsPath(sub), keyVaultAPIVersion, nil))
	if err != nil {
		return "", err
	}
	for _, v := range vaults {
		if rg := resourceGroupOf(v.ID); strings.EqualFold(v.Name, f.name) && rg != "" {
			return vaultPath(sub, rg, v.Name), nil
		}
	}
	deleted, err := listAll[deletedVault](ctx, c, c.url(deletedVaultsPath(sub, "", ""), keyVaultAPIVersion, nil))
	if err != nil {
		return "", err
	}
	for _, d := range deleted {
		if strings.EqualFold(d.Name, f.name) && resourceGroupOf(d.Properties.VaultID) != "" {
			return vaultPath(sub, resourceGroupOf(d.Properties.VaultID), d.Name), nil
		}
	}
	return "", fmt.Errorf("key vault %q not found in subscription %s", f.name, sub)
}

// auditLogsFlags are the filters and modes of `audit logs`.
type auditLogsFlags struct {
	vault                  auditVaultFlags
	since, until           string
	operation, caller, res string
	order                  string
	follow                 bool
	interval               time.Duration
	top                    int
	sinceTime, untilTime   time.Time
}

func (f *auditLogsFlags) validate() error {
	if err := f.vault.validate(); err != nil {
		return err
	}
	var err error
	if f.sinceTime, err = parseSince("since", f.since); err != nil {
		return err
	}
	if f.untilTime, err = parseSince("until", f.until); err != nil {
		return err
	}
	if f.follow && f.until != "" {
		return usagef("--follow and --until cannot be used together")
	}
	switch strings.ToLower(f.order) {
	case "", "asc":
	case "desc":
		if f.follow {
			return usagef("--follow lists oldest first: it cannot be used with --order desc")
		}
	default:
		return usagef("invalid --order %q: want asc or desc", f.order)
	}
	if f.interval <= 0 {
		return usagef("--interval must be positive")
	}
	if f.top < 0 || f.top > 1000 {
		return usagef("--top must be between 1 and 1000")
	}
	switch strings.ToLower(f.res) {
	case "", "success", "failure":
	default:
		return usagef("invalid --result %q: want Success or Failure", f.res)
	}
	return nil
}

// parseSince reads a time flag: a duration back from now ("1h", "30m") or
// an RFC 3339 time.
func parseSince(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return auditNow().Add(-d).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, usagef("invalid --%s %q: want a duration such as 1h or an RFC 3339 time", flag, s)
}

// query is the route's query string for the flags.
func (f *auditLogsFlags) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.sinceTime.IsZero() {
		q.Set("since", f.sinceTime.Format(time.RFC3339Nano))
	}
	if !f.untilTime.IsZero() {
		q.Set("until", f.untilTime.Format(time.RFC3339Nano))
	}
	set("operation", f.operation)
	set("caller", f.caller)
	set("result", f.res)
	set("order", strings.ToLower(f.order))
	if f.top > 0 {
		q.Set("$top", strconv.Itoa(f.top))
	}
	return q
}

func newAuditLogsCmd(a *app) *cobra.Command {
	f := auditLogsFlags{interval: auditPollInterval}
	cmd := &cobra.Command{
		Use:   "logs --vault NAME [--since 1h] [--follow]",
		Short: "List a key vault's audit records (AuditEvent)",
		Long: "List the audit records of a key vault, oldest first (--order desc: newest first): one per data-plane request, allowed or denied.\n" +
			"With --follow, keep polling for new records until interrupted; -o json then prints one record per line.",
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
			u := c.url(p+"/providers/"+auditNS+"/logs", keyVaultAPIVersion, f.query())
			if f.follow {
				return a.followAudit(cmd.Context(), cmd.OutOrStdout(), c, u, f.interval)
			}
			events, err := listAll[json.RawMessage](cmd.Context(), c, u)
			if err != nil {
				return err
			}
			t, err := auditTable(events)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), events, t)
		},
	}
	f.vault.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "only records at or after this time: a duration back from now (1h) or an RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "only records before this time: a duration back from now or an RFC 3339 time")
	fl.StringVar(&f.operation, "operation", "", "only this operationName, e.g. SecretGet")
	fl.StringVar(&f.caller, "caller", "", "only records of this caller object id")
	fl.StringVar(&f.res, "result", "", "only this resultType: Success or Failure")
	fl.StringVar(&f.order, "order", "", "asc (oldest first, the default) or desc (newest first)")
	fl.IntVar(&f.top, "top", 0, "records per request (1-1000; the server's default when 0)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep polling for new records until interrupted")
	fl.DurationVar(&f.interval, "interval", auditPollInterval, "how often --follow polls")
	return cmd
}

// followAudit prints every record the first request leads to, then polls
// from the last cursor every interval until ctx ends (an interrupt), which
// ends the command successfully. Tables print their header once and one
// fixed-width row per record; -o json prints JSON Lines, the shape of the
// storage-account delivery (PT1H.json).
func (a *app) followAudit(ctx context.Context, w io.Writer, c *armClient, u string, interval time.Duration) error {
	if a.output != outputJSON {
		fmt.Fprint(w, auditRow(auditHeaders))
	}
	base := u
	for {
		cursor, err := a.drainAudit(ctx, w, c, u)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if cursor != "" {
			u = withSkipToken(base, cursor)
		}
		if err := sleep(ctx, interval); err != nil {
			return nil // interrupted: following ends here
		}
	}
}

// drainAudit prints the records of u and of every page its nextLinks lead
// to, and returns the cursor after the last.
func (a *app) drainAudit(ctx context.Context, w io.Writer, c *armClient, u string) (string, error) {
	cursor := ""
	for range maxPages {
		var p auditPage
		if _, err := c.do(ctx, http.MethodGet, u, nil, &p); err != nil {
			return "", err
		}
		for _, raw := range p.Value {
			if err := a.printAuditLine(w, raw); err != nil {
				return "", err
			}
		}
		if p.Cursor != "" {
			cursor = p.Cursor
		}
		if p.NextLink == "" {
			return cursor, nil
		}
		next, err := c.follow(u, p.NextLink, "nextLink")
		if err != nil {
			return "", err
		}
		u = next
	}
	return "", fmt.Errorf("audit log has more than %d pages", maxPages)
}

func (a *app) printAuditLine(w io.Writer, raw json.RawMessage) error {
	if a.output == outputJSON {
		_, err := fmt.Fprintf(w, "%s\n", compactJSON(raw))
		return err
	}
	var e auditEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("server returned an invalid audit record: %w", err)
	}
	_, err := fmt.Fprint(w, auditRow(e.cells()))
	return err
}

// compactJSON is raw on one line, its keys in the server's order.
func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// withSkipToken is u with $skipToken set to the cursor.
func withSkipToken(u, cursor string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	q.Set("$skipToken", cursor)
	p.RawQuery = q.Encode()
	return p.String()
}

var auditHeaders = []string{"TIME", "OPERATION", "RESULT", "STATUS", "CALLER", "DURATION"}

// auditWidths are the column widths of --follow's rows, which cannot be
// aligned after the fact: a time, the longest operationNames, a GUID.
var auditWidths = []int{20, 20, 8, 6, 36}

func auditRow(cells []string) string {
	var b strings.Builder
	for i, c := range cells {
		if i < len(auditWidths) {
			fmt.Fprintf(&b, "%-*s  ", auditWidths[i], c)
		} else {
			b.WriteString(c)
		}
	}
	return strings.TrimRight(b.String(), " ") + "\n"
}

func (e auditEvent) cells() []string {
	caller := ""
	if e.Identity != nil {
		caller = cmpOr(e.Identity.Claim.UPN, e.Identity.Claim.ObjectID, e.Identity.Claim.AppID)
	}
	caller = cmpOr(caller, e.CallerIPAddress, "-")
	status := ""
	if e.Properties.HTTPStatusCode != 0 {
		status = strconv.Itoa(e.Properties.HTTPStatusCode)
	}
	duration := ""
	if e.DurationMs != "" {
		duration = e.DurationMs + "ms"
	}
	return []string{armTimeText(e.Time), e.OperationName, e.ResultType, status, caller, duration}
}

// cmpOr returns the first non-empty string.
func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// auditTable draws records as a table.
func auditTable(events []json.RawMessage) (renderer, error) {
	t := table{headers: auditHeaders}
	for _, raw := range events {
		var e auditEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("server returned an invalid audit record: %w", err)
		}
		t.rows = append(t.rows, e.cells())
	}
	return t, nil
}

// errAuditBroken is the error `audit verify` ends with when the trail is
// not intact, for a non-zero exit.
var errAuditBroken = errors.New("the audit trail is broken")

func newAuditVerifyCmd(a *app) *cobra.Command {
	var f auditVaultFlags
	cmd := &cobra.Command{
		Use:   "verify --vault NAME",
		Short: "Verify a key vault's audit trail (its hash chain)",
		Long: "Have the server walk the vault's hash chain and report whether every stored record is the one written.\n" +
			"Prints \"intact (N records)\", or the first broken record and exits 1.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			p, err := f.path(cmd.Context(), c)
			if err != nil {
				return err
			}
			var v auditVerification
			u := c.url(p+"/providers/"+auditNS+"/verify", keyVaultAPIVersion, nil)
			if _, err := c.do(cmd.Context(), http.MethodPost, u, nil, &v); err != nil {
				return err
			}
			if err := a.print(cmd.OutOrStdout(), v, v); err != nil {
				return err
			}
			if v.Status != "intact" {
				return fmt.Errorf("%w at record %d (%s)", errAuditBroken, v.FirstBrokenSeq, cmpOr(v.Reason, v.Status))
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func (v auditVerification) render(w io.Writer) error {
	if v.Status == "intact" {
		_, err := fmt.Fprintf(w, "intact (%d records)\n", v.Records)
		return err
	}
	_, err := fmt.Fprintf(w, "%s at record %d: %s (%s); the %d records before it verify\n",
		v.Status, v.FirstBrokenSeq, cmpOr(v.Reason, "unknown"), cmpOr(v.Detail, "no detail"), v.Records)
	return err
}
