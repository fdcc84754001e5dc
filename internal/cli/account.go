package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// accountJSON is the JSON shape of `account show` and of the login summary,
// modelled on az's account output. It holds no secret.
type accountJSON struct {
	TenantID           string      `json:"tenantId"`
	SubscriptionID     string      `json:"subscriptionId"`
	User               accountUser `json:"user"`
	AuthorityHost      string      `json:"authorityHost,omitempty"`
	ManagementEndpoint string      `json:"managementEndpoint,omitempty"`
	ManagementAudience string      `json:"managementAudience,omitempty"`
	VaultAudience      string      `json:"vaultAudience,omitempty"`
	StorageAudience    string      `json:"storageAudience,omitempty"`
	DeviceEndpoint     string      `json:"deviceEndpoint,omitempty"`
	PortalURL          string      `json:"portalUrl,omitempty"`
	CACertFile         string      `json:"caCertFile,omitempty"`
}

// accountUser names the signed-in principal, as az's "user" object does.
type accountUser struct {
	Name string        `json:"name"`
	Type PrincipalKind `json:"type"`
}

// accountView renders p: the tenant, subscription and principal, and with
// full also the endpoints.
func accountView(p *Profile, full bool) (accountJSON, record) {
	v := accountJSON{
		TenantID:       p.TenantID,
		SubscriptionID: p.SubscriptionID,
		User:           accountUser{Name: p.PrincipalName, Type: p.PrincipalKind},
	}
	r := record{{"tenant", v.TenantID}, {"subscription", v.SubscriptionID}, {"user", v.User.Name}, {"type", string(v.User.Type)}}
	if !full {
		return v, r
	}
	v.AuthorityHost, v.ManagementEndpoint, v.ManagementAudience = p.AuthorityHost, p.ManagementEndpoint, p.ManagementAudience
	v.VaultAudience, v.StorageAudience = p.VaultAudience, p.StorageAudience
	v.DeviceEndpoint, v.PortalURL, v.CACertFile = p.DeviceEndpoint, p.PortalURL, p.CAFile
	r = append(r,
		field{"authority host", v.AuthorityHost},
		field{"management endpoint", v.ManagementEndpoint},
		field{"management audience", v.ManagementAudience},
		field{"vault audience", v.VaultAudience},
		field{"storage audience", v.StorageAudience},
		field{"device endpoint", v.DeviceEndpoint},
		field{"portal url", v.PortalURL},
		field{"ca cert file", v.CACertFile},
	)
	return v, r
}

func newAccountCmd(a *app) *cobra.Command {
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the signed-in account and its endpoints",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := ConfigDir()
			if err != nil {
				return err
			}
			p, err := LoadProfile(dir)
			if err != nil {
				return err
			}
			v, r := accountView(p, true)
			return a.print(cmd.OutOrStdout(), v, r)
		},
	}
	return newGroup("account", "Show the signed-in account", show)
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Sign out: remove the stored profile and its tokens",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := ConfigDir()
			if err != nil {
				return err
			}
			removed, err := RemoveProfile(dir)
			if err != nil {
				return err
			}
			if removed {
				fmt.Fprintln(cmd.ErrOrStderr(), "Logged out.")
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "Not logged in.")
			}
			return nil
		},
	}
}
