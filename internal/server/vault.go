package server

import (
	"context"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/kvapi"
)

// newVaultHandler builds the Key Vault data plane and the audit writer it
// records into. The writer closes after the HTTP server (closers run in
// reverse) so every acknowledged request's record is flushed.
func (s *Server) newVaultHandler(withoutAudit bool) (*kvapi.Handler, error) {
	w, err := audit.New(audit.Config{Store: s.store})
	if err != nil {
		return nil, err
	}
	s.audit = w
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(background(), 10*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			s.log.Warn("audit writer close", "err", err)
		}
	})
	limit := s.cfg.VaultRequestLimit
	if limit == 0 {
		limit = -1 // kvapi: negative means no limit
	}
	return kvapi.New(kvapi.Config{
		Throttle: kvapi.Throttle{Requests: limit, Window: 10 * time.Second},
		Vaults:   s.arm.vaults, Secrets: s.arm.secrets, Tokens: s.tokens, Sealer: s.keyring,
		Principals: s.identity, Auditor: auditorFor(w, withoutAudit),
		AuthorityHost: s.endpoints.AuthorityHost(), Resource: s.endpoints.VaultAudience(), Logger: s.log,
	})
}

// auditorFor returns the data plane's auditor: the writer, or (for the
// audit-cost benchmark only, see Options.WithoutDataPlaneAudit) one that
// drops every record.
func auditorFor(w *audit.Writer, without bool) kvapi.Auditor {
	if without {
		return kvapi.AuditorFunc(func(context.Context, kvapi.AuditRecord) error { return nil })
	}
	return vaultAuditor(w)
}

// vaultAuditor adapts the audit writer to the data plane's record shape.
func vaultAuditor(w *audit.Writer) kvapi.Auditor {
	return kvapi.AuditorFunc(func(ctx context.Context, r kvapi.AuditRecord) error {
		var attrs *audit.SecretAttributes
		if a := r.SecretAttributes; a != nil {
			attrs = &audit.SecretAttributes{Enabled: a.Enabled, NotBefore: a.NotBefore, Expires: a.Expires}
		}
		// A request that never authenticated was matched against no
		// access policy: the field is absent, not false.
		var match *bool
		if r.OperationName != string(audit.OperationName("Authentication")) {
			m := r.IsAccessPolicyMatch
			match = &m
		}
		return w.Record(ctx, audit.Record{
			Time: r.Time, ResourceID: r.ResourceID, OperationName: audit.OperationName(r.OperationName),
			OperationVersion: r.OperationVersion, ResultType: audit.ResultType(r.ResultType),
			ResultSignature: r.ResultSignature, ResultDescription: r.ResultDescription, DurationMs: r.DurationMs,
			CallerIPAddress: r.ClientIP, CorrelationID: r.CorrelationID, RequestID: r.RequestID,
			Identity: audit.Identity{TenantID: r.CallerTenantID, ObjectID: r.CallerObjectID, AppID: r.CallerAppID,
				UPN: r.CallerUPN, IDType: r.CallerIDType},
			Properties: audit.Properties{ID: r.ObjectID, RequestURI: r.RequestURI, HTTPStatusCode: r.StatusCode,
				ClientInfo: r.ClientInfo, IsAccessPolicyMatch: match, TLSVersion: r.TLSVersion, SecretProperties: attrs},
		})
	})
}
