package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/spf13/cobra"
)

// `edgevault edge recover-key-vault` and `edgevault edge
// reconfigure-identity`: the portal's "Recover key vault → Configure" and
// "Reconfigure managed identity" (reference/edge-arm.md §2.6–2.7), two
// long-running operations whose steps are shown as they complete, as
// `activation-key generate` shows its own.

// recoverResult is recoverKeyVault's final result.
type recoverResult struct {
	KeyVaultID         string       `json:"keyVaultId"`
	KeyVaultURI        string       `json:"keyVaultUri"`
	Action             string       `json:"action"` // Recovered or Created
	KeyVaultSyncStatus string       `json:"keyVaultSyncStatus"`
	DevicePushPending  bool         `json:"devicePushPending"`
	Warnings           []string     `json:"warnings"`
	Steps              []stepResult `json:"steps"`
}

func (r recoverResult) record() record {
	action := r.Action
	switch r.Action {
	case "Recovered":
		action = "Recovered (the soft-deleted vault, under its name)"
	case "Created":
		action = "Created (a new vault replaces the purged one)"
	}
	pending := "no"
	if r.DevicePushPending {
		pending = "yes"
	}
	return record{
		{"action", action}, {"key vault", lastSegment(r.KeyVaultID)}, {"vault uri", r.KeyVaultURI},
		{"sync status", r.KeyVaultSyncStatus}, {"device push pending", pending}, {"key vault id", r.KeyVaultID},
	}
}

// reconfigureResult is reconfigureManagedIdentity's final result.
type reconfigureResult struct {
	PrincipalID        string   `json:"principalId"`
	KeyVaultID         string   `json:"keyVaultId"`
	SecretPermissions  []string `json:"secretPermissions"`
	KeyVaultSyncStatus string   `json:"keyVaultSyncStatus"`
}

func (r reconfigureResult) record() record {
	return record{
		{"principal id", r.PrincipalID}, {"key vault", lastSegment(r.KeyVaultID)},
		{"secret permissions", strings.Join(r.SecretPermissions, ", ")}, {"sync status", r.KeyVaultSyncStatus},
		{"key vault id", r.KeyVaultID},
	}
}

// recoveryStepText says what the recovery steps did where it differs from
// a generation's stepText.
var recoveryStepText = map[string]string{
	"RecoverKeyVault":       "key vault recovered from soft delete, or created anew if purged",
	"EnableManagedIdentity": "managed identity enabled (a new one if it had been deleted)",
	"RequestDeviceSync":     "device asked to push its secrets",
	"WaitForDeviceSync":     "device pushed its secrets, channel integrity key included",
}

// recoveryStepLine is the line printed when a recovery step has completed.
func recoveryStepLine(step string) string {
	if t, ok := recoveryStepText[step]; ok {
		return fmt.Sprintf("✓ %-28s %s", step, t)
	}
	return stepLine(step)
}

// pushPendingNote follows a recovery whose device was offline.
const pushPendingNote = "The device is offline: it pushes its secrets (the channel integrity key too) when it is back online; the recovery completes then."

func newEdgeRecoverCmd(a *app) *cobra.Command {
	var f edgeFlags
	var vaultName string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "recover-key-vault --name NAME --resource-group RG [--key-vault-name NEW] [--no-wait]",
		Short: "Recover an edge resource's deleted key vault, or replace a purged one",
		Long: "Recover the key vault of an edge resource after it was deleted: a soft-deleted vault is\n" +
			"recovered under its own name and locked again; a purged one is replaced by a new vault\n" +
			"named by --key-vault-name. Either way a new audit storage account and diagnostic setting\n" +
			"are made, the managed identity is granted get and set on secrets, and the device is asked\n" +
			"to push its secrets again. Each step is shown as it completes. If the vault is there but\n" +
			"the identity lost its access, use reconfigure-identity instead.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if vaultName != "" {
				if err := validateVaultName("key-vault-name", vaultName); err != nil {
					return err
				}
			}
			c, u, err := f.open("/recoverKeyVault")
			if err != nil {
				return err
			}
			body := map[string]string{}
			if vaultName != "" {
				body["keyVaultName"] = vaultName
			}
			r, err := c.do(cmd.Context(), http.MethodPost, u, body, nil)
			if err != nil {
				return f.withRecoveryHint(err)
			}
			if r.status != http.StatusAccepted {
				return fmt.Errorf("the server answered recoverKeyVault with %d, not 202 Accepted", r.status)
			}
			if noWait {
				return a.printStarted(cmd, c, u, r)
			}
			w := cmd.ErrOrStderr()
			fmt.Fprintf(w, "Recovering the key vault of edge resource '%s'...\n", f.name)
			steps := client.NewStepTracker(client.RecoverSteps)
			raw, err := c.runSteps(cmd.Context(), w, u, r, steps)
			if err != nil {
				return f.withRecoveryHint(err)
			}
			var res recoverResult
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("read the operation's result: %w", err)
			}
			last := recoveryStepLine("WaitForDeviceSync")
			switch {
			case res.DevicePushPending:
				last = warnedStepLine("WaitForDeviceSync", "device offline: it pushes its secrets when it is back online")
			case res.KeyVaultSyncStatus != "KeyVaultSynced":
				// No activated device was asked to push.
				last = fmt.Sprintf("✓ %-28s no device push to wait for (sync status %s)", "WaitForDeviceSync", res.KeyVaultSyncStatus)
			}
			finishSteps(w, steps, res.Steps, map[string]string{"WaitForDeviceSync": last})
			if res.Warnings == nil {
				res.Warnings = []string{}
			}
			if err := a.print(cmd.OutOrStdout(), res, res.record()); err != nil {
				return err
			}
			for _, m := range res.Warnings {
				fmt.Fprintf(w, "WARNING: %s\n", m)
			}
			if res.DevicePushPending {
				fmt.Fprintln(w, pushPendingNote)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&vaultName, "key-vault-name", "", "name of a new key vault, required when the old one was purged")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the operation; print its id and status URL")
	return cmd
}

func newEdgeReconfigureCmd(a *app) *cobra.Command {
	var f edgeFlags
	var noWait bool
	cmd := &cobra.Command{
		Use:   "reconfigure-identity --name NAME --resource-group RG [--no-wait]",
		Short: "Give an edge resource's managed identity back its access to the key vault",
		Long: "Restore the managed identity's access to the edge resource's key vault after its access\n" +
			"policy was removed or the identity was disabled: enable the identity (a new one if it was\n" +
			"deleted), grant it get and set on secrets, and ask the device to sync. Each step is shown\n" +
			"as it completes. If the vault itself was deleted, use recover-key-vault instead.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, u, err := f.open("/reconfigureManagedIdentity")
			if err != nil {
				return err
			}
			r, err := c.do(cmd.Context(), http.MethodPost, u, nil, nil)
			if err != nil {
				return f.withRecoveryHint(err)
			}
			if r.status != http.StatusAccepted {
				return fmt.Errorf("the server answered reconfigureManagedIdentity with %d, not 202 Accepted", r.status)
			}
			if noWait {
				return a.printStarted(cmd, c, u, r)
			}
			w := cmd.ErrOrStderr()
			fmt.Fprintf(w, "Reconfiguring the managed identity of edge resource '%s'...\n", f.name)
			steps := client.NewStepTracker(client.ReconfigureSteps)
			raw, err := c.runSteps(cmd.Context(), w, u, r, steps)
			if err != nil {
				return f.withRecoveryHint(err)
			}
			var res reconfigureResult
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("read the operation's result: %w", err)
			}
			finishSteps(w, steps, nil, nil)
			if res.SecretPermissions == nil {
				res.SecretPermissions = []string{}
			}
			if err := a.print(cmd.OutOrStdout(), res, res.record()); err != nil {
				return err
			}
			if res.KeyVaultSyncStatus != "KeyVaultSynced" {
				fmt.Fprintf(w, "The device pushes its secrets with its next heartbeat; follow with 'edgevault edge secrets show --name %s --resource-group %s'.\n",
					f.name, f.resourceGroup)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the operation; print its id and status URL")
	return cmd
}

// runSteps follows the long-running operation accepted in r to its end,
// printing on w each step of steps' plan as it completes, and returns the
// result: the body of the Location URL, as azcore's pollers read it
// (FinalStateViaLocation), else the status's properties.
func (c *armClient) runSteps(ctx context.Context, w io.Writer, reqURL string, r reply, steps *client.StepTracker) (json.RawMessage, error) {
	urls, err := c.operationURLs(reqURL, r)
	if err != nil {
		return nil, err
	}
	delay := retryAfter(r.header)
	var st activationStatus
	for {
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("stopped waiting (%w); the operation goes on at the server: %s", err, urls.status)
		}
		st = activationStatus{}
		r, err := c.do(ctx, http.MethodGet, urls.status, nil, &st)
		if err != nil {
			return nil, fmt.Errorf("read operation status: %w", err)
		}
		delay = retryAfter(r.header)
		if strings.EqualFold(st.Status, "InProgress") && len(st.Properties) > 0 {
			var p struct {
				LastCompletedStep string `json:"lastCompletedStep"`
			}
			if json.Unmarshal(st.Properties, &p) == nil {
				for _, s := range steps.Observe(p.LastCompletedStep) {
					fmt.Fprintln(w, recoveryStepLine(s))
				}
			}
		}
		done, err := st.ended()
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	if urls.result == "" {
		return st.Properties, nil
	}
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodGet, urls.result, nil, &raw); err != nil {
		return nil, fmt.Errorf("read the operation's result: %w", err)
	}
	return raw, nil
}

// finishSteps prints the steps of a successful operation not seen while
// polling: a step the result reports as not Succeeded is marked with its
// reason, and lines replaces the line of the steps it names.
func finishSteps(w io.Writer, steps *client.StepTracker, results []stepResult, lines map[string]string) {
	warned := map[string]string{}
	for _, st := range results {
		if st.Status != "Succeeded" {
			warned[st.Name] = st.Message
		}
	}
	for _, s := range steps.Finish(false) {
		line, ok := lines[s]
		switch {
		case ok:
		case warned[s] != "":
			line = warnedStepLine(s, warned[s])
		default:
			line = recoveryStepLine(s)
		}
		fmt.Fprintln(w, line)
	}
}

// recoveryHints say what to do after a recovery's error, by its code.
var recoveryHints = map[string]string{
	"NothingToRecover":           "The key vault is there. If the managed identity lost its access to it, use 'edgevault edge reconfigure-identity --name %[1]s --resource-group %[2]s'.",
	"KeyVaultNameRequired":       "The vault was purged: give --key-vault-name, the name of a new key vault to create.",
	"VaultAlreadyExists":         "Choose another --key-vault-name: vault names are unique.",
	"VaultNameNotValid":          "Choose another --key-vault-name.",
	"AnotherOperationInProgress": "Wait for that operation to end, then run this again.",
}

// withRecoveryHint adds to an error of recover-key-vault or
// reconfigure-identity, at the request or as the operation's end, what to
// do next.
func (f *edgeFlags) withRecoveryHint(err error) error {
	var code string
	var oe *operationError
	var ae *client.APIError
	switch {
	case errors.As(err, &oe):
		code = oe.Code
	case errors.As(err, &ae):
		code = ae.Code
	}
	hint, ok := recoveryHints[code]
	if !ok {
		return err
	}
	if strings.Contains(hint, "%[1]s") {
		hint = fmt.Sprintf(hint, f.name, f.resourceGroup)
	}
	return fmt.Errorf("%w\n%s", err, hint)
}
