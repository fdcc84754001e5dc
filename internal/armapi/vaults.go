package armapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
)

// Key Vault management plane: Microsoft.KeyVault/vaults, their access
// policies, deleted vaults and name checks (reference/keyvault-wire.md
// §3.2–3.4). The routes are {scope} patterns so that the router's
// provider-registration check, which reads the subscription from the
// scope, applies to them; each scope function admits only the level its
// operation lives at.

// RBAC actions of Microsoft.KeyVault (Azure's resource-provider
// operations list).
const (
	actVaultRead         = "Microsoft.KeyVault/vaults/read"
	actVaultWrite        = "Microsoft.KeyVault/vaults/write"
	actVaultDelete       = "Microsoft.KeyVault/vaults/delete"
	actAccessPolicyWrite = "Microsoft.KeyVault/vaults/accessPolicies/write"
	actDeletedVaultsRead = "Microsoft.KeyVault/deletedVaults/read"
	actDeletedVaultRead  = "Microsoft.KeyVault/locations/deletedVaults/read"
	actDeletedVaultPurge = "Microsoft.KeyVault/locations/deletedVaults/purge/action"
	actVaultCheckName    = "Microsoft.KeyVault/checkNameAvailability/read"
)

const (
	deletedVaultType = "Microsoft.KeyVault/deletedVaults"
	accessPolicyType = "Microsoft.KeyVault/vaults/accessPolicies"
)

// kvScope admits the route's {scope} when it is at one of levels and the
// subscription is the caller's; any other scope is not a path of the
// provider (ARM's 404).
func (h *Handler) kvScope(q *request, levels ...resource.Level) (resource.ID, error) {
	ok := false
	for _, l := range levels {
		ok = ok || q.scope.Level() == l
	}
	if !ok {
		return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "No HTTP resource was found that matches the request URI."}
	}
	q.vars["subscriptionId"] = q.scope.SubscriptionID()
	if _, err := h.subscriptionScope(q); err != nil {
		return resource.ID{}, err
	}
	return q.scope, nil
}

// vaultScope is the vault of the path.
func (h *Handler) vaultScope(q *request) (resource.ID, error) {
	group, err := h.kvScope(q, resource.ResourceGroup)
	if err != nil {
		return resource.ID{}, err
	}
	return group.Child(keyvault.Namespace, "vaults", q.vars["vaultName"]), nil
}

// vaultID is the vault of the path, once the guard has admitted it.
func vaultID(q *request) resource.ID {
	return q.scope.Child(keyvault.Namespace, "vaults", q.vars["vaultName"])
}

// vaultListScope is the group or subscription whose vaults are listed.
func (h *Handler) vaultListScope(q *request) (resource.ID, error) {
	return h.kvScope(q, resource.ResourceGroup, resource.Subscription)
}

// kvSubscriptionScope is the subscription of a subscription-level route.
func (h *Handler) kvSubscriptionScope(q *request) (resource.ID, error) {
	return h.kvScope(q, resource.Subscription)
}

// requireGroup fails as ARM does when the vault's group does not exist
// (ResourceGroupNotFound) or, for a change, is being deleted.
func (h *Handler) requireGroup(q *request, change bool) error {
	g, err := h.cfg.Groups.Get(q.ctx(), resource.NewResourceGroup(q.scope.SubscriptionID(), q.scope.ResourceGroupName()))
	if err == nil && change && g.ProvisioningState == resourcegroup.Deleting {
		return resourcegroup.ErrDeleting
	}
	return err
}

func (h *Handler) toVault(v keyvault.Vault) arm.Vault {
	out := arm.Vault{ID: v.ID.String(), Name: v.Name(), Type: keyvault.ResourceType, Location: v.Location, Tags: nonNilTags(v.Tags),
		SystemData: &arm.SystemData{CreatedBy: v.CreatedBy, CreatedAt: wireTime(v.CreatedAt), LastModifiedAt: wireTime(v.UpdatedAt)},
		Properties: arm.VaultProperties{
			TenantID: v.TenantID, SKU: arm.VaultSKU{Family: "A", Name: v.SKU}, AccessPolicies: toPolicies(v.Policies),
			VaultURI: h.cfg.Vaults.URI(v.Name()), EnabledForDeployment: v.EnabledForDeployment,
			EnabledForDiskEncryption: v.EnabledForDiskEncryption, EnabledForTemplateDeployment: v.EnabledForTemplateDeployment,
			EnableSoftDelete: true, SoftDeleteRetentionInDays: v.Retention, PublicNetworkAccess: v.PublicNetworkAccess,
			ProvisioningState: v.ProvisioningState,
		}}
	if v.PurgeProtection {
		on := true
		out.Properties.EnablePurgeProtection = &on
	}
	return out
}

func toPolicies(ps []keyvault.AccessPolicy) []arm.AccessPolicyEntry {
	out := make([]arm.AccessPolicyEntry, len(ps))
	for i, p := range ps {
		out[i] = arm.AccessPolicyEntry{TenantID: p.TenantID, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Permissions: arm.AccessPermissions{Keys: nonNil(p.Permissions.Keys), Secrets: nonNil(p.Permissions.Secrets),
				Certificates: nonNil(p.Permissions.Certificates), Storage: nonNil(p.Permissions.Storage)}}
	}
	return out
}

func fromPolicies(in []arm.AccessPolicyInput) []keyvault.AccessPolicy {
	if in == nil {
		return nil
	}
	out := make([]keyvault.AccessPolicy, len(in))
	for i, p := range in {
		out[i] = keyvault.AccessPolicy{TenantID: p.TenantID, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Permissions: keyvault.Permissions{Keys: p.Permissions.Keys, Secrets: p.Permissions.Secrets,
				Certificates: p.Permissions.Certificates, Storage: p.Permissions.Storage}}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// wireTime is ARM's RFC 3339 in UTC.
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// properties turns the wire properties into the domain's. Network rules
// are not a feature of this server: only a rule set that admits every
// caller is accepted, so a template cannot believe a firewall is on.
func properties(p *arm.VaultPutProperties) (keyvault.Properties, error) {
	if p == nil {
		return keyvault.Properties{}, nil
	}
	if acl := p.NetworkACLs; acl != nil && (len(acl.IPRules) > 0 || len(acl.VirtualNetworkRules) > 0 ||
		acl.DefaultAction != nil && !strings.EqualFold(*acl.DefaultAction, "Allow")) {
		return keyvault.Properties{}, &arm.Error{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Network rules (properties.networkAcls) are not supported by this server: use defaultAction 'Allow' with no IP or virtual network rules, or omit networkAcls."}
	}
	out := keyvault.Properties{
		TenantID: p.TenantID, Policies: fromPolicies(p.AccessPolicies), SoftDelete: p.EnableSoftDelete,
		Retention: p.SoftDeleteRetentionInDays, PurgeProtection: p.EnablePurgeProtection, RBACAuthorization: p.EnableRbacAuthorization,
		EnabledForDeployment: p.EnabledForDeployment, EnabledForDiskEncryption: p.EnabledForDiskEncryption,
		EnabledForTemplateDeployment: p.EnabledForTemplateDeployment, PublicNetworkAccess: p.PublicNetworkAccess,
	}
	if p.SKU != nil {
		out.SKUFamily, out.SKU = p.SKU.Family, p.SKU.Name
	}
	return out, nil
}

// normalizeLocation turns "West Europe" into "westeurope", as ARM does.
func normalizeLocation(loc string) (string, error) {
	l := strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	if l == "" || len(l) > 64 {
		return "", errkind.E(errkind.Invalid, "The location of the vault is required and must be a region name such as 'westeurope'.")
	}
	for _, c := range []byte(l) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", errkind.E(errkind.Invalid, "The location '%s' is not a region name.", truncate(loc))
		}
	}
	return l, nil
}

func (h *Handler) putVault(w http.ResponseWriter, q *request) {
	v, created, err := h.doPutVault(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	// provisioningState is Succeeded at once: the SDK's body poller is
	// done with the first answer (reference/keyvault-wire.md §3.2).
	_ = httpx.WriteJSON(w, status, h.toVault(v))
}

func (h *Handler) doPutVault(q *request) (keyvault.Vault, bool, error) {
	var body arm.VaultPut
	if err := arm.DecodeBody(q.Request, &body); err != nil {
		return keyvault.Vault{}, false, err
	}
	if err := h.requireGroup(q, true); err != nil {
		return keyvault.Vault{}, false, err
	}
	loc, err := normalizeLocation(body.Location)
	if err != nil {
		return keyvault.Vault{}, false, err
	}
	if err := resourcegroup.ValidateTags(body.Tags); err != nil {
		return keyvault.Vault{}, false, err
	}
	props, err := properties(body.Properties)
	if err != nil {
		return keyvault.Vault{}, false, err
	}
	spec := keyvault.Spec{Location: loc, Tags: body.Tags, Properties: props}
	if body.Properties != nil && body.Properties.CreateMode != nil {
		spec.CreateMode = keyvault.CreateMode(strings.ToLower(*body.Properties.CreateMode))
	}
	id := vaultID(q)
	return h.cfg.Vaults.Put(q.ctx(), q.caller.Principal, id, spec)
}

func (h *Handler) getVault(w http.ResponseWriter, q *request) {
	id := vaultID(q)
	err := h.requireGroup(q, false)
	var v keyvault.Vault
	if err == nil {
		v, err = h.cfg.Vaults.Get(q.ctx(), id)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toVault(v))
}

func (h *Handler) patchVault(w http.ResponseWriter, q *request) {
	var body arm.VaultPatch
	err := arm.DecodeBody(q.Request, &body)
	if err == nil {
		err = h.requireGroup(q, true)
	}
	if err == nil {
		err = resourcegroup.ValidateTags(body.Tags)
	}
	var props keyvault.Properties
	if err == nil {
		props, err = properties(body.Properties)
	}
	if err == nil && body.Properties != nil && body.Properties.CreateMode != nil &&
		!strings.EqualFold(*body.Properties.CreateMode, string(keyvault.CreateDefault)) {
		err = errkind.E(errkind.Invalid, "A vault is recovered with PUT and createMode 'recover', not with PATCH.")
	}
	var v keyvault.Vault
	if err == nil {
		id := vaultID(q)
		v, err = h.cfg.Vaults.Patch(q.ctx(), q.caller.Principal, id, keyvault.Patch{Tags: body.Tags, Properties: props})
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toVault(v))
}

// deleteVault soft-deletes: 200 when the vault existed, 204 when it did
// not (ARM's synchronous delete).
func (h *Handler) deleteVault(w http.ResponseWriter, q *request) {
	id := vaultID(q)
	err := h.requireGroup(q, false)
	existed := false
	if err == nil {
		existed, err = h.cfg.Vaults.Delete(q.ctx(), id)
	}
	switch {
	case err != nil:
		writeError(w, q.Request, err)
	case existed:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) updateAccessPolicies(w http.ResponseWriter, q *request) {
	kind, err := keyvault.ParsePolicyUpdate(q.vars["operationKind"])
	var body arm.VaultAccessPolicyInput
	if err == nil {
		err = arm.DecodeBody(q.Request, &body)
	}
	if err == nil && body.Properties == nil {
		err = errkind.E(errkind.Invalid, "The parameter properties.accessPolicies is required.")
	}
	if err == nil {
		err = h.requireGroup(q, true)
	}
	var v keyvault.Vault
	if err == nil {
		id := vaultID(q)
		v, err = h.cfg.Vaults.UpdateAccessPolicies(q.ctx(), id, kind, fromPolicies(body.Properties.AccessPolicies))
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	// The answer has the shape of Azure's example (id ending in
	// "/accessPolicies/"), and carries the vault's policies as they now are.
	_ = httpx.WriteJSON(w, http.StatusOK, arm.VaultAccessPolicyParameters{
		ID: v.ID.String() + "/accessPolicies/", Type: accessPolicyType,
		Properties: arm.VaultAccessPolicyProperties{AccessPolicies: toPolicies(v.Policies)},
	})
}

// listVaults pages through the live vaults of a group or a subscription.
func (h *Handler) listVaults(w http.ResponseWriter, q *request) {
	listInScope(h, w, q, h.cfg.Vaults.List, keyvault.Vault.Name, h.toVault)
}

func toDeletedVault(v keyvault.Vault) arm.DeletedVault {
	return arm.DeletedVault{ID: v.DeletedID().String(), Name: v.Name(), Type: deletedVaultType,
		Properties: arm.DeletedVaultProperties{VaultID: v.ID.String(), Location: v.Location, Tags: nonNilTags(v.Tags),
			DeletionDate: wireTime(v.DeletedAt), ScheduledPurgeDate: wireTime(v.ScheduledPurgeAt),
			PurgeProtectionEnabled: v.PurgeProtection}}
}

func (h *Handler) listDeletedVaults(w http.ResponseWriter, q *request) {
	page, err := arm.ParsePage(q.Request)
	var vs []keyvault.Vault
	if err == nil {
		vs, err = h.cfg.Vaults.ListDeleted(q.ctx(), q.scope.SubscriptionID(), page.After, page.Size+1)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.DeletedVault]{Value: []arm.DeletedVault{}}
	for i, v := range vs {
		if i == page.Size {
			out.NextLink = arm.NextLink(q.Request, h.cfg.Endpoint, strings.ToLower(vs[i-1].Name()))
			break
		}
		out.Value = append(out.Value, toDeletedVault(v))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getDeletedVault(w http.ResponseWriter, q *request) {
	v, err := h.cfg.Vaults.GetDeleted(q.ctx(), q.scope.SubscriptionID(), q.vars["location"], q.vars["vaultName"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toDeletedVault(v))
}

// purgeDeletedVault purges synchronously: 200 with no body ends the SDK's
// poller at once (reference/keyvault-wire.md §3.2).
func (h *Handler) purgeDeletedVault(w http.ResponseWriter, q *request) {
	if err := h.cfg.Vaults.Purge(q.ctx(), q.scope.SubscriptionID(), q.vars["location"], q.vars["vaultName"]); err != nil {
		writeError(w, q.Request, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) checkVaultName(w http.ResponseWriter, q *request) {
	var body arm.CheckNameAvailabilityRequest
	err := arm.DecodeBody(q.Request, &body)
	if err == nil && !strings.EqualFold(body.Type, keyvault.ResourceType) {
		err = errkind.E(errkind.Invalid, "The type '%s' is invalid; checkNameAvailability accepts 'Microsoft.KeyVault/vaults'.", truncate(body.Type))
	}
	var a keyvault.Availability
	if err == nil {
		a, err = h.cfg.Vaults.CheckName(q.ctx(), body.Name)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, arm.CheckNameAvailabilityResult{NameAvailable: a.Available, Reason: string(a.Reason), Message: a.Message})
}
