package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// deletedVault is a Microsoft.KeyVault/deletedVaults resource: a
// soft-deleted vault, kept until it is recovered, purged or its retention
// ends (reference/keyvault-wire.md §3.3).
type deletedVault struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Properties deletedVaultProperties `json:"properties"`
}

// deletedVaultProperties are a deleted vault's properties; the dates are
// RFC 3339 strings, kept as sent.
type deletedVaultProperties struct {
	VaultID                string            `json:"vaultId"`
	Location               string            `json:"location"`
	Tags                   map[string]string `json:"tags,omitempty"`
	DeletionDate           string            `json:"deletionDate,omitempty"`
	ScheduledPurgeDate     string            `json:"scheduledPurgeDate,omitempty"`
	PurgeProtectionEnabled *bool             `json:"purgeProtectionEnabled,omitempty"`
}

// deletedVaultsPath is the ARM path of a subscription's deleted vaults,
// or of one of them when loc and name are set.
func deletedVaultsPath(sub, loc, name string) string {
	p := "/subscriptions/" + sub + "/providers/" + keyVaultNS
	if loc == "" {
		return p + "/deletedVaults"
	}
	return p + "/locations/" + loc + "/deletedVaults/" + name
}

// armTimeText formats an RFC 3339 time from ARM for a table, in UTC and
// without fractions; anything else is shown as sent.
func armTimeText(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return timeText(t)
}

// deletedVaultFlags name a deleted vault: --name and an optional --location.
type deletedVaultFlags struct{ name, location string }

func (f *deletedVaultFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the deleted key vault")
	cmd.Flags().StringVarP(&f.location, "location", "l", "", "location of the deleted vault; found by name when omitted")
}

func (f *deletedVaultFlags) validate() error {
	if err := validateVaultName("name", f.name); err != nil {
		return err
	}
	if f.location != "" && !validLocation(f.location) {
		return usagef("invalid --location %q", f.location)
	}
	return nil
}

// validLocation reports whether s can be a location path segment.
func validLocation(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) && s[i] != '-' && s[i] != '_' {
			return false
		}
	}
	return s != "" && len(s) <= 90
}

// find returns the deleted vault: by GET when the location is known, else
// from the subscription's list of deleted vaults.
func (f *deletedVaultFlags) find(ctx context.Context, c *armClient) (deletedVault, error) {
	sub, err := c.subscription()
	if err != nil {
		return deletedVault{}, err
	}
	if f.location != "" {
		var d deletedVault
		_, err := c.do(ctx, http.MethodGet, c.url(deletedVaultsPath(sub, f.location, f.name), keyVaultAPIVersion, nil), nil, &d)
		return d, err
	}
	all, err := listAll[deletedVault](ctx, c, c.url(deletedVaultsPath(sub, "", ""), keyVaultAPIVersion, nil))
	if err != nil {
		return deletedVault{}, err
	}
	for _, d := range all {
		if strings.EqualFold(d.Name, f.name) && d.Properties.Location != "" {
			return d, nil
		}
	}
	return deletedVault{}, fmt.Errorf("no deleted key vault %q in subscription %s", f.name, sub)
}

func newKeyVaultListDeletedCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list-deleted",
		Short: "List the subscription's deleted key vaults",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			all, err := listAll[deletedVault](cmd.Context(), c, c.url(deletedVaultsPath(sub, "", ""), keyVaultAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "LOCATION", "RESOURCE GROUP", "DELETED", "SCHEDULED PURGE"}}
			for _, d := range all {
				p := d.Properties
				t.rows = append(t.rows, []string{d.Name, p.Location, resourceGroupOf(p.VaultID),
					armTimeText(p.DeletionDate), armTimeText(p.ScheduledPurgeDate)})
			}
			return a.print(cmd.OutOrStdout(), all, t)
		},
	}
}

func newKeyVaultRecoverCmd(a *app) *cobra.Command {
	var f deletedVaultFlags
	var rg string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "recover --name NAME [--location LOCATION] [--resource-group RG] [--no-wait]",
		Short: "Recover a deleted key vault with its secrets and access policies",
		Long: "Recover a deleted key vault with its secrets and access policies, in the resource group\n" +
			"and location it was deleted from (the resource group may be overridden).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if rg != "" {
				if err := resource.ValidateResourceGroupName(rg); err != nil {
					return usageError{err}
				}
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			d, err := f.find(cmd.Context(), c)
			if err != nil {
				return err
			}
			if rg == "" {
				if rg = resourceGroupOf(d.Properties.VaultID); rg == "" {
					return fmt.Errorf("deleted vault %s has no resource group in its vault id %q; use --resource-group", f.name, d.Properties.VaultID)
				}
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			// A recover is a PUT with createMode "recover" in the vault's
			// old location; the sku and tenant are required by the schema
			// and sent as az sends them (§3.4).
			body := map[string]any{"location": d.Properties.Location, "tags": d.Properties.Tags, "properties": map[string]any{
				"tenantId": c.s.Profile.TenantID, "sku": vaultSKU{Family: "A", Name: "standard"}, "createMode": "recover",
			}}
			if d.Properties.Tags == nil {
				body["tags"] = map[string]string{}
			}
			u := c.url(vaultPath(sub, rg, d.Name), keyVaultAPIVersion, nil)
			return a.putVault(cmd, c, u, body, noWait, "Recovering key vault '"+d.Name+"'")
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group to recover into; the original one when omitted")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for a long-running recovery to finish")
	return cmd
}

func newKeyVaultPurgeCmd(a *app) *cobra.Command {
	var f deletedVaultFlags
	var noWait bool
	cmd := &cobra.Command{
		Use:   "purge --name NAME [--location LOCATION] [--no-wait]",
		Short: "Permanently delete a deleted key vault and its secrets",
		Long: "Permanently delete a deleted key vault and its secrets; this cannot be undone. A vault with\n" +
			"purge protection cannot be purged before its retention period ends.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			loc := f.location
			if loc == "" {
				d, err := f.find(cmd.Context(), c)
				if err != nil {
					return err
				}
				loc = d.Properties.Location
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			u := c.url(deletedVaultsPath(sub, loc, f.name)+"/purge", keyVaultAPIVersion, nil)
			r, err := c.do(cmd.Context(), http.MethodPost, u, nil, nil)
			if err != nil {
				return err
			}
			if err := a.finish(cmd, c, u, r, noWait, "Purging key vault '"+f.name+"'"); err != nil {
				return err
			}
			if r.status == http.StatusAccepted && noWait {
				fmt.Fprintf(cmd.ErrOrStderr(), "Purge of key vault %s started.\n", f.name)
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Purged key vault %s.\n", f.name)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for a long-running purge to finish")
	return cmd
}
