package armapi

import (
	"github.com/edgevault/edgevault/internal/edge"
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// access is a route's authorization rule: exactly one of an RBAC action at
// a scope, tenant administration, or any authenticated caller (for routes
// that filter what they return per item, like GET /subscriptions).
type access struct {
	action    string // RBAC action; {var} is replaced from the path
	scope     func(*request) (resource.ID, error)
	admin     bool
	anyCaller bool
}

func rbacAt(action string, scope func(*request) (resource.ID, error)) access {
	return access{action: action, scope: scope}
}

var (
	tenantAdmin = access{admin: true}
	anyCaller   = access{anyCaller: true}
)

// route is one entry of the route table.
type route struct {
	Method   string
	Pattern  string
	Versions arm.Versions // nil: no api-version (edgevault's own admin routes)
	Access   access
	Handler  func(http.ResponseWriter, *request)
	// Provider, when set, must be registered in the subscription of the
	// route's {scope}.
	Provider string
	// Audit, when set, records each authenticated request under this
	// operation name (mgmt_audit.go).
	Audit audit.OperationName

	pattern pattern
	headOK  bool // a GET route that also answers HEAD
}

// Actions of Microsoft.Resources.
const (
	actGroupRead      = "Microsoft.Resources/subscriptions/resourceGroups/read"
	actGroupWrite     = "Microsoft.Resources/subscriptions/resourceGroups/write"
	actGroupDelete    = "Microsoft.Resources/subscriptions/resourceGroups/delete"
	actProvidersRead  = "Microsoft.Resources/subscriptions/providers/read"
	actProviderReg    = "{namespace}/register/action"
	actProviderUnreg  = "{namespace}/unregister/action"
	actSubscriptionRd = "Microsoft.Resources/subscriptions/read"
)

// table is the management host's route table. Order matters only where
// two patterns could match one path: the first wins.
func (h *Handler) table() []route {
	rts := []route{
		{Method: "GET", Pattern: "/subscriptions", Versions: arm.SubscriptionsVersions, Access: anyCaller, Handler: h.listSubscriptions},
		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}", Versions: arm.SubscriptionsVersions,
			Access: rbacAt(actSubscriptionRd, h.subscriptionScope), Handler: h.getSubscription},

		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/resourcegroups", Versions: arm.ResourcesVersions,
			Access: rbacAt(actGroupRead, h.subscriptionScopeAny), Handler: h.listGroups},
		{Method: "PUT", Pattern: "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", Versions: arm.ResourcesVersions,
			Access: rbacAt(actGroupWrite, h.groupScope), Handler: h.putGroup},
		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", Versions: arm.ResourcesVersions,
			Access: rbacAt(actGroupRead, h.groupScope), Handler: h.getGroup, headOK: true},
		{Method: "PATCH", Pattern: "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", Versions: arm.ResourcesVersions,
			Access: rbacAt(actGroupWrite, h.groupScope), Handler: h.patchGroup},

		{Method: "DELETE", Pattern: "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", Versions: arm.ResourcesVersions,
			Access: rbacAt(actGroupDelete, h.groupScope), Handler: h.deleteGroup},
		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Resources/operationStatuses/{operationId}", Versions: arm.AnyVersion,
			Access: anyCaller, Handler: h.getOperationStatus},
		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Resources/operationResults/{operationId}", Versions: arm.AnyVersion,
			Access: anyCaller, Handler: h.getOperationResult},

		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/providers", Versions: arm.ResourcesVersions,
			Access: rbacAt(actProvidersRead, h.subscriptionScope), Handler: h.listProviders},
		{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/providers/{namespace}", Versions: arm.ResourcesVersions,
			Access: rbacAt(actProvidersRead, h.subscriptionScope), Handler: h.getProvider},
		{Method: "POST", Pattern: "/subscriptions/{subscriptionId}/providers/{namespace}/register", Versions: arm.ResourcesVersions,
			Access: rbacAt(actProviderReg, h.subscriptionScope), Handler: h.registerProvider},
		{Method: "POST", Pattern: "/subscriptions/{subscriptionId}/providers/{namespace}/unregister", Versions: arm.ResourcesVersions,
			Access: rbacAt(actProviderUnreg, h.subscriptionScope), Handler: h.unregisterProvider},

		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.Authorization/locks/{lockName}", Versions: arm.LocksVersions,
			Access: rbacAt(actLockWrite, h.extensionScope), Handler: h.putLock, Provider: lock.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Authorization/locks/{lockName}", Versions: arm.LocksVersions,
			Access: rbacAt(actLockRead, h.extensionScope), Handler: h.getLock, Provider: lock.Namespace},
		{Method: "DELETE", Pattern: "{scope}/providers/Microsoft.Authorization/locks/{lockName}", Versions: arm.LocksVersions,
			Access: rbacAt(actLockDelete, h.extensionScope), Handler: h.deleteLock, Provider: lock.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Authorization/locks", Versions: arm.LocksVersions,
			Access: rbacAt(actLockRead, h.extensionScope), Handler: h.listLocks, Provider: lock.Namespace},

		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", Versions: arm.RoleVersions,
			Access: rbacAt(actRoleAssignmentWrite, h.extensionScope), Handler: h.putRoleAssignment, Provider: lock.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", Versions: arm.RoleVersions,
			Access: rbacAt(actRoleAssignmentRead, h.extensionScope), Handler: h.getRoleAssignment, Provider: lock.Namespace},
		{Method: "DELETE", Pattern: "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", Versions: arm.RoleVersions,
			Access: rbacAt(actRoleAssignmentDelete, h.extensionScope), Handler: h.deleteRoleAssignment, Provider: lock.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Authorization/roleAssignments", Versions: arm.RoleVersions,
			Access: rbacAt(actRoleAssignmentRead, h.extensionScope), Handler: h.listRoleAssignments, Provider: lock.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", Versions: arm.RoleVersions,
			Access: anyCaller, Handler: h.getRoleDefinition},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Authorization/roleDefinitions", Versions: arm.RoleVersions,
			Access: anyCaller, Handler: h.listRoleDefinitions},

		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.KeyVault/vaults/{vaultName}", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actVaultWrite, h.vaultScope), Handler: h.putVault, Provider: keyvault.Namespace, Audit: audit.VaultPut},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.KeyVault/vaults/{vaultName}", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actVaultRead, h.vaultScope), Handler: h.getVault, Provider: keyvault.Namespace},
		{Method: "PATCH", Pattern: "{scope}/providers/Microsoft.KeyVault/vaults/{vaultName}", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actVaultWrite, h.vaultScope), Handler: h.patchVault, Provider: keyvault.Namespace, Audit: audit.VaultPatch},
		{Method: "DELETE", Pattern: "{scope}/providers/Microsoft.KeyVault/vaults/{vaultName}", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actVaultDelete, h.vaultScope), Handler: h.deleteVault, Provider: keyvault.Namespace, Audit: audit.VaultDelete},
		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.KeyVault/vaults/{vaultName}/accessPolicies/{operationKind}", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actAccessPolicyWrite, h.vaultScope), Handler: h.updateAccessPolicies, Provider: keyvault.Namespace, Audit: VaultAccessPolicyUpdate},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.KeyVault/vaults", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actVaultRead, h.vaultListScope), Handler: h.listVaults, Provider: keyvault.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.KeyVault/checkNameAvailability", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actVaultCheckName, h.kvSubscriptionScope), Handler: h.checkVaultName, Provider: keyvault.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.KeyVault/deletedVaults", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actDeletedVaultsRead, h.kvSubscriptionScope), Handler: h.listDeletedVaults, Provider: keyvault.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vaultName}", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actDeletedVaultRead, h.kvSubscriptionScope), Handler: h.getDeletedVault, Provider: keyvault.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vaultName}/purge", Versions: arm.KeyVaultVersions,
			Access: rbacAt(actDeletedVaultPurge, h.kvSubscriptionScope), Handler: h.purgeDeletedVault, Provider: keyvault.Namespace, Audit: audit.VaultPurge},

		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.Storage/storageAccounts/{accountName}", Versions: arm.StorageVersions,
			Access: rbacAt(actStorageWrite, h.storageScope), Handler: h.putAccount, Provider: storageaccount.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Storage/storageAccounts/{accountName}", Versions: arm.StorageVersions,
			Access: rbacAt(actStorageRead, h.storageScope), Handler: h.getAccount, Provider: storageaccount.Namespace},
		{Method: "PATCH", Pattern: "{scope}/providers/Microsoft.Storage/storageAccounts/{accountName}", Versions: arm.StorageVersions,
			Access: rbacAt(actStorageWrite, h.storageScope), Handler: h.patchAccount, Provider: storageaccount.Namespace},
		{Method: "DELETE", Pattern: "{scope}/providers/Microsoft.Storage/storageAccounts/{accountName}", Versions: arm.StorageVersions,
			Access: rbacAt(actStorageDelete, h.storageScope), Handler: h.deleteAccount, Provider: storageaccount.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Storage/storageAccounts", Versions: arm.StorageVersions,
			Access: rbacAt(actStorageRead, h.storageListScope), Handler: h.listAccounts, Provider: storageaccount.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.Storage/checkNameAvailability", Versions: arm.StorageVersions,
			Access: rbacAt(actStorageCheckName, h.storageSubscriptionScope), Handler: h.checkAccountName, Provider: storageaccount.Namespace},

		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.Insights/diagnosticSettings/{name}", Versions: arm.DiagnosticsVersions,
			Access: rbacAt(actDiagnosticsWrite, h.diagnosticsScope), Handler: h.putDiagnosticSetting, Provider: diagnostics.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Insights/diagnosticSettings/{name}", Versions: arm.DiagnosticsVersions,
			Access: rbacAt(actDiagnosticsRead, h.diagnosticsScope), Handler: h.getDiagnosticSetting, Provider: diagnostics.Namespace},
		{Method: "DELETE", Pattern: "{scope}/providers/Microsoft.Insights/diagnosticSettings/{name}", Versions: arm.DiagnosticsVersions,
			Access: rbacAt(actDiagnosticsDelete, h.diagnosticsScope), Handler: h.deleteDiagnosticSetting, Provider: diagnostics.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Insights/diagnosticSettings", Versions: arm.DiagnosticsVersions,
			Access: rbacAt(actDiagnosticsRead, h.diagnosticsScope), Handler: h.listDiagnosticSettings, Provider: diagnostics.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Insights/diagnosticSettingsCategories/{name}", Versions: arm.DiagnosticsVersions,
			Access: rbacAt(actDiagnosticCategories, h.diagnosticsScope), Handler: h.getDiagnosticCategory, Provider: diagnostics.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.Insights/diagnosticSettingsCategories", Versions: arm.DiagnosticsVersions,
			Access: rbacAt(actDiagnosticCategories, h.diagnosticsScope), Handler: h.listDiagnosticCategories, Provider: diagnostics.Namespace},

		{Method: "PUT", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.putDevice, Provider: edge.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeRead, h.edgeScope), Handler: h.getDevice, Provider: edge.Namespace},
		{Method: "PATCH", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.patchDevice, Provider: edge.Namespace},
		{Method: "DELETE", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeDelete, h.edgeScope), Handler: h.deleteDevice, Provider: edge.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeRead, h.edgeListScope), Handler: h.listDevices, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/getExtendedInformation", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeGetExtended, h.edgeScope), Handler: h.getExtendedInfo, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/updateExtendedInformation", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeUpdExtended, h.edgeScope), Handler: h.updateExtendedInfo, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/generateActivationKey", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.generateActivationKey, Provider: edge.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/activationKeys", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeRead, h.edgeScope), Handler: h.listActivationKeys, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/revokeActivationKeys", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.revokeActivationKeys, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/syncDeviceSecrets", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeUpdExtended, h.edgeScope), Handler: h.syncDeviceSecrets, Provider: edge.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/securityOverview", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeRead, h.edgeScope), Handler: h.securityOverview, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/recoverKeyVault", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.recoverKeyVault, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/reconfigureManagedIdentity", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.reconfigureManagedIdentity, Provider: edge.Namespace},
		{Method: "POST", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/sendSecret", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeWrite, h.edgeScope), Handler: h.sendSecret, Provider: edge.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/alerts", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeAlertsRead, h.edgeScope), Handler: h.listAlerts, Provider: edge.Namespace},
		{Method: "GET", Pattern: "{scope}/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/{deviceName}/alerts/{alertName}", Versions: arm.EdgeVersions,
			Access: rbacAt(actEdgeAlertsRead, h.edgeScope), Handler: h.getAlert, Provider: edge.Namespace},

		{Method: "GET", Pattern: "{scope}/providers/Edgevault.Audit/logs", Versions: arm.AuditVersions,
			Access: rbacAt(actAuditRead, h.auditScope), Handler: h.listAuditLogs},
		{Method: "GET", Pattern: "{scope}/providers/Edgevault.Audit/insights", Versions: arm.AuditVersions,
			Access: rbacAt(actAuditRead, h.auditScope), Handler: h.getAuditInsights},
		{Method: "POST", Pattern: "{scope}/providers/Edgevault.Audit/verify", Versions: arm.AuditVersions,
			Access: rbacAt(actAuditVerify, h.auditScope), Handler: h.verifyAuditLogs},

		{Method: "GET", Pattern: "/edgevault/admin/users", Access: tenantAdmin, Handler: h.listUsers},
		{Method: "GET", Pattern: "/edgevault/admin/servicePrincipals", Access: tenantAdmin, Handler: h.listServicePrincipals},
		{Method: "POST", Pattern: "/edgevault/admin/servicePrincipals", Access: tenantAdmin, Handler: h.createServicePrincipal},
		{Method: "DELETE", Pattern: "/edgevault/admin/servicePrincipals/{clientId}", Access: tenantAdmin, Handler: h.deleteServicePrincipal},
		{Method: "POST", Pattern: "/edgevault/admin/servicePrincipals/{clientId}/resetSecret", Access: tenantAdmin, Handler: h.resetServicePrincipalSecret},
		{Method: "POST", Pattern: "/edgevault/admin/signingKeys/rotate", Access: tenantAdmin, Handler: h.rotateSigningKey},
		{Method: "POST", Pattern: "/edgevault/admin/rootKey/rotate", Access: tenantAdmin, Handler: h.rotateRootKey},
	}
	return rts
}

// subscriptionScope is /subscriptions/{subscriptionId}, once the
// subscription is known to exist in the caller's tenant (ARM answers 404
// SubscriptionNotFound otherwise; that reveals nothing about resources).
func (h *Handler) subscriptionScope(q *request) (resource.ID, error) {
	id := q.vars["subscriptionId"]
	sub, err := h.cfg.Subscriptions.Subscription(q.ctx(), id)
	if err != nil || sub.TenantID != q.caller.Principal.TenantID {
		if err != nil && errkind.KindOf(err) != errkind.NotFound {
			return resource.ID{}, err
		}
		return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "SubscriptionNotFound",
			Message: "The subscription '" + truncate(id) + "' could not be found."}
	}
	return resource.NewSubscription(sub.ID), nil
}

// subscriptionScopeAny is subscriptionScope for list routes that filter
// per item: the caller needs no role at the subscription itself.
func (h *Handler) subscriptionScopeAny(q *request) (resource.ID, error) {
	scope, err := h.subscriptionScope(q)
	if err != nil {
		return resource.ID{}, err
	}
	q.vars["filtered"] = "true"
	return scope, nil
}

// groupScope is the resource group of the path.
func (h *Handler) groupScope(q *request) (resource.ID, error) {
	sub, err := h.subscriptionScope(q)
	if err != nil {
		return resource.ID{}, err
	}
	return resource.NewResourceGroup(sub.SubscriptionID(), q.vars["resourceGroupName"]), nil
}

// extensionScope is the {scope} of an extension-resource route (locks,
// role assignments): it must be a subscription of the caller's tenant, an
// existing resource group in it, or an existing resource.
func (h *Handler) extensionScope(q *request) (resource.ID, error) {
	scope := q.scope
	if scope.Level() == resource.Tenant {
		return resource.ID{}, &arm.Error{Status: http.StatusBadRequest, Code: "InvalidScope",
			Message: "The scope '/' is not valid for this operation; use a subscription, resource group or resource."}
	}
	q.vars["subscriptionId"] = scope.SubscriptionID()
	if _, err := h.subscriptionScope(q); err != nil {
		return resource.ID{}, err
	}
	switch scope.Level() {
	case resource.ResourceGroup:
		if _, err := h.cfg.Groups.Get(q.ctx(), scope); err != nil {
			return resource.ID{}, err
		}
	case resource.Resource:
		exists := false
		if h.cfg.Exists != nil {
			var err error
			if exists, err = h.cfg.Exists(q.ctx(), scope); err != nil {
				return resource.ID{}, err
			}
		}
		if !exists {
			return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "ResourceNotFound",
				Message: "The Resource '" + scope.Type() + "/" + scope.Name() + "' under resource group '" +
					scope.ResourceGroupName() + "' was not found."}
		}
	}
	return scope, nil
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
