package armapi

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

// The Security page's data in one read (edgevault's addition,
// GET {device}/securityOverview): the vault and its state, its locks, the
// identity and its permissions, the audit trail's setting and account, the
// escrowed secrets, sync status, open alerts, and the recovery action
// available now. It reads what the caller may read of the device; the
// vault's details come from the service's own records.

type securityOverview struct {
	KeyVault            *securityVault      `json:"keyVault"`
	ManagedIdentity     securityIdentity    `json:"managedIdentity"`
	DiagnosticSetting   *securityDiagnostic `json:"diagnosticSetting"`
	StorageAccount      *securityStorage    `json:"storageAccount"`
	ChannelIntegrityKey *securityCIK        `json:"channelIntegrityKey"`
	Secrets             []securitySecret    `json:"secrets"`
	KeyVaultSyncStatus  string              `json:"keyVaultSyncStatus"`
	DeviceStatus        string              `json:"dataBoxEdgeDeviceStatus"`
	Alerts              []arm.EdgeAlert     `json:"alerts"`
	RecoveryAction      string              `json:"recoveryAction"`
}

type securityVault struct {
	Name                      string         `json:"name"`
	ID                        string         `json:"id"`
	URI                       string         `json:"uri"`
	State                     string         `json:"state"` // Active | SoftDeleted | Purged | Inaccessible
	SoftDeleteRetentionInDays int            `json:"softDeleteRetentionInDays,omitempty"`
	PurgeProtection           bool           `json:"enablePurgeProtection"`
	DeletionDate              *time.Time     `json:"deletionDate,omitempty"`
	ScheduledPurgeDate        *time.Time     `json:"scheduledPurgeDate,omitempty"`
	Locks                     []securityLock `json:"locks"`
}

type securityLock struct {
	Name  string `json:"name"`
	Level string `json:"level"`
	Scope string `json:"scope"`
}

type securityIdentity struct {
	Type              string   `json:"type"`
	PrincipalID       string   `json:"principalId"`
	TenantID          string   `json:"tenantId"`
	Status            string   `json:"status"` // Enabled | Disabled | Deleted
	SecretPermissions []string `json:"secretPermissions"`
}

type securityDiagnostic struct {
	ID               string `json:"id"`
	StorageAccountID string `json:"storageAccountId"`
}

type securityStorage struct {
	ID    string            `json:"id"`
	SKU   string            `json:"sku,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	State string            `json:"state"` // Active | Missing
}

type securityCIK struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type securitySecret struct {
	Name       string     `json:"name"`
	KeyVaultID string     `json:"keyVaultId"`
	SyncedAt   *time.Time `json:"syncedAt,omitempty"`
}

// Recovery actions the overview offers.
const (
	recoveryNone          = "None"
	recoveryRecover       = "RecoverKeyVault"
	recoveryNewVault      = "RecoverKeyVaultWithNewName"
	recoveryReconfigure   = "ReconfigureManagedIdentity"
	recoveryGenerateFirst = "GenerateActivationKey"
)

func (h *Handler) securityOverview(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	var d edge.Device
	if err == nil {
		d, err = h.cfg.Edge.Get(q.ctx(), deviceID(q))
	}
	var out securityOverview
	if err == nil {
		out, err = h.buildSecurityOverview(q, d)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) buildSecurityOverview(q *request, d edge.Device) (securityOverview, error) {
	ctx := q.ctx()
	out := securityOverview{KeyVaultSyncStatus: string(d.SyncStatus), DeviceStatus: string(d.Status),
		Secrets: []securitySecret{}, Alerts: []arm.EdgeAlert{}, RecoveryAction: recoveryNone,
		ManagedIdentity: securityIdentity{Type: "SystemAssigned", PrincipalID: d.IdentityID, TenantID: d.TenantID,
			Status: "Enabled", SecretPermissions: []string{}}}
	mi, err := h.cfg.Principals.Principal(ctx, d.IdentityID)
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
		out.ManagedIdentity.Status = "Deleted"
	case err != nil:
		return out, err
	case !mi.Enabled:
		out.ManagedIdentity.Status = "Disabled"
	}
	if !d.Link.Provisioned && d.Link.VaultID == "" {
		out.RecoveryAction = recoveryGenerateFirst
	}
	if d.Link.VaultID != "" {
		vid, err := resource.Parse(d.Link.VaultID)
		if err != nil {
			return out, errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
		}
		v, status, err := h.cfg.Vaults.Lookup(ctx, vid)
		if err != nil {
			return out, err
		}
		sv := &securityVault{Name: vid.Name(), ID: vid.String(), URI: d.Link.VaultURI, State: string(status), Locks: []securityLock{}}
		if status != keyvault.Purged {
			sv.SoftDeleteRetentionInDays, sv.PurgeProtection = v.Retention, v.PurgeProtection
			sv.DeletionDate, sv.ScheduledPurgeDate = arm.OptionalTime(v.DeletedAt), arm.OptionalTime(v.ScheduledPurgeAt)
			for _, p := range []keyvault.SecretPermission{keyvault.SecretGet, keyvault.SecretList, keyvault.SecretSet, keyvault.SecretDelete,
				keyvault.SecretBackup, keyvault.SecretRestore, keyvault.SecretRecover, keyvault.SecretPurge} {
				if v.Allows(d.TenantID, d.IdentityID, p) {
					out.ManagedIdentity.SecretPermissions = append(out.ManagedIdentity.SecretPermissions, string(p))
				}
			}
		}
		if status == keyvault.Active {
			locks, err := h.cfg.Locks.List(ctx, lock.ListOptions{Scope: vid, AtScope: true})
			if err != nil {
				return out, err
			}
			for _, l := range locks {
				sv.Locks = append(sv.Locks, securityLock{Name: l.Name(), Level: string(l.Level), Scope: l.Scope().String()})
			}
		}
		allowed := v.Allows(d.TenantID, d.IdentityID, keyvault.SecretGet) && v.Allows(d.TenantID, d.IdentityID, keyvault.SecretSet)
		switch {
		case status == keyvault.SoftDeleted:
			out.RecoveryAction = recoveryRecover
		case status == keyvault.Purged:
			out.RecoveryAction = recoveryNewVault
		case !allowed || out.ManagedIdentity.Status != "Enabled":
			sv.State = "Inaccessible"
			out.RecoveryAction = recoveryReconfigure
		}
		out.KeyVault = sv
		if status == keyvault.Active && h.cfg.Diagnostics != nil {
			settings, err := h.cfg.Diagnostics.ForResource(ctx, vid)
			if err != nil {
				return out, err
			}
			for _, st := range settings {
				if strings.EqualFold(st.ID.String(), d.Link.DiagnosticSettingID) || out.DiagnosticSetting == nil {
					out.DiagnosticSetting = &securityDiagnostic{ID: st.ID.String(), StorageAccountID: st.StorageAccountID.String()}
				}
			}
		}
	} else if d.Link.Provisioned {
		out.RecoveryAction = recoveryNewVault
	}
	if d.Link.StorageAccountID != "" && h.cfg.StorageAccounts != nil {
		ss := &securityStorage{ID: d.Link.StorageAccountID, State: "Missing"}
		if aid, err := resource.Parse(d.Link.StorageAccountID); err == nil {
			if a, err := h.cfg.StorageAccounts.Get(ctx, aid); err == nil {
				ss.SKU, ss.Tags, ss.State = string(a.SKU), a.Tags, "Active"
			} else if errkind.KindOf(err) != errkind.NotFound {
				return out, err
			}
		}
		out.StorageAccount = ss
	}
	if d.Link.CIKName != "" {
		out.ChannelIntegrityKey = &securityCIK{Name: d.Link.CIKName, Version: d.Link.CIKVersion}
	}
	for name, ref := range d.Secrets {
		out.Secrets = append(out.Secrets, securitySecret{Name: name, KeyVaultID: ref.KeyVaultID, SyncedAt: arm.OptionalTime(ref.SyncedAt)})
	}
	sort.Slice(out.Secrets, func(i, j int) bool { return out.Secrets[i].Name < out.Secrets[j].Name })
	as, err := h.cfg.Alerts.List(ctx, d.UID)
	if err != nil {
		return out, err
	}
	for _, a := range as {
		if a.Active() {
			out.Alerts = append(out.Alerts, h.toAlert(d, a))
		}
	}
	return out, nil
}
