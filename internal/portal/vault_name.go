package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// checkVaultName answers the overview's as-you-type check of a key-vault
// name: the name rule here, then Key Vault's checkNameAvailability as the
// user. It changes nothing, so it is a GET without a CSRF token.
// "checked" is false when the API could not tell (no permission, provider
// not registered yet); the form then relies on the operation's own check.
func (h *Handler) checkVaultName(w http.ResponseWriter, r *http.Request) {
	type answer struct {
		Checked   bool   `json:"checked"`
		Available bool   `json:"available"`
		Message   string `json:"message,omitempty"`
	}
	w.Header().Set("Content-Type", "application/json")
	name := r.URL.Query().Get("name")
	if !vaultNameRE.MatchString(name) {
		_ = json.NewEncoder(w).Encode(answer{Checked: true, Message: vaultNameRule})
		return
	}
	sub, err := h.subscription(r.Context(), r)
	if err != nil {
		_ = json.NewEncoder(w).Encode(answer{})
		return
	}
	a, err := h.management(r.Context(), r, http.MethodPost, "/subscriptions/"+url.PathEscape(sub)+
		"/providers/Microsoft.KeyVault/checkNameAvailability?api-version="+keyVaultAPIVersion,
		map[string]string{"name": name, "type": "Microsoft.KeyVault/vaults"}, http.StatusOK)
	var res struct {
		NameAvailable bool   `json:"nameAvailable"`
		Message       string `json:"message"`
	}
	if err != nil || a.decode(&res) != nil {
		_ = json.NewEncoder(w).Encode(answer{})
		return
	}
	out := answer{Checked: true, Available: res.NameAvailable, Message: res.Message}
	if out.Available {
		out.Message = "The name is available."
	}
	_ = json.NewEncoder(w).Encode(out)
}
