package cli

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// managementLock is a Microsoft.Authorization/locks resource
// (reference/edge-arm.md §3.9).
type managementLock struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties lockProperties `json:"properties"`
}

// lockProperties are a lock's level, notes and owners.
type lockProperties struct {
	Level  string      `json:"level"`
	Notes  string      `json:"notes,omitempty"`
	Owners []lockOwner `json:"owners,omitempty"`
}

// lockOwner is an application that owns a lock.
type lockOwner struct {
	ApplicationID string `json:"applicationId"`
}

// lockLevels are the levels a lock can be created with.
var lockLevels = []string{"CanNotDelete", "ReadOnly"}

// maxLockNotes is the longest notes ARM accepts (§3.9).
const maxLockNotes = 512

func (l managementLock) record() record {
	return record{
		{"name", l.Name}, {"level", l.Properties.Level}, {"scope", scopeOfExtension(l.ID)},
		{"notes", l.Properties.Notes}, {"id", l.ID},
	}
}

func newLockCmd(a *app) *cobra.Command {
	return newGroup("lock", "Manage management locks",
		newLockCreateCmd(a), newLockListCmd(a), newLockDeleteCmd())
}

// addLockScopeFlags adds --resource-group and --resource.
func addLockScopeFlags(cmd *cobra.Command, f *scopeFlags) {
	f.scopeFlag = "resource"
	cmd.Flags().StringVarP(&f.resourceGroup, "resource-group", "g", "", "lock the resource group of this name")
	cmd.Flags().StringVar(&f.scope, "resource", "", "lock the resource of this id (/subscriptions/.../providers/...)")
}

// lockPath is the ARM path of a lock at scope, or of the list when name
// is empty.
func lockPath(scope, name string) string {
	p := strings.TrimSuffix(scope, "/") + authzProvider + "/locks"
	if name != "" {
		p += "/" + name
	}
	return p
}

// lockNameFlag checks --name of a lock command.
func lockNameFlag(name string) error {
	if name == "" {
		return usagef("--name is required")
	}
	if err := resource.ValidateLockName(name); err != nil {
		return usageError{err}
	}
	return nil
}

func newLockCreateCmd(a *app) *cobra.Command {
	var name, level, notes string
	var scope scopeFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME --lock-type CanNotDelete|ReadOnly [--notes TEXT] [--resource-group RG | --resource ID]",
		Short: "Lock a subscription, resource group or resource against deletion or change",
		Long: "Lock a scope: the subscription of the profile unless --resource-group or --resource is given.\n" +
			"CanNotDelete allows reads and changes but no deletion; ReadOnly allows reads only.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lockNameFlag(name); err != nil {
				return err
			}
			lvl, err := lockLevel(level)
			if err != nil {
				return err
			}
			if len(notes) > maxLockNotes {
				return usagef("--notes is longer than %d characters", maxLockNotes)
			}
			if err := scope.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			at, err := scope.resolve(c)
			if err != nil {
				return err
			}
			props := map[string]any{"level": lvl}
			if notes != "" {
				props["notes"] = notes
			}
			var l managementLock
			u := c.url(lockPath(at, name), locksAPIVersion, nil)
			if _, err := c.do(cmd.Context(), http.MethodPut, u, map[string]any{"properties": props}, &l); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), l, l.record())
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the lock")
	cmd.Flags().StringVarP(&level, "lock-type", "t", "", "CanNotDelete or ReadOnly")
	cmd.Flags().StringVar(&notes, "notes", "", "why the lock is there (at most 512 characters)")
	addLockScopeFlags(cmd, &scope)
	return cmd
}

// lockLevel returns the canonical spelling of a --lock-type value.
func lockLevel(s string) (string, error) {
	if s == "" {
		return "", usagef("--lock-type is required: %s", strings.Join(lockLevels, " or "))
	}
	for _, l := range lockLevels {
		if strings.EqualFold(l, s) {
			return l, nil
		}
	}
	return "", usagef("invalid --lock-type %q: want %s", s, strings.Join(lockLevels, " or "))
}

func newLockListCmd(a *app) *cobra.Command {
	var scope scopeFlags
	cmd := &cobra.Command{
		Use:   "list [--resource-group RG | --resource ID]",
		Short: "List the locks of a subscription, resource group or resource",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := scope.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			at, err := scope.resolve(c)
			if err != nil {
				return err
			}
			locks, err := listAll[managementLock](cmd.Context(), c, c.url(lockPath(at, ""), locksAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "LEVEL", "SCOPE", "NOTES"}}
			for _, l := range locks {
				t.rows = append(t.rows, []string{l.Name, l.Properties.Level, scopeOfExtension(l.ID), l.Properties.Notes})
			}
			return a.print(cmd.OutOrStdout(), locks, t)
		},
	}
	addLockScopeFlags(cmd, &scope)
	return cmd
}

func newLockDeleteCmd() *cobra.Command {
	var name string
	var scope scopeFlags
	cmd := &cobra.Command{
		Use:   "delete --name NAME [--resource-group RG | --resource ID]",
		Short: "Remove a lock",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lockNameFlag(name); err != nil {
				return err
			}
			if err := scope.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			at, err := scope.resolve(c)
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), http.MethodDelete, c.url(lockPath(at, name), locksAPIVersion, nil), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted lock %s at %s.\n", name, at)
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the lock")
	addLockScopeFlags(cmd, &scope)
	return cmd
}
