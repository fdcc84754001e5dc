package cli

import (
	"fmt"
	"net/http"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// storageAPIVersion is the Microsoft.Storage api-version the CLI calls
// (Azure's storageAccounts contract, served by armapi).
const storageAPIVersion = "2024-01-01"

// storageNS is the resource provider of storage accounts.
const storageNS = "Microsoft.Storage"

// storageAccount is a Microsoft.Storage/storageAccounts resource, the part
// of it the CLI shows.
type storageAccount struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	SKU        storageSKU        `json:"sku"`
	Kind       string            `json:"kind"`
	Properties struct {
		ProvisioningState string `json:"provisioningState,omitempty"`
		CreationTime      string `json:"creationTime,omitempty"`
		PrimaryEndpoints  struct {
			Blob string `json:"blob,omitempty"`
		} `json:"primaryEndpoints"`
	} `json:"properties"`
}

// storageSKU is an account's redundancy and tier.
type storageSKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

func (s storageAccount) record() record {
	return record{
		{"name", s.Name}, {"resource group", resourceGroupOf(s.ID)}, {"location", s.Location},
		{"sku", s.SKU.Name}, {"kind", s.Kind}, {"state", s.Properties.ProvisioningState},
		{"blob endpoint", s.Properties.PrimaryEndpoints.Blob}, {"tags", tagsText(s.Tags)}, {"id", s.ID},
	}
}

// storagePath is the ARM path of account name in resource group rg.
func storagePath(sub, rg, name string) string {
	return resource.NewResourceGroup(sub, rg).Child(storageNS, "storageAccounts", name).String()
}

// validateStorageName checks an account name: 3–24 lower-case letters and
// digits, since it is a DNS label under the blob suffix (Azure's rule).
func validateStorageName(name string) error {
	if name == "" {
		return usagef("--name is required")
	}
	ok := len(name) >= 3 && len(name) <= 24
	for i := 0; ok && i < len(name); i++ {
		ok = name[i] >= 'a' && name[i] <= 'z' || isDigit(name[i])
	}
	if !ok {
		return usagef("invalid storage account name %q: want 3-24 lower-case letters and digits", name)
	}
	return nil
}

// storageFlags name an account: --name and --resource-group, both
// required (account names are global, but the CLI does not search).
type storageFlags struct{ name, resourceGroup string }

func (f *storageFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the storage account (3-24 lower-case letters and digits)")
	cmd.Flags().StringVarP(&f.resourceGroup, "resource-group", "g", "", "resource group of the storage account")
}

func (f *storageFlags) validate() error {
	if err := validateStorageName(f.name); err != nil {
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

// url returns the account's ARM URL.
func (f *storageFlags) url(c *armClient) (string, error) {
	sub, err := c.subscription()
	if err != nil {
		return "", err
	}
	return c.url(storagePath(sub, f.resourceGroup, f.name), storageAPIVersion, nil), nil
}

func newStorageCmd(a *app) *cobra.Command {
	return newGroup("storage", "Manage storage accounts",
		newGroup("account", "Manage storage accounts",
			newStorageCreateCmd(a), newStorageShowCmd(a), newStorageListCmd(a), newStorageDeleteCmd(a)))
}

func newStorageCreateCmd(a *app) *cobra.Command {
	var f storageFlags
	var location, sku, kind string
	var tags []string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "create --name NAME --resource-group RG --location LOCATION [--sku SKU] [--kind KIND] [--tags KEY=VALUE]... [--no-wait]",
		Short: "Create a storage account, or update its tags",
		Long: "Create a storage account. Creation is a long-running operation: the command waits for it\n" +
			"to end and shows the account, unless --no-wait is given.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if location == "" {
				return usagef("--location is required")
			}
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			if tagMap == nil {
				tagMap = map[string]string{}
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			u, err := f.url(c)
			if err != nil {
				return err
			}
			body := map[string]any{"location": location, "sku": storageSKU{Name: sku}, "kind": kind, "tags": tagMap}
			r, err := c.do(cmd.Context(), http.MethodPut, u, body, nil)
			if err != nil {
				return err
			}
			if err := a.finish(cmd, c, u, r, noWait, "Creating storage account '"+f.name+"'"); err != nil {
				return err
			}
			if r.status == http.StatusAccepted && noWait {
				return nil
			}
			var s storageAccount
			if _, err := c.do(cmd.Context(), http.MethodGet, u, nil, &s); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), s, s.record())
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&location, "location", "l", "", "location of the storage account, e.g. westeurope")
	cmd.Flags().StringVar(&sku, "sku", "Standard_ZRS", "redundancy: Standard_LRS, Standard_ZRS, Standard_GRS, ...")
	cmd.Flags().StringVar(&kind, "kind", "StorageV2", "account kind")
	cmd.Flags().StringArrayVar(&tags, "tags", nil, "a tag KEY=VALUE (or KEY for an empty value); repeat for more")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the creation to finish; print its status URL")
	return cmd
}

func newStorageShowCmd(a *app) *cobra.Command {
	var f storageFlags
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource-group RG",
		Short: "Show a storage account",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			u, err := f.url(c)
			if err != nil {
				return err
			}
			var s storageAccount
			if _, err := c.do(cmd.Context(), http.MethodGet, u, nil, &s); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), s, s.record())
		},
	}
	f.add(cmd)
	return cmd
}

func newStorageListCmd(a *app) *cobra.Command {
	var rg string
	cmd := &cobra.Command{
		Use:   "list [--resource-group RG]",
		Short: "List the storage accounts of the subscription or of a resource group",
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
			p := "/subscriptions/" + sub + "/providers/" + storageNS + "/storageAccounts"
			if rg != "" {
				p = resource.NewResourceGroup(sub, rg).String() + "/providers/" + storageNS + "/storageAccounts"
			}
			accounts, err := listAll[storageAccount](cmd.Context(), c, c.url(p, storageAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "RESOURCE GROUP", "LOCATION", "SKU", "STATE"}}
			for _, s := range accounts {
				t.rows = append(t.rows, []string{s.Name, resourceGroupOf(s.ID), s.Location, s.SKU.Name, s.Properties.ProvisioningState})
			}
			return a.print(cmd.OutOrStdout(), accounts, t)
		},
	}
	cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "list only the storage accounts of this resource group")
	return cmd
}

func newStorageDeleteCmd(a *app) *cobra.Command {
	var f storageFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete --name NAME --resource-group RG [--yes]",
		Short: "Delete a storage account and all its data",
		Long:  "Delete a storage account and all its data, for good. Asks for confirmation unless --yes is given.",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if !yes {
				ok, err := confirm(cmd, fmt.Sprintf("Are you sure you want to delete storage account '%s' and all its data? (y/N): ", f.name))
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("cancelled: storage account %s was not deleted", f.name)
				}
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			u, err := f.url(c)
			if err != nil {
				return err
			}
			r, err := c.do(cmd.Context(), http.MethodDelete, u, nil, nil)
			if err != nil {
				return err
			}
			if r.status == http.StatusNoContent {
				fmt.Fprintf(cmd.ErrOrStderr(), "Storage account %s did not exist.\n", f.name)
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted storage account %s.\n", f.name)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
