package portal

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/resource"
)

// One key vault's page: its properties, access policies, locks (with a
// Remove button each) and secrets (names and attributes; a value only
// after the person asks to reveal it, read as them and audited).

// policyRow is one access policy as shown.
type policyRow struct {
	ObjectID, TenantID, ApplicationID string
	Secrets, Keys, Certificates       []string
	You                               bool // the policy of the signed-in user
}

// lockRow is one lock that applies to the vault.
type lockRow struct {
	ID, Name, Level, Notes string
	// Scope says in words where the lock sits: on the vault or inherited
	// from its group or subscription.
	Scope string
}

// secretRow is one secret of the vault, without its value.
type secretRow struct {
	Name, ID, ContentType string
	Enabled               bool
	Updated               time.Time
}

// tagRow is one tag.
type tagRow struct{ Name, Value string }

// deviceLink is the edge resource whose secrets the vault escrows.
type deviceLink struct{ Name, URL string }

// vaultPageData is the vault page's data.
type vaultPageData struct {
	Group, Name, URL string
	Vault            arm.Vault
	PurgeProtection  bool
	Tags             []tagRow
	OperationTag     string // the edgevault-operation tag, on a vault the service made
	Device           *deviceLink
	Policies         []policyRow
	Locks            []lockRow
	LocksProblem     string // why the locks could not be listed
	Secrets          []secretRow
	SecretsProblem   string // why the secrets could not be listed
	Revealed         *revealed
	Notice, Problem  string
	// The access-policy form: its problem and object id, echoed.
	PolicyProblem, PolicyObjectID string
	Permissions                   []string // the secret permissions it offers

	yours        *policyRow // the user's access policy, if any
	secretsError error
}

// vaultPage shows a vault.
func (h *Handler) vaultPage(w http.ResponseWriter, r *http.Request) {
	group, name, ok := h.vaultParams(w, r)
	if !ok {
		return
	}
	d, err := h.loadVaultPage(r, group, name, true)
	if err != nil {
		h.vaultFailure(w, r, group, name, err)
		return
	}
	d.Notice = vaultNotices[r.URL.Query().Get("notice")]
	h.render(w, r, http.StatusOK, "vault", d)
}

// vaultFailure shows why the vault itself could not be read.
func (h *Handler) vaultFailure(w http.ResponseWriter, r *http.Request, group, name string, err error) {
	var e *apiError
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		h.fail(w, r, http.StatusNotFound, "Not found", "There is no key vault "+name+" in resource group "+group+
			". A deleted vault is listed under Deleted vaults on the Key vaults page, until it is purged.")
		return
	}
	h.apiFailure(w, r, err)
}

// loadVaultPage reads the vault, its locks and, with secrets, its secret
// list as the user. Only the vault's own read is an error; the locks and
// the secrets each say in words why they could not be read.
func (h *Handler) loadVaultPage(r *http.Request, group, name string, secrets bool) (vaultPageData, error) {
	ctx := r.Context()
	d := vaultPageData{Group: group, Name: name, URL: vaultURL(group, name), Permissions: secretPermissions}
	sub, err := h.subscription(ctx, r)
	if err != nil {
		return d, err
	}
	a, err := h.management(ctx, r, http.MethodGet, vaultPath(sub, group, name)+"?api-version="+keyVaultAPIVersion, nil, http.StatusOK)
	if err != nil {
		return d, err
	}
	if err := a.decode(&d.Vault); err != nil {
		return d, err
	}
	v := d.Vault
	d.PurgeProtection = v.Properties.EnablePurgeProtection != nil && *v.Properties.EnablePurgeProtection
	for k, val := range v.Tags {
		d.Tags = append(d.Tags, tagRow{k, val})
	}
	sort.Slice(d.Tags, func(i, j int) bool { return d.Tags[i].Name < d.Tags[j].Name })
	d.OperationTag = v.Tags[edgeOperationTag]
	me := sessionOf(ctx).user.ObjectID
	for _, p := range v.Properties.AccessPolicies {
		row := policyRow{ObjectID: p.ObjectID, TenantID: p.TenantID, ApplicationID: p.ApplicationID,
			Secrets: p.Permissions.Secrets, Keys: p.Permissions.Keys, Certificates: p.Permissions.Certificates,
			You: strings.EqualFold(p.ObjectID, me) && p.ApplicationID == ""}
		d.Policies = append(d.Policies, row)
	}
	for i := range d.Policies {
		if d.Policies[i].You {
			d.yours = &d.Policies[i]
		}
	}
	d.Locks, err = h.vaultLocks(r, sub, group, name, v.ID)
	if err != nil {
		if d.LocksProblem = refusalText(err, "The locks could not be read: "); d.LocksProblem == "" {
			return d, err
		}
	}
	if d.OperationTag != "" {
		d.Device = h.edgeOf(r, sub, group, v.ID)
	}
	if secrets {
		return d, h.loadSecrets(r, &d)
	}
	return d, nil
}

// loadSecrets lists the vault's secrets into d as the user; a refusal is
// d.SecretsProblem, and only another failure is an error.
func (h *Handler) loadSecrets(r *http.Request, d *vaultPageData) error {
	d.Secrets, d.secretsError = h.vaultSecrets(r, d.Vault.Properties.VaultURI)
	if d.secretsError != nil {
		if d.SecretsProblem = d.dataRefusal("list", d.secretsError); d.SecretsProblem == "" {
			return d.secretsError
		}
	}
	return nil
}

// refusalText is err in words when the API refused (a status below 500),
// after prefix; "" when err is not a refusal (the portal's or the
// server's failure).
func refusalText(err error, prefix string) string {
	var e *apiError
	if !errors.As(err, &e) || e.Status >= 500 {
		return ""
	}
	if e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized {
		return prefix + "your role assignments do not allow it. " + e.Message
	}
	return prefix + e.Message
}

// dataRefusal says in words why the vault's data plane refused perm: the
// secret permission the user lacks in the access policies, and what their
// policy grants. It is "" when err is not a refusal.
func (d *vaultPageData) dataRefusal(perm string, err error) string {
	var e *apiError
	if !errors.As(err, &e) || e.Status >= 500 {
		return ""
	}
	if e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized {
		return "The key vault refused: " + e.Message
	}
	s := "The key vault refused: your account needs the secret permission \"" + perm + "\" in this vault's access policies " +
		"(role assignments such as Owner do not give access to secret values). "
	switch {
	case d.yours == nil:
		s += "You are not in the vault's access policies. "
	case len(d.yours.Secrets) == 0:
		s += "Your access policy grants no secret permission. "
	default:
		s += "Your access policy grants the secret permissions " + strings.Join(d.yours.Secrets, ", ") + ". "
	}
	return s + "The vault said: " + e.Message
}

// vaultLocks lists the locks that apply to the vault as the user.
func (h *Handler) vaultLocks(r *http.Request, sub, group, name, vaultID string) ([]lockRow, error) {
	locks, err := listAll[arm.Lock](h, r, vaultPath(sub, group, name)+"/providers/Microsoft.Authorization/locks?api-version="+locksAPIVersion)
	if err != nil {
		return nil, err
	}
	rows := make([]lockRow, 0, len(locks))
	for _, l := range locks {
		row := lockRow{ID: l.ID, Name: l.Name, Level: l.Properties.Level, Notes: l.Properties.Notes, Scope: "this key vault"}
		if id, err := resource.Parse(l.ID); err == nil {
			switch scope := id.Parent(); {
			case strings.EqualFold(scope.String(), vaultID):
			case scope.Level() == resource.ResourceGroup:
				row.Scope = "resource group " + scope.ResourceGroupName() + " (inherited)"
			case scope.Level() == resource.Subscription:
				row.Scope = "the subscription (inherited)"
			default:
				row.Scope = scope.String()
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// maxEdgeLookups bounds the edge resources looked at to find a vault's.
const maxEdgeLookups = 10

// edgeOf finds, among the first edge resources of the vault's group, the
// one whose extended information names the vault as its secret store; nil
// when none does or the user may not read them.
func (h *Handler) edgeOf(r *http.Request, sub, group, vaultID string) *deviceLink {
	devices, err := listAll[arm.EdgeDevice](h, r, "/subscriptions/"+url.PathEscape(sub)+"/resourceGroups/"+url.PathEscape(group)+
		"/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices?api-version="+edgeAPIVersion)
	if err != nil {
		return nil
	}
	for i, dev := range devices {
		if i == maxEdgeLookups {
			break
		}
		a, err := h.management(r.Context(), r, http.MethodPost, devicePath(sub, group, dev.Name)+
			"/getExtendedInformation?api-version="+edgeAPIVersion, nil, http.StatusOK)
		var x arm.EdgeExtendedInfo
		if err != nil || a.decode(&x) != nil {
			continue
		}
		if strings.EqualFold(x.Properties.ClientSecretStoreID, vaultID) {
			return &deviceLink{Name: dev.Name, URL: resourceURL(group, dev.Name)}
		}
	}
	return nil
}

// revealVaultSecret reads one secret's current value as the user and
// shows it on the vault page. The form names the secret; its URL comes
// from the vault's own list, read as the user, never from the browser.
func (h *Handler) revealVaultSecret(w http.ResponseWriter, r *http.Request) {
	group, name, ok := h.vaultParams(w, r)
	if !ok {
		return
	}
	secret := r.PostFormValue("secret")
	d, err := h.loadVaultPage(r, group, name, true)
	if err != nil {
		h.vaultFailure(w, r, group, name, err)
		return
	}
	rv := &revealed{Name: secret}
	d.Revealed = rv
	var id string
	for _, s := range d.Secrets {
		if s.Name == secret {
			id = s.ID
		}
	}
	switch {
	case d.secretsError != nil:
		rv.Problem = "The secret could not be found without listing the vault. " + d.SecretsProblem
	case id == "":
		rv.Problem = "The vault has no secret of that name."
	default:
		value, err := h.vaultSecret(r.Context(), r, id)
		if err != nil {
			if rv.Problem = d.dataRefusal("get", err); rv.Problem == "" {
				h.internal(w, r, err)
				return
			}
			break
		}
		rv.Value = value
	}
	h.render(w, r, http.StatusOK, "vault", d)
}

// removeVaultLock removes one lock that applies to the vault, as the
// user, once the person has confirmed. The lock is named by its id, which
// must be one of the vault's locks as the API lists them for the user.
func (h *Handler) removeVaultLock(w http.ResponseWriter, r *http.Request) {
	group, name, ok := h.vaultParams(w, r)
	if !ok {
		return
	}
	lockID := r.PostFormValue("lock")
	d, err := h.loadVaultPage(r, group, name, false)
	if err != nil {
		h.vaultFailure(w, r, group, name, err)
		return
	}
	var target *lockRow
	for i := range d.Locks {
		if strings.EqualFold(d.Locks[i].ID, lockID) {
			target = &d.Locks[i]
		}
	}
	switch {
	case d.LocksProblem != "":
		d.Problem = d.LocksProblem
	case target == nil:
		d.Problem = "That lock no longer applies to this vault."
	case r.PostFormValue("confirm") != "yes":
		d.Problem = "Tick the box next to the lock " + target.Name + " to confirm that it should be removed."
	}
	if d.Problem != "" {
		h.showVaultAgain(w, r, http.StatusBadRequest, d)
		return
	}
	id, err := resource.Parse(target.ID)
	if err != nil || id.Type() != "Microsoft.Authorization/locks" {
		h.internal(w, r, errors.New("portal: the API listed a lock whose id is not a lock's"))
		return
	}
	_, err = h.management(r.Context(), r, http.MethodDelete, id.String()+"?api-version="+locksAPIVersion, nil,
		http.StatusOK, http.StatusNoContent)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized {
			d.Problem = "The lock could not be removed: " + e.Message
			h.showVaultAgain(w, r, e.Status, d)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	http.Redirect(w, r, d.URL+"?notice=lock-removed#locks", http.StatusSeeOther)
}

// showVaultAgain shows the vault page with d's problem, after an action
// that loaded the page without its secrets: the secrets are read now.
func (h *Handler) showVaultAgain(w http.ResponseWriter, r *http.Request, status int, d vaultPageData) {
	if err := h.loadSecrets(r, &d); err != nil {
		h.internal(w, r, err)
		return
	}
	h.render(w, r, status, "vault", d)
}

// HasOwnPolicy reports whether the signed-in user has an access policy
// with secret permissions: the page opens the add form when not.
func (d vaultPageData) HasOwnPolicy() bool { return d.yours != nil && len(d.yours.Secrets) > 0 }
