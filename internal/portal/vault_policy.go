package portal

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Adding an access policy on a vault's page: the Azure portal's "Access
// policies → Create". Role assignments (even Owner) manage a vault but do
// not open its data plane; a person who needs to read a secret adds an
// access policy, for themself (the default) or for another principal, if
// their role allows Microsoft.KeyVault/vaults/accessPolicies/write. The
// change is a PUT {vault}/accessPolicies/add as the user, so RBAC, locks
// and the audit trail decide as for the CLI.

// secretPermissions are the secret permissions the form offers, in Key
// Vault's order.
var secretPermissions = []string{"get", "list", "set", "delete", "recover", "backup", "restore", "purge"}

// objectIDRE is a principal's object id.
var objectIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// addAccessPolicy adds (or widens, as Key Vault's add does) the access
// policy of the object id the form names, with the secret permissions
// ticked.
func (h *Handler) addAccessPolicy(w http.ResponseWriter, r *http.Request) {
	group, name, ok := h.vaultParams(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The form is unreadable", err.Error())
		return
	}
	user := sessionOf(r.Context()).user
	objectID := strings.TrimSpace(r.PostForm.Get("objectId"))
	if objectID == "" {
		objectID = user.ObjectID
	}
	var perms []string
	for _, p := range r.PostForm["secrets"] {
		if !slices.Contains(secretPermissions, p) {
			h.fail(w, r, http.StatusBadRequest, "The form is unreadable", "Unknown secret permission.")
			return
		}
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	d, err := h.loadVaultPage(r, group, name, false)
	if err != nil {
		h.vaultFailure(w, r, group, name, err)
		return
	}
	switch {
	case !objectIDRE.MatchString(objectID):
		d.PolicyProblem = "Enter the object id of a user, service principal or managed identity (a GUID), or leave it empty for yourself."
	case len(perms) == 0:
		d.PolicyProblem = "Tick at least one secret permission."
	}
	if d.PolicyProblem != "" {
		d.PolicyObjectID = objectID
		h.showVaultAgain(w, r, http.StatusBadRequest, d)
		return
	}
	tenant := d.Vault.Properties.TenantID
	body := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{
		"tenantId": tenant, "objectId": strings.ToLower(objectID),
		"permissions": map[string]any{"secrets": perms, "keys": []string{}, "certificates": []string{}},
	}}}}
	sub, err := h.subscription(r.Context(), r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	_, err = h.management(r.Context(), r, http.MethodPut, vaultPath(sub, group, name)+"/accessPolicies/add?api-version="+keyVaultAPIVersion,
		body, http.StatusOK, http.StatusCreated)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusUnauthorized {
			d.PolicyProblem = "The access policy could not be added: " + e.Message
			d.PolicyObjectID = objectID
			h.showVaultAgain(w, r, e.Status, d)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	http.Redirect(w, r, d.URL+"?notice=policy-added#policies", http.StatusSeeOther)
}
