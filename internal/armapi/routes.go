package armapi

import (
	"net/http"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Permission is what a caller must hold to use a route.
type Permission string

// TenantAdmin is held by tenant administrators (principal.Admin): managing
// principals and the server's keys.
const TenantAdmin Permission = "Edgevault/tenant/administer"

// check reports whether caller holds p.
func (p Permission) check(c Caller) error {
	switch p {
	case TenantAdmin:
		if c.Principal.Admin {
			return nil
		}
	}
	return errkind.E(errkind.PermissionDenied,
		"The client '%s' with object id '%s' does not have authorization to perform action '%s'.",
		c.Principal.DisplayName, c.Principal.ObjectID, p)
}

// route is one entry of the route table.
type route struct {
	Method     string
	Pattern    string // net/http ServeMux pattern (without the method)
	Permission Permission
	Handler    http.HandlerFunc
}

// routes is the management host's route table.
func (h *Handler) routes() []route {
	return []route{
		{"GET", "/edgevault/admin/servicePrincipals", TenantAdmin, h.listServicePrincipals},
		{"POST", "/edgevault/admin/servicePrincipals", TenantAdmin, h.createServicePrincipal},
		{"DELETE", "/edgevault/admin/servicePrincipals/{clientId}", TenantAdmin, h.deleteServicePrincipal},
		{"POST", "/edgevault/admin/servicePrincipals/{clientId}/resetSecret", TenantAdmin, h.resetServicePrincipalSecret},
		{"POST", "/edgevault/admin/signingKeys/rotate", TenantAdmin, h.rotateSigningKey},
		{"POST", "/edgevault/admin/rootKey/rotate", TenantAdmin, h.rotateRootKey},
	}
}
