package portal

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/client"
)

// The edge resource's pages beside the Overview and the Security page:
// its alerts, its activation keys (listed on the Overview, revoked here),
// the blade that reconfigures its managed identity, and sending a
// customer secret to the device from the Security page.

// deviceRoutes registers the alerts page, key revocation and the
// reconfigure blade.
func (h *Handler) deviceRoutes() {
	h.mux.HandleFunc("GET /resources/{group}/{name}/alerts", h.auth(h.alerts))
	h.mux.HandleFunc("POST /resources/{group}/{name}/keys/revoke", h.auth(h.revokeKeys))
	h.mux.HandleFunc("GET /resources/{group}/{name}/reconfigure", h.auth(h.reconfigureBlade))
	h.mux.HandleFunc("POST /resources/{group}/{name}/reconfigure", h.auth(h.reconfigure))
	h.mux.HandleFunc("POST /resources/{group}/{name}/security/send", h.auth(h.sendSecret))
}

// severityRank orders alerts most severe first.
var severityRank = map[string]int{"Critical": 0, "Warning": 1, "Informational": 2}

// alertsData is the Alerts page's data.
type alertsData struct {
	Name, URL string
	Alerts    []arm.EdgeAlert
}

// alerts lists the resource's active alerts, most severe and most recent
// first. An alert leaves the list when its cause is gone.
func (h *Handler) alerts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	group, name := r.PathValue("group"), r.PathValue("name")
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	a, err := h.management(ctx, r, http.MethodGet, devicePath(sub, group, name)+"/alerts?api-version="+edgeAPIVersion, nil,
		http.StatusOK)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	var list arm.List[arm.EdgeAlert]
	if err := a.decode(&list); err != nil {
		h.internal(w, r, err)
		return
	}
	slices.SortStableFunc(list.Value, func(x, y arm.EdgeAlert) int {
		if c := cmp.Compare(rank(x.Properties.Severity), rank(y.Properties.Severity)); c != 0 {
			return c
		}
		return y.Properties.AppearedAtDateTime.Compare(x.Properties.AppearedAtDateTime)
	})
	h.render(w, r, http.StatusOK, "alerts", alertsData{Name: name, URL: resourceURL(group, name), Alerts: list.Value})
}

func rank(severity string) int {
	if r, ok := severityRank[severity]; ok {
		return r
	}
	return len(severityRank)
}

// activationKeys lists the resource's activation keys (never their
// values: the API keeps only hashes) for the Overview.
func (h *Handler) activationKeys(r *http.Request, sub, group, name string) ([]arm.ActivationKeyInfo, error) {
	a, err := h.management(r.Context(), r, http.MethodGet, devicePath(sub, group, name)+"/activationKeys?api-version="+edgeAPIVersion,
		nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var list arm.List[arm.ActivationKeyInfo]
	if err := a.decode(&list); err != nil {
		return nil, err
	}
	slices.SortStableFunc(list.Value, func(x, y arm.ActivationKeyInfo) int { return y.CreatedAt.Compare(x.CreatedAt) })
	return list.Value, nil
}

// revokeKeys revokes the resource's unused activation keys as the user,
// or the one the form names.
func (h *Handler) revokeKeys(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	group, name := r.PathValue("group"), r.PathValue("name")
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	body := arm.RevokeActivationKeysRequest{KeyIDs: []string{}}
	if id := r.PostFormValue("key"); id != "" {
		body.KeyIDs = []string{id}
	}
	a, err := h.management(ctx, r, http.MethodPost, devicePath(sub, group, name)+"/revokeActivationKeys?api-version="+edgeAPIVersion,
		body, http.StatusOK)
	var e *apiError
	switch {
	case errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized &&
		e.Status != http.StatusNotFound:
		h.showOverview(w, r, e.Status, "", e.Message)
		return
	case err != nil:
		h.apiFailure(w, r, err)
		return
	}
	var out arm.RevokeActivationKeysResponse
	if err := a.decode(&out); err != nil {
		h.internal(w, r, err)
		return
	}
	notice := "revoked-none"
	if len(out.Revoked) > 0 {
		notice = "revoked"
	}
	http.Redirect(w, r, resourceURL(group, name)+"?notice="+notice+"#activation-keys", http.StatusSeeOther)
}

// reconfigureData is the reconfigure blade's data.
type reconfigureData struct {
	Name, URL string
	Overview  securityOverview
	Steps     []step
	Problem   string
}

// reconfigureBlade says what reconfiguring does and the identity's state
// now.
func (h *Handler) reconfigureBlade(w http.ResponseWriter, r *http.Request) {
	h.showReconfigure(w, r, http.StatusOK, "")
}

func (h *Handler) showReconfigure(w http.ResponseWriter, r *http.Request, status int, problem string) {
	o, err := h.readOverview(r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	group, name := r.PathValue("group"), r.PathValue("name")
	h.render(w, r, status, "reconfigure", reconfigureData{Name: name, URL: resourceURL(group, name), Overview: o,
		Steps: completedSteps("reconfigure", client.ReconfigureSteps[len(client.ReconfigureSteps)-1]), Problem: problem})
}

// reconfigure starts reconfigureManagedIdentity as the user and follows
// it on the progress page.
func (h *Handler) reconfigure(w http.ResponseWriter, r *http.Request) {
	op, err := h.start(r, r.PathValue("group"), r.PathValue("name"), "reconfigure", "/reconfigureManagedIdentity", nil)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && (e.Status == http.StatusConflict || e.Status == http.StatusBadRequest) {
			h.showReconfigure(w, r, e.Status, e.Message)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	http.Redirect(w, r, "/operations/"+url.PathEscape(op.id), http.StatusSeeOther)
}

// sendSecret sends a customer secret to the device (sendSecret) as the
// user: the service seals it under the device's channel integrity key and
// the device takes it at its next heartbeat. The value is never shown
// again, not even when the form comes back with a problem.
func (h *Handler) sendSecret(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	group, name := r.PathValue("group"), r.PathValue("name")
	secret, value := r.PostFormValue("secretName"), r.PostFormValue("secretValue")
	problem := ""
	switch {
	case secret == "":
		problem = "Enter the secret's name."
	case value == "":
		problem = "Enter the secret's value."
	}
	if problem == "" {
		sub, err := h.subscription(ctx, r)
		if err != nil {
			h.apiFailure(w, r, err)
			return
		}
		_, err = h.management(ctx, r, http.MethodPost, devicePath(sub, group, name)+"/sendSecret?api-version="+edgeAPIVersion,
			arm.EdgeSendSecretRequest{Name: secret, Value: value}, http.StatusOK)
		var e *apiError
		switch {
		case errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized &&
			e.Status != http.StatusNotFound:
			problem = e.Message
		case err != nil:
			h.apiFailure(w, r, err)
			return
		default:
			http.Redirect(w, r, resourceURL(group, name)+"/security?notice=sent#send", http.StatusSeeOther)
			return
		}
	}
	o, err := h.readOverview(r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	audit, err := h.securityAudit(r, o)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	h.render(w, r, http.StatusBadRequest, "security", securityData{Group: group, Name: name, URL: resourceURL(group, name),
		VaultURL: vaultPageURL(o), Overview: o, Audit: audit, SendName: secret, SendProblem: problem})
}
