package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/resource"
)

// The key vault pages: the vaults of the user's subscription and its
// soft-deleted vaults (recover, purge), one vault's page (vault_page.go:
// properties, access policies, locks, secrets and their reveal) and its
// delete blade (vault_delete.go). Like every page, they read and change
// through the management API and the vault data plane as the signed-in
// user; locks, access policies and purge protection decide, and the pages
// say in words what was refused and why.

// locksAPIVersion is the Microsoft.Authorization/locks version the portal
// speaks (arm.LocksVersions).
const locksAPIVersion = "2020-05-01"

// maxListPages bounds the pages of one list the portal follows: a page
// shows at most that many pages' worth of rows rather than wait forever.
const maxListPages = 20

// edgeOperationTag is the tag the service puts on a vault it created for
// an edge resource (activation.OperationTag): the operation that made it.
const edgeOperationTag = "edgevault-operation"

// vaultRoutes registers the key vault pages.
func (h *Handler) vaultRoutes() {
	h.mux.HandleFunc("GET /vaults", h.auth(h.vaultList))
	h.mux.HandleFunc("POST /vaults/deleted/{location}/{name}/recover", h.auth(h.recoverDeletedVault))
	h.mux.HandleFunc("POST /vaults/deleted/{location}/{name}/purge", h.auth(h.purgeDeletedVault))
	h.mux.HandleFunc("GET /vaults/{group}/{name}", h.auth(h.vaultPage))
	h.mux.HandleFunc("POST /vaults/{group}/{name}/reveal", h.auth(h.revealVaultSecret))
	h.mux.HandleFunc("POST /vaults/{group}/{name}/locks/remove", h.auth(h.removeVaultLock))
	h.mux.HandleFunc("POST /vaults/{group}/{name}/accessPolicies/add", h.auth(h.addAccessPolicy))
	h.mux.HandleFunc("GET /vaults/{group}/{name}/delete", h.auth(h.vaultDeleteBlade))
	h.mux.HandleFunc("POST /vaults/{group}/{name}/delete", h.auth(h.deleteVault))
}

// vaultNotices are the messages a redirect may ask a vault page to show,
// by key: the pages never print text from the URL.
var vaultNotices = map[string]string{
	"deleted":      "The key vault was deleted. It stays soft-deleted, and recoverable, until its scheduled purge date.",
	"purged":       "The deleted key vault was purged: it and its secrets are gone for good.",
	"recovered":    "The key vault was recovered with its properties, access policies and secrets.",
	"lock-removed": "The lock was removed.",
	"policy-added": "The access policy was added.",
}

// vaultURL is the portal's page of a key vault.
func vaultURL(group, name string) string {
	return "/vaults/" + url.PathEscape(group) + "/" + url.PathEscape(name)
}

// vaultPath is the ARM path of a key vault (without query).
func vaultPath(sub, group, name string) string {
	return "/subscriptions/" + url.PathEscape(sub) + "/resourceGroups/" + url.PathEscape(group) +
		"/providers/Microsoft.KeyVault/vaults/" + url.PathEscape(name)
}

// deletedVaultPath is the ARM path of a soft-deleted vault (without query).
func deletedVaultPath(sub, location, name string) string {
	return "/subscriptions/" + url.PathEscape(sub) + "/providers/Microsoft.KeyVault/locations/" + url.PathEscape(location) +
		"/deletedVaults/" + url.PathEscape(name)
}

// locationRE is a region name as ARM normalises it ("westeurope").
var locationRE = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

// vaultParams returns the page's group and vault name, or shows why they
// are not a vault's and returns false: names are checked before any call.
func (h *Handler) vaultParams(w http.ResponseWriter, r *http.Request) (group, name string, ok bool) {
	group, name = r.PathValue("group"), r.PathValue("name")
	if !nameRE.MatchString(group) || !vaultNameRE.MatchString(name) {
		h.fail(w, r, http.StatusNotFound, "Not found",
			"That is not a key vault's address: "+vaultNameRule+" A resource group name has letters, digits, . _ - ( ), up to 90 characters.")
		return "", "", false
	}
	return group, name, true
}

// listAll reads every page of an ARM list (up to maxListPages) as the user.
func listAll[T any](h *Handler, r *http.Request, target string) ([]T, error) {
	var out []T
	for i := 0; target != "" && i < maxListPages; i++ {
		a, err := h.management(r.Context(), r, http.MethodGet, target, nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := a.decode(&page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		target = page.NextLink
	}
	return out, nil
}

// unregistered reports whether err is the API's answer that the
// subscription has not registered Microsoft.KeyVault yet: then there is
// no vault, live or deleted, to list.
func unregistered(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Code == "MissingSubscriptionRegistration"
}

// vaultRow is one line of the vault list.
type vaultRow struct {
	Name, Group, Location, State, URL string
	Edge                              bool // made by the service for an edge resource
}

// deletedRow is one soft-deleted vault.
type deletedRow struct {
	Name, Location, Group string
	Deleted, PurgeAfter   time.Time
	PurgeProtection       bool
	Edge                  bool   // made by the service for an edge resource
	Action                string // /vaults/deleted/{location}/{name}
}

// vaultsData is the Key vaults page's data.
type vaultsData struct {
	Subscription string
	Vaults       []vaultRow
	Deleted      []deletedRow
	Notice       string
	// Problem is why an action on the deleted vault ProblemVault failed;
	// Confirm echoes what was typed in its purge confirmation.
	Problem, ProblemVault, Confirm string
}

// vaultList shows the live and the soft-deleted vaults of the user's
// subscription.
func (h *Handler) vaultList(w http.ResponseWriter, r *http.Request) {
	h.showVaults(w, r, http.StatusOK, vaultsData{Notice: vaultNotices[r.URL.Query().Get("notice")]})
}

func (h *Handler) showVaults(w http.ResponseWriter, r *http.Request, status int, d vaultsData) {
	sub, err := h.subscription(r.Context(), r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	d.Subscription = sub
	prefix := "/subscriptions/" + url.PathEscape(sub) + "/providers/Microsoft.KeyVault/"
	live, err := listAll[arm.Vault](h, r, prefix+"vaults?api-version="+keyVaultAPIVersion)
	if err != nil && !unregistered(err) {
		h.apiFailure(w, r, err)
		return
	}
	deleted, err := listAll[arm.DeletedVault](h, r, prefix+"deletedVaults?api-version="+keyVaultAPIVersion)
	if err != nil && !unregistered(err) {
		h.apiFailure(w, r, err)
		return
	}
	d.Vaults = make([]vaultRow, 0, len(live))
	for _, v := range live {
		id, err := resource.Parse(v.ID)
		if err != nil {
			continue
		}
		_, edge := v.Tags[edgeOperationTag]
		d.Vaults = append(d.Vaults, vaultRow{Name: v.Name, Group: id.ResourceGroupName(), Location: v.Location,
			State: v.Properties.ProvisioningState, URL: vaultURL(id.ResourceGroupName(), v.Name), Edge: edge})
	}
	sort.Slice(d.Vaults, func(i, j int) bool { return strings.ToLower(d.Vaults[i].Name) < strings.ToLower(d.Vaults[j].Name) })
	d.Deleted = make([]deletedRow, 0, len(deleted))
	for _, v := range deleted {
		row := deletedRow{Name: v.Name, Location: v.Properties.Location, PurgeProtection: v.Properties.PurgeProtectionEnabled,
			Action: "/vaults/deleted/" + url.PathEscape(v.Properties.Location) + "/" + url.PathEscape(v.Name)}
		_, row.Edge = v.Properties.Tags[edgeOperationTag]
		if id, err := resource.Parse(v.Properties.VaultID); err == nil {
			row.Group = id.ResourceGroupName()
		}
		row.Deleted, _ = time.Parse(time.RFC3339, v.Properties.DeletionDate)
		row.PurgeAfter, _ = time.Parse(time.RFC3339, v.Properties.ScheduledPurgeDate)
		d.Deleted = append(d.Deleted, row)
	}
	sort.Slice(d.Deleted, func(i, j int) bool { return strings.ToLower(d.Deleted[i].Name) < strings.ToLower(d.Deleted[j].Name) })
	// A problem with a vault no longer listed is shown above the lists.
	if !slices.ContainsFunc(d.Deleted, func(row deletedRow) bool { return row.Name == d.ProblemVault }) {
		d.ProblemVault = ""
	}
	h.render(w, r, status, "vaults", d)
}

// deletedParams returns the deleted vault's location and name, or shows
// the list with why they are not a deleted vault's and returns false.
func (h *Handler) deletedParams(w http.ResponseWriter, r *http.Request) (location, name string, ok bool) {
	location, name = r.PathValue("location"), r.PathValue("name")
	if !locationRE.MatchString(location) || !vaultNameRE.MatchString(name) {
		h.fail(w, r, http.StatusNotFound, "Not found", "That is not a deleted key vault's address.")
		return "", "", false
	}
	return location, name, true
}

// refusedInWords shows err on the Key vaults page, next to the deleted
// vault it concerns, when it is a refusal the person can act on (a
// conflict, purge protection, a lock, an invalid request); anything else
// is apiFailure's.
func (h *Handler) refusedInWords(w http.ResponseWriter, r *http.Request, name string, err error, d vaultsData) {
	var e *apiError
	if !errors.As(err, &e) || e.Status >= 500 || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		h.apiFailure(w, r, err)
		return
	}
	d.ProblemVault, d.Problem = name, e.Message
	switch {
	case e.Code == "ScopeLocked":
		d.Problem = "A lock forbids this: " + e.Message
	case e.Status == http.StatusMethodNotAllowed: // purge protection
		d.Problem = "Purge protection is on for this vault: nobody can purge it before its scheduled purge date; " +
			"it will be purged automatically then. " + e.Message
	case e.Code == "DeletedVaultNotFound" || e.Code == "SoftDeletedVaultDoesNotExist":
		d.Problem = "The deleted vault is no longer there (recovered or purged meanwhile). " + e.Message
	case e.Code == "ResourceGroupNotFound":
		d.Problem = "A vault is recovered into its original resource group, which no longer exists: create it again first. " + e.Message
	}
	status := e.Status
	if status == http.StatusNotFound {
		status = http.StatusConflict // the page exists; the vault is what is gone
	}
	h.showVaults(w, r, status, d)
}

// recoverDeletedVault recovers a soft-deleted vault as the user: a PUT of
// the vault's original id with createMode "recover". The original group
// comes from the deleted vault's properties.vaultId, read from the API,
// never from the browser.
func (h *Handler) recoverDeletedVault(w http.ResponseWriter, r *http.Request) {
	location, name, ok := h.deletedParams(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	dv, err := h.deletedVault(ctx, r, sub, location, name)
	if err != nil {
		h.refusedInWords(w, r, name, err, vaultsData{})
		return
	}
	id, err := resource.Parse(dv.Properties.VaultID)
	if err != nil || id.Type() != "Microsoft.KeyVault/vaults" || !strings.EqualFold(id.SubscriptionID(), sub) {
		h.internal(w, r, errors.New("portal: the deleted vault's vaultId is not a vault of the subscription"))
		return
	}
	group := id.ResourceGroupName()
	body := map[string]any{"location": dv.Properties.Location, "properties": map[string]string{"createMode": "recover"}}
	_, err = h.management(ctx, r, http.MethodPut, vaultPath(sub, group, id.Name())+"?api-version="+keyVaultAPIVersion, body,
		http.StatusOK, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		h.refusedInWords(w, r, name, err, vaultsData{})
		return
	}
	// The server recovers synchronously; were it to answer 202, the
	// vault's page shows its provisioning state.
	http.Redirect(w, r, vaultURL(group, id.Name())+"?notice=recovered", http.StatusSeeOther)
}

// deletedVault reads one soft-deleted vault as the user.
func (h *Handler) deletedVault(ctx context.Context, r *http.Request, sub, location, name string) (arm.DeletedVault, error) {
	var dv arm.DeletedVault
	a, err := h.management(ctx, r, http.MethodGet, deletedVaultPath(sub, location, name)+"?api-version="+keyVaultAPIVersion, nil, http.StatusOK)
	if err != nil {
		return dv, err
	}
	return dv, a.decode(&dv)
}

// purgeDeletedVault purges a soft-deleted vault as the user, once its name
// has been typed back.
func (h *Handler) purgeDeletedVault(w http.ResponseWriter, r *http.Request) {
	location, name, ok := h.deletedParams(w, r)
	if !ok {
		return
	}
	confirm := r.PostFormValue("confirm")
	if confirm != name {
		h.showVaults(w, r, http.StatusBadRequest, vaultsData{ProblemVault: name, Confirm: confirm,
			Problem: "Type the vault's name, " + name + ", exactly, to purge it."})
		return
	}
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	_, err = h.management(ctx, r, http.MethodPost, deletedVaultPath(sub, location, name)+"/purge?api-version="+keyVaultAPIVersion, nil,
		http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		h.refusedInWords(w, r, name, err, vaultsData{Confirm: confirm})
		return
	}
	http.Redirect(w, r, "/vaults?notice=purged", http.StatusSeeOther)
}
