package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
)

// accessPolicy grants a principal permissions in a vault
// (reference/keyvault-wire.md §3.3).
type accessPolicy struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Permissions   permissions `json:"permissions"`
}

// permissions are an access policy's permissions per object kind; the
// server serves secrets only, the others are shown as it sends them.
type permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// accessPolicyUpdate is the body and answer of
// PUT …/vaults/{name}/accessPolicies/{add|remove|replace}.
type accessPolicyUpdate struct {
	ID         string `json:"id,omitempty"`
	Type       string `json:"type,omitempty"`
	Properties struct {
		AccessPolicies []accessPolicy `json:"accessPolicies"`
	} `json:"properties"`
}

// secretPermissions are the secret permissions a policy may grant,
// lower-case as on the wire (§3.3).
var secretPermissions = []string{"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"}

// creatorSecretPermissions are what `keyvault create` grants its caller:
// what az grants, every secret permission but purge, which no one holds
// by default (reference/keyvault-wire.md §5).
var creatorSecretPermissions = []string{"get", "list", "set", "delete", "backup", "restore", "recover"}

// policyTable lists access policies by object id.
func policyTable(ps []accessPolicy) table {
	t := table{headers: []string{"OBJECT ID", "SECRET PERMISSIONS"}}
	for _, p := range ps {
		t.rows = append(t.rows, []string{p.ObjectID, strings.Join(p.Permissions.Secrets, ", ")})
	}
	return t
}

// policyPrincipalFlags name the principal of an access policy.
type policyPrincipalFlags struct{ objectID, assignee string }

func (f *policyPrincipalFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.objectID, "object-id", "", "object id of the principal")
	cmd.Flags().StringVar(&f.assignee, "assignee", "", "user name, or service principal client id or display name, looked up in the directory")
}

func (f *policyPrincipalFlags) validate() error {
	switch {
	case f.objectID != "" && f.assignee != "":
		return usagef("use either --object-id or --assignee, not both")
	case f.objectID == "" && f.assignee == "":
		return usagef("--object-id or --assignee is required")
	case f.objectID != "" && !isGUID(f.objectID):
		return usagef("--object-id %q is not a GUID", f.objectID)
	}
	return nil
}

// resolve returns the object id the flags name. An --assignee GUID the
// directory does not know (or that the caller may not read) is taken as
// an object id.
func (f *policyPrincipalFlags) resolve(ctx context.Context, c *armClient) (string, error) {
	if f.objectID != "" {
		return strings.ToLower(f.objectID), nil
	}
	users, sps, err := c.directory(ctx)
	if err != nil {
		if isGUID(f.assignee) {
			return strings.ToLower(f.assignee), nil
		}
		return "", fmt.Errorf("look up assignee %q: %w (without access to the directory, use --object-id)", f.assignee, err)
	}
	p, err := matchAssignee(f.assignee, users, sps)
	if err != nil && isGUID(f.assignee) {
		return strings.ToLower(f.assignee), nil
	}
	return p.objectID, err
}

// parseSecretPermissions checks and normalises permissions given as
// comma-separated flag values and, az-style, as the words that follow.
func parseSecretPermissions(perms []string) ([]string, error) {
	var out []string
	for _, p := range perms {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if !slices.Contains(secretPermissions, p) {
			return nil, usagef("invalid secret permission %q: want %s", p, strings.Join(secretPermissions, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--secret-permissions is required")
	}
	return out, nil
}

// updatePolicies PUTs one access policy to …/accessPolicies/{kind} and
// prints the vault's resulting policies.
func (a *app) updatePolicies(cmd *cobra.Command, c *armClient, vaultPath, kind string, p accessPolicy) error {
	var body accessPolicyUpdate
	body.Properties.AccessPolicies = []accessPolicy{p}
	var res accessPolicyUpdate
	u := c.url(vaultPath+"/accessPolicies/"+kind, keyVaultAPIVersion, nil)
	if _, err := c.do(cmd.Context(), http.MethodPut, u, body, &res); err != nil {
		return err
	}
	if res.Properties.AccessPolicies == nil {
		res.Properties.AccessPolicies = []accessPolicy{}
	}
	return a.print(cmd.OutOrStdout(), res, policyTable(res.Properties.AccessPolicies))
}

func newKeyVaultSetPolicyCmd(a *app) *cobra.Command {
	var f vaultFlags
	var who policyPrincipalFlags
	var perms []string
	cmd := &cobra.Command{
		Use:   "set-policy --name NAME [--resource-group RG] (--object-id OID | --assignee NAME) --secret-permissions PERM...",
		Short: "Grant a principal secret permissions in a key vault",
		Long: "Grant a principal secret permissions in a key vault, added to those it already has.\n" +
			"PERM is one of " + strings.Join(secretPermissions, ", ") + "; give several comma-separated\n" +
			"or, as az does, separated by spaces: --secret-permissions get list set.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !cmd.Flags().Changed("secret-permissions") {
				return usagef("unexpected argument %q for %q", args[0], cmd.CommandPath())
			}
			if err := f.validate(); err != nil {
				return err
			}
			if err := who.validate(); err != nil {
				return err
			}
			secrets, err := parseSecretPermissions(append(perms, args...))
			if err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := f.path(ctx, c)
			if err != nil {
				return err
			}
			oid, err := who.resolve(ctx, c)
			if err != nil {
				return err
			}
			return a.updatePolicies(cmd, c, p, "add", accessPolicy{TenantID: c.s.Profile.TenantID, ObjectID: oid,
				Permissions: permissions{Secrets: secrets}})
		},
	}
	f.add(cmd)
	who.add(cmd)
	cmd.Flags().StringSliceVar(&perms, "secret-permissions", nil, "secret permissions to grant")
	return cmd
}

func newKeyVaultDeletePolicyCmd(a *app) *cobra.Command {
	var f vaultFlags
	var who policyPrincipalFlags
	cmd := &cobra.Command{
		Use:   "delete-policy --name NAME [--resource-group RG] (--object-id OID | --assignee NAME)",
		Short: "Remove a principal's access policy from a key vault",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if err := who.validate(); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := f.path(ctx, c)
			if err != nil {
				return err
			}
			oid, err := who.resolve(ctx, c)
			if err != nil {
				return err
			}
			var v vault
			if _, err := c.do(ctx, http.MethodGet, c.url(p, keyVaultAPIVersion, nil), nil, &v); err != nil {
				return err
			}
			// The entry is sent back whole, so that "remove" takes away
			// every permission whether the server removes the entry or
			// only the permissions listed (§3.3, UNVERIFIED there).
			for _, ap := range v.Properties.AccessPolicies {
				if strings.EqualFold(ap.ObjectID, oid) {
					return a.updatePolicies(cmd, c, p, "remove", ap)
				}
			}
			return fmt.Errorf("key vault %s has no access policy for object id %s", v.Name, oid)
		},
	}
	f.add(cmd)
	who.add(cmd)
	return cmd
}

// callerObjectID returns the signed-in principal's object id: the oid
// claim of its management token (a JWT, read without verification: the
// server checks it, the CLI only needs the value), or else the directory
// entry of the profile's user name or client id.
func (c *armClient) callerObjectID(ctx context.Context) (string, error) {
	p := c.s.Profile
	tok, err := c.s.AccessToken(ctx, p.ManagementAudience)
	if err != nil {
		return "", err
	}
	if oid := tokenObjectID(tok); oid != "" {
		return oid, nil
	}
	users, sps, err := c.directory(ctx)
	if err != nil {
		return "", fmt.Errorf("find your object id for the vault's access policy: %w (use --no-self-perms, then 'edgevault keyvault set-policy --object-id')", err)
	}
	for _, u := range users {
		if p.PrincipalKind == User && strings.EqualFold(u.UserName, p.PrincipalName) {
			return strings.ToLower(u.ObjectID), nil
		}
	}
	for _, sp := range sps {
		if p.PrincipalKind == ServicePrincipal && strings.EqualFold(sp.ClientID, p.PrincipalName) {
			return strings.ToLower(sp.ObjectID), nil
		}
	}
	return "", fmt.Errorf("signed-in principal %q is not in the directory; use --no-self-perms", p.PrincipalName)
}

// tokenObjectID returns the oid claim of a JWT access token (RFC 7519:
// the payload is the second dot-separated part, base64url JSON), or ""
// when the token is not a JWT or has none. Nothing of the token is ever
// returned but the claim.
func tokenObjectID(tok sensitive.String) string {
	parts := strings.Split(tok.Reveal(), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		OID string `json:"oid"`
	}
	if json.Unmarshal(payload, &claims) != nil || len(claims.OID) > 128 || strings.ContainsAny(claims.OID, "/?#") {
		return ""
	}
	return strings.ToLower(claims.OID)
}
