package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
)

// `edgevault edge secrets` and `edgevault edge secret`: the secrets an
// appliance escrows in its resource's key vault (BitLocker keys, the BMC
// password), the portal's "Sync device secrets", and customer secrets sent
// to the appliance (DESIGN.md §5.3). Values are printed in one place only,
// `secrets show --reveal`, which reads the vault through the Key Vault
// data plane as the signed-in user, so that the vault's access policy
// decides and its audit log names the reader.

// deviceSecretRef is one entry of deviceSecrets: where the secret is in
// the vault, "secrets/<name>/<version>".
type deviceSecretRef struct {
	KeyVaultID string `json:"keyVaultId"`
}

// splitKeyVaultID returns the vault secret name and version of a
// keyVaultId; ok is false unless it is "secrets/<name>/<version>" with a
// valid name and version, so that it can be put in a URL path as it is.
func splitKeyVaultID(id string) (name, version string, ok bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] != "secrets" || parts[2] == "" || !validVersion(parts[2]) ||
		validateSecretName(parts[1]) != nil {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// syncResult is the result of syncDeviceSecrets.
type syncResult struct {
	KeyVaultSyncStatus string                     `json:"keyVaultSyncStatus"`
	LastSyncTime       time.Time                  `json:"lastSyncTime"`
	DeviceSecrets      map[string]deviceSecretRef `json:"deviceSecrets"`
}

func (r syncResult) view() renderer {
	t := table{headers: []string{"NAME", "VERSION", "KEY VAULT ID"}}
	for _, name := range slices.Sorted(maps.Keys(r.DeviceSecrets)) {
		id := r.DeviceSecrets[name].KeyVaultID
		_, version, _ := splitKeyVaultID(id)
		t.rows = append(t.rows, []string{name, version, id})
	}
	return sections{record{{"sync status", r.KeyVaultSyncStatus}, {"last sync", timeText(r.LastSyncTime)}}, t}
}

func newEdgeSecretsSyncCmd(a *app) *cobra.Command {
	var f edgeFlags
	var noWait bool
	cmd := &cobra.Command{
		Use:   "sync --name NAME --resource-group RG [--no-wait]",
		Short: "Ask the device to push its secrets to the key vault, and wait until it has",
		Long: "Ask the device of an edge resource to push its secrets (BitLocker keys, BMC password,\n" +
			"channel integrity key) to the resource's key vault: the portal's \"Sync device secrets\".\n" +
			"The device learns of the request with its next heartbeat; the command waits until it\n" +
			"has pushed, then prints where each secret is in the vault. A device that is offline\n" +
			"cannot sync (DeviceOffline); what it escrowed earlier stays readable in the vault.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, u, err := f.open("/syncDeviceSecrets")
			if err != nil {
				return err
			}
			r, err := c.do(cmd.Context(), http.MethodPost, u, nil, nil)
			if err != nil {
				return f.withOfflineHint(err)
			}
			if r.status != http.StatusAccepted {
				return fmt.Errorf("the server answered syncDeviceSecrets with %d, not 202 Accepted", r.status)
			}
			if noWait {
				return a.printStarted(cmd, c, u, r)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Waiting for the device of edge resource '%s' to push its secrets...\n", f.name)
			res, err := c.runSync(cmd.Context(), cmd.ErrOrStderr(), u, r)
			if err != nil {
				return f.withOfflineHint(err)
			}
			if res.DeviceSecrets == nil {
				res.DeviceSecrets = map[string]deviceSecretRef{}
			}
			return a.print(cmd.OutOrStdout(), res, res.view())
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the device; print the operation's id and status URL")
	return cmd
}

// withOfflineHint adds to a DeviceOffline error, at the request or as the
// operation's end, what still works while the device is down.
func (f *edgeFlags) withOfflineHint(err error) error {
	var oe *operationError
	var ae *client.APIError
	if !(errors.As(err, &oe) && oe.Code == "DeviceOffline") && !(errors.As(err, &ae) && ae.Code == "DeviceOffline") {
		return err
	}
	return fmt.Errorf("%w\nWhat the device escrowed stays readable: 'edgevault edge secrets show --name %s --resource-group %s'", err, f.name, f.resourceGroup)
}

// syncProgressMark is how often, in time waited, the progress line shows
// the seconds waited among its dots.
const syncProgressMark = 30 * time.Second

// syncProgress is the line of dots a sync draws on stderr while it waits:
// a dot per poll, the time waited every syncProgressMark. It is plain
// text, fit for a terminal and a log alike.
type syncProgress struct {
	w      io.Writer
	waited time.Duration
	mark   time.Duration
	dots   bool
}

// tick records a poll that found the sync still running, after d more.
func (p *syncProgress) tick(d time.Duration) {
	p.waited += d
	fmt.Fprint(p.w, ".")
	if p.mark == 0 {
		p.mark = syncProgressMark
	}
	if p.waited >= p.mark {
		fmt.Fprintf(p.w, "[%s]", p.mark)
		p.mark += syncProgressMark
	}
	p.dots = true
}

// end finishes the line of dots, if any.
func (p *syncProgress) end() {
	if p.dots {
		fmt.Fprintln(p.w)
		p.dots = false
	}
}

// runSync follows the syncDeviceSecrets operation accepted in r to its
// end, drawing a syncProgress on w. The result is read from the Location
// URL, else from the status's properties.
func (c *armClient) runSync(ctx context.Context, w io.Writer, reqURL string, r reply) (syncResult, error) {
	var res syncResult
	urls, err := c.operationURLs(reqURL, r)
	if err != nil {
		return res, err
	}
	p := &syncProgress{w: w}
	defer p.end()
	delay := retryAfter(r.header)
	var st activationStatus
	for {
		if err := sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("stopped waiting (%w); the sync goes on at the server: %s", err, urls.status)
		}
		st = activationStatus{}
		r, err := c.do(ctx, http.MethodGet, urls.status, nil, &st)
		if err != nil {
			return res, fmt.Errorf("read operation status: %w", err)
		}
		done, err := st.ended()
		if err != nil {
			return res, fmt.Errorf("the sync failed: %w", err)
		}
		if done {
			p.waited += delay
			break
		}
		p.tick(delay)
		delay = retryAfter(r.header)
	}
	p.end()
	fmt.Fprintf(w, "The device pushed its secrets after %s.\n", p.waited)
	if urls.result != "" {
		if _, err := c.do(ctx, http.MethodGet, urls.result, nil, &res); err != nil {
			return res, fmt.Errorf("read the sync's result: %w", err)
		}
	} else if err := json.Unmarshal(st.Properties, &res); err != nil {
		return res, fmt.Errorf("read the sync's result: %w", err)
	}
	return res, nil
}

// escrowedSecret is one device secret as `secrets show` lists it.
// Escrowed is false for a standard device secret the device has not
// pushed yet.
type escrowedSecret struct {
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	KeyVaultID string `json:"keyVaultId,omitempty"`
	Escrowed   bool   `json:"escrowed"`
}

// escrowView is what `secrets show` prints without --reveal: names and
// places, never values.
type escrowView struct {
	Resource            string           `json:"resource"`
	KeyVaultID          string           `json:"keyVaultId"`
	KeyVaultURI         string           `json:"keyVaultUri"`
	KeyVaultSyncStatus  string           `json:"keyVaultSyncStatus"`
	ChannelIntegrityKey *securityCIK     `json:"channelIntegrityKey"`
	Secrets             []escrowedSecret `json:"secrets"`
}

// newEscrowView lists the secrets extended information reports, with the
// standard device secrets not pushed yet.
func newEscrowView(x edgeExtendedInfo) escrowView {
	p := x.Properties
	v := escrowView{Resource: x.ID, KeyVaultID: p.ClientSecretStoreID, KeyVaultURI: p.ClientSecretStoreURL,
		KeyVaultSyncStatus: p.KeyVaultSyncStatus, Secrets: []escrowedSecret{}}
	if p.ChannelIntegrityKeyName != "" {
		v.ChannelIntegrityKey = &securityCIK{Name: p.ChannelIntegrityKeyName, Version: p.ChannelIntegrityKeyVersion}
	}
	names := slices.Collect(maps.Keys(p.DeviceSecrets))
	for _, n := range devicewire.DeviceSecretNames {
		if _, ok := p.DeviceSecrets[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		s := escrowedSecret{Name: n}
		if ref, ok := p.DeviceSecrets[n]; ok && ref.KeyVaultID != "" {
			s.KeyVaultID, s.Escrowed = ref.KeyVaultID, true
			_, s.Version, _ = splitKeyVaultID(ref.KeyVaultID)
		}
		v.Secrets = append(v.Secrets, s)
	}
	return v
}

func (v escrowView) view() renderer {
	r := record{{"key vault", orNotConfigured(lastSegment(v.KeyVaultID))}, {"vault uri", v.KeyVaultURI},
		{"sync status", v.KeyVaultSyncStatus}}
	if k := v.ChannelIntegrityKey; k != nil {
		r = append(r, field{"cik name", k.Name}, field{"cik version", k.Version})
	}
	t := table{headers: []string{"NAME", "VERSION", "STATUS"}}
	for _, s := range v.Secrets {
		status := "not escrowed"
		if s.Escrowed {
			status = "in key vault"
		}
		t.rows = append(t.rows, []string{s.Name, s.Version, status})
	}
	return sections{r, t}
}

// revealedSecret is what `secrets show --reveal` prints: the one output of
// the edge commands that holds a device secret's value.
type revealedSecret struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	KeyVaultID string `json:"keyVaultId"`
	VaultURI   string `json:"vaultUri"`
	Value      string `json:"value"`
}

func newEdgeSecretsShowCmd(a *app) *cobra.Command {
	var f edgeFlags
	var reveal string
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource-group RG [--reveal SECRET]",
		Short: "List the secrets a device escrowed in its key vault; --reveal reads one's value",
		Long: "List the secrets the device of an edge resource escrowed in the resource's key vault: their\n" +
			"names, versions and sync state, with the vault and the channel integrity key. Values are\n" +
			"never printed, except with --reveal SECRET: then that secret's escrowed version is read\n" +
			"from the vault as you, through the Key Vault data plane. The read needs the 'get' secret\n" +
			"permission in the vault's access policy, and the vault's audit log records it under your\n" +
			"name. It works while the device is offline.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := f.open("")
			if err != nil {
				return err
			}
			x, err := c.getExtendedInfo(cmd.Context(), &f)
			if err != nil {
				return err
			}
			v := newEscrowView(x)
			if reveal == "" {
				return a.print(cmd.OutOrStdout(), v, v.view())
			}
			s, err := c.revealDeviceSecret(cmd, v, reveal)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), s, record{{"name", s.Name}, {"version", s.Version},
				{"key vault id", s.KeyVaultID}, {"vault uri", s.VaultURI}, {"value", s.Value}})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&reveal, "reveal", "", "read and print the value of this secret (audited, needs 'get' on the vault)")
	return cmd
}

// revealDeviceSecret reads the escrowed version of device secret name
// from the vault as the signed-in user, and says on stderr that the read
// is audited under the user's name. (A refused read is audited too; its
// error is then what stderr starts with.)
func (c *armClient) revealDeviceSecret(cmd *cobra.Command, v escrowView, name string) (revealedSecret, error) {
	i := slices.IndexFunc(v.Secrets, func(s escrowedSecret) bool { return s.Name == name })
	if i < 0 {
		i = slices.IndexFunc(v.Secrets, func(s escrowedSecret) bool { return strings.EqualFold(s.Name, name) })
	}
	if i < 0 || !v.Secrets[i].Escrowed {
		return revealedSecret{}, fmt.Errorf("the device has not escrowed a secret named %q; 'edgevault edge secrets show' lists those it has", name)
	}
	s := v.Secrets[i]
	vaultName := lastSegment(v.KeyVaultID)
	kvName, version, ok := splitKeyVaultID(s.KeyVaultID)
	if !ok || vaultName == "" {
		return revealedSecret{}, fmt.Errorf("the server reports secret %s at %q in vault %q, which the CLI cannot read", s.Name, s.KeyVaultID, v.KeyVaultID)
	}
	vc, err := newVaultClient(c.s, vaultName)
	if err != nil {
		return revealedSecret{}, err
	}
	// The read goes to the vault's URL as the profile's vault audience
	// derives it, never to a URL the server hands back; a vault URI
	// elsewhere is a server the CLI does not know.
	if u, err := url.Parse(v.KeyVaultURI); err != nil || !sameOrigin(u, vc.base) {
		return revealedSecret{}, fmt.Errorf("the vault URI %q the server reports is not %s, where the profile puts vault %s; not reading it", v.KeyVaultURI, vc.base, vaultName)
	}
	var b struct {
		Value storedSecret `json:"value"`
	}
	if err := vc.do(cmd.Context(), http.MethodGet, vc.url("/secrets/"+kvName+"/"+version, nil), nil, &b); err != nil {
		return revealedSecret{}, withAccessPolicyHint(err, vaultName, resourceGroupOf(v.KeyVaultID), c.s.Profile.PrincipalName)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "NOTE: This read of %s is recorded in the audit log of key vault %s under your name (%s).\n",
		s.Name, vaultName, c.s.Profile.PrincipalName)
	return revealedSecret{Name: s.Name, Version: version, KeyVaultID: s.KeyVaultID, VaultURI: v.KeyVaultURI, Value: sensitive.String(b.Value).Reveal()}, nil
}

// withAccessPolicyHint adds to a vault's 403 the command that grants the
// missing permission; a disabled secret is another 403 and gets none.
func withAccessPolicyHint(err error, vaultName, rg, who string) error {
	var e *vaultError
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.InnerCode == "SecretDisabled" {
		return err
	}
	if who == "" {
		who = "YOUR-NAME"
	}
	return fmt.Errorf("%w\nReading a device secret needs the 'get' secret permission on key vault %s. An owner of the vault grants it with\n"+
		"  edgevault keyvault set-policy --name %s --resource-group %s --assignee %s --secret-permissions get", err, vaultName, vaultName, rg, who)
}

// sentSecret is sendSecret's answer.
type sentSecret struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// validCustomerSecretName reports whether name is what sendSecret takes:
// 1 to 64 letters and digits, starting with a letter.
func validCustomerSecretName(name string) bool {
	if name == "" || len(name) > 64 || !isLetter(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isLetter(name[i]) && !isDigit(name[i]) {
			return false
		}
	}
	return true
}

// sendValueFlags give the value of a customer secret. There is no --value:
// a value on the command line stays in shell history and shows in the
// process list; the hidden flag of that name only says so.
type sendValueFlags struct {
	file  string
	stdin bool
	plain secretFlag
}

// read returns the value from the one source given: the file's exact
// content, or stdin without one final line ending. An empty value, one
// over devicewire.MaxSecretSize or not UTF-8 is refused.
func (f *sendValueFlags) read(cmd *cobra.Command) (sensitive.String, error) {
	var b []byte
	var from string
	switch {
	case cmd.Flags().Changed("value"):
		return sensitive.String{}, usagef("--value is not accepted: a value on the command line stays in your shell history and shows in the process list; use --value-file or --value-stdin")
	case f.file != "" && f.stdin:
		return sensitive.String{}, usagef("use only one of --value-file and --value-stdin")
	case f.file != "":
		var err error
		if b, err = readUpTo(f.file, devicewire.MaxSecretSize+1); err != nil {
			return sensitive.String{}, fmt.Errorf("read the value: %w", err)
		}
		from = f.file
	case f.stdin:
		var err error
		if b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), devicewire.MaxSecretSize+3)); err != nil {
			return sensitive.String{}, fmt.Errorf("read the value from stdin: %w", err)
		}
		b = []byte(strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"))
		from = "stdin"
	default:
		return sensitive.String{}, usagef("give the value with --value-file FILE or --value-stdin")
	}
	switch {
	case len(b) == 0:
		return sensitive.String{}, usagef("the value from %s is empty", from)
	case len(b) > devicewire.MaxSecretSize:
		return sensitive.String{}, usagef("the value from %s is larger than the %d bytes (16 KiB) a device secret can hold", from, devicewire.MaxSecretSize)
	case !utf8.Valid(b):
		return sensitive.String{}, usagef("the value from %s is not UTF-8 text; encode binary data (e.g. with base64) first", from)
	}
	return sensitive.New(string(b)), nil
}

// readUpTo reads at most n bytes of a file.
func readUpTo(path string, n int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, n))
}

func newEdgeSecretSendCmd(a *app) *cobra.Command {
	var f edgeFlags
	var name string
	var v sendValueFlags
	cmd := &cobra.Command{
		Use:   "send --name NAME --resource-group RG --secret SECRET (--value-file FILE | --value-stdin)",
		Short: "Send a secret (e.g. a Wi-Fi password) to an edge resource's device",
		Long: "Send a customer secret to the device of an edge resource. The server seals it under the\n" +
			"device's channel integrity key at once, and the device receives it with its next heartbeat.\n\n" +
			"Give the value with --value-file FILE (the file's exact content) or --value-stdin (stdin,\n" +
			"without one final line ending); it must be 1 byte to 16 KiB of text. There is deliberately\n" +
			"no --value flag: a value on the command line stays in your shell history and shows in the\n" +
			"process list. The value is never printed.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !validCustomerSecretName(name) {
				return usagef("--secret must be 1 to 64 letters and digits, starting with a letter (got %q)", name)
			}
			if err := f.validate(); err != nil {
				return err
			}
			value, err := v.read(cmd)
			if err != nil {
				return err
			}
			c, u, err := f.open("/sendSecret")
			if err != nil {
				return err
			}
			var out sentSecret
			body := map[string]string{"name": name, "value": value.Reveal()}
			if _, err := c.do(cmd.Context(), http.MethodPost, u, body, &out); err != nil {
				return err
			}
			if err := a.print(cmd.OutOrStdout(), out, record{{"id", out.ID}, {"name", out.Name}, {"state", out.State}}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "The device of edge resource '%s' receives %s with its next heartbeat.\n", f.name, out.Name)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&name, "secret", "", "name of the secret on the device: 1-64 letters and digits")
	cmd.Flags().StringVar(&v.file, "value-file", "", "read the value from this file (its exact content)")
	cmd.Flags().BoolVar(&v.stdin, "value-stdin", false, "read the value from stdin")
	cmd.Flags().Var(&v.plain, "value", "not accepted: it would leave the secret in shell history")
	_ = cmd.Flags().MarkHidden("value")
	return cmd
}
