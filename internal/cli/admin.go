package cli

import (
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// signingKeyRotation is the answer of POST .../signingKeys/rotate.
type signingKeyRotation struct {
	KID               string    `json:"kid"`
	PreviousKID       string    `json:"previousKid"`
	PreviousRetiresAt time.Time `json:"previousRetiresAt,omitzero"`
}

// rootKeyRotation is the answer of POST .../rootKey/rotate: the new root
// key's id, returned once every key-encryption key is rewrapped under it.
type rootKeyRotation struct {
	RootKeyID string `json:"rootKeyId"`
}

func newAdminCmd(a *app) *cobra.Command {
	signing := &cobra.Command{
		Use:   "rotate-signing-key",
		Short: "Rotate the token signing key; the previous key stays published until it retires",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out signingKeyRotation
			if err := adminPost(cmd, "/signingKeys/rotate", &out); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), out, record{
				{"kid", out.KID}, {"previous kid", out.PreviousKID}, {"previous retires at", timeText(out.PreviousRetiresAt)},
			})
		},
	}
	root := &cobra.Command{
		Use:   "rotate-root-key",
		Short: "Rotate the root key and rewrap the vault keys under it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out rootKeyRotation
			if err := adminPost(cmd, "/rootKey/rotate", &out); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), out, record{{"root key id", out.RootKeyID}})
		},
	}
	return newGroup("admin", "Administer the server's keys", signing, root)
}

// adminPost posts an empty body to path under the admin API.
func adminPost(cmd *cobra.Command, path string, out any) error {
	s, err := OpenSession()
	if err != nil {
		return err
	}
	return s.ManagementAPI().Do(cmd.Context(), http.MethodPost, s.ManagementURL(adminPath+path), nil, out)
}
