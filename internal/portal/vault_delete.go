package portal

import (
	"errors"
	"net/http"
)

// The delete blade of a key vault: the person types the vault's name
// back; the portal then soft-deletes the vault as them. A lock (the
// service's CanNotDelete lock on an edge resource's vault) refuses the
// delete, and the blade says so with a link to the vault's locks.

// vaultDeleteData is the delete blade's data.
type vaultDeleteData struct {
	Group, Name, URL string
	Confirm          string // echoed on error
	ConfirmErr       string
	Problem          string
	Locked           bool // the refusal was a lock's
}

// vaultDeleteBlade shows the confirmation form.
func (h *Handler) vaultDeleteBlade(w http.ResponseWriter, r *http.Request) {
	group, name, ok := h.vaultParams(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "vault_delete", vaultDeleteData{Group: group, Name: name, URL: vaultURL(group, name)})
}

// deleteVault soft-deletes the vault as the user once its name has been
// typed back exactly.
func (h *Handler) deleteVault(w http.ResponseWriter, r *http.Request) {
	group, name, ok := h.vaultParams(w, r)
	if !ok {
		return
	}
	d := vaultDeleteData{Group: group, Name: name, URL: vaultURL(group, name), Confirm: r.PostFormValue("confirm")}
	if d.Confirm != name {
		d.ConfirmErr = "Type the vault's name, " + name + ", exactly."
		h.render(w, r, http.StatusBadRequest, "vault_delete", d)
		return
	}
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	a, err := h.management(ctx, r, http.MethodDelete, vaultPath(sub, group, name)+"?api-version="+keyVaultAPIVersion, nil,
		http.StatusOK, http.StatusNoContent)
	var e *apiError
	switch {
	case errors.As(err, &e) && e.Status == http.StatusConflict:
		d.Locked = e.Code == "ScopeLocked"
		d.Problem = e.Message
		if d.Locked {
			d.Problem = "A lock forbids deleting this vault. Remove the lock first (you need permission to delete locks), " +
				"then delete the vault. " + e.Message
		}
		h.render(w, r, e.Status, "vault_delete", d)
	case errors.As(err, &e) && e.Status == http.StatusBadRequest:
		d.Problem = e.Message
		h.render(w, r, e.Status, "vault_delete", d)
	case err != nil:
		h.apiFailure(w, r, err)
	case a.status == http.StatusNoContent: // there was no such vault
		h.fail(w, r, http.StatusNotFound, "Not found", "There is no key vault "+name+" in resource group "+group+" to delete.")
	default:
		http.Redirect(w, r, "/vaults?notice=deleted", http.StatusSeeOther)
	}
}
