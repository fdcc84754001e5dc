package armapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// Edge resources: Microsoft.DataBoxEdge/dataBoxEdgeDevices, their
// extended information, the generate-activation-key operation, activation
// key metadata and alerts (reference/edge-arm.md §1–2). PUT is
// synchronous (the API declares 200 only); DELETE and
// generateActivationKey are long-running.

// RBAC actions of Microsoft.DataBoxEdge (edge-arm.md §1.5).
// generateActivationKey and the key routes are this server's additions:
// generating a key needs write on the device (and, checked by the
// operation, the right to create vaults and storage accounts in its
// group); listing key metadata needs read; revoking needs write.
const (
	actEdgeRead        = "Microsoft.DataBoxEdge/dataBoxEdgeDevices/read"
	actEdgeWrite       = "Microsoft.DataBoxEdge/dataBoxEdgeDevices/write"
	actEdgeDelete      = "Microsoft.DataBoxEdge/dataBoxEdgeDevices/delete"
	actEdgeGetExtended = "Microsoft.DataBoxEdge/dataBoxEdgeDevices/getExtendedInformation/action"
	actEdgeUpdExtended = "Microsoft.DataBoxEdge/dataBoxEdgeDevices/updateExtendedInformation/action"
	actEdgeAlertsRead  = "Microsoft.DataBoxEdge/dataBoxEdgeDevices/alerts/read"
)

const edgeAlertType = "dataBoxEdgeDevices/alerts" // not namespace-qualified, as Azure (§1.10)

// edgeLevels admits the route's {scope} at one of levels once the edge
// service is wired.
func (h *Handler) edgeLevels(q *request, levels ...resource.Level) (resource.ID, error) {
	if h.cfg.Edge == nil {
		return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "No HTTP resource was found that matches the request URI."}
	}
	return h.kvScope(q, levels...)
}

// edgeScope is the device of the path.
func (h *Handler) edgeScope(q *request) (resource.ID, error) {
	group, err := h.edgeLevels(q, resource.ResourceGroup)
	if err != nil {
		return resource.ID{}, err
	}
	return group.Child(edge.Namespace, "dataBoxEdgeDevices", q.vars["deviceName"]), nil
}

// edgeListScope is the group or subscription whose devices are listed.
func (h *Handler) edgeListScope(q *request) (resource.ID, error) {
	return h.edgeLevels(q, resource.ResourceGroup, resource.Subscription)
}

// deviceID is the device of the path, once the guard has admitted it.
func deviceID(q *request) resource.ID {
	return q.scope.Child(edge.Namespace, "dataBoxEdgeDevices", q.vars["deviceName"])
}

func deviceETag(d edge.Device) string { return `W/"` + strconv.FormatInt(d.Version, 10) + `"` }

func (h *Handler) toDevice(d edge.Device) arm.EdgeDevice {
	return arm.EdgeDevice{ID: d.ID.String(), Name: d.Name(), Type: edge.ResourceType, Location: d.Location,
		Tags: nonNilTags(d.Tags), SKU: arm.EdgeSKU{Name: d.SKU, Tier: "Standard"}, Etag: deviceETag(d), Kind: d.Kind,
		Identity:   deviceIdentity(d),
		SystemData: &arm.SystemData{CreatedBy: d.CreatedBy, CreatedAt: wireTime(d.CreatedAt), LastModifiedAt: wireTime(d.UpdatedAt)},
		Properties: arm.EdgeDeviceProperties{DataBoxEdgeDeviceStatus: string(d.Status), SerialNumber: d.SerialNumber,
			DeviceType: "DataBoxEdgeDevice", FriendlyName: d.Name(), ConfiguredRoleTypes: []string{},
			ResourceMoveDetails: map[string]string{"operationInProgress": "None"}}}
}

// deviceIdentity is the device's identity member: None while it is off.
func deviceIdentity(d edge.Device) arm.EdgeIdentity {
	if d.IdentityDisabled {
		return arm.EdgeIdentity{Type: "None"}
	}
	return arm.EdgeIdentity{Type: "SystemAssigned", PrincipalID: d.IdentityID, TenantID: d.TenantID}
}

// checkIdentity admits an identity member only as what a device has: a
// system-assigned identity.
func checkIdentity(id *arm.EdgeIdentity) error {
	if id == nil || id.Type == "" || strings.EqualFold(id.Type, "SystemAssigned") {
		return nil
	}
	return errkind.E(errkind.Invalid,
		"The identity type '%s' is not supported: an edge resource has a system-assigned managed identity; use 'SystemAssigned'.", truncate(id.Type))
}

// patchIdentity is what a PATCH's identity asks: nil for nothing, false
// to turn the identity off (None), true to turn it on (SystemAssigned).
func patchIdentity(id *arm.EdgeIdentity) (*bool, error) {
	if id == nil || id.Type == "" {
		return nil, nil
	}
	on := strings.EqualFold(id.Type, "SystemAssigned")
	if !on && !strings.EqualFold(id.Type, "None") {
		return nil, errkind.E(errkind.Invalid,
			"The identity type '%s' is not supported: use 'SystemAssigned', or 'None' to turn the identity off.", truncate(id.Type))
	}
	return &on, nil
}

func (h *Handler) putDevice(w http.ResponseWriter, q *request) {
	var body arm.EdgeDeviceCreate
	err := arm.DecodeBody(q.Request, &body)
	if err == nil {
		err = h.requireGroup(q, true)
	}
	if err == nil {
		err = resourcegroup.ValidateTags(body.Tags)
	}
	if err == nil {
		err = checkIdentity(body.Identity)
	}
	if err == nil && body.SKU == nil {
		err = errkind.E(errkind.Invalid, "The sku of the edge resource is required, e.g. {\"name\": \"EdgeP_Base\", \"tier\": \"Standard\"}.")
	}
	if err == nil && body.SKU.Tier != "" && body.SKU.Tier != "Standard" {
		err = errkind.E(errkind.Invalid, "The sku tier '%s' is invalid; the only tier is 'Standard'.", truncate(body.SKU.Tier))
	}
	if err == nil && body.Kind != "" && !slices.Contains(edge.Kinds, body.Kind) {
		err = errkind.E(errkind.Invalid, "The kind '%s' is invalid; use one of %s.", truncate(body.Kind), strings.Join(edge.Kinds, ", "))
	}
	id := deviceID(q)
	if err == nil {
		var cur edge.Device
		cur, err = h.cfg.Edge.Get(q.ctx(), id)
		exists := err == nil
		if errkind.KindOf(err) == errkind.NotFound {
			err = nil
		}
		if err == nil {
			err = arm.CheckPreconditions(q.Request, exists, deviceETag(cur))
		}
	}
	var loc string
	if err == nil {
		loc, err = normalizeLocation(body.Location)
	}
	var d edge.Device
	if err == nil {
		d, _, err = h.cfg.Edge.Put(q.ctx(), q.caller.Principal, id, edge.Spec{Location: loc,
			Tags: body.Tags, SKU: body.SKU.Name, Kind: body.Kind})
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toDevice(d))
}

func (h *Handler) getDevice(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	var d edge.Device
	if err == nil {
		d, err = h.cfg.Edge.Get(q.ctx(), deviceID(q))
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toDevice(d))
}

func (h *Handler) patchDevice(w http.ResponseWriter, q *request) {
	var body arm.EdgeDevicePatch
	err := arm.DecodeBody(q.Request, &body)
	if err == nil {
		err = h.requireGroup(q, true)
	}
	if err == nil {
		err = resourcegroup.ValidateTags(body.Tags)
	}
	var identityOn *bool
	if err == nil {
		identityOn, err = patchIdentity(body.Identity)
	}
	if err == nil && len(body.Properties) > 0 && string(body.Properties) != "null" && string(body.Properties) != "{}" {
		err = errkind.E(errkind.Invalid, "Updating properties (edgeProfile) is not supported by this server; PATCH tags only.")
	}
	if err == nil {
		var cur edge.Device
		if cur, err = h.cfg.Edge.Get(q.ctx(), deviceID(q)); err == nil {
			err = arm.CheckPreconditions(q.Request, true, deviceETag(cur))
		}
	}
	var d edge.Device
	if err == nil {
		d, err = h.cfg.Edge.Patch(q.ctx(), deviceID(q), body.Tags)
	}
	if err == nil && identityOn != nil && *identityOn == d.IdentityDisabled {
		d, err = h.cfg.Edge.SetIdentityEnabled(q.ctx(), deviceID(q), *identityOn)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toDevice(d))
}

// deleteDevice starts the deletion: 202 with the operation's URLs, or 204
// when there is no such device. deleteKeyVault=true is the person's
// consent to soft-delete the device's vault too; the caller must then be
// allowed to delete that vault, or nothing happens.
func (h *Handler) deleteDevice(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	deleteVault := false
	switch v := q.Request.URL.Query().Get("deleteKeyVault"); strings.ToLower(v) {
	case "", "false":
	case "true":
		deleteVault = true
	default:
		err = errkind.E(errkind.Invalid, "The query parameter deleteKeyVault must be true or false, not '%s'.", truncate(v))
	}
	if err == nil {
		if cur, gerr := h.cfg.Edge.Get(q.ctx(), deviceID(q)); gerr == nil {
			err = arm.CheckPreconditions(q.Request, true, deviceETag(cur))
			if err == nil && deleteVault && cur.Link.VaultID != "" {
				var vault resource.ID
				if vault, err = resource.Parse(cur.Link.VaultID); err == nil {
					err = h.cfg.RBAC.Authorize(q.ctx(), q.caller.Principal, actVaultDelete, vault)
				}
			}
		}
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	op, existed, err := h.cfg.Edge.BeginDelete(q.ctx(), q.caller.Principal, deviceID(q), deleteVault)
	switch {
	case err != nil:
		writeError(w, q.Request, err)
	case !existed:
		w.WriteHeader(http.StatusNoContent)
	default:
		h.writeAccepted(w, q, op)
	}
}

func (h *Handler) listDevices(w http.ResponseWriter, q *request) {
	listInScope(h, w, q, h.cfg.Edge.List, edge.Device.ListCursor, h.toDevice)
}

func (h *Handler) toExtendedInfo(d edge.Device) arm.EdgeExtendedInfo {
	secrets := make(map[string]arm.EdgeSecret, len(d.Secrets))
	for name, s := range d.Secrets {
		secrets[name] = arm.EdgeSecret{KeyVaultID: s.KeyVaultID}
	}
	return arm.EdgeExtendedInfo{ID: d.ID.String(), Name: d.Name(), Type: edge.ResourceType,
		Properties: arm.EdgeExtendedInfoProperties{
			EncryptionKeyThumbprint: d.EncryptionKeyThumbprint, EncryptionKey: d.EncryptionKey, ResourceKey: d.ResourceKey,
			ClientSecretStoreID: d.Link.VaultID, ClientSecretStoreURL: d.Link.VaultURI,
			ChannelIntegrityKeyName: d.Link.CIKName, ChannelIntegrityKeyVersion: d.Link.CIKVersion,
			KeyVaultSyncStatus: string(d.SyncStatus), DeviceSecrets: secrets, ClusterWitnessType: "None",
		}}
}

func (h *Handler) getExtendedInfo(w http.ResponseWriter, q *request) {
	// The API declares no body; an empty JSON object is accepted too.
	err := h.requireGroup(q, false)
	var d edge.Device
	if err == nil {
		d, err = h.cfg.Edge.Get(q.ctx(), deviceID(q))
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toExtendedInfo(d))
}

func (h *Handler) updateExtendedInfo(w http.ResponseWriter, q *request) {
	var body arm.EdgeExtendedInfoPatch
	err := arm.DecodeBody(q.Request, &body)
	if err == nil {
		err = h.requireGroup(q, true)
	}
	var d edge.Device
	if err == nil {
		p := edge.ExtendedInfoPatch{ClientSecretStoreID: body.ClientSecretStoreID, ClientSecretStoreURL: body.ClientSecretStoreURL,
			ChannelIntegrityKeyName: body.ChannelIntegrityKeyName, ChannelIntegrityKeyVersion: body.ChannelIntegrityKeyVersion}
		if body.SyncStatus != nil {
			st := edge.SyncStatus(*body.SyncStatus)
			p.SyncStatus = &st
		}
		d, err = h.cfg.Edge.UpdateExtendedInfo(q.ctx(), deviceID(q), p)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toExtendedInfo(d))
}

// generateActivationKey starts the operation: 202 with its URLs. The body
// is optional ({} or absent: a default vault name).
func (h *Handler) generateActivationKey(w http.ResponseWriter, q *request) {
	var body arm.GenerateActivationKeyRequest
	h.startDeviceOperation(w, q, &body, func() (operation.Operation, error) {
		return h.cfg.Activation.Begin(q.ctx(), q.caller.Principal, deviceID(q), body.KeyVaultName)
	})
}

// startDeviceOperation answers a device action that starts a
// long-running operation: its optional JSON body (absent or an object
// decoded into body), a group that is not being deleted, then begin; 202
// with the operation's URLs.
func (h *Handler) startDeviceOperation(w http.ResponseWriter, q *request, body any, begin func() (operation.Operation, error)) {
	var err error
	if q.Request.ContentLength != 0 {
		err = arm.DecodeBody(q.Request, body)
	}
	if err == nil {
		err = h.requireGroup(q, true)
	}
	var op operation.Operation
	if err == nil {
		op, err = begin()
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	h.writeAccepted(w, q, op)
}

func (h *Handler) listActivationKeys(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	var keys []activation.Key
	if err == nil {
		keys, err = h.cfg.Activation.Keys(q.ctx(), deviceID(q))
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	now := h.cfg.Activation.Now()
	out := arm.List[arm.ActivationKeyInfo]{Value: make([]arm.ActivationKeyInfo, 0, len(keys))}
	for _, k := range keys {
		out.Value = append(out.Value, arm.ActivationKeyInfo{ID: k.ID, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy,
			ExpiresAt: k.ExpiresAt, State: string(k.StateAt(now)), UsedAt: arm.OptionalTime(k.UsedAt),
			UsedBySerial: k.UsedBySerial, RevokedAt: arm.OptionalTime(k.RevokedAt)})
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) revokeActivationKeys(w http.ResponseWriter, q *request) {
	var body arm.RevokeActivationKeysRequest
	var err error
	if q.Request.ContentLength != 0 {
		err = arm.DecodeBody(q.Request, &body)
	}
	if err == nil {
		err = h.requireGroup(q, true)
	}
	var revoked []string
	if err == nil {
		revoked, err = h.cfg.Activation.Revoke(q.ctx(), deviceID(q), body.KeyIDs)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	if revoked == nil {
		revoked = []string{}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, arm.RevokeActivationKeysResponse{Revoked: revoked})
}

func (h *Handler) toAlert(d edge.Device, a alert.Alert) arm.EdgeAlert {
	details := map[string]string{"status": "Active", "lastOccurredAtDateTime": a.LastSeenAt.UTC().Format(time.RFC3339)}
	for k, v := range a.Details {
		details[k] = v
	}
	if !a.Active() {
		details["status"] = "Resolved"
		details["resolvedAtDateTime"] = a.ResolvedAt.UTC().Format(time.RFC3339)
	}
	return arm.EdgeAlert{ID: d.ID.String() + "/alerts/" + a.ID, Name: a.ID, Type: edgeAlertType,
		Properties: arm.EdgeAlertProperties{Title: a.Title, AlertType: string(a.Type), AppearedAtDateTime: a.AppearedAt.UTC(),
			Recommendation: a.Recommendation, Severity: string(a.Severity),
			ErrorDetails:        arm.EdgeAlertError{ErrorCode: a.ErrorCode, ErrorMessage: a.ErrorMessage, Occurrences: a.Occurrences},
			DetailedInformation: details}}
}

func (h *Handler) listAlerts(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	var d edge.Device
	var as []alert.Alert
	if err == nil {
		d, err = h.cfg.Edge.Get(q.ctx(), deviceID(q))
	}
	if err == nil {
		as, err = h.cfg.Alerts.List(q.ctx(), d.UID)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.EdgeAlert]{Value: make([]arm.EdgeAlert, 0, len(as))}
	for _, a := range as {
		out.Value = append(out.Value, h.toAlert(d, a))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getAlert(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	var d edge.Device
	var a alert.Alert
	if err == nil {
		d, err = h.cfg.Edge.Get(q.ctx(), deviceID(q))
	}
	if err == nil {
		a, err = h.cfg.Alerts.Get(q.ctx(), d.UID, q.vars["alertName"])
	}
	if errkind.KindOf(err) == errkind.NotFound && d.UID != "" {
		err = &arm.Error{Status: http.StatusNotFound, Code: "ResourceNotFound",
			Message: "The alert '" + truncate(q.vars["alertName"]) + "' of edge resource '" + d.Name() + "' was not found."}
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toAlert(d, a))
}

// operationProperties is what an operation's status carries in
// properties: while running, the step it is at; once it succeeded, its
// result, unless the result holds a credential and the caller did not
// start the operation.
func operationProperties(q *request, opPrincipal string, step string, status string, result []byte, sensitive bool) json.RawMessage {
	switch {
	case status == "InProgress" && step != "":
		b, _ := json.Marshal(map[string]string{"lastCompletedStep": step})
		return b
	case status == "Succeeded" && len(result) > 0 && (!sensitive || opPrincipal == q.caller.Principal.ObjectID):
		return result
	}
	return nil
}

// syncDeviceSecrets asks the device to push its secrets: 202 with the
// operation that ends when it has (the portal's "Sync device secrets").
func (h *Handler) syncDeviceSecrets(w http.ResponseWriter, q *request) {
	h.startDeviceOperation(w, q, &struct{}{}, func() (operation.Operation, error) {
		return h.cfg.Edge.BeginSync(q.ctx(), q.caller.Principal, deviceID(q))
	})
}

// sendSecret delivers a customer secret to the device, sealed under its
// CIK; the device receives it with its next heartbeat.
func (h *Handler) sendSecret(w http.ResponseWriter, q *request) {
	var body arm.EdgeSendSecretRequest
	err := arm.DecodeBody(q.Request, &body)
	if err == nil {
		err = h.requireGroup(q, true)
	}
	var cs edge.CustomerSecret
	if err == nil {
		cs, err = h.cfg.Activation.SendSecret(q.ctx(), q.caller.Principal, deviceID(q), body.Name, sensitive.New(body.Value))
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, arm.EdgeSendSecretResponse{ID: cs.ID, Name: cs.Name, State: "Queued"})
}

// recoverKeyVault starts the recovery of the device's key vault (the
// portal's "Recover key vault → Configure"): 202 with its URLs.
func (h *Handler) recoverKeyVault(w http.ResponseWriter, q *request) {
	var body arm.GenerateActivationKeyRequest // {"keyVaultName"?}
	h.startDeviceOperation(w, q, &body, func() (operation.Operation, error) {
		return h.cfg.Activation.BeginRecover(q.ctx(), q.caller.Principal, deviceID(q), body.KeyVaultName)
	})
}

// reconfigureManagedIdentity starts restoring the identity's access.
func (h *Handler) reconfigureManagedIdentity(w http.ResponseWriter, q *request) {
	h.startDeviceOperation(w, q, &struct{}{}, func() (operation.Operation, error) {
		return h.cfg.Activation.BeginReconfigure(q.ctx(), q.caller.Principal, deviceID(q))
	})
}
