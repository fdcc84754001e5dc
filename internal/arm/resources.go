package arm

// Wire shapes of Microsoft.Resources (armresources 2021-04-01 and later,
// armsubscriptions 2022-12-01). Field names are exactly the SDK models'.

// Subscription is GET /subscriptions/{id}.
type Subscription struct {
	ID                   string               `json:"id"`
	SubscriptionID       string               `json:"subscriptionId"`
	TenantID             string               `json:"tenantId"`
	DisplayName          string               `json:"displayName"`
	State                string               `json:"state"`
	SubscriptionPolicies SubscriptionPolicies `json:"subscriptionPolicies"`
	AuthorizationSource  string               `json:"authorizationSource"`
}

// SubscriptionPolicies are fixed for edgevault subscriptions.
type SubscriptionPolicies struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

// ResourceGroup is the resource-group resource.
type ResourceGroup struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Location   string                  `json:"location"`
	ManagedBy  string                  `json:"managedBy,omitempty"`
	Tags       map[string]string       `json:"tags,omitempty"`
	Properties ResourceGroupProperties `json:"properties"`
}

// ResourceGroupProperties holds the provisioning state.
type ResourceGroupProperties struct {
	ProvisioningState string `json:"provisioningState"`
}

// ResourceGroupPut is the body of PUT resourcegroups/{name}. Read-only
// fields (id, name, type, properties.provisioningState) are accepted and
// ignored, as ARM does, so a GET body can be PUT back.
type ResourceGroupPut struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Location   string                   `json:"location"`
	ManagedBy  string                   `json:"managedBy"`
	Tags       map[string]string        `json:"tags"`
	Properties *ResourceGroupProperties `json:"properties"`
}

// ResourceGroupPatch is the body of PATCH resourcegroups/{name}.
type ResourceGroupPatch struct {
	Name       string                   `json:"name"`
	ManagedBy  *string                  `json:"managedBy"`
	Tags       map[string]string        `json:"tags"`
	Properties *ResourceGroupProperties `json:"properties"`
}

// Provider is a resource provider and its registration state.
type Provider struct {
	ID                 string                 `json:"id"`
	Namespace          string                 `json:"namespace"`
	RegistrationState  string                 `json:"registrationState"`
	RegistrationPolicy string                 `json:"registrationPolicy"`
	ResourceTypes      []ProviderResourceType `json:"resourceTypes"`
}

// ProviderResourceType is one type a provider serves.
type ProviderResourceType struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
}
