package portal

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/resource"
)

// deviceRow is one line of the resource list.
type deviceRow struct {
	Name, Group, Location, Status, SKU string
	URL                                string // its Overview
}

// resourceList shows the edge resources of the user's subscription and a
// form to create one.
func (h *Handler) resourceList(w http.ResponseWriter, r *http.Request) {
	h.showResourceList(w, r, http.StatusOK, createForm{SKU: "EdgeP_Base"}, "")
}

type createForm struct {
	Name, Group, Location, SKU string
}

func (h *Handler) showResourceList(w http.ResponseWriter, r *http.Request, status int, form createForm, problem string) {
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	a, err := h.management(ctx, r, http.MethodGet, "/subscriptions/"+url.PathEscape(sub)+
		"/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices?api-version="+edgeAPIVersion, nil, http.StatusOK)
	var list struct {
		Value []arm.EdgeDevice `json:"value"`
	}
	var e *apiError
	switch {
	case errors.As(err, &e) && e.Code == "MissingSubscriptionRegistration":
		// The provider is not registered yet: there is no resource to
		// list; creating the first one registers it.
	case err != nil:
		h.apiFailure(w, r, err)
		return
	default:
		if err := a.decode(&list); err != nil {
			h.internal(w, r, err)
			return
		}
	}
	rows := make([]deviceRow, 0, len(list.Value))
	for _, d := range list.Value {
		id, err := resource.Parse(d.ID)
		if err != nil {
			continue
		}
		rows = append(rows, deviceRow{Name: d.Name, Group: id.ResourceGroupName(), Location: d.Location,
			Status: d.Properties.DataBoxEdgeDeviceStatus, SKU: d.SKU.Name, URL: resourceURL(id.ResourceGroupName(), d.Name)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	// The user's resource groups are offered in the create form; a name
	// not among them makes a new group.
	var groups []string
	if a, err := h.management(ctx, r, http.MethodGet, "/subscriptions/"+url.PathEscape(sub)+"/resourcegroups?api-version="+
		providerAPIVersion, nil, http.StatusOK); err == nil {
		var gl struct {
			Value []struct{ Name string } `json:"value"`
		}
		if a.decode(&gl) == nil {
			for _, g := range gl.Value {
				groups = append(groups, g.Name)
			}
			sort.Strings(groups)
		}
	}
	h.render(w, r, status, "resources", map[string]any{"Subscription": sub, "Devices": rows, "Form": form, "Problem": problem,
		"Groups": groups})
}

// nameRE is what the portal accepts as a resource or group name before
// asking the API, which has the final word.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._()-]{0,89}$`)

// createResource creates an edge resource (PUT) as the user.
func (h *Handler) createResource(w http.ResponseWriter, r *http.Request) {
	f := createForm{Name: r.PostFormValue("name"), Group: r.PostFormValue("group"),
		Location: r.PostFormValue("location"), SKU: r.PostFormValue("sku")}
	if f.SKU == "" {
		f.SKU = "EdgeP_Base"
	}
	if !nameRE.MatchString(f.Name) || !nameRE.MatchString(f.Group) || f.Location == "" {
		h.showResourceList(w, r, http.StatusBadRequest, f,
			"Enter a name and a resource group (letters, digits, . _ - ( ), up to 90 characters) and a location.")
		return
	}
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	body := map[string]any{
		"location": f.Location, "kind": "AzureStackEdge",
		"sku":      map[string]string{"name": f.SKU, "tier": "Standard"},
		"identity": map[string]string{"type": "SystemAssigned"},
	}
	put := func() error {
		_, err := h.management(ctx, r, http.MethodPut, devicePath(sub, f.Group, f.Name)+"?api-version="+edgeAPIVersion, body,
			http.StatusOK, http.StatusCreated)
		return err
	}
	err = put()
	// Like the Azure portal and SDKs, register the provider for the user
	// (as the user: it needs the register permission) and try again; and
	// like the Azure portal's "Create new", make a resource group that
	// does not exist yet, in the resource's location.
	var e *apiError
	if errors.As(err, &e) && e.Code == "MissingSubscriptionRegistration" {
		if _, err = h.management(ctx, r, http.MethodPost, "/subscriptions/"+url.PathEscape(sub)+
			"/providers/Microsoft.DataBoxEdge/register?api-version="+providerAPIVersion, nil, http.StatusOK); err == nil {
			err = put()
		}
	}
	if errors.As(err, &e) && e.Code == "ResourceGroupNotFound" {
		if _, err = h.management(ctx, r, http.MethodPut, "/subscriptions/"+url.PathEscape(sub)+"/resourcegroups/"+
			url.PathEscape(f.Group)+"?api-version="+providerAPIVersion, map[string]string{"location": f.Location},
			http.StatusOK, http.StatusCreated); err == nil {
			err = put()
		}
	}
	if err != nil {
		if errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized {
			h.showResourceList(w, r, http.StatusBadRequest, f, e.Message)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	// The resource's key vault will need Microsoft.KeyVault; registering
	// it now (as the Azure portal registers what a deployment needs) lets
	// the Overview check a vault name as it is typed. Best effort: without
	// the right, generateActivationKey says what is missing.
	if _, err := h.management(ctx, r, http.MethodPost, "/subscriptions/"+url.PathEscape(sub)+
		"/providers/Microsoft.KeyVault/register?api-version="+providerAPIVersion, nil, http.StatusOK); err != nil {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "portal: Microsoft.KeyVault not registered", slog.String("error", err.Error()))
	}
	http.Redirect(w, r, resourceURL(f.Group, f.Name), http.StatusSeeOther)
}

// resourceURL is the portal's page of an edge resource.
func resourceURL(group, name string) string {
	return "/resources/" + url.PathEscape(group) + "/" + url.PathEscape(name)
}

// overviewData is the Overview page's data.
type overviewData struct {
	Group    string
	Device   arm.EdgeDevice
	Extended arm.EdgeExtendedInfoProperties
	Secrets  []string
	Problem  string
	Vault    string // the generate form's key-vault name, echoed on error
	URL      string
	Keys     []arm.ActivationKeyInfo
	Notice   string
}

// overview shows an edge resource: status, identity, extended info and
// the "Generate activation key" form.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	h.showOverview(w, r, http.StatusOK, "", "")
}

func (h *Handler) showOverview(w http.ResponseWriter, r *http.Request, status int, vault, problem string) {
	ctx := r.Context()
	group, name := r.PathValue("group"), r.PathValue("name")
	sub, err := h.subscription(ctx, r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	p := devicePath(sub, group, name)
	a, err := h.management(ctx, r, http.MethodGet, p+"?api-version="+edgeAPIVersion, nil, http.StatusOK)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	d := overviewData{Group: group, Problem: problem, Vault: vault, URL: resourceURL(group, name)}
	if err := a.decode(&d.Device); err != nil {
		h.internal(w, r, err)
		return
	}
	a, err = h.management(ctx, r, http.MethodPost, p+"/getExtendedInformation?api-version="+edgeAPIVersion, nil, http.StatusOK)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	var x arm.EdgeExtendedInfo
	if err := a.decode(&x); err != nil {
		h.internal(w, r, err)
		return
	}
	d.Extended = x.Properties
	for s := range x.Properties.DeviceSecrets {
		d.Secrets = append(d.Secrets, s)
	}
	sort.Strings(d.Secrets)
	if d.Keys, err = h.activationKeys(r, sub, group, name); err != nil {
		h.apiFailure(w, r, err)
		return
	}
	d.Notice = notices[r.URL.Query().Get("notice")]
	h.render(w, r, status, "overview", d)
}

// vaultNameRE is Key Vault's name rule: 3–24 characters, letters, digits
// and hyphens, starting with a letter, no consecutive or trailing hyphen.
var vaultNameRE = regexp.MustCompile(`^[A-Za-z](?:[A-Za-z0-9]|-[A-Za-z0-9]){2,23}$`)

// vaultNameRule says the rule in words, next to the field.
const vaultNameRule = "A key vault name has 3 to 24 characters: letters, digits and single hyphens, starting with a letter."

// generate starts generateActivationKey as the user and sends the browser
// to the operation's progress page.
func (h *Handler) generate(w http.ResponseWriter, r *http.Request) {
	group, name := r.PathValue("group"), r.PathValue("name")
	vault := r.PostFormValue("keyVaultName")
	if vault != "" && (len(vault) > 24 || !vaultNameRE.MatchString(vault)) {
		h.showOverview(w, r, http.StatusBadRequest, vault, vaultNameRule)
		return
	}
	var body any
	if vault != "" {
		body = arm.GenerateActivationKeyRequest{KeyVaultName: vault}
	}
	op, err := h.start(r, group, name, "generate", "/generateActivationKey", body)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized &&
			e.Status != http.StatusNotFound {
			h.showOverview(w, r, e.Status, vault, e.Message)
			return
		}
		h.apiFailure(w, r, err)
		return
	}
	http.Redirect(w, r, "/operations/"+url.PathEscape(op.id), http.StatusSeeOther)
}

// start POSTs a long-running action on a device and records the
// operation it started in the session.
func (h *Handler) start(r *http.Request, group, name, kind, action string, body any) (*operation, error) {
	ctx := r.Context()
	sub, err := h.subscription(ctx, r)
	if err != nil {
		return nil, err
	}
	a, err := h.management(ctx, r, http.MethodPost, devicePath(sub, group, name)+action+"?api-version="+edgeAPIVersion, body,
		http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	return h.follow(r, a, group, name, kind)
}

// follow records in the session the operation the 202 answer a started.
func (h *Handler) follow(r *http.Request, a answer, group, name, kind string) (*operation, error) {
	status := a.header.Get("Azure-AsyncOperation")
	su, err := url.Parse(status)
	if status == "" || err != nil {
		return nil, errors.New("portal: the API accepted the operation without a status URL")
	}
	op := &operation{id: path.Base(su.Path), kind: kind, group: group, name: name, statusURL: status,
		resultURL: a.header.Get("Location")}
	if err := sessionOf(r.Context()).addOperation(r.Context(), op); err != nil {
		// The operation runs on; only its progress page is lost.
		return nil, fmt.Errorf("portal: the operation %s started but could not be recorded in the session: %w", op.id, err)
	}
	return op, nil
}
