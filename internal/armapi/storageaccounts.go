package armapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// Storage accounts: Microsoft.Storage/storageAccounts and the provider's
// name check (reference/edge-arm.md §3.5–3.7, §3.11). Creation is a
// long-running operation: PUT answers 202 with the account as Creating
// and the operation's URLs, and the SDK polls until the operation's
// handler has made it Succeeded. Replacing an existing account, PATCH and
// DELETE are synchronous.

// RBAC actions of Microsoft.Storage (Azure's resource-provider operations
// list).
const (
	actStorageRead      = "Microsoft.Storage/storageAccounts/read"
	actStorageWrite     = "Microsoft.Storage/storageAccounts/write"
	actStorageDelete    = "Microsoft.Storage/storageAccounts/delete"
	actStorageCheckName = "Microsoft.Storage/checknameavailability/read"
)

// storageLevels admits the route's {scope} at one of levels, once the
// server has a storage-account service: until the composition root wires
// one, the type is not served (ARM's 404 for a path no provider has).
func (h *Handler) storageLevels(q *request, levels ...resource.Level) (resource.ID, error) {
	if h.cfg.StorageAccounts == nil {
		return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "No HTTP resource was found that matches the request URI."}
	}
	return h.kvScope(q, levels...)
}

// storageScope is the account of the path.
func (h *Handler) storageScope(q *request) (resource.ID, error) {
	group, err := h.storageLevels(q, resource.ResourceGroup)
	if err != nil {
		return resource.ID{}, err
	}
	return group.Child(storageaccount.Namespace, "storageAccounts", q.vars["accountName"]), nil
}

// storageListScope is the group or subscription whose accounts are
// listed.
func (h *Handler) storageListScope(q *request) (resource.ID, error) {
	return h.storageLevels(q, resource.ResourceGroup, resource.Subscription)
}

// storageSubscriptionScope is the subscription of checkNameAvailability.
func (h *Handler) storageSubscriptionScope(q *request) (resource.ID, error) {
	return h.storageLevels(q, resource.Subscription)
}

// accountID is the account of the path, once the guard has admitted it.
func accountID(q *request) resource.ID {
	return q.scope.Child(storageaccount.Namespace, "storageAccounts", q.vars["accountName"])
}

func (h *Handler) toAccount(a storageaccount.Account) arm.StorageAccount {
	return arm.StorageAccount{ID: a.ID.String(), Name: a.Name(), Type: storageaccount.ResourceType, Location: a.Location,
		Tags: nonNilTags(a.Tags), Kind: string(a.Kind), SKU: arm.StorageSKU{Name: string(a.SKU), Tier: a.SKU.Tier()},
		SystemData: &arm.SystemData{CreatedBy: a.CreatedBy, CreatedAt: wireTime(a.CreatedAt), LastModifiedAt: wireTime(a.UpdatedAt)},
		Properties: arm.StorageAccountProperties{
			ProvisioningState: string(a.ProvisioningState),
			PrimaryEndpoints:  arm.StorageEndpoints{Blob: h.cfg.StorageAccounts.BlobEndpoint(a.Name())},
			PrimaryLocation:   a.Location, StatusOfPrimary: "available", CreationTime: wireTime(a.CreatedAt),
			AccessTier: "Hot", SupportsHTTPSTrafficOnly: true, MinimumTLSVersion: "TLS1_2",
		}}
}

// unsupported rejects a body member this server does not implement
// (managed identity, edge zones), so a template cannot believe it took
// effect. JSON null counts as absent.
func unsupported(raw json.RawMessage, name string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return &arm.Error{Status: http.StatusBadRequest, Code: "BadRequest",
		Message: "The property '" + name + "' is not supported for storage accounts by this server; omit it."}
}

func storageSKU(s *arm.StorageSKU) storageaccount.SKU {
	if s == nil {
		return ""
	}
	return storageaccount.SKU(s.Name)
}

func (h *Handler) putAccount(w http.ResponseWriter, q *request) {
	res, err := h.doPutAccount(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	if op := res.Operation; op != nil {
		// 202 and the operation's URLs: the SDK's poller follows
		// Azure-AsyncOperation, then GETs the account (§3.5). The body
		// shows the account as it is now, Creating.
		status := arm.OperationURL(h.cfg.Endpoint, arm.OperationStatusID(op.SubscriptionID, op.ID), q.apiVersion)
		result := arm.OperationURL(h.cfg.Endpoint, arm.OperationResultPath(op.SubscriptionID, op.ID), q.apiVersion)
		arm.WriteAccepted(w, http.StatusAccepted, status, result, arm.DefaultRetryAfter, h.toAccount(res.Account))
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toAccount(res.Account))
}

func (h *Handler) doPutAccount(q *request) (storageaccount.PutResult, error) {
	var body arm.StorageAccountCreate
	if err := arm.DecodeBody(q.Request, &body); err != nil {
		return storageaccount.PutResult{}, err
	}
	if err := h.requireGroup(q, true); err != nil {
		return storageaccount.PutResult{}, err
	}
	if strings.TrimSpace(body.Location) == "" {
		return storageaccount.PutResult{}, errkind.E(errkind.Invalid, "The location of the storage account is required.")
	}
	loc, err := normalizeLocation(body.Location)
	if err != nil {
		return storageaccount.PutResult{}, err
	}
	if err := resourcegroup.ValidateTags(body.Tags); err != nil {
		return storageaccount.PutResult{}, err
	}
	if err := unsupported(body.Identity, "identity"); err != nil {
		return storageaccount.PutResult{}, err
	}
	if err := unsupported(body.ExtendedLocation, "extendedLocation"); err != nil {
		return storageaccount.PutResult{}, err
	}
	spec := storageaccount.Spec{Location: loc, Tags: body.Tags, SKU: storageSKU(body.SKU), Kind: storageaccount.Kind(body.Kind)}
	return h.cfg.StorageAccounts.Put(q.ctx(), q.caller.Principal, accountID(q), spec)
}

func (h *Handler) getAccount(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	var a storageaccount.Account
	if err == nil {
		a, err = h.cfg.StorageAccounts.Get(q.ctx(), accountID(q))
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toAccount(a))
}

func (h *Handler) patchAccount(w http.ResponseWriter, q *request) {
	var body arm.StorageAccountUpdate
	err := arm.DecodeBody(q.Request, &body)
	if err == nil {
		err = h.requireGroup(q, true)
	}
	if err == nil {
		err = resourcegroup.ValidateTags(body.Tags)
	}
	if err == nil {
		err = unsupported(body.Identity, "identity")
	}
	if err == nil && body.Kind != "" && body.Kind != string(storageaccount.StorageV2) {
		err = errkind.E(errkind.Invalid, "The kind '%s' is not supported by this server; use 'StorageV2'.", truncate(body.Kind))
	}
	var a storageaccount.Account
	if err == nil {
		a, err = h.cfg.StorageAccounts.Patch(q.ctx(), accountID(q), storageaccount.Patch{Tags: body.Tags, SKU: storageSKU(body.SKU)})
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, h.toAccount(a))
}

// deleteAccount deletes synchronously: 200 when the account existed, 204
// when it did not (the SDK's Delete accepts both).
func (h *Handler) deleteAccount(w http.ResponseWriter, q *request) {
	err := h.requireGroup(q, false)
	existed := false
	if err == nil {
		existed, err = h.cfg.StorageAccounts.Delete(q.ctx(), accountID(q))
	}
	switch {
	case err != nil:
		writeError(w, q.Request, err)
	case existed:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// listAccounts pages through the accounts of a group or a subscription.
func (h *Handler) listAccounts(w http.ResponseWriter, q *request) {
	listInScope(h, w, q, h.cfg.StorageAccounts.List, storageaccount.Account.Name, h.toAccount)
}

func (h *Handler) checkAccountName(w http.ResponseWriter, q *request) {
	var body arm.CheckNameAvailabilityRequest
	err := arm.DecodeBody(q.Request, &body)
	if err == nil && !strings.EqualFold(body.Type, storageaccount.ResourceType) {
		err = errkind.E(errkind.Invalid, "The type '%s' is invalid; checkNameAvailability accepts 'Microsoft.Storage/storageAccounts'.", truncate(body.Type))
	}
	var a storageaccount.Availability
	if err == nil {
		a, err = h.cfg.StorageAccounts.CheckName(q.ctx(), body.Name)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, arm.StorageCheckNameResult{NameAvailable: a.Available, Reason: string(a.Reason), Message: a.Message})
}
