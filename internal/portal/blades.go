package portal

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/edgevault/edgevault/internal/client"
)

// The delete and recover blades: a confirmation form each, then the
// operation's progress page.

// deleteData is the delete blade's data.
type deleteData struct {
	Name, URL            string
	Confirm, DeleteVault string // echoed on error
	ConfirmErr, VaultErr string
	Problem              string
}

// deleteBlade shows the confirmation form: the person types the
// resource's name, and separately Yes to delete its key vault too.
func (h *Handler) deleteBlade(w http.ResponseWriter, r *http.Request) {
	group, name := r.PathValue("group"), r.PathValue("name")
	h.render(w, r, http.StatusOK, "delete", deleteData{Name: name, URL: resourceURL(group, name)})
}

// deleteResource deletes the resource (DELETE ?deleteKeyVault=) as the
// user once both confirmations are right.
func (h *Handler) deleteResource(w http.ResponseWriter, r *http.Request) {
	group, name := r.PathValue("group"), r.PathValue("name")
	d := deleteData{Name: name, URL: resourceURL(group, name), Confirm: r.PostFormValue("confirm"),
		DeleteVault: r.PostFormValue("deleteVault")}
	if d.Confirm != name {
		d.ConfirmErr = "Type the resource's name, " + name + ", exactly."
	}
	if d.DeleteVault != "" && d.DeleteVault != "Yes" {
		d.VaultErr = "Type Yes to delete the key vault too, or leave this empty to keep it."
	}
	if d.ConfirmErr != "" || d.VaultErr != "" {
		h.render(w, r, http.StatusBadRequest, "delete", d)
		return
	}
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	q := url.Values{"api-version": {edgeAPIVersion}, "deleteKeyVault": {"false"}}
	if d.DeleteVault == "Yes" {
		q.Set("deleteKeyVault", "true")
	}
	a, err := h.management(ctx, r, http.MethodDelete, devicePath(sub, group, name)+"?"+q.Encode(), nil,
		http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && (e.Status == http.StatusConflict || e.Status == http.StatusBadRequest) {
			d.Problem = e.Message // a lock, an operation running
			h.render(w, r, e.Status, "delete", d)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	if a.status != http.StatusAccepted {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	op, err := h.follow(r, a, group, name, "delete")
	if err != nil {
		h.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/operations/"+url.PathEscape(op.id), http.StatusSeeOther)
}

// recoverData is the recover blade's data.
type recoverData struct {
	Name, URL      string
	Overview       securityOverview
	Vault, Problem string
	Steps          []step // what recovery does, in order
}

// recoverBlade shows what recovery would do now, with the optional new
// vault name (needed when the old vault was purged).
func (h *Handler) recoverBlade(w http.ResponseWriter, r *http.Request) {
	h.showRecover(w, r, http.StatusOK, "", "")
}

func (h *Handler) showRecover(w http.ResponseWriter, r *http.Request, status int, vault, problem string) {
	o, err := h.readOverview(r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	group, name := r.PathValue("group"), r.PathValue("name")
	h.render(w, r, status, "recover", recoverData{Name: name, URL: resourceURL(group, name), Overview: o,
		Vault: vault, Problem: problem, Steps: completedSteps("recover", client.RecoverSteps[len(client.RecoverSteps)-1])})
}

// recoverVault starts recoverKeyVault as the user.
func (h *Handler) recoverVault(w http.ResponseWriter, r *http.Request) {
	group, name := r.PathValue("group"), r.PathValue("name")
	vault := r.PostFormValue("keyVaultName")
	if vault != "" && !vaultNameRE.MatchString(vault) {
		h.showRecover(w, r, http.StatusBadRequest, vault, vaultNameRule)
		return
	}
	var body any
	if vault != "" {
		body = map[string]string{"keyVaultName": vault}
	}
	op, err := h.start(r, group, name, "recover", "/recoverKeyVault", body)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && (e.Status == http.StatusConflict || e.Status == http.StatusBadRequest) {
			h.showRecover(w, r, e.Status, vault, e.Message)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	http.Redirect(w, r, "/operations/"+url.PathEscape(op.id), http.StatusSeeOther)
}
