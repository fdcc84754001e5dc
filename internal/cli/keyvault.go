package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// keyVaultAPIVersion is the Microsoft.KeyVault api-version of every vault
// route the CLI calls (reference/keyvault-wire.md §3.1).
const keyVaultAPIVersion = "2024-11-01"

// keyVaultNS is the resource provider of vaults.
const keyVaultNS = "Microsoft.KeyVault"

// vault is a Microsoft.KeyVault/vaults resource (reference/keyvault-wire.md
// §3.3). Optional properties are pointers or raw JSON so that -o json
// shows what the server sent, no more.
type vault struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	SystemData json.RawMessage   `json:"systemData,omitempty"`
	Properties vaultProperties   `json:"properties"`
}

// vaultProperties are a vault's properties.
type vaultProperties struct {
	TenantID                     string          `json:"tenantId"`
	SKU                          vaultSKU        `json:"sku"`
	AccessPolicies               []accessPolicy  `json:"accessPolicies"`
	VaultURI                     string          `json:"vaultUri,omitempty"`
	EnabledForDeployment         *bool           `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     *bool           `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment *bool           `json:"enabledForTemplateDeployment,omitempty"`
	EnableSoftDelete             *bool           `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays    *int            `json:"softDeleteRetentionInDays,omitempty"`
	EnableRbacAuthorization      *bool           `json:"enableRbacAuthorization,omitempty"`
	EnablePurgeProtection        *bool           `json:"enablePurgeProtection,omitempty"`
	NetworkACLs                  json.RawMessage `json:"networkAcls,omitempty"`
	PublicNetworkAccess          string          `json:"publicNetworkAccess,omitempty"`
	ProvisioningState            string          `json:"provisioningState,omitempty"`
}

// vaultSKU is a vault's pricing tier; family is always "A".
type vaultSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

// The SKU names a vault is created with (§3.3).
var vaultSKUs = []string{"standard", "premium"}

// Soft-delete retention bounds in days (reference/keyvault-wire.md §5).
const (
	minRetentionDays = 7
	maxRetentionDays = 90
)

func (v vault) record() record {
	p := v.Properties
	purge := "false" // absent means off (§3.3)
	if p.EnablePurgeProtection != nil && *p.EnablePurgeProtection {
		purge = "true"
	}
	return record{
		{"name", v.Name}, {"resource group", resourceGroupOf(v.ID)}, {"location", v.Location},
		{"vault uri", p.VaultURI}, {"sku", p.SKU.Name}, {"tenant", p.TenantID},
		{"soft delete", daysText(p.SoftDeleteRetentionInDays)}, {"purge protection", purge},
		{"rbac authorization", boolText(p.EnableRbacAuthorization)},
		{"state", p.ProvisioningState}, {"tags", tagsText(v.Tags)}, {"id", v.ID},
	}
}

// view draws a vault: its record, then its access policies.
func (v vault) view() renderer {
	if len(v.Properties.AccessPolicies) == 0 {
		return v.record()
	}
	return sections{v.record(), policyTable(v.Properties.AccessPolicies)}
}

// sections draws renderers one after the other, a blank line between.
type sections []renderer

func (s sections) render(w io.Writer) error {
	for i, r := range s {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := r.render(w); err != nil {
			return err
		}
	}
	return nil
}

// resourceGroupOf returns the resource group of an id, or "".
func resourceGroupOf(id string) string {
	rid, err := resource.Parse(id)
	if err != nil {
		return ""
	}
	return rid.ResourceGroupName()
}

func boolText(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

func daysText(d *int) string {
	if d == nil {
		return ""
	}
	return fmt.Sprintf("%d days", *d)
}

// vaultPath is the ARM path of vault name in resource group rg.
func vaultPath(sub, rg, name string) string {
	return resource.NewResourceGroup(sub, rg).Child(keyVaultNS, "vaults", name).String()
}

// validateVaultName checks a vault name: 3–24 letters, digits and
// hyphens, starting with a letter, ending with a letter or digit, without
// consecutive hyphens, since it is a DNS label under the vault suffix
// (reference/keyvault-wire.md §3.4). flag names the flag in the message.
func validateVaultName(flag, name string) error {
	if name == "" {
		return usagef("--%s is required", flag)
	}
	ok := len(name) >= 3 && len(name) <= 24 && isLetter(name[0]) && !strings.Contains(name, "--") &&
		(isLetter(name[len(name)-1]) || isDigit(name[len(name)-1]))
	for i := 0; ok && i < len(name); i++ {
		ok = isLetter(name[i]) || isDigit(name[i]) || name[i] == '-'
	}
	if !ok {
		return usagef("invalid vault name %q: want 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens", name)
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// vaultFlags name a vault: --name and an optional --resource-group.
type vaultFlags struct{ name, resourceGroup string }

func (f *vaultFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the key vault")
	cmd.Flags().StringVarP(&f.resourceGroup, "resource-group", "g", "", "resource group of the vault; found by name when omitted")
}

func (f *vaultFlags) validate() error {
	if err := validateVaultName("name", f.name); err != nil {
		return err
	}
	if f.resourceGroup != "" {
		if err := resource.ValidateResourceGroupName(f.resourceGroup); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// path returns the ARM path of the vault. Without a resource group it
// finds the vault among the subscription's vaults, as az does.
func (f *vaultFlags) path(ctx context.Context, c *armClient) (string, error) {
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
	return "", fmt.Errorf("key vault %q not found in subscription %s", f.name, sub)
}

// subVaultsPath lists the vaults of a subscription.
func subVaultsPath(sub string) string {
	return "/subscriptions/" + sub + "/providers/" + keyVaultNS + "/vaults"
}

func newKeyVaultCmd(a *app) *cobra.Command {
	return newGroup("keyvault", "Manage key vaults and their secrets",
		newKeyVaultCreateCmd(a), newKeyVaultShowCmd(a), newKeyVaultListCmd(a), newKeyVaultDeleteCmd(a),
		newKeyVaultListDeletedCmd(a), newKeyVaultRecoverCmd(a), newKeyVaultPurgeCmd(a),
		newKeyVaultSetPolicyCmd(a), newKeyVaultDeletePolicyCmd(a), newKeyVaultInsightsCmd(a),
		newSecretCmd(a))
}

// createFlags are the flags of `keyvault create`.
type createFlags struct {
	name, resourceGroup, location, sku string
	retention                          int
	purgeProtection, noSelfPerms       bool
	noWait                             bool
	tags                               []string
}

func (f *createFlags) validate() (map[string]string, error) {
	if err := validateVaultName("name", f.name); err != nil {
		return nil, err
	}
	if f.resourceGroup == "" {
		return nil, usagef("--resource-group is required")
	}
	if err := resource.ValidateResourceGroupName(f.resourceGroup); err != nil {
		return nil, usageError{err}
	}
	if f.location == "" {
		return nil, usagef("--location is required")
	}
	if f.retention < minRetentionDays || f.retention > maxRetentionDays {
		return nil, usagef("--retention-days must be %d-%d, got %d", minRetentionDays, maxRetentionDays, f.retention)
	}
	sku := strings.ToLower(f.sku)
	if sku != vaultSKUs[0] && sku != vaultSKUs[1] {
		return nil, usagef("invalid --sku %q: want standard or premium", f.sku)
	}
	f.sku = sku
	tags, err := parseTags(f.tags)
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, err
}

func newKeyVaultCreateCmd(a *app) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME --resource-group RG --location LOCATION [--sku standard|premium] [--retention-days DAYS] [--enable-purge-protection] [--no-self-perms]",
		Short: "Create a key vault that grants you its secret permissions",
		Long: "Create a key vault. Like az, it gets an access policy that grants the signed-in principal\n" +
			"the secret permissions get, list, set, delete, backup, restore and recover (not purge:\n" +
			"grant it with 'edgevault keyvault set-policy' when needed); --no-self-perms leaves it out.\n" +
			"Soft delete is always on; --retention-days (7-90) and purge protection cannot change later.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tags, err := f.validate()
			if err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			return a.createVault(cmd, c, &f, tags)
		},
	}
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the key vault (3-24 characters, globally unique)")
	cmd.Flags().StringVarP(&f.resourceGroup, "resource-group", "g", "", "resource group to create the vault in")
	cmd.Flags().StringVarP(&f.location, "location", "l", "", "location of the vault, e.g. westeurope")
	cmd.Flags().StringVar(&f.sku, "sku", "standard", "pricing tier: standard or premium")
	cmd.Flags().IntVar(&f.retention, "retention-days", maxRetentionDays, "days a deleted vault or secret stays recoverable (7-90)")
	cmd.Flags().BoolVar(&f.purgeProtection, "enable-purge-protection", false, "forbid purging deleted vaults and secrets before retention ends (irreversible)")
	cmd.Flags().BoolVar(&f.noSelfPerms, "no-self-perms", false, "do not grant yourself an access policy")
	cmd.Flags().StringArrayVar(&f.tags, "tags", nil, "a tag KEY=VALUE (or KEY for an empty value); repeat for more")
	cmd.Flags().BoolVar(&f.noWait, "no-wait", false, "do not wait for a long-running creation to finish")
	return cmd
}

// createVault creates the vault of f. An existing vault is an error:
// PUT would replace its access policies.
func (a *app) createVault(cmd *cobra.Command, c *armClient, f *createFlags, tags map[string]string) error {
	ctx := cmd.Context()
	sub, err := c.subscription()
	if err != nil {
		return err
	}
	u := c.url(vaultPath(sub, f.resourceGroup, f.name), keyVaultAPIVersion, nil)
	var existing vault
	_, err = c.do(ctx, http.MethodGet, u, nil, &existing)
	if err == nil {
		return fmt.Errorf("key vault %s already exists in resource group %s; use 'edgevault keyvault set-policy' to change its access", f.name, f.resourceGroup)
	}
	if !client.IsNotFound(err) {
		return err
	}
	policies := []accessPolicy{}
	if !f.noSelfPerms {
		oid, err := c.callerObjectID(ctx)
		if err != nil {
			return err
		}
		policies = append(policies, accessPolicy{TenantID: c.s.Profile.TenantID, ObjectID: oid,
			Permissions: permissions{Secrets: creatorSecretPermissions}})
	}
	props := map[string]any{
		"tenantId":                  c.s.Profile.TenantID,
		"sku":                       vaultSKU{Family: "A", Name: f.sku},
		"accessPolicies":            policies,
		"softDeleteRetentionInDays": f.retention,
		"createMode":                "default",
	}
	if f.purgeProtection { // Azure refuses false (§3.3); absent is off
		props["enablePurgeProtection"] = true
	}
	body := map[string]any{"location": f.location, "tags": tags, "properties": props}
	return a.putVault(cmd, c, u, body, f.noWait, "Creating key vault '"+f.name+"'")
}

// putVault PUTs a vault (create or recover), follows a long-running
// operation or a non-terminal provisioningState to the end, and prints
// the vault.
func (a *app) putVault(cmd *cobra.Command, c *armClient, u string, body any, noWait bool, label string) error {
	ctx := cmd.Context()
	var v vault
	r, err := c.do(ctx, http.MethodPut, u, body, &v)
	if err != nil {
		return err
	}
	if r.status == http.StatusAccepted {
		if err := a.finish(cmd, c, u, r, noWait, label); err != nil || noWait {
			return err
		}
		if _, err := c.do(ctx, http.MethodGet, u, nil, &v); err != nil {
			return err
		}
	} else if !provisioned(v.Properties.ProvisioningState) && !noWait {
		if err := c.waitProvisioned(ctx, u, &v, newProgress(cmd.ErrOrStderr(), label)); err != nil {
			return err
		}
	}
	return a.print(cmd.OutOrStdout(), v, v.view())
}

// provisioned reports whether a provisioningState is terminal; absent
// means Succeeded (reference/keyvault-wire.md §3.2, body poller).
func provisioned(state string) bool {
	switch strings.ToLower(state) {
	case "", "succeeded", "failed", "canceled":
		return true
	}
	return false
}

// waitProvisioned GETs the vault at u until its provisioningState is
// terminal (RegisteringDns → Succeeded), as azcore's body poller does.
func (c *armClient) waitProvisioned(ctx context.Context, u string, v *vault, p *progress) error {
	defer p.done()
	p.update(v.Properties.ProvisioningState, nil)
	for !provisioned(v.Properties.ProvisioningState) {
		if err := p.wait(ctx, pollDefault); err != nil {
			return fmt.Errorf("stopped waiting (%w); the vault is still %s", err, v.Properties.ProvisioningState)
		}
		if _, err := c.do(ctx, http.MethodGet, u, nil, v); err != nil {
			return fmt.Errorf("read vault state: %w", err)
		}
		p.update(v.Properties.ProvisioningState, nil)
	}
	if st := v.Properties.ProvisioningState; !strings.EqualFold(st, "succeeded") && st != "" {
		return &operationError{Code: st, Message: "The vault's provisioning ended with state " + st + "."}
	}
	return nil
}

func newKeyVaultShowCmd(a *app) *cobra.Command {
	var f vaultFlags
	cmd := &cobra.Command{
		Use:   "show --name NAME [--resource-group RG]",
		Short: "Show a key vault and its access policies",
		Args:  noArgs,
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
			var v vault
			if _, err := c.do(cmd.Context(), http.MethodGet, c.url(p, keyVaultAPIVersion, nil), nil, &v); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), v, v.view())
		},
	}
	f.add(cmd)
	return cmd
}

func newKeyVaultListCmd(a *app) *cobra.Command {
	var rg string
	cmd := &cobra.Command{
		Use:   "list [--resource-group RG]",
		Short: "List the key vaults of the subscription or of a resource group",
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
			p := subVaultsPath(sub)
			if rg != "" {
				p = resource.NewResourceGroup(sub, rg).String() + "/providers/" + keyVaultNS + "/vaults"
			}
			vaults, err := listAll[vault](cmd.Context(), c, c.url(p, keyVaultAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "RESOURCE GROUP", "LOCATION", "VAULT URI"}}
			for _, v := range vaults {
				t.rows = append(t.rows, []string{v.Name, resourceGroupOf(v.ID), v.Location, v.Properties.VaultURI})
			}
			return a.print(cmd.OutOrStdout(), vaults, t)
		},
	}
	cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "list only the vaults of this resource group")
	return cmd
}

func newKeyVaultDeleteCmd(a *app) *cobra.Command {
	var f vaultFlags
	var noWait bool
	cmd := &cobra.Command{
		Use:   "delete --name NAME [--resource-group RG] [--no-wait]",
		Short: "Delete a key vault (soft delete: it can be recovered until it is purged)",
		Args:  noArgs,
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
			u := c.url(p, keyVaultAPIVersion, nil)
			r, err := c.do(cmd.Context(), http.MethodDelete, u, nil, nil)
			if err != nil {
				return err
			}
			if err := a.finish(cmd, c, u, r, noWait, "Deleting key vault '"+f.name+"'"); err != nil {
				return err
			}
			if r.status == http.StatusAccepted && noWait {
				fmt.Fprintf(cmd.ErrOrStderr(), "Deletion of key vault %s started.\n", f.name)
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted key vault %s. Recover it with 'edgevault keyvault recover --name %s'; "+
				"'edgevault keyvault purge --name %s' deletes it for good.\n", f.name, f.name, f.name)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for a long-running deletion to finish")
	return cmd
}
