package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
)

// activationResult is generateActivationKey's final result. The key is a
// credential: it is held as a storedSecret and written out only by
// printActivation.
type activationResult struct {
	ActivationKey   storedSecret `json:"activationKey"`
	ExpiryTimeInUTC time.Time    `json:"expiryTimeInUTC"`
	KeyVaultID      string       `json:"keyVaultId"`
	KeyVaultURI     string       `json:"keyVaultUri"`
	KeyID           string       `json:"keyId"`
	Warnings        []string     `json:"warnings"`
	Regenerated     bool         `json:"regenerated"`
	Steps           []stepResult `json:"steps"`
}

// stepResult is how a step ended, as the result reports it.
type stepResult struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// activationJSON is the one display of a new activation key.
type activationJSON struct {
	ActivationKey   string    `json:"activationKey"`
	ExpiryTimeInUTC time.Time `json:"expiryTimeInUTC"`
	KeyVaultID      string    `json:"keyVaultId"`
	KeyVaultURI     string    `json:"keyVaultUri"`
	KeyID           string    `json:"keyId"`
	Warnings        []string  `json:"warnings"`
}

// activationKeyNote follows the display of a new activation key.
const activationKeyNote = "NOTE: Save the activation key now: it cannot be shown again. Generating another revokes it if it is still unused."

// activationKeyInfo is one entry of the activationKeys list: metadata,
// never the key.
type activationKeyInfo struct {
	ID           string     `json:"id"`
	CreatedAt    time.Time  `json:"createdAt"`
	CreatedBy    string     `json:"createdBy,omitempty"`
	ExpiresAt    time.Time  `json:"expiryTimeInUTC"`
	State        string     `json:"state"`
	UsedAt       *time.Time `json:"usedAt,omitempty"`
	UsedBySerial string     `json:"usedBySerialNumber,omitempty"`
	RevokedAt    *time.Time `json:"revokedAt,omitempty"`
}

// stepText says what each step of the operation did, for the check-mark
// lines; a step it does not know is shown by name alone.
var stepText = map[string]string{
	"CreateKeyVault":              "key vault created (soft delete 90 days, purge protection)",
	"LockKeyVault":                "CanNotDelete lock on the key vault",
	"EnableManagedIdentity":       "managed identity enabled",
	"CreateChannelIntegrityKey":   "channel integrity key stored in the key vault",
	"CreateAuditStorageAccount":   "audit storage account created and locked",
	"CreateDiagnosticSetting":     "vault audit events sent to the storage account",
	"GrantManagedIdentityAccess":  "managed identity granted secrets get and set",
	"VerifyManagedIdentityAccess": "managed identity read the channel integrity key",
	"RegenerateActivationKey":     "key vault already set up; left untouched",
	"IssueActivationKey":          "activation key issued",
}

// stepLine is the line printed when step has completed.
func stepLine(step string) string {
	if t, ok := stepText[step]; ok {
		return fmt.Sprintf("✓ %-28s %s", step, t)
	}
	return "✓ " + step
}

// warnedStepLine is the line of a step that failed without blocking.
func warnedStepLine(step, message string) string {
	return fmt.Sprintf("! %-28s %s", step, message)
}

func newEdgeGenerateCmd(a *app) *cobra.Command {
	var f edgeFlags
	var vaultName string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "generate --name NAME --resource-group RG [--key-vault-name VAULT] [--no-wait]",
		Short: "Generate an activation key, setting up the key vault the first time",
		Long: "Generate an activation key for an edge resource. The first time, this creates and locks\n" +
			"a key vault (named by --key-vault-name or derived from the resource's name), the channel\n" +
			"integrity key, an audit storage account and the managed identity's access; each step is\n" +
			"shown as it completes. Later calls issue a new key and revoke earlier unused ones without\n" +
			"touching the vault. The key is printed once.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if vaultName != "" {
				if err := validateVaultName("key-vault-name", vaultName); err != nil {
					return err
				}
			}
			c, u, err := f.open("/generateActivationKey")
			if err != nil {
				return err
			}
			body := map[string]string{}
			if vaultName != "" {
				body["keyVaultName"] = vaultName
			}
			r, err := c.do(cmd.Context(), http.MethodPost, u, body, nil)
			if err != nil {
				return err
			}
			if r.status != http.StatusAccepted {
				return fmt.Errorf("the server answered generateActivationKey with %d, not 202 Accepted", r.status)
			}
			if noWait {
				return a.printStarted(cmd, c, u, r)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Generating an activation key for edge resource '%s'...\n", f.name)
			res, err := c.runActivation(cmd.Context(), cmd.ErrOrStderr(), u, r)
			if err != nil {
				return err
			}
			return a.printActivation(cmd, res)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&vaultName, "key-vault-name", "", "name of the key vault to create the first time (default: derived from the resource's name)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the operation; print its id and status URL")
	return cmd
}

// startedOperation is what generate --no-wait prints.
type startedOperation struct {
	OperationID string `json:"operationId"`
	Status      string `json:"status"`
	StatusURL   string `json:"statusUrl"`
	ResultURL   string `json:"resultUrl,omitempty"`
}

// printStarted prints the operation generate --no-wait started. Its id is
// the last segment of the status URL (…/operationStatuses/{id}).
func (a *app) printStarted(cmd *cobra.Command, c *armClient, reqURL string, r reply) error {
	urls, err := c.operationURLs(reqURL, r)
	if err != nil {
		return err
	}
	v := startedOperation{Status: "Accepted", StatusURL: urls.status, ResultURL: urls.result}
	if su, err := url.Parse(urls.status); err == nil {
		v.OperationID = path.Base(su.Path)
	}
	return a.print(cmd.OutOrStdout(), v, record{{"operation id", v.OperationID}, {"status", v.Status},
		{"status url", v.StatusURL}, {"result url", v.ResultURL}})
}

// printActivation shows the new key, the one place the edge commands
// disclose a credential, then the warnings and a note on stderr (so that
// stdout stays valid JSON with -o json).
func (a *app) printActivation(cmd *cobra.Command, res activationResult) error {
	v := activationJSON{ActivationKey: sensitive.String(res.ActivationKey).Reveal(), ExpiryTimeInUTC: res.ExpiryTimeInUTC,
		KeyVaultID: res.KeyVaultID, KeyVaultURI: res.KeyVaultURI, KeyID: res.KeyID, Warnings: res.Warnings}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	r := record{
		{"activation key", v.ActivationKey}, {"expires", timeText(v.ExpiryTimeInUTC)}, {"key id", v.KeyID},
		{"key vault", lastSegment(v.KeyVaultID)}, {"vault uri", v.KeyVaultURI}, {"key vault id", v.KeyVaultID},
	}
	if err := a.print(cmd.OutOrStdout(), v, r); err != nil {
		return err
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: %s\n", w)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), activationKeyNote)
	return nil
}

// operationURLs are the two URLs of an accepted operation.
type operationURLs struct{ status, result string }

// operationURLs reads the Azure-AsyncOperation and Location headers of
// the 202 answer to reqURL, both checked to be on the management endpoint.
func (c *armClient) operationURLs(reqURL string, r reply) (operationURLs, error) {
	var out operationURLs
	raw := r.header.Get("Azure-AsyncOperation")
	if raw == "" {
		return out, errors.New("the server accepted the operation (202) but sent no Azure-AsyncOperation header to follow its steps")
	}
	var err error
	if out.status, err = c.follow(reqURL, raw, "operation status URL"); err != nil {
		return out, err
	}
	if raw := r.header.Get("Location"); raw != "" {
		if out.result, err = c.follow(reqURL, raw, "operation result URL"); err != nil {
			return out, err
		}
	}
	return out, nil
}

// activationStatus is the operation status with its properties: while it
// runs, {"lastCompletedStep": ...}; once it succeeded, the result.
type activationStatus struct {
	operationStatus
	Properties json.RawMessage `json:"properties"`
}

// runActivation follows the generateActivationKey operation accepted in r
// to its end, printing each step on w as it completes, and returns the
// result read from the Location URL.
func (c *armClient) runActivation(ctx context.Context, w io.Writer, reqURL string, r reply) (activationResult, error) {
	var res activationResult
	urls, err := c.operationURLs(reqURL, r)
	if err != nil {
		return res, err
	}
	var steps client.StepTracker
	show := func(done []string) {
		for _, s := range done {
			fmt.Fprintln(w, stepLine(s))
		}
	}
	delay := retryAfter(r.header)
	var st activationStatus
	for {
		if err := sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("stopped waiting (%w); the operation goes on at the server: %s", err, urls.status)
		}
		st = activationStatus{}
		r, err := c.do(ctx, http.MethodGet, urls.status, nil, &st)
		if err != nil {
			return res, fmt.Errorf("read operation status: %w", err)
		}
		delay = retryAfter(r.header)
		if strings.EqualFold(st.Status, "InProgress") && len(st.Properties) > 0 {
			var p struct {
				LastCompletedStep string `json:"lastCompletedStep"`
			}
			if json.Unmarshal(st.Properties, &p) == nil {
				show(steps.Observe(p.LastCompletedStep))
			}
		}
		done, err := st.ended()
		if err != nil {
			return res, err
		}
		if done {
			break
		}
	}
	// The result: from the Location URL, as azcore's pollers read it
	// (FinalStateViaLocation), else from the status's properties.
	if urls.result != "" {
		if _, err := c.do(ctx, http.MethodGet, urls.result, nil, &res); err != nil {
			return res, fmt.Errorf("read the operation's result: %w", err)
		}
	} else if err := json.Unmarshal(st.Properties, &res); err != nil {
		return res, fmt.Errorf("read the operation's result: %w", err)
	}
	if res.ActivationKey.IsZero() {
		return res, errors.New("the operation succeeded but its result holds no activation key")
	}
	// The steps not seen while polling, as the result reports them: a
	// step that failed without blocking is marked with its reason.
	warned := map[string]string{}
	for _, st := range res.Steps {
		if st.Status != "Succeeded" {
			warned[st.Name] = st.Message
		}
	}
	for _, s := range steps.Finish(res.Regenerated) {
		if msg, ok := warned[s]; ok {
			fmt.Fprintln(w, warnedStepLine(s, msg))
		} else {
			fmt.Fprintln(w, stepLine(s))
		}
	}
	return res, nil
}

func newEdgeKeyListCmd(a *app) *cobra.Command {
	var f edgeFlags
	cmd := &cobra.Command{
		Use:   "list --name NAME --resource-group RG",
		Short: "List an edge resource's activation keys (metadata only)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, u, err := f.open("/activationKeys")
			if err != nil {
				return err
			}
			keys, err := listAll[activationKeyInfo](cmd.Context(), c, u)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), keys, keyTable(keys))
		},
	}
	f.add(cmd)
	return cmd
}

// keyTable lists activation keys.
func keyTable(keys []activationKeyInfo) table {
	t := table{headers: []string{"ID", "STATE", "CREATED", "EXPIRES", "USED BY SERIAL", "USED AT"}}
	for _, k := range keys {
		var used string
		if k.UsedAt != nil {
			used = timeText(*k.UsedAt)
		}
		t.rows = append(t.rows, []string{k.ID, k.State, timeText(k.CreatedAt), timeText(k.ExpiresAt), k.UsedBySerial, used})
	}
	return t
}

func newEdgeRevokeCmd(a *app) *cobra.Command {
	var f edgeFlags
	var ids []string
	cmd := &cobra.Command{
		Use:   "revoke --name NAME --resource-group RG [--key-id ID]...",
		Short: "Revoke unused activation keys: those given, or all",
		Long: "Revoke unused activation keys of an edge resource: those named by --key-id, or, without\n" +
			"--key-id, every unused key. A key already used, expired or revoked is left as it is.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, id := range ids {
				if strings.TrimSpace(id) == "" {
					return usagef("--key-id must not be empty")
				}
			}
			c, u, err := f.open("/revokeActivationKeys")
			if err != nil {
				return err
			}
			var out struct {
				Revoked []string `json:"revoked"`
			}
			body := map[string][]string{"keyIds": ids}
			if ids == nil {
				body["keyIds"] = []string{}
			}
			if _, err := c.do(cmd.Context(), http.MethodPost, u, body, &out); err != nil {
				return err
			}
			if out.Revoked == nil {
				out.Revoked = []string{}
			}
			stderr := cmd.ErrOrStderr()
			for _, id := range ids {
				if !slices.Contains(out.Revoked, id) {
					fmt.Fprintf(stderr, "WARNING: activation key %s was not revoked: it is unknown, used, expired or already revoked.\n", id)
				}
			}
			t := table{headers: []string{"REVOKED"}}
			for _, id := range out.Revoked {
				t.rows = append(t.rows, []string{id})
			}
			if len(out.Revoked) == 0 && a.output != outputJSON {
				fmt.Fprintln(stderr, "No activation key was revoked.")
				return nil
			}
			return a.print(cmd.OutOrStdout(), out, t)
		},
	}
	f.add(cmd)
	cmd.Flags().StringArrayVar(&ids, "key-id", nil, "id of a key to revoke; repeat for more (default: every unused key)")
	return cmd
}
