package keyvault

import (
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/google/uuid"
)

// MaxPolicies is the most access policies a vault holds
// (reference/keyvault-wire.md §3.3).
const MaxPolicies = 1024

// Permission names per object kind, in the spelling of the ARM enums
// (reference/keyvault-wire.md §3.3). Requests are matched against them
// ignoring case, as Azure does, and stored in this spelling, so secrets
// permissions are always lower-case on the wire.
var (
	keyPermissions = []string{"all", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list",
		"create", "update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate",
		"getrotationpolicy", "setrotationpolicy"}
	secretPermissions = []string{"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"}
	certPermissions   = []string{"all", "get", "list", "delete", "create", "import", "update", "managecontacts",
		"getissuers", "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"}
	storagePermissions = []string{"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge",
		"backup", "restore", "setsas", "listsas", "getsas", "deletesas"}
)

// PolicyUpdate is the operationKind of PUT .../accessPolicies/{kind}.
type PolicyUpdate string

const (
	PolicyAdd     PolicyUpdate = "add"
	PolicyReplace PolicyUpdate = "replace"
	PolicyRemove  PolicyUpdate = "remove"
)

// ParsePolicyUpdate accepts the three kinds in any case.
func ParsePolicyUpdate(s string) (PolicyUpdate, error) {
	for _, k := range []PolicyUpdate{PolicyAdd, PolicyReplace, PolicyRemove} {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	return "", errkind.E(errkind.Invalid, "The access policy operation '%s' is invalid; use add, replace or remove.", truncate(s))
}

// key identifies the principal a policy is for: a policy is per object,
// or per object acting through an application (compound identity).
func (p AccessPolicy) key() string {
	return strings.ToLower(p.ObjectID) + "|" + strings.ToLower(p.ApplicationID)
}

// empty reports whether the policy grants nothing.
func (p Permissions) empty() bool {
	return len(p.Keys)+len(p.Secrets)+len(p.Certificates)+len(p.Storage) == 0
}

// normalizePolicies checks policies for a vault of tenantID: the tenant
// must be the vault's, object and application ids GUIDs, each principal
// listed once, every permission known. It returns them in canonical form
// (lower-case ids, the enums' spelling, no repeated permission).
func normalizePolicies(tenantID string, in []AccessPolicy) ([]AccessPolicy, error) {
	out := make([]AccessPolicy, 0, len(in))
	seen := map[string]bool{}
	for i, p := range in {
		np, err := normalizePolicy(tenantID, i, p)
		if err != nil {
			return nil, err
		}
		if seen[np.key()] {
			return nil, errkind.E(errkind.Invalid,
				"The access policy for object id '%s' appears more than once; list each principal once.", np.ObjectID)
		}
		seen[np.key()] = true
		out = append(out, np)
	}
	return out, nil
}

func normalizePolicy(tenantID string, i int, p AccessPolicy) (AccessPolicy, error) {
	// All identities must use the vault's tenant (reference/keyvault-wire.md
	// §3.3): a principal of another tenant could never present a token the
	// vault accepts.
	if !strings.EqualFold(p.TenantID, tenantID) {
		return AccessPolicy{}, errkind.E(errkind.Invalid,
			"The tenant id '%s' of access policy %d is not the vault's tenant id '%s'; every access policy must use the vault's tenant.",
			truncate(p.TenantID), i, tenantID)
	}
	obj, err := guid(p.ObjectID, "objectId of access policy", i)
	if err != nil {
		return AccessPolicy{}, err
	}
	app := ""
	if p.ApplicationID != "" {
		if app, err = guid(p.ApplicationID, "applicationId of access policy", i); err != nil {
			return AccessPolicy{}, err
		}
	}
	perms := Permissions{}
	for _, kind := range []struct {
		name  string
		in    []string
		known []string
		out   *[]string
	}{
		{"keys", p.Permissions.Keys, keyPermissions, &perms.Keys},
		{"secrets", p.Permissions.Secrets, secretPermissions, &perms.Secrets},
		{"certificates", p.Permissions.Certificates, certPermissions, &perms.Certificates},
		{"storage", p.Permissions.Storage, storagePermissions, &perms.Storage},
	} {
		if *kind.out, err = canonical(kind.name, kind.in, kind.known); err != nil {
			return AccessPolicy{}, err
		}
	}
	return AccessPolicy{TenantID: strings.ToLower(tenantID), ObjectID: obj, ApplicationID: app, Permissions: perms}, nil
}

// canonical maps permissions to the enum's spelling, dropping repeats.
func canonical(kind string, in, known []string) ([]string, error) {
	out := []string{}
	for _, p := range in {
		i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, p) })
		if i < 0 {
			return nil, errkind.E(errkind.Invalid, "The %s permission '%s' is invalid. Valid %s permissions are: %s.",
				kind, truncate(p), kind, strings.Join(known, ", "))
		}
		if !slices.Contains(out, known[i]) {
			out = append(out, known[i])
		}
	}
	return out, nil
}

func guid(s, what string, i int) (string, error) {
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		return "", errkind.E(errkind.Invalid, "The %s %d, '%s', is not a GUID.", what, i, truncate(s))
	}
	return strings.ToLower(s), nil
}

// applyPolicyUpdate returns the vault's policies after an access-policy
// operation (reference/keyvault-wire.md §3.3). Each given entry is matched
// to the vault's by principal (object id and application id):
//   - add merges its permissions into the match, or appends it;
//   - replace sets the match's permissions, or appends it;
//   - remove takes its permissions away from the match, and drops the
//     match when nothing is left or when the entry lists no permission.
//
// Azure documents the three kinds without detail; this is the reading
// every client tested relies on.
func applyPolicyUpdate(cur []AccessPolicy, kind PolicyUpdate, given []AccessPolicy) []AccessPolicy {
	out := slices.Clone(cur)
	for _, g := range given {
		i := slices.IndexFunc(out, func(p AccessPolicy) bool { return p.key() == g.key() })
		switch {
		case kind == PolicyRemove && i < 0:
		case kind == PolicyRemove:
			p := out[i]
			if !g.Permissions.empty() {
				p.Permissions = Permissions{
					Keys: without(p.Permissions.Keys, g.Permissions.Keys), Secrets: without(p.Permissions.Secrets, g.Permissions.Secrets),
					Certificates: without(p.Permissions.Certificates, g.Permissions.Certificates),
					Storage:      without(p.Permissions.Storage, g.Permissions.Storage),
				}
			}
			if g.Permissions.empty() || p.Permissions.empty() {
				out = slices.Delete(out, i, i+1)
			} else {
				out[i] = p
			}
		case i < 0:
			out = append(out, g)
		case kind == PolicyReplace:
			out[i].Permissions = g.Permissions
		default: // add
			p := &out[i].Permissions
			p.Keys, p.Secrets = union(p.Keys, g.Permissions.Keys), union(p.Secrets, g.Permissions.Secrets)
			p.Certificates, p.Storage = union(p.Certificates, g.Permissions.Certificates), union(p.Storage, g.Permissions.Storage)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func without(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
