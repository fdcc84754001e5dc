package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
)

// adminPath is the root of the admin API on the management endpoint.
const adminPath = "/edgevault/admin"

// secretNote follows the one-time display of a client secret.
const secretNote = "NOTE: Save the client secret now: it cannot be shown again. Use 'edgevault sp reset-secret' if it is lost."

// servicePrincipal is the admin API's service principal.
type servicePrincipal struct {
	ClientID        string    `json:"clientId"`
	ObjectID        string    `json:"objectId"`
	DisplayName     string    `json:"displayName"`
	CreatedAt       time.Time `json:"createdAt"`
	SecretCreatedAt time.Time `json:"secretCreatedAt,omitzero"`
}

// spWithSecret is the answer of create and reset-secret: a service principal
// and its new client secret, which is shown once.
type spWithSecret struct {
	servicePrincipal
	ClientSecret storedSecret `json:"clientSecret"`
}

// spSecretJSON is the one-time display of a new client secret. It is the
// only output of the CLI that holds a secret, so it is built explicitly.
type spSecretJSON struct {
	servicePrincipal
	ClientSecret string `json:"clientSecret"`
}

func newSPCmd(a *app) *cobra.Command {
	return newGroup("sp", "Manage service principals (admin)",
		newSPCreateCmd(a), newSPListCmd(a), newSPDeleteCmd(), newSPResetSecretCmd(a))
}

func newSPCreateCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a service principal and print its client secret once",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usagef("--name is required")
			}
			s, err := OpenSession()
			if err != nil {
				return err
			}
			var out spWithSecret
			body := map[string]string{"displayName": name}
			if err := s.ManagementAPI().Do(cmd.Context(), http.MethodPost, s.ManagementURL(adminPath+"/servicePrincipals"), body, &out); err != nil {
				return err
			}
			return a.printSecret(cmd, out)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name of the service principal")
	return cmd
}

func newSPListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List service principals",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := OpenSession()
			if err != nil {
				return err
			}
			var out struct {
				Value []servicePrincipal `json:"value"`
			}
			if err := s.ManagementAPI().Do(cmd.Context(), http.MethodGet, s.ManagementURL(adminPath+"/servicePrincipals"), nil, &out); err != nil {
				return err
			}
			t := table{headers: []string{"CLIENT ID", "OBJECT ID", "DISPLAY NAME", "CREATED", "SECRET CREATED"}}
			for _, sp := range out.Value {
				t.rows = append(t.rows, []string{sp.ClientID, sp.ObjectID, sp.DisplayName, timeText(sp.CreatedAt), timeText(sp.SecretCreatedAt)})
			}
			if out.Value == nil {
				out.Value = []servicePrincipal{} // print [] rather than null
			}
			return a.print(cmd.OutOrStdout(), out.Value, t)
		},
	}
}

func newSPDeleteCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a service principal",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usagef("--id is required")
			}
			s, err := OpenSession()
			if err != nil {
				return err
			}
			u := s.ManagementURL(adminPath + "/servicePrincipals/" + url.PathEscape(id))
			if err := s.ManagementAPI().Do(cmd.Context(), http.MethodDelete, u, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted service principal %s.\n", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "client id of the service principal")
	return cmd
}

func newSPResetSecretCmd(a *app) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "reset-secret",
		Short: "Replace a service principal's client secret and print the new one once",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usagef("--id is required")
			}
			s, err := OpenSession()
			if err != nil {
				return err
			}
			var out spWithSecret
			u := s.ManagementURL(adminPath + "/servicePrincipals/" + url.PathEscape(id) + "/resetSecret")
			if err := s.ManagementAPI().Do(cmd.Context(), http.MethodPost, u, nil, &out); err != nil {
				return err
			}
			return a.printSecret(cmd, out)
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "client id of the service principal")
	return cmd
}

// printSecret shows a service principal with its new client secret, the one
// place the CLI discloses a secret, then a note on stderr (so that stdout
// stays valid JSON with -o json).
func (a *app) printSecret(cmd *cobra.Command, sp spWithSecret) error {
	v := spSecretJSON{servicePrincipal: sp.servicePrincipal, ClientSecret: sensitive.String(sp.ClientSecret).Reveal()}
	r := record{
		{"client id", v.ClientID}, {"object id", v.ObjectID}, {"display name", v.DisplayName},
		{"created", timeText(v.CreatedAt)}, {"secret created", timeText(v.SecretCreatedAt)},
		{"client secret", v.ClientSecret},
	}
	if err := a.print(cmd.OutOrStdout(), v, r); err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), secretNote)
	return nil
}
