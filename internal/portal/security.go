package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/resource"
)

// securityOverview is GET {device}/securityOverview's answer, the
// Security page's data in one read.
type securityOverview struct {
	KeyVault *struct {
		Name                      string     `json:"name"`
		ID                        string     `json:"id"`
		URI                       string     `json:"uri"`
		State                     string     `json:"state"`
		SoftDeleteRetentionInDays int        `json:"softDeleteRetentionInDays"`
		PurgeProtection           bool       `json:"enablePurgeProtection"`
		DeletionDate              *time.Time `json:"deletionDate"`
		ScheduledPurgeDate        *time.Time `json:"scheduledPurgeDate"`
		Locks                     []struct {
			Name, Level, Scope string
		} `json:"locks"`
	} `json:"keyVault"`
	ManagedIdentity struct {
		Type              string   `json:"type"`
		PrincipalID       string   `json:"principalId"`
		TenantID          string   `json:"tenantId"`
		Status            string   `json:"status"`
		SecretPermissions []string `json:"secretPermissions"`
	} `json:"managedIdentity"`
	DiagnosticSetting *struct {
		ID               string `json:"id"`
		StorageAccountID string `json:"storageAccountId"`
	} `json:"diagnosticSetting"`
	StorageAccount *struct {
		ID    string `json:"id"`
		SKU   string `json:"sku"`
		State string `json:"state"`
	} `json:"storageAccount"`
	ChannelIntegrityKey *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"channelIntegrityKey"`
	Secrets []struct {
		Name       string     `json:"name"`
		KeyVaultID string     `json:"keyVaultId"`
		SyncedAt   *time.Time `json:"syncedAt"`
	} `json:"secrets"`
	KeyVaultSyncStatus string          `json:"keyVaultSyncStatus"`
	DeviceStatus       string          `json:"dataBoxEdgeDeviceStatus"`
	Alerts             []arm.EdgeAlert `json:"alerts"`
	RecoveryAction     string          `json:"recoveryAction"`
}

// revealed is a secret value the user asked to see.
type revealed struct {
	Name    string
	Value   string
	Problem string // why it could not be read
}

// securityData is the Security page's data.
type securityData struct {
	Group, Name, URL string
	// VaultURL is the portal's page of the key vault ("" when none).
	VaultURL string
	Overview securityOverview
	Revealed *revealed
	Notice   string
	// Audit is the audit section (audit.go's securityAudit).
	Audit any
	// The send-a-secret form: its name, echoed, and its problem (the value
	// is never echoed).
	SendName, SendProblem string
}

// vaultPageURL is the portal's page of the overview's key vault: the
// vault's own page while it exists, the vault list (with its deleted
// vaults) once it is deleted; "" without a vault.
func vaultPageURL(o securityOverview) string {
	if o.KeyVault == nil {
		return ""
	}
	id, err := resource.Parse(o.KeyVault.ID)
	if err != nil {
		return ""
	}
	if o.KeyVault.State != "Active" && o.KeyVault.State != "Inaccessible" {
		return "/vaults"
	}
	return vaultURL(id.ResourceGroupName(), id.Name())
}

// secretURL is a device secret's URL: its keyVaultId is relative to the
// vault ("secrets/<name>/<version>", as Azure documents it) or, from
// older writers, already absolute. "" when it cannot be resolved.
func secretURL(vaultURI, keyVaultID string) string {
	base, err := url.Parse(vaultURI)
	if err != nil || keyVaultID == "" {
		return ""
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	ref, err := url.Parse(keyVaultID)
	if err != nil {
		return ""
	}
	return base.ResolveReference(ref).String()
}

// readOverview reads the security overview as the user.
func (h *Handler) readOverview(r *http.Request) (securityOverview, error) {
	var o securityOverview
	sub, err := h.subscription(r.Context(), r)
	if err != nil {
		return o, err
	}
	a, err := h.management(r.Context(), r, http.MethodGet,
		devicePath(sub, r.PathValue("group"), r.PathValue("name"))+"/securityOverview?api-version="+edgeAPIVersion, nil, http.StatusOK)
	if err != nil {
		return o, err
	}
	return o, a.decode(&o)
}

// security shows the Security page.
func (h *Handler) security(w http.ResponseWriter, r *http.Request) {
	h.showSecurity(w, r, nil, r.URL.Query().Get("notice"))
}

// notices are the messages a redirect may ask the Security page to show,
// by key: the page never prints text from the URL.
var notices = map[string]string{
	"synced":       "Device secrets synced.",
	"revoked":      "The unused activation keys are revoked.",
	"revoked-none": "There was no unused activation key to revoke.",
	"sent":         "The secret is sealed under the device's channel integrity key and queued: the device takes it at its next heartbeat.",
}

func (h *Handler) showSecurity(w http.ResponseWriter, r *http.Request, rv *revealed, notice string) {
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
	group, name := r.PathValue("group"), r.PathValue("name")
	h.render(w, r, http.StatusOK, "security", securityData{Group: group, Name: name, URL: resourceURL(group, name), VaultURL: vaultPageURL(o),
		Overview: o, Revealed: rv, Notice: notices[notice], Audit: audit})
}

// syncSecrets starts syncDeviceSecrets as the user and follows it on the
// progress page, which ends with the notification.
func (h *Handler) syncSecrets(w http.ResponseWriter, r *http.Request) {
	op, err := h.start(r, r.PathValue("group"), r.PathValue("name"), "sync", "/syncDeviceSecrets", nil)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	http.Redirect(w, r, "/operations/"+url.PathEscape(op.id), http.StatusSeeOther)
}

// reveal reads one device secret's value through the vault data plane as
// the user, and shows it on the Security page. The secret is named by the
// form; its URL comes from the overview, never from the browser.
func (h *Handler) reveal(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("secret")
	o, err := h.readOverview(r)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	var secretID string
	for _, s := range o.Secrets {
		if s.Name == name && o.KeyVault != nil {
			secretID = secretURL(o.KeyVault.URI, s.KeyVaultID)
		}
	}
	if secretID == "" {
		h.fail(w, r, http.StatusNotFound, "Not found", "The device has no secret of that name in its key vault.")
		return
	}
	rv := &revealed{Name: name}
	value, err := h.vaultSecret(r.Context(), r, secretID)
	var e *apiError
	switch {
	case err == nil:
		rv.Value = value
	case errors.As(err, &e) && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized):
		rv.Problem = "The key vault refused the read: your account needs the secret permission \"get\" in the vault's " +
			"access policies. " + e.Message
	case errors.As(err, &e) && e.Status < 500:
		rv.Problem = "The key vault could not return the secret: " + e.Message
	default:
		h.internal(w, r, err)
		return
	}
	group, dev := r.PathValue("group"), r.PathValue("name")
	h.render(w, r, http.StatusOK, "security", securityData{Group: group, Name: dev, URL: resourceURL(group, dev), VaultURL: vaultPageURL(o),
		Overview: o, Revealed: rv})
}
