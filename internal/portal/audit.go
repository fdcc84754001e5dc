package portal

import "net/http"

// The audit pages of an edge resource's key vault: the audit-log table
// with its filters and the insights charts. (Being written.)

// auditRoutes registers the audit and insights pages.
func (h *Handler) auditRoutes() {}

// securityAudit is the audit section of the Security page for the vault
// in o (nil when there is none); the partial "security-audit" shows it.
func (h *Handler) securityAudit(r *http.Request, o securityOverview) (any, error) { return nil, nil }
