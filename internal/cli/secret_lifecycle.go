package cli

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// maxBackupFile bounds the size of a backup file restore reads; real
// backup blobs of a secret with its versions are a few KiB.
const maxBackupFile = 1 << 20

func newSecretDeleteCmd(a *app) *cobra.Command {
	var names secretFlags
	cmd := &cobra.Command{
		Use:   "delete --vault-name VAULT --name NAME",
		Short: "Delete a secret with all its versions (soft delete: it can be recovered until purged)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := names.open(true)
			if err != nil {
				return err
			}
			var d deletedSecret
			if err := c.do(cmd.Context(), http.MethodDelete, c.url("/secrets/"+names.name, nil), nil, &d); err != nil {
				return err
			}
			d.named()
			return a.print(cmd.OutOrStdout(), d, d.record())
		},
	}
	names.add(cmd, true)
	return cmd
}

func newSecretRecoverCmd(a *app) *cobra.Command {
	var names secretFlags
	cmd := &cobra.Command{
		Use:   "recover --vault-name VAULT --name NAME",
		Short: "Recover a deleted secret with all its versions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := names.open(true)
			if err != nil {
				return err
			}
			var s secretProperties
			if err := c.do(cmd.Context(), http.MethodPost, c.url("/deletedsecrets/"+names.name+"/recover", nil), nil, &s); err != nil {
				return err
			}
			s.named()
			return a.print(cmd.OutOrStdout(), s, s.record())
		},
	}
	names.add(cmd, true)
	return cmd
}

func newSecretPurgeCmd() *cobra.Command {
	var names secretFlags
	cmd := &cobra.Command{
		Use:   "purge --vault-name VAULT --name NAME",
		Short: "Permanently delete a deleted secret; this cannot be undone",
		Long: "Permanently delete a deleted secret and all its versions; this cannot be undone. It needs\n" +
			"the purge permission, which no one has by default, and is refused in a vault with purge\n" +
			"protection.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := names.open(true)
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, c.url("/deletedsecrets/"+names.name, nil), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Purged secret %s from key vault %s.\n", names.name, names.vault)
			return nil
		},
	}
	names.add(cmd, true)
	return cmd
}

func newSecretListDeletedCmd(a *app) *cobra.Command {
	var names secretFlags
	cmd := &cobra.Command{
		Use:   "list-deleted --vault-name VAULT",
		Short: "List the deleted secrets of a vault (never their values)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := names.open(false)
			if err != nil {
				return err
			}
			items, err := listVault[deletedSecret](cmd.Context(), c, c.url("/deletedsecrets", nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "DELETED", "SCHEDULED PURGE", "RECOVERY ID"}}
			for i := range items {
				d := &items[i]
				d.named()
				t.rows = append(t.rows, []string{d.Name, unixText(d.DeletedDate), unixText(d.ScheduledPurgeDate), d.RecoveryID})
			}
			return a.print(cmd.OutOrStdout(), items, t)
		},
	}
	names.add(cmd, false)
	return cmd
}

func newSecretBackupCmd() *cobra.Command {
	var names secretFlags
	var file string
	cmd := &cobra.Command{
		Use:   "backup --vault-name VAULT --name NAME --file PATH",
		Short: "Back up a secret with all its versions to a file",
		Long: "Back up a secret with all its versions to a new file, readable by you only (mode 0600).\n" +
			"The backup is encrypted by the server and can only be restored by it, with\n" +
			"'edgevault keyvault secret restore'. An existing file is never overwritten.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("--file is required")
			}
			if err := fileExists(file); err != nil {
				return err
			}
			c, err := names.open(true)
			if err != nil {
				return err
			}
			var res struct {
				Value string `json:"value"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, c.url("/secrets/"+names.name+"/backup", nil), nil, &res); err != nil {
				return err
			}
			// The blob is base64url without padding on the wire (§1.4); the
			// file holds its bytes, as az writes it.
			blob, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(res.Value, "="))
			if err != nil || len(blob) == 0 {
				return fmt.Errorf("server returned an invalid backup blob")
			}
			if err := writeNewFile(file, blob); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Backed up secret %s to %s (%s).\n", names.name, file, plural(len(blob), "byte"))
			return nil
		},
	}
	names.add(cmd, true)
	cmd.Flags().StringVarP(&file, "file", "f", "", "file to write the backup to; must not exist")
	return cmd
}

// writeNewFile writes data to a new file of mode 0600, never following or
// replacing an existing one; a partly written file is removed.
func writeNewFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	_, err = f.Write(data)
	return err
}

func newSecretRestoreCmd(a *app) *cobra.Command {
	var names secretFlags
	var file string
	cmd := &cobra.Command{
		Use:   "restore --vault-name VAULT --file PATH",
		Short: "Restore a backed-up secret with all its versions into a vault",
		Long: "Restore a secret from a file written by 'edgevault keyvault secret backup' (or az). The\n" +
			"secret's name must be free in the vault: neither in use nor deleted.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("--file is required")
			}
			c, err := names.open(false)
			if err != nil {
				return err
			}
			blob, err := readLimited(file, maxBackupFile)
			if err != nil {
				return err
			}
			body := map[string]string{"value": base64.RawURLEncoding.EncodeToString(blob)}
			var s secretProperties
			if err := c.do(cmd.Context(), http.MethodPost, c.url("/secrets/restore", nil), body, &s); err != nil {
				return err
			}
			s.named()
			return a.print(cmd.OutOrStdout(), s, s.record())
		},
	}
	names.add(cmd, false)
	cmd.Flags().StringVarP(&file, "file", "f", "", "backup file to restore")
	return cmd
}
