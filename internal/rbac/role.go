package rbac

import (
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/resource"
)

// Built-in role definition ids. They are Azure's well-known GUIDs, so role
// assignments created by Azure tooling name the same roles.
const (
	Owner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	Contributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	Reader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	StorageBlobDataReader   = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
)

// RoleDefinition is a role: the management-plane actions it allows (minus
// those it excludes) and the data-plane actions likewise.
type RoleDefinition struct {
	ID          string // GUID
	Name        string // Azure's roleName, e.g. "Owner"
	Description string
	// Actions and NotActions are control-plane action patterns (see
	// Match); the role allows an action that matches some Actions pattern
	// and no NotActions pattern. NotActions is a subtraction, not a deny:
	// another assignment may still grant the action.
	Actions, NotActions         []string
	DataActions, NotDataActions []string
	// AssignableScopes are where the role may be assigned; "/" for every
	// built-in role.
	AssignableScopes []string
}

// Allows reports whether the role allows an action: a control-plane action
// its Actions grant, or a data action its DataActions grant (see
// compiledRole.allows).
func (d RoleDefinition) Allows(action string) bool {
	return compileRole(d).allows(action)
}

// builtIns are the roles edgevault implements, with Azure's actions and
// notActions (reference/edge-arm.md §3.14; Azure's "Privileged", "General"
// and "Storage" built-in role listings). Only Storage Blob Data Reader has
// data actions: it lets the blob read API (internal/blobapi) serve audit
// logs to a principal that may not see the account in ARM.
var builtIns = []RoleDefinition{
	{
		ID:               Owner,
		Name:             "Owner",
		Description:      "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Actions:          []string{"*"},
		AssignableScopes: []string{"/"},
	},
	{
		ID:          Contributor,
		Name:        "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Actions:     []string{"*"},
		NotActions: []string{
			"Microsoft.Authorization/*/Delete",
			"Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write",
			"Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action",
		},
		AssignableScopes: []string{"/"},
	},
	{
		ID:               Reader,
		Name:             "Reader",
		Description:      "View all resources, but does not allow you to make any changes.",
		Actions:          []string{"*/read"},
		AssignableScopes: []string{"/"},
	},
	{
		ID:               UserAccessAdministrator,
		Name:             "User Access Administrator",
		Description:      "Lets you manage user access to Azure resources.",
		Actions:          []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"},
		AssignableScopes: []string{"/"},
	},
	{
		ID:          StorageBlobDataReader,
		Name:        "Storage Blob Data Reader",
		Description: "Allows for read access to Azure Storage blob containers and data",
		Actions: []string{
			"Microsoft.Storage/storageAccounts/blobServices/containers/read",
			"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
		},
		DataActions:      []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
		AssignableScopes: []string{"/"},
	},
}

// compiledRole is a role with its patterns compiled once.
type compiledRole struct {
	actions, notActions         []pattern
	dataActions, notDataActions []pattern
}

func compileRole(d RoleDefinition) *compiledRole {
	r := &compiledRole{}
	for _, a := range d.Actions {
		r.actions = append(r.actions, compilePattern(a))
	}
	for _, a := range d.NotActions {
		r.notActions = append(r.notActions, compilePattern(a))
	}
	for _, a := range d.DataActions {
		r.dataActions = append(r.dataActions, compilePattern(a))
	}
	for _, a := range d.NotDataActions {
		r.notDataActions = append(r.notDataActions, compilePattern(a))
	}
	return r
}

// allows reports whether the role grants action, through its Actions or
// its DataActions. Azure keeps the two apart, so that Owner's "*" or
// Reader's "*/read" never reach blob data; here they deliberately do: the
// only data action asked for is blob read (internal/blobapi), and Owner,
// Contributor and Reader of a storage account may read its audit logs. A
// DataActions pattern, in turn, can only match data-action names, which no
// control-plane route asks for.
func (r *compiledRole) allows(action string) bool {
	return matchAny(r.actions, action) && !matchAny(r.notActions, action) ||
		matchAny(r.dataActions, action) && !matchAny(r.notDataActions, action)
}

// compiledBuiltIns indexes the compiled built-in roles by GUID.
var compiledBuiltIns = func() map[string]*compiledRole {
	m := make(map[string]*compiledRole, len(builtIns))
	for _, d := range builtIns {
		m[d.ID] = compileRole(d)
	}
	return m
}()

// Definitions returns the built-in role definitions, ordered by name.
func Definitions() []RoleDefinition {
	out := make([]RoleDefinition, 0, len(builtIns))
	for _, d := range builtIns {
		out = append(out, d.clone())
	}
	slices.SortFunc(out, func(a, b RoleDefinition) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DefinitionByID returns a built-in role by its GUID or by its resource id,
// tenant-level (/providers/Microsoft.Authorization/roleDefinitions/{guid})
// or subscription-level (/subscriptions/{sub}/providers/...), compared
// case-insensitively. Which subscription a subscription-level id names is
// not checked here; see DefinitionSubscription.
func DefinitionByID(idOrGUID string) (RoleDefinition, bool) {
	guid := idOrGUID
	if strings.HasPrefix(idOrGUID, "/") {
		id, err := resource.Parse(idOrGUID)
		if err != nil || !isDefinitionID(id) {
			return RoleDefinition{}, false
		}
		guid = id.Name()
	}
	for _, d := range builtIns {
		if strings.EqualFold(d.ID, guid) {
			return d.clone(), true
		}
	}
	return RoleDefinition{}, false
}

// DefinitionSubscription returns the subscription a role definition
// resource id names, "" for a bare GUID or a tenant-level id.
func DefinitionSubscription(idOrGUID string) string {
	id, err := resource.Parse(idOrGUID)
	if err != nil || !isDefinitionID(id) {
		return ""
	}
	return id.SubscriptionID()
}

// isDefinitionID reports whether id is {/ or /subscriptions/{sub}}
// /providers/Microsoft.Authorization/roleDefinitions/{guid}.
func isDefinitionID(id resource.ID) bool {
	p := id.Parent()
	return strings.EqualFold(id.Type(), "Microsoft.Authorization/roleDefinitions") &&
		(p.Level() == resource.Tenant || p.Level() == resource.Subscription)
}

// DefinitionByName returns a built-in role by its roleName, compared
// case-insensitively (the $filter=roleName eq '...' of a list).
func DefinitionByName(name string) (RoleDefinition, bool) {
	for _, d := range builtIns {
		if strings.EqualFold(d.Name, name) {
			return d.clone(), true
		}
	}
	return RoleDefinition{}, false
}

// DefinitionResourceID returns the resource id of a role definition as
// role assignments carry it: subscription-level when subscriptionID is set
// (what Azure returns in roleDefinitionId), tenant-level otherwise.
func DefinitionResourceID(subscriptionID, guid string) string {
	scope := resource.Root
	if subscriptionID != "" {
		scope = resource.NewSubscription(subscriptionID)
	}
	return scope.Child("Microsoft.Authorization", "roleDefinitions", guid).String()
}

// clone returns d with its own slices, so a caller cannot change the
// built-in table.
func (d RoleDefinition) clone() RoleDefinition {
	d.Actions = slices.Clone(d.Actions)
	d.NotActions = slices.Clone(d.NotActions)
	d.DataActions = slices.Clone(d.DataActions)
	d.NotDataActions = slices.Clone(d.NotDataActions)
	d.AssignableScopes = slices.Clone(d.AssignableScopes)
	return d
}
