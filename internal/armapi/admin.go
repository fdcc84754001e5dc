package armapi

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// servicePrincipalJSON is the admin API's service principal. ClientSecret
// is set only in the response that creates or resets it.
type servicePrincipalJSON struct {
	ClientID        string `json:"clientId"`
	ObjectID        string `json:"objectId"`
	DisplayName     string `json:"displayName"`
	CreatedAt       string `json:"createdAt"`
	SecretCreatedAt string `json:"secretCreatedAt,omitempty"`
	ClientSecret    string `json:"clientSecret,omitempty"`
}

func toServicePrincipalJSON(p principal.Principal, secret sensitive.String, secretAt time.Time) servicePrincipalJSON {
	j := servicePrincipalJSON{
		ClientID: p.ClientID, ObjectID: p.ObjectID, DisplayName: p.DisplayName,
		CreatedAt:    p.CreatedAt.UTC().Format(time.RFC3339),
		ClientSecret: secret.Reveal(), // the one place a client secret leaves the server
	}
	if !secretAt.IsZero() {
		j.SecretCreatedAt = secretAt.UTC().Format(time.RFC3339)
	}
	return j
}

func (h *Handler) listServicePrincipals(w http.ResponseWriter, q *request) {
	r := q.Request
	c, _ := CallerOf(r.Context())
	sps, err := h.cfg.Principals.ServicePrincipals(r.Context(), c.Principal.TenantID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]servicePrincipalJSON, 0, len(sps))
	for _, p := range sps {
		out = append(out, toServicePrincipalJSON(p, sensitive.String{}, time.Time{}))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

// userJSON is the admin API's user: never a credential.
type userJSON struct {
	ObjectID    string `json:"objectId"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	CreatedAt   string `json:"createdAt"`
}

func (h *Handler) listUsers(w http.ResponseWriter, q *request) {
	users, err := h.cfg.Principals.Users(q.ctx(), q.caller.Principal.TenantID)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, userJSON{ObjectID: u.ObjectID, UserName: u.UserName, DisplayName: u.DisplayName,
			CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)})
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (h *Handler) createServicePrincipal(w http.ResponseWriter, q *request) {
	r := q.Request
	var body struct {
		DisplayName string `json:"displayName"`
	}
	if err := decodeJSON(r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	c, _ := CallerOf(r.Context())
	p, secret, err := h.cfg.Principals.CreateServicePrincipal(r.Context(), c.Principal.TenantID, body.DisplayName)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = httpx.WriteJSON(w, http.StatusCreated, toServicePrincipalJSON(p, secret, p.CreatedAt))
}

func (h *Handler) deleteServicePrincipal(w http.ResponseWriter, q *request) {
	r := q.Request
	c, _ := CallerOf(r.Context())
	clientID := q.vars["clientId"]
	if clientID == c.Principal.ClientID {
		writeError(w, r, errkind.E(errkind.Conflict, "A service principal cannot delete itself."))
		return
	}
	if err := h.cfg.Principals.DeleteServicePrincipal(r.Context(), c.Principal.TenantID, clientID); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) resetServicePrincipalSecret(w http.ResponseWriter, q *request) {
	r := q.Request
	c, _ := CallerOf(r.Context())
	p, secret, err := h.cfg.Principals.ResetClientSecret(r.Context(), c.Principal.TenantID, q.vars["clientId"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = httpx.WriteJSON(w, http.StatusOK, toServicePrincipalJSON(p, secret, time.Now()))
}

func (h *Handler) rotateSigningKey(w http.ResponseWriter, q *request) {
	r := q.Request
	rot, err := h.cfg.Tokens.Rotate(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := map[string]string{"kid": rot.KeyID, "previousKid": rot.PreviousKeyID}
	if !rot.PreviousRetiresAt.IsZero() {
		out["previousRetiresAt"] = rot.PreviousRetiresAt.UTC().Format(time.RFC3339)
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) rotateRootKey(w http.ResponseWriter, q *request) {
	r := q.Request
	id, err := h.cfg.RootKeys.RotateRootKey(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"rootKeyId": id})
}

// decodeJSON reads a JSON body strictly: one object, known fields only.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if httpx.IsTooLarge(err) {
			return errkind.E(errkind.TooLarge, "The request body is too large.")
		}
		return errkind.E(errkind.Invalid, "The request body is not valid JSON for this operation.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errkind.E(errkind.Invalid, "The request body must hold a single JSON object.")
	}
	return nil
}
