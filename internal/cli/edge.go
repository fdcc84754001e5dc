package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// `edgevault edge`: Azure Stack Edge resources
// (Microsoft.DataBoxEdge/dataBoxEdgeDevices, reference/edge-arm.md §1–2),
// their activation keys, what the activation made around them (the
// security view) and their alerts.

// edgeAPIVersion is the Microsoft.DataBoxEdge api-version the CLI calls.
const edgeAPIVersion = "2023-12-01"

// edgeNS is the resource provider of edge resources.
const edgeNS = "Microsoft.DataBoxEdge"

// edgeDevice is a dataBoxEdgeDevices resource, the part the CLI shows.
type edgeDevice struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags,omitempty"`
	SKU      struct {
		Name string `json:"name"`
		Tier string `json:"tier,omitempty"`
	} `json:"sku"`
	Etag     string `json:"etag,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Identity struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId,omitempty"`
		TenantID    string `json:"tenantId,omitempty"`
	} `json:"identity"`
	SystemData *struct {
		CreatedBy string `json:"createdBy,omitempty"`
		CreatedAt string `json:"createdAt,omitempty"`
	} `json:"systemData,omitempty"`
	Properties struct {
		DataBoxEdgeDeviceStatus string `json:"dataBoxEdgeDeviceStatus"`
		SerialNumber            string `json:"serialNumber,omitempty"`
		DeviceType              string `json:"deviceType,omitempty"`
	} `json:"properties"`
}

// created is the creation time in the CLI's format (RFC 3339, seconds),
// or as the server sent it when it is not RFC 3339.
func (d edgeDevice) created() string {
	if d.SystemData == nil {
		return ""
	}
	if t, err := time.Parse(time.RFC3339Nano, d.SystemData.CreatedAt); err == nil {
		return timeText(t)
	}
	return d.SystemData.CreatedAt
}

func (d edgeDevice) record() record {
	return record{
		{"name", d.Name}, {"resource group", resourceGroupOf(d.ID)}, {"location", d.Location},
		{"status", d.Properties.DataBoxEdgeDeviceStatus}, {"sku", d.SKU.Name}, {"kind", d.Kind},
		{"serial number", d.Properties.SerialNumber}, {"identity", identityText(d.Identity.Type)},
		{"principal id", d.Identity.PrincipalID}, {"created", d.created()},
		{"tags", tagsText(d.Tags)}, {"id", d.ID},
	}
}

// identityText names an identity type the way the CLI speaks of it.
func identityText(typ string) string {
	if strings.EqualFold(typ, "SystemAssigned") {
		return "system-assigned"
	}
	return typ
}

// edgePath is the ARM path of edge resource name in resource group rg.
func edgePath(sub, rg, name string) string {
	return resource.NewResourceGroup(sub, rg).Child(edgeNS, "dataBoxEdgeDevices", name).String()
}

// validateEdgeName checks an edge resource name as the server does: 2–50
// letters, digits and hyphens, not starting or ending with a hyphen.
func validateEdgeName(name string) error {
	if name == "" {
		return usagef("--name is required")
	}
	ok := len(name) >= 2 && len(name) <= 50 && name[0] != '-' && name[len(name)-1] != '-'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-'
	}
	if !ok {
		return usagef("invalid edge resource name %q: want 2-50 letters, digits and hyphens, not starting or ending with a hyphen", name)
	}
	return nil
}

// edgeFlags name an edge resource: --name and --resource-group.
type edgeFlags struct{ name, resourceGroup string }

func (f *edgeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the edge resource")
	cmd.Flags().StringVarP(&f.resourceGroup, "resource-group", "g", "", "resource group of the edge resource")
}

func (f *edgeFlags) validate() error {
	if err := validateEdgeName(f.name); err != nil {
		return err
	}
	if f.resourceGroup == "" {
		return usagef("--resource-group is required")
	}
	if err := resource.ValidateResourceGroupName(f.resourceGroup); err != nil {
		return usageError{err}
	}
	return nil
}

// path returns the resource's ARM path.
func (f *edgeFlags) path(c *armClient) (string, error) {
	sub, err := c.subscription()
	if err != nil {
		return "", err
	}
	return edgePath(sub, f.resourceGroup, f.name), nil
}

// open validates the flags, opens an ARM client and returns it with the
// URL of the resource's action (e.g. "/activationKeys"; "" for the
// resource itself).
func (f *edgeFlags) open(action string) (*armClient, string, error) {
	if err := f.validate(); err != nil {
		return nil, "", err
	}
	c, err := openARM()
	if err != nil {
		return nil, "", err
	}
	p, err := f.path(c)
	if err != nil {
		return nil, "", err
	}
	return c, c.url(p+action, edgeAPIVersion, nil), nil
}

func newEdgeCmd(a *app) *cobra.Command {
	return newGroup("edge", "Manage Azure Stack Edge resources and their activation",
		newEdgeCreateCmd(a), newEdgeShowCmd(a), newEdgeListCmd(a), newEdgeDeleteCmd(a),
		newGroup("activation-key", "Generate, list and revoke activation keys",
			newEdgeGenerateCmd(a), newEdgeKeyListCmd(a), newEdgeRevokeCmd(a)),
		newGroup("security", "Show what protects an edge resource's secrets",
			newEdgeSecurityShowCmd(a)),
		newEdgeRecoverCmd(a), newEdgeReconfigureCmd(a),
		newGroup("extended-info", "Show an edge resource's extended information",
			newEdgeExtendedInfoShowCmd(a)),
		newGroup("alert", "Show an edge resource's alerts",
			newEdgeAlertListCmd(a), newEdgeAlertShowCmd(a)),
		newGroup("secrets", "Sync and show the secrets a device escrows in its key vault",
			newEdgeSecretsSyncCmd(a), newEdgeSecretsShowCmd(a)),
		newGroup("secret", "Send secrets to an edge resource's device",
			newEdgeSecretSendCmd(a)))
}

func newEdgeCreateCmd(a *app) *cobra.Command {
	var f edgeFlags
	var location, sku string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create --name NAME --resource-group RG [--location LOCATION] [--sku SKU] [--tags KEY=VALUE]...",
		Short: "Create an edge resource, or update its tags",
		Long: "Create an edge resource with its system-assigned managed identity. The location\n" +
			"defaults to the resource group's. Generate an activation key next.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			if tagMap == nil {
				tagMap = map[string]string{}
			}
			if sku == "" {
				return usagef("--sku must not be empty")
			}
			c, u, err := f.open("")
			if err != nil {
				return err
			}
			if location == "" {
				if location, err = c.groupLocation(cmd, f.resourceGroup); err != nil {
					return err
				}
			}
			body := map[string]any{
				"location": location, "tags": tagMap, "kind": "AzureStackEdge",
				"sku":      map[string]string{"name": sku, "tier": "Standard"},
				"identity": map[string]string{"type": "SystemAssigned"},
			}
			var d edgeDevice
			if _, err := c.do(cmd.Context(), http.MethodPut, u, body, &d); err != nil {
				return withRegisterHint(err)
			}
			return a.print(cmd.OutOrStdout(), d, d.record())
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&location, "location", "l", "", "location of the edge resource (default: the resource group's)")
	cmd.Flags().StringVar(&sku, "sku", "EdgeP_Base", "SKU of the device, e.g. EdgeP_Base, EdgePR_Base, EP2_64_1VPU_W")
	cmd.Flags().StringArrayVar(&tags, "tags", nil, "a tag KEY=VALUE (or KEY for an empty value); repeat for more")
	return cmd
}

// withRegisterHint adds to a MissingSubscriptionRegistration error the
// command that fixes it.
func withRegisterHint(err error) error {
	var e *client.APIError
	if errors.As(err, &e) && e.Code == "MissingSubscriptionRegistration" && strings.Contains(e.Message, edgeNS) {
		return fmt.Errorf("%w\nRegister the provider with 'edgevault provider register --namespace %s'", err, edgeNS)
	}
	return err
}

// groupLocation returns the location of resource group rg.
func (c *armClient) groupLocation(cmd *cobra.Command, rg string) (string, error) {
	sub, err := c.subscription()
	if err != nil {
		return "", err
	}
	var g resourceGroup
	if _, err := c.do(cmd.Context(), http.MethodGet, c.url(groupPath(sub, rg), resourcesAPIVersion, nil), nil, &g); err != nil {
		return "", err
	}
	return g.Location, nil
}

func newEdgeShowCmd(a *app) *cobra.Command {
	var f edgeFlags
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource-group RG",
		Short: "Show an edge resource: status, SKU, managed identity, creation",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, u, err := f.open("")
			if err != nil {
				return err
			}
			var d edgeDevice
			if _, err := c.do(cmd.Context(), http.MethodGet, u, nil, &d); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), d, d.record())
		},
	}
	f.add(cmd)
	return cmd
}

func newEdgeListCmd(a *app) *cobra.Command {
	var rg string
	cmd := &cobra.Command{
		Use:   "list [--resource-group RG]",
		Short: "List the edge resources of the subscription or of a resource group",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rg != "" {
				if err := resource.ValidateResourceGroupName(rg); err != nil {
					return usageError{err}
				}
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			scope := resource.NewSubscription(sub)
			if rg != "" {
				scope = resource.NewResourceGroup(sub, rg)
			}
			p := scope.String() + "/providers/" + edgeNS + "/dataBoxEdgeDevices"
			devices, err := listAll[edgeDevice](cmd.Context(), c, c.url(p, edgeAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "RESOURCE GROUP", "LOCATION", "SKU", "STATUS", "CREATED"}}
			for _, d := range devices {
				t.rows = append(t.rows, []string{d.Name, resourceGroupOf(d.ID), d.Location, d.SKU.Name,
					d.Properties.DataBoxEdgeDeviceStatus, d.created()})
			}
			return a.print(cmd.OutOrStdout(), devices, t)
		},
	}
	cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "list only the edge resources of this resource group")
	return cmd
}

func newEdgeDeleteCmd(a *app) *cobra.Command {
	var f edgeFlags
	var yes, deleteVault, noWait bool
	cmd := &cobra.Command{
		Use:   "delete --name NAME --resource-group RG [--yes [--delete-key-vault]] [--no-wait]",
		Short: "Delete an edge resource, and its key vault if you say so",
		Long: "Delete an edge resource with its activation keys, alerts and managed identity. Two\n" +
			"questions come first, answered on stdin: the name of the resource, typed back; then\n" +
			"whether its key vault goes too, which takes a typed Yes (anything else keeps the vault\n" +
			"and its lock). A deleted vault is soft-deleted: recoverable for its retention period.\n" +
			"The audit storage account and its logs are kept either way. For scripts, --yes skips\n" +
			"both questions and keeps the vault; --yes --delete-key-vault deletes it too.\n" +
			"Deletion is a long-running operation: the command waits for it unless --no-wait.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			c, _, err := f.open("")
			if err != nil {
				return err
			}
			w := cmd.ErrOrStderr()
			kv, err := c.deviceVault(cmd.Context(), &f)
			if client.IsNotFound(err) {
				fmt.Fprintf(w, "Edge resource %s did not exist.\n", f.name)
				return nil
			}
			if err != nil {
				return err
			}
			consent, err := deleteConsent(cmd, f.name, kv, yes, deleteVault)
			if err != nil {
				return err
			}
			p, err := f.path(c)
			if err != nil {
				return err
			}
			u := c.url(p, edgeAPIVersion, url.Values{"deleteKeyVault": {strconv.FormatBool(consent)}})
			r, err := c.do(cmd.Context(), http.MethodDelete, u, nil, nil)
			if err != nil {
				return withVaultDeleteHint(err, consent, kv.name)
			}
			if r.status == http.StatusNoContent {
				fmt.Fprintf(w, "Edge resource %s did not exist.\n", f.name)
				return nil
			}
			if err := a.finish(cmd, c, u, r, noWait, "Deleting edge resource '"+f.name+"'"); err != nil {
				return err
			}
			if r.status == http.StatusAccepted && noWait {
				fmt.Fprintf(w, "Deletion of edge resource %s started.\n", f.name)
				printDeleteOutcome(w, kv, consent, false)
				return nil
			}
			fmt.Fprintf(w, "Deleted edge resource %s, its activation keys, alerts and managed identity.\n", f.name)
			printDeleteOutcome(w, kv, consent, true)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "ask nothing: do not ask for the name, and keep the key vault unless --delete-key-vault")
	cmd.Flags().BoolVar(&deleteVault, "delete-key-vault", false, "with --yes, soft-delete the key vault too (without --yes, the question is still asked)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the deletion to finish; print its status URL")
	return cmd
}

// deleteConsent asks the delete questions, unless yes: the name typed
// back, then whether the key vault goes too. It returns the consent to
// delete the vault: a typed Yes, or --yes --delete-key-vault.
func deleteConsent(cmd *cobra.Command, name string, kv deviceVaultInfo, yes, deleteVault bool) (bool, error) {
	in := bufio.NewReader(cmd.InOrStdin()) // one reader: the answers are lines of one input
	if !yes {
		if err := confirmEdgeDelete(cmd, in, name, kv); err != nil {
			return false, err
		}
	}
	switch {
	case kv.name == "":
		return false, nil
	case kv.gone:
		fmt.Fprintf(cmd.ErrOrStderr(), "Key vault %s is already deleted; it is left as it is.\n", kv.name)
		return false, nil
	case yes:
		return deleteVault, nil
	}
	return askVaultDelete(cmd, in, kv)
}

// confirmEdgeDelete says what deleting the edge resource does and asks the
// person to type its name back on in (a terminal or a pipe: `echo NAME |
// edgevault edge delete ...` is a deliberate answer too), before anything
// is changed; a missing or different name refuses.
func confirmEdgeDelete(cmd *cobra.Command, in *bufio.Reader, name string, kv deviceVaultInfo) error {
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "Deleting edge resource '%s' deletes its activation keys, alerts and managed identity;\n", name)
	switch {
	case kv.name == "":
		fmt.Fprintln(w, "it has no key vault.")
	case kv.gone:
		fmt.Fprintln(w, "its audit storage account and logs are kept.")
	default:
		fmt.Fprintf(w, "its audit storage account and logs are kept. You are asked next whether its key vault %s goes too.\n", kv.name)
	}
	line, err := ask(cmd, in, "Type the name of the edge resource to confirm: ")
	if err != nil {
		return err
	}
	if line != name {
		return fmt.Errorf("cancelled: the name typed does not match; edge resource %s was not deleted", name)
	}
	return nil
}

// askVaultDelete asks whether the device's key vault goes too. Only the
// exact answer "Yes" consents: the vault holds the device's recovery keys,
// and a mistyped or absent answer must keep it.
func askVaultDelete(cmd *cobra.Command, in *bufio.Reader, kv deviceVaultInfo) (bool, error) {
	line, err := ask(cmd, in, fmt.Sprintf("Also delete key vault %s? It stays recoverable for %s. Type Yes to delete it, anything else keeps it: ",
		kv.name, kv.retentionText()))
	return line == "Yes", err
}

// ask prints prompt on stderr and reads one line of in, without its
// surrounding spaces; end of input is an empty answer.
func ask(cmd *cobra.Command, in *bufio.Reader, prompt string) (string, error) {
	w := cmd.ErrOrStderr()
	fmt.Fprint(w, prompt)
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if !isTerminal(cmd.InOrStdin()) {
		fmt.Fprintln(w) // a piped answer is not echoed: end the prompt's line
	}
	return strings.TrimSpace(line), nil
}

// deviceVaultInfo is what the delete questions and summary say of the
// edge resource's key vault.
type deviceVaultInfo struct {
	name string // "" when the resource has no vault
	// retentionDays is the vault's soft-delete retention; nil when it
	// could not be read.
	retentionDays *int
	gone          bool // the vault is deleted already
}

func (v deviceVaultInfo) retentionText() string {
	if v.retentionDays == nil {
		return "its soft-delete retention period"
	}
	return daysText(v.retentionDays)
}

// deviceVault reads which key vault the edge resource f names has (its
// extended information's clientSecretStoreId), and the vault's retention.
// An error is the edge resource's; the vault's own is reflected in the
// answer: deleted already, or retention unknown.
func (c *armClient) deviceVault(ctx context.Context, f *edgeFlags) (deviceVaultInfo, error) {
	var out deviceVaultInfo
	x, err := c.getExtendedInfo(ctx, f)
	if err != nil || x.Properties.ClientSecretStoreID == "" {
		return out, err
	}
	id, err := resource.Parse(x.Properties.ClientSecretStoreID)
	if err != nil {
		return out, fmt.Errorf("the server named the edge resource's key vault %q: %w", x.Properties.ClientSecretStoreID, err)
	}
	out.name = id.Name()
	var v vault
	_, err = c.do(ctx, http.MethodGet, c.url(id.String(), keyVaultAPIVersion, nil), nil, &v)
	out.gone = client.IsNotFound(err)
	if err == nil {
		out.retentionDays = v.Properties.SoftDeleteRetentionInDays
	}
	return out, nil
}

// printDeleteOutcome says what became of the key vault and the audit
// storage account, or, before the deletion has run, what will.
func printDeleteOutcome(w io.Writer, kv deviceVaultInfo, consent, done bool) {
	is, are := "will be", "will be"
	if done {
		is, are = "was", "were"
	}
	switch {
	case kv.name == "":
		return // nothing was set up around it
	case kv.gone:
	case consent:
		fmt.Fprintf(w, "Key vault %s %s soft-deleted: recoverable for %s with 'edgevault keyvault recover --name %s'.\n",
			kv.name, is, kv.retentionText(), kv.name)
	default:
		fmt.Fprintf(w, "Key vault %s %s kept, with its lock.\n", kv.name, is)
	}
	fmt.Fprintf(w, "The audit storage account and its logs %s kept.\n", are)
}

// withVaultDeleteHint explains a refusal of a deletion with the vault:
// nothing was deleted, and the resource alone can still go.
func withVaultDeleteHint(err error, consent bool, vault string) error {
	var e *client.APIError
	if !consent || !errors.As(err, &e) || e.Status != http.StatusForbidden {
		return err
	}
	return fmt.Errorf("%w\nNothing was deleted: you may not delete key vault %s. Delete the edge resource alone by answering anything but Yes (or without --delete-key-vault)", err, vault)
}
