package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/resource"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// authzProvider is the path segment of Microsoft.Authorization extension
// resources under a scope (reference/edge-arm.md §3.9, §3.14).
const authzProvider = "/providers/Microsoft.Authorization"

// roleAssignment is a Microsoft.Authorization/roleAssignments resource.
type roleAssignment struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Properties roleAssignmentProperties `json:"properties"`
}

// roleAssignmentProperties are a role assignment's properties; the
// read-only ones are kept so that -o json shows what the server sent.
type roleAssignmentProperties struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType,omitempty"`
	Scope            string `json:"scope,omitempty"`
	Description      string `json:"description,omitempty"`
	CreatedOn        string `json:"createdOn,omitempty"`
	UpdatedOn        string `json:"updatedOn,omitempty"`
	CreatedBy        string `json:"createdBy,omitempty"`
	UpdatedBy        string `json:"updatedBy,omitempty"`
}

// roleDefinition is a Microsoft.Authorization/roleDefinitions resource;
// its name is the role's GUID.
type roleDefinition struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleName string `json:"roleName"`
	} `json:"properties"`
}

// directoryUser is a user as the admin API lists them.
type directoryUser struct {
	ObjectID    string `json:"objectId"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
}

// principalRef is an assignee resolved to an object id.
type principalRef struct {
	objectID string
	kind     string // "User" or "ServicePrincipal"; "" when unknown
	name     string // user name or display name, for output
}

// newAssignmentName names a new role assignment: a random GUID, as az
// does. Tests replace it.
var newAssignmentName = uuid.NewString

// The principal types --assignee-principal-type accepts (§3.14).
var principalTypes = []string{"User", "ServicePrincipal"}

func newRoleCmd(a *app) *cobra.Command {
	assignment := newGroup("assignment", "Manage role assignments",
		newRoleAssignmentCreateCmd(a), newRoleAssignmentListCmd(a), newRoleAssignmentDeleteCmd())
	return newGroup("role", "Manage role-based access control", assignment)
}

// assigneeFlags name a principal: --assignee (resolved through the admin
// API) or --assignee-object-id with --assignee-principal-type.
type assigneeFlags struct {
	assignee, objectID, principalType string
}

func (f *assigneeFlags) add(cmd *cobra.Command, withType bool) {
	cmd.Flags().StringVar(&f.assignee, "assignee", "", "user name, service principal client id or display name, or object id")
	cmd.Flags().StringVar(&f.objectID, "assignee-object-id", "", "object id of the principal; skips looking it up")
	if withType {
		cmd.Flags().StringVar(&f.principalType, "assignee-principal-type", "", "User or ServicePrincipal; with --assignee-object-id")
	}
}

// validate checks the flags; required says one of them must be given.
func (f *assigneeFlags) validate(required, withType bool) error {
	switch {
	case f.assignee != "" && f.objectID != "":
		return usagef("use either --assignee or --assignee-object-id, not both")
	case required && f.assignee == "" && f.objectID == "":
		return usagef("--assignee or --assignee-object-id is required")
	case f.objectID != "" && !isGUID(f.objectID):
		return usagef("--assignee-object-id %q is not a GUID", f.objectID)
	case f.principalType != "" && f.objectID == "":
		return usagef("--assignee-principal-type goes with --assignee-object-id")
	case withType && f.objectID != "" && f.principalType == "":
		return usagef("--assignee-principal-type is required with --assignee-object-id")
	}
	if f.principalType != "" {
		for _, t := range principalTypes {
			if strings.EqualFold(t, f.principalType) {
				f.principalType = t
				return nil
			}
		}
		return usagef("invalid --assignee-principal-type %q: want %s", f.principalType, strings.Join(principalTypes, " or "))
	}
	return nil
}

// resolve returns the principal the flags name, or a zero principalRef
// when none was given. needKind says the principal type must be known
// (to create an assignment); without it, a GUID the directory does not
// know is taken as an object id, so that assignments of deleted
// principals can still be listed and removed.
func (f *assigneeFlags) resolve(ctx context.Context, c *armClient, needKind bool) (principalRef, error) {
	if f.objectID != "" {
		return principalRef{objectID: strings.ToLower(f.objectID), kind: f.principalType}, nil
	}
	if f.assignee == "" {
		return principalRef{}, nil
	}
	users, sps, err := c.directory(ctx)
	if err != nil {
		if isGUID(f.assignee) && !needKind {
			return principalRef{objectID: strings.ToLower(f.assignee)}, nil
		}
		return principalRef{}, fmt.Errorf("look up assignee %q: %w (without access to the directory, use --assignee-object-id and --assignee-principal-type)", f.assignee, err)
	}
	p, err := matchAssignee(f.assignee, users, sps)
	if err != nil && isGUID(f.assignee) && !needKind {
		return principalRef{objectID: strings.ToLower(f.assignee)}, nil
	}
	return p, err
}

// directory lists the tenant's users and service principals through the
// admin API.
func (c *armClient) directory(ctx context.Context) ([]directoryUser, []servicePrincipal, error) {
	var users page[directoryUser]
	if _, err := c.do(ctx, http.MethodGet, c.s.ManagementURL(adminPath+"/users"), nil, &users); err != nil {
		return nil, nil, err
	}
	var sps page[servicePrincipal]
	if _, err := c.do(ctx, http.MethodGet, c.s.ManagementURL(adminPath+"/servicePrincipals"), nil, &sps); err != nil {
		return nil, nil, err
	}
	return users.Value, sps.Value, nil
}

// matchAssignee finds the one principal x names: a user by object id or
// user name, or a service principal by object id, client id or display
// name (names compare case-insensitively).
func matchAssignee(x string, users []directoryUser, sps []servicePrincipal) (principalRef, error) {
	found := map[string]principalRef{}
	for _, u := range users {
		if strings.EqualFold(u.ObjectID, x) || strings.EqualFold(u.UserName, x) {
			found[strings.ToLower(u.ObjectID)] = principalRef{objectID: strings.ToLower(u.ObjectID), kind: "User", name: u.UserName}
		}
	}
	for _, sp := range sps {
		if strings.EqualFold(sp.ObjectID, x) || strings.EqualFold(sp.ClientID, x) || strings.EqualFold(sp.DisplayName, x) {
			found[strings.ToLower(sp.ObjectID)] = principalRef{objectID: strings.ToLower(sp.ObjectID), kind: "ServicePrincipal", name: sp.DisplayName}
		}
	}
	switch len(found) {
	case 0:
		return principalRef{}, fmt.Errorf("no user or service principal matches %q", x)
	case 1:
		for _, p := range found {
			return p, nil
		}
	}
	return principalRef{}, fmt.Errorf("%q matches %d principals; use --assignee-object-id to choose one", x, len(found))
}

// roleDefinitions lists the role definitions visible at scope.
func (c *armClient) roleDefinitions(ctx context.Context, scope string) ([]roleDefinition, error) {
	return listAll[roleDefinition](ctx, c, c.url(scope+authzProvider+"/roleDefinitions", authzAPIVersion, nil))
}

// resolveRole returns the GUID and name of role, a role name (compared
// case-insensitively) or a role GUID.
func (c *armClient) resolveRole(ctx context.Context, scope, role string) (guid, name string, err error) {
	defs, err := c.roleDefinitions(ctx, scope)
	if isGUID(role) {
		guid = strings.ToLower(role)
		if err == nil { // the name is only for output
			name = roleNames(defs)[guid]
		}
		return guid, name, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("look up role %q: %w", role, err)
	}
	for _, d := range defs {
		if strings.EqualFold(d.Properties.RoleName, role) {
			return strings.ToLower(d.Name), d.Properties.RoleName, nil
		}
	}
	return "", "", fmt.Errorf("role %q not found at scope %s", role, scope)
}

// roleNames maps role GUIDs to role names.
func roleNames(defs []roleDefinition) map[string]string {
	m := make(map[string]string, len(defs))
	for _, d := range defs {
		m[strings.ToLower(d.Name)] = d.Properties.RoleName
	}
	return m
}

// lastSegment is the part of an id after its last '/'.
func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// subscriptionOf returns the subscription of scope, else the profile's.
func (c *armClient) subscriptionOf(scope string) (string, error) {
	if id, err := resource.Parse(scope); err == nil && id.SubscriptionID() != "" {
		return id.SubscriptionID(), nil
	}
	return c.subscription()
}

func newRoleAssignmentCreateCmd(a *app) *cobra.Command {
	var role string
	var who assigneeFlags
	scope := scopeFlags{scopeFlag: "scope"}
	cmd := &cobra.Command{
		Use:   "create --role ROLE (--assignee NAME | --assignee-object-id OID --assignee-principal-type TYPE) [--scope ID | --resource-group RG]",
		Short: "Grant a principal a role at a scope",
		Long: "Grant a principal a role at a scope: the subscription of the profile unless --scope or\n" +
			"--resource-group is given. ROLE is a role name (Owner, Contributor, Reader,\n" +
			"\"User Access Administrator\") or a role definition GUID.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role == "" {
				return usagef("--role is required")
			}
			if err := who.validate(true, true); err != nil {
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
			ctx := cmd.Context()
			p, err := who.resolve(ctx, c, true)
			if err != nil {
				return err
			}
			ra, roleName, err := c.createAssignment(ctx, at, role, p)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), ra, record{
				{"principal", cmp.Or(p.name, ra.Properties.PrincipalID)}, {"principal id", ra.Properties.PrincipalID},
				{"type", ra.Properties.PrincipalType}, {"role", cmp.Or(roleName, lastSegment(ra.Properties.RoleDefinitionID))},
				{"scope", cmp.Or(ra.Properties.Scope, at)}, {"name", ra.Name}, {"id", ra.ID},
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "role name or role definition GUID")
	who.add(cmd, true)
	cmd.Flags().StringVar(&scope.scope, "scope", "", "resource id of the scope")
	cmd.Flags().StringVarP(&scope.resourceGroup, "resource-group", "g", "", "resource group of the subscription as the scope")
	return cmd
}

// createAssignment assigns role (name or GUID) to p at scope, under a
// new assignment name, and returns the assignment and the role's name.
func (c *armClient) createAssignment(ctx context.Context, scope, role string, p principalRef) (roleAssignment, string, error) {
	guid, roleName, err := c.resolveRole(ctx, scope, role)
	if err != nil {
		return roleAssignment{}, "", err
	}
	sub, err := c.subscriptionOf(scope)
	if err != nil {
		return roleAssignment{}, "", err
	}
	// The role definition id in the subscription-scoped form Azure's
	// clients send (reference/edge-arm.md §3.14).
	body := map[string]any{"properties": map[string]string{
		"roleDefinitionId": "/subscriptions/" + sub + authzProvider + "/roleDefinitions/" + guid,
		"principalId":      p.objectID,
		"principalType":    p.kind,
	}}
	var ra roleAssignment
	u := c.url(scope+authzProvider+"/roleAssignments/"+newAssignmentName(), authzAPIVersion, nil)
	if _, err := c.do(ctx, http.MethodPut, u, body, &ra); err != nil {
		return roleAssignment{}, "", err
	}
	return ra, roleName, nil
}

// listAssignments lists the role assignments at scope, filtered by
// principal when oid is set and to the scope and above with atScope.
func (c *armClient) listAssignments(ctx context.Context, scope, oid string, atScope bool) ([]roleAssignment, error) {
	var filters []string
	if atScope {
		filters = append(filters, "atScope()")
	}
	if oid != "" {
		filters = append(filters, "principalId eq '"+oid+"'")
	}
	q := url.Values{}
	if len(filters) > 0 {
		q.Set("$filter", strings.Join(filters, " and "))
	}
	return listAll[roleAssignment](ctx, c, c.url(scope+authzProvider+"/roleAssignments", authzAPIVersion, q))
}

func newRoleAssignmentListCmd(a *app) *cobra.Command {
	var who assigneeFlags
	var atScope bool
	scope := scopeFlags{scopeFlag: "scope"}
	cmd := &cobra.Command{
		Use:   "list [--assignee NAME | --assignee-object-id OID] [--scope ID | --resource-group RG] [--at-scope]",
		Short: "List role assignments",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := who.validate(false, false); err != nil {
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
			ctx := cmd.Context()
			p, err := who.resolve(ctx, c, false)
			if err != nil {
				return err
			}
			ras, err := c.listAssignments(ctx, at, p.objectID, atScope)
			if err != nil {
				return err
			}
			t := table{headers: []string{"PRINCIPAL", "TYPE", "ROLE", "SCOPE"}}
			if a.output == outputTable {
				t.rows = c.assignmentRows(ctx, at, ras)
			}
			return a.print(cmd.OutOrStdout(), ras, t)
		},
	}
	who.add(cmd, false)
	cmd.Flags().BoolVar(&atScope, "at-scope", false, "only assignments at the scope and above it, not below")
	cmd.Flags().StringVar(&scope.scope, "scope", "", "resource id of the scope")
	cmd.Flags().StringVarP(&scope.resourceGroup, "resource-group", "g", "", "resource group of the subscription as the scope")
	return cmd
}

// assignmentRows are the table rows of ras. Principal and role names are
// looked up for readability; when a lookup is not allowed (the directory
// is for administrators) the ids are shown instead.
func (c *armClient) assignmentRows(ctx context.Context, scope string, ras []roleAssignment) [][]string {
	names := map[string]string{}
	if users, sps, err := c.directory(ctx); err == nil {
		for _, u := range users {
			names[strings.ToLower(u.ObjectID)] = u.UserName
		}
		for _, sp := range sps {
			names[strings.ToLower(sp.ObjectID)] = sp.DisplayName
		}
	}
	roles := map[string]string{}
	if defs, err := c.roleDefinitions(ctx, scope); err == nil {
		roles = roleNames(defs)
	}
	rows := make([][]string, 0, len(ras))
	for _, ra := range ras {
		pr := ra.Properties
		guid := strings.ToLower(lastSegment(pr.RoleDefinitionID))
		rows = append(rows, []string{
			cmp.Or(names[strings.ToLower(pr.PrincipalID)], pr.PrincipalID), pr.PrincipalType,
			cmp.Or(roles[guid], guid), pr.Scope,
		})
	}
	return rows
}

func newRoleAssignmentDeleteCmd() *cobra.Command {
	var who assigneeFlags
	var role string
	var ids []string
	scope := scopeFlags{scopeFlag: "scope"}
	cmd := &cobra.Command{
		Use:   "delete (--ids ID... | --assignee NAME | --assignee-object-id OID) [--role ROLE] [--scope ID | --resource-group RG]",
		Short: "Remove role assignments",
		Long: "Remove role assignments: those named by --ids, or the assignee's assignments made at\n" +
			"exactly the scope (the subscription unless --scope or --resource-group is given),\n" +
			"of --role only when it is given.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(ids) > 0 {
				if who.assignee != "" || who.objectID != "" || role != "" || scope.scope != "" || scope.resourceGroup != "" {
					return usagef("--ids cannot be combined with other selectors")
				}
				for _, id := range ids {
					if !isAssignmentID(id) {
						return usagef("%q is not a role assignment id", id)
					}
				}
			} else {
				if who.assignee == "" && who.objectID == "" {
					return usagef("--ids, --assignee or --assignee-object-id is required")
				}
				if err := who.validate(true, false); err != nil {
					return err
				}
				if err := scope.validate(); err != nil {
					return err
				}
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				if ids, err = c.findAssignments(cmd.Context(), &who, &scope, role); err != nil {
					return err
				}
			}
			for _, id := range ids {
				if _, err := c.do(cmd.Context(), http.MethodDelete, c.url(id, authzAPIVersion, nil), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Deleted role assignment %s.\n", id)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&ids, "ids", nil, "full id of a role assignment; repeat for more")
	who.add(cmd, false)
	cmd.Flags().StringVar(&role, "role", "", "only assignments of this role (name or GUID)")
	cmd.Flags().StringVar(&scope.scope, "scope", "", "resource id of the scope")
	cmd.Flags().StringVarP(&scope.resourceGroup, "resource-group", "g", "", "resource group of the subscription as the scope")
	return cmd
}

// isAssignmentID reports whether id is a role assignment's resource id.
func isAssignmentID(id string) bool {
	rid, err := resource.Parse(id)
	return err == nil && strings.EqualFold(rid.Namespace(), "Microsoft.Authorization") && strings.EqualFold(lastSegment(rid.Type()), "roleAssignments")
}

// findAssignments returns the ids of the assignee's assignments made at
// exactly the scope, of role when it is set. None is an error.
func (c *armClient) findAssignments(ctx context.Context, who *assigneeFlags, scope *scopeFlags, role string) ([]string, error) {
	at, err := scope.resolve(c)
	if err != nil {
		return nil, err
	}
	p, err := who.resolve(ctx, c, false)
	if err != nil {
		return nil, err
	}
	guid := ""
	if role != "" {
		if guid, _, err = c.resolveRole(ctx, at, role); err != nil {
			return nil, err
		}
	}
	ras, err := c.listAssignments(ctx, at, p.objectID, false)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, ra := range ras {
		pr := ra.Properties
		if strings.EqualFold(pr.PrincipalID, p.objectID) && strings.EqualFold(cmp.Or(pr.Scope, scopeOfExtension(ra.ID)), at) &&
			(guid == "" || strings.EqualFold(lastSegment(pr.RoleDefinitionID), guid)) {
			ids = append(ids, ra.ID)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no matching role assignment at scope " + at)
	}
	return ids, nil
}
