package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// resourceGroup is the ARM resource-group resource, as GET returns it.
type resourceGroup struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	ManagedBy  string            `json:"managedBy,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func (g resourceGroup) record() record {
	return record{
		{"name", g.Name}, {"location", g.Location}, {"state", g.Properties.ProvisioningState},
		{"managed by", g.ManagedBy}, {"tags", tagsText(g.Tags)}, {"id", g.ID},
	}
}

// tagsText formats tags as "k1=v1, k2=v2", sorted by key.
func tagsText(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ", ")
}

// groupPath is the ARM path of a resource group, or of the list when name
// is empty.
func groupPath(sub, name string) string {
	p := "/subscriptions/" + sub + "/resourcegroups"
	if name != "" {
		p += "/" + name
	}
	return p
}

func newGroupCmd(a *app) *cobra.Command {
	return newGroup("group", "Manage resource groups",
		newGroupCreateCmd(a), newGroupShowCmd(a), newGroupListCmd(a), newGroupDeleteCmd(a))
}

// groupNameFlag checks --name of a group command.
func groupNameFlag(name string) error {
	if name == "" {
		return usagef("--name is required")
	}
	if err := resource.ValidateResourceGroupName(name); err != nil {
		return usageError{err}
	}
	return nil
}

func newGroupCreateCmd(a *app) *cobra.Command {
	var name, location string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create --name NAME --location LOCATION [--tags KEY=VALUE]...",
		Short: "Create a resource group, or update its location and tags",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := groupNameFlag(name); err != nil {
				return err
			}
			if location == "" {
				return usagef("--location is required")
			}
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			body := map[string]any{"location": location}
			if tagMap != nil {
				body["tags"] = tagMap
			}
			var g resourceGroup
			u := c.url(groupPath(sub, name), resourcesAPIVersion, nil)
			if _, err := c.do(cmd.Context(), http.MethodPut, u, body, &g); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), g, g.record())
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the resource group")
	cmd.Flags().StringVarP(&location, "location", "l", "", "location of the resource group, e.g. westeurope")
	cmd.Flags().StringArrayVar(&tags, "tags", nil, "a tag KEY=VALUE (or KEY for an empty value); repeat for more")
	return cmd
}

// parseTags parses KEY=VALUE tag flags; nil when there are none.
func parseTags(tags []string) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v, _ := strings.Cut(t, "=")
		if k == "" {
			return nil, usagef("invalid tag %q: want KEY=VALUE", t)
		}
		m[k] = v
	}
	return m, nil
}

func newGroupShowCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "show --name NAME",
		Short: "Show a resource group",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := groupNameFlag(name); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			var g resourceGroup
			if _, err := c.do(cmd.Context(), http.MethodGet, c.url(groupPath(sub, name), resourcesAPIVersion, nil), nil, &g); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), g, g.record())
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the resource group")
	return cmd
}

func newGroupListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the resource groups of the subscription",
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
			groups, err := listAll[resourceGroup](cmd.Context(), c, c.url(groupPath(sub, ""), resourcesAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "LOCATION", "STATE"}}
			for _, g := range groups {
				t.rows = append(t.rows, []string{g.Name, g.Location, g.Properties.ProvisioningState})
			}
			return a.print(cmd.OutOrStdout(), groups, t)
		},
	}
}

func newGroupDeleteCmd(a *app) *cobra.Command {
	var name string
	var yes, noWait bool
	cmd := &cobra.Command{
		Use:   "delete --name NAME [--yes] [--no-wait]",
		Short: "Delete a resource group and every resource in it",
		Long: "Delete a resource group and every resource in it. Deletion is a long-running operation:\n" +
			"the command waits for it to end unless --no-wait is given, and asks for confirmation\n" +
			"unless --yes is given.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := groupNameFlag(name); err != nil {
				return err
			}
			if !yes {
				ok, err := confirm(cmd, fmt.Sprintf("Are you sure you want to delete resource group '%s' and all its resources? (y/N): ", name))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("cancelled: resource group " + name + " was not deleted")
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
			u := c.url(groupPath(sub, name), resourcesAPIVersion, nil)
			r, err := c.do(cmd.Context(), http.MethodDelete, u, nil, nil)
			if err != nil {
				return err
			}
			if err := a.finish(cmd, c, u, r, noWait, "Deleting resource group '"+name+"'"); err != nil {
				return err
			}
			if r.status == http.StatusAccepted && noWait {
				fmt.Fprintf(cmd.ErrOrStderr(), "Deletion of resource group %s started.\n", name)
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted resource group %s.\n", name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the resource group")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the deletion to finish; print its status URL")
	return cmd
}

// confirm asks a yes/no question on stderr and reads the answer from
// stdin; only "y" or "yes" is yes. Without a terminal on stdin there is
// no one to ask, which is a usage error naming --yes.
func confirm(cmd *cobra.Command, question string) (bool, error) {
	if !isTerminal(cmd.InOrStdin()) {
		return false, usagef("confirmation required but stdin is not a terminal: use --yes")
	}
	fmt.Fprint(cmd.ErrOrStderr(), question)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
