// Package provider owns resource providers and their registration per
// subscription (reference/edge-arm.md §3.8). A resource type can be used in
// a subscription only once its provider is registered there; an attempt
// before that is 409 MissingSubscriptionRegistration with details[0].target
// naming the namespace, which is what lets the Azure SDKs' auto-registration
// policy register and retry.
//
// Registration completes on the next read: register answers Registering,
// and any later read sees Registered (there is no real provisioning behind
// it). A subscription starts with Microsoft.Storage and
// Microsoft.Authorization registered.
package provider

import (
	"context"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// State is a provider's registrationState, as on the wire.
type State string

const (
	NotRegistered State = "NotRegistered"
	Registering   State = "Registering"
	Registered    State = "Registered"
	Unregistering State = "Unregistering"
	Unregistered  State = "Unregistered"
)

// ResourceType is a type a provider serves.
type ResourceType struct {
	Name        string // "vaults", "locations/deletedVaults"
	APIVersions []string
	Locations   []string // empty: global
}

// Provider is a resource provider of the catalogue.
type Provider struct {
	Namespace string
	// Default is registered in every new subscription.
	Default bool
	Types   []ResourceType
}

// Catalogue lists the providers this server knows. Later work adds types
// as it implements them; a namespace here is registrable even before its
// types are served, as in Azure.
var Catalogue = []Provider{
	{Namespace: "Microsoft.Authorization", Default: true, Types: []ResourceType{
		{Name: "roleAssignments", APIVersions: []string{"2022-04-01", "2015-07-01"}},
		{Name: "roleDefinitions", APIVersions: []string{"2022-04-01", "2015-07-01"}},
		{Name: "locks", APIVersions: []string{"2020-05-01", "2016-09-01"}},
	}},
	{Namespace: "Microsoft.Storage", Default: true, Types: []ResourceType{
		{Name: "storageAccounts", APIVersions: []string{"2024-01-01", "2023-05-01"}},
	}},
	{Namespace: "Microsoft.KeyVault", Types: []ResourceType{
		{Name: "vaults", APIVersions: []string{"2024-11-01", "2023-07-01", "2022-07-01"}},
		{Name: "deletedVaults", APIVersions: []string{"2024-11-01", "2023-07-01", "2022-07-01"}},
	}},
	{Namespace: "Microsoft.DataBoxEdge", Types: []ResourceType{
		{Name: "dataBoxEdgeDevices", APIVersions: []string{"2023-12-01", "2022-03-01"}},
	}},
	{Namespace: "Microsoft.Insights", Types: []ResourceType{
		{Name: "diagnosticSettings", APIVersions: []string{"2021-05-01-preview"}},
	}},
}

// Lookup returns the catalogue entry of a namespace (case-insensitive).
func Lookup(namespace string) (Provider, bool) {
	for _, p := range Catalogue {
		if strings.EqualFold(p.Namespace, namespace) {
			return p, true
		}
	}
	return Provider{}, false
}

// Registration is a provider's state in one subscription.
type Registration struct {
	Provider Provider
	State    State
}

// Store persists registrations. Namespaces are stored in their catalogue
// casing; lookups are case-insensitive.
type Store interface {
	// ProviderStates returns the stored states of a subscription, by
	// lower-cased namespace.
	ProviderStates(ctx context.Context, subscriptionID string) (map[string]State, error)
	SetProviderState(ctx context.Context, subscriptionID, namespace string, s State, at time.Time) error
}

// Authorizer says whether the caller may perform an action at a scope;
// the ARM layer passes a closure over the caller.
type Authorizer func(ctx context.Context, action string, subscriptionID string) error

// Config configures a Service.
type Config struct {
	Store Store
	// InUse reports whether resources of a namespace exist in a
	// subscription (unregistering is refused then). nil: never in use.
	InUse func(ctx context.Context, subscriptionID, namespace string) (bool, error)
	Now   func() time.Time
}

// Service manages registrations.
type Service struct{ cfg Config }

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// ErrUnknownNamespace is returned for a namespace not in the catalogue.
var ErrUnknownNamespace = errkind.E(errkind.NotFound, "The resource provider namespace was not found.")

// MissingRegistrationError is 409 MissingSubscriptionRegistration.
type MissingRegistrationError struct{ Namespace string }

func (e *MissingRegistrationError) Error() string {
	return "The subscription is not registered to use namespace '" + e.Namespace +
		"'. See https://aka.ms/rps-not-found for how to register subscriptions."
}

// Unwrap makes the error a Conflict for errkind-based tables.
func (e *MissingRegistrationError) Unwrap() error {
	return errkind.E(errkind.Conflict, "%s", e.Error())
}
