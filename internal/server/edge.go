package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/deviceapi"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/token"
)

// failpoint, when set (builds tagged failpoints only), runs at the
// activation operation's failpoints; crash tests use it to exit the
// process at a chosen step.
var failpoint func(point string)

// newEdgeServices builds edge resources, their alerts and the
// activation-key operation over the ARM services.
func (s *Server) newEdgeServices() error {
	a := &s.arm
	var err error
	if a.alerts, err = alert.New(s.store, nil); err != nil {
		return err
	}
	if a.edge, err = edge.New(edge.Config{Store: s.store, Identities: s.identity, Locks: a.locks, Operations: a.operations,
		OfflineAfter: s.cfg.DeviceOfflineAfter, Alerts: a.alerts, Vaults: deviceVaults{a}, Logger: s.log}); err != nil {
		return err
	}
	// A vault's deletion, purge or recovery reaches the devices that
	// escrow in it at once (alerts, sync status).
	a.vaults.SetObserver(vaultObserver{a.edge})
	a.activation, err = activation.New(activation.Config{
		Keys: s.store, Devices: a.edge, Vaults: a.vaults, Secrets: a.secrets, Locks: a.locks, Storage: a.storage,
		Diagnostics: a.diagnostics, Identities: s.identity, Providers: a.providers, RBAC: a.rbac,
		Reader: identityVaultReader{s}, Alerts: a.alerts, Audit: serviceAuditor{s}, Operations: a.operations,
		DeviceURL: "https://" + s.endpoints.Host("device") + "/", CAFingerprint: sha256.Sum256(s.caDER),
		Failpoint: failpoint, Sealer: s.keyring,
	})
	return err
}

// identityVaultReader reads a secret as a principal through the Key Vault
// data plane, in process: a token the issuer signs for the principal and
// the vault audience, then a GET through the server's own handler, with
// its authentication, access-policy check and audit record.
type identityVaultReader struct{ s *Server }

func (r identityVaultReader) ReadSecretAs(ctx context.Context, p principal.Principal, vaultURI, name, version string) (sensitive.String, error) {
	b, err := r.do(ctx, p, http.MethodGet, vaultURI, "/secrets/"+url.PathEscape(name)+"/"+url.PathEscape(version), nil)
	if err != nil {
		return sensitive.String{}, err
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return sensitive.String{}, errkind.Wrap(errkind.Internal, err, "the vault's answer is unreadable")
	}
	return sensitive.New(body.Value), nil
}

// do sends one data-plane request as p and returns the 200 answer's body;
// any other answer is an error of the kind its status says (NotFound for
// 404, PermissionDenied for 401/403, Unavailable for 5xx and 429).
func (r identityVaultReader) do(ctx context.Context, p principal.Principal, method, vaultURI, path string, body []byte) ([]byte, error) {
	if !p.Enabled {
		return nil, errkind.E(errkind.PermissionDenied, "the managed identity is disabled")
	}
	tok, err := r.s.identityTokens.get(ctx, r.s, p)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(vaultURI)
	if err != nil || u.Host == "" {
		return nil, errkind.E(errkind.Internal, "vault URI %q is invalid", vaultURI)
	}
	u.Path, u.RawPath, u.RawQuery = "", "", "api-version=7.5"
	// The in-process request is a request of its own: a fresh context, so
	// that the server's middleware state (request id, surface) of the
	// request that made this call is not shared with it; cancelled with
	// the caller's.
	inner, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	req, err := http.NewRequestWithContext(inner, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL.Path = path
	req.Host = u.Host
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "edgevault (managed identity)")
	if id := httpx.RequestID(ctx); id != "" {
		req.Header.Set("x-ms-correlation-request-id", id)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	r.s.http.Handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		return rec.Body.Bytes(), nil
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	kind := errkind.PermissionDenied
	switch {
	case rec.Code == http.StatusNotFound:
		kind = errkind.NotFound
	case rec.Code == http.StatusConflict:
		kind = errkind.Conflict
	case rec.Code >= 500 || rec.Code == http.StatusTooManyRequests:
		kind = errkind.Unavailable
	}
	return nil, errkind.E(kind, "the vault answered %d %s: %s", rec.Code, e.Error.Code, e.Error.Message)
}

// serviceAuditor records the vault writes the activation operation makes
// directly (creating the vault, storing the CIK) in the vault's audit
// trail, under the caller who started the operation.
type serviceAuditor struct{ s *Server }

func (a serviceAuditor) RecordServiceWrite(ctx context.Context, v keyvault.Vault, operationName string, caller principal.Principal, requestURI string) error {
	if a.s.audit == nil {
		return nil
	}
	idType := "User"
	if caller.Kind != principal.User {
		idType = "ServicePrincipal"
	}
	return a.s.audit.Record(ctx, audit.Record{
		Time: time.Now().UTC(), ResourceID: v.ID, OperationName: audit.OperationName(operationName),
		ResultType: "Success", ResultSignature: "OK", Identity: audit.Identity{TenantID: caller.TenantID,
			ObjectID: caller.ObjectID, AppID: caller.ClientID, IDType: idType},
		Properties: audit.Properties{RequestURI: requestURI, HTTPStatusCode: http.StatusOK,
			ClientInfo: "edgevault activation (generateActivationKey)"},
	})
}

// newDeviceHandler serves the device host.
func (s *Server) newDeviceHandler() *deviceapi.Handler {
	return deviceapi.New(deviceapi.Config{
		Activator: s.arm.activation, Devices: s.arm.edge, Vault: identityVaultClient{s}, Audit: s.audit,
		CA: s.ca, TrustPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.caDER}), TrustDER: s.caDER,
		Heartbeat: s.cfg.DeviceHeartbeat, OfflineAfter: s.cfg.DeviceOfflineAfter, Logger: s.log, Recheck: s.deviceRecheck(),
	})
}

// identityVaultClient is the device API's access to a vault, acting as a
// device's managed identity by its object id.
type identityVaultClient struct{ s *Server }

func (c identityVaultClient) GetSecretAs(ctx context.Context, identityID, vaultURI, name, version string) (sensitive.String, error) {
	p, err := c.s.identity.Principal(ctx, identityID)
	if err != nil {
		return sensitive.String{}, err
	}
	return identityVaultReader(c).ReadSecretAs(ctx, p, vaultURI, name, version)
}

func (c identityVaultClient) SetSecretAs(ctx context.Context, identityID, vaultURI, name string, value sensitive.String) (string, error) {
	p, err := c.s.identity.Principal(ctx, identityID)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]string{"value": value.Reveal()})
	if err != nil {
		return "", err
	}
	rec, err := identityVaultReader(c).do(ctx, p, http.MethodPut, vaultURI, "/secrets/"+url.PathEscape(name), body)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec, &out); err != nil || out.ID == "" {
		return "", errkind.E(errkind.Internal, "the vault's answer to a secret write is unreadable")
	}
	return out.ID[strings.LastIndexByte(out.ID, '/')+1:], nil
}

// vaultObserver tells the edge resources of their vaults' changes.
type vaultObserver struct{ edge *edge.Service }

func (o vaultObserver) VaultChanged(ctx context.Context, id resource.ID, status keyvault.Status) {
	o.edge.VaultStatusChanged(ctx, id.String(), string(status))
}

// deviceVaults is the edge service's view of its devices' vaults.
type deviceVaults struct{ a *armServices }

func (v deviceVaults) InspectVault(ctx context.Context, vaultID, tenantID, identityID string) (edge.VaultHealth, error) {
	id, err := resource.Parse(vaultID)
	if err != nil {
		return edge.VaultHealth{}, errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	vault, status, err := v.a.vaults.Lookup(ctx, id)
	if err != nil {
		return edge.VaultHealth{}, err
	}
	return edge.VaultHealth{Status: string(status),
		IdentityAllowed: vault.Allows(tenantID, identityID, keyvault.SecretGet) && vault.Allows(tenantID, identityID, keyvault.SecretSet)}, nil
}

// DeleteDeviceVault removes the service's lock and soft-deletes the
// vault. Should the deletion be refused (another lock), the service's lock
// is put back, so a refused deletion changes nothing.
func (v deviceVaults) DeleteDeviceVault(ctx context.Context, vaultID string) error {
	id, err := resource.Parse(vaultID)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	if _, status, err := v.a.vaults.Lookup(ctx, id); err != nil || status != keyvault.Active {
		return err // already deleted
	}
	ours, err := v.a.locks.Get(ctx, id, activation.VaultLockName)
	hadLock := err == nil
	if err != nil && errkind.KindOf(err) != errkind.NotFound {
		return err
	}
	if hadLock {
		if _, err := v.a.locks.Delete(ctx, id, activation.VaultLockName); err != nil {
			return err
		}
	}
	if _, err := v.a.vaults.Delete(ctx, id); err != nil {
		if hadLock {
			if _, _, perr := v.a.locks.Put(ctx, principal.Principal{ObjectID: ours.CreatedBy}, id,
				activation.VaultLockName, lock.Spec{Level: ours.Level, Notes: ours.Notes}); perr != nil {
				return errors.Join(err, perr)
			}
		}
		return err
	}
	return nil
}

// identityTokenCache keeps the vault tokens the service signs for managed
// identities, per identity, until shortly before they expire: a push of
// several secrets, or a fleet's pushes, would otherwise sign an RS256
// token per secret. The identity's state is checked on every use (do),
// so a cached token never outlives its identity's being enabled.
type identityTokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	raw    string
	expiry time.Time
}

// tokenReuseMargin: a token is reused until this long before it expires.
const tokenReuseMargin = 5 * time.Minute

func (c *identityTokenCache) get(ctx context.Context, s *Server, p principal.Principal) (string, error) {
	c.mu.Lock()
	t, ok := c.m[p.ObjectID]
	c.mu.Unlock()
	if ok && time.Until(t.expiry) > tokenReuseMargin {
		return t.raw, nil
	}
	raw, claims, err := s.tokens.Issue(ctx, token.Subject{Principal: p, AppID: p.ClientID}, s.endpoints.VaultAudience())
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedToken{}
	}
	c.m[p.ObjectID] = cachedToken{raw: raw, expiry: claims.Expiry}
	c.mu.Unlock()
	return raw, nil
}

// deviceRecheck is how often a held heartbeat reads its device again: on
// SQLite this process is the only writer, so a change always wakes the
// poll and no re-read is needed; on PostgreSQL another replica may make it.
func (s *Server) deviceRecheck() time.Duration {
	if s.cfg.DatabaseURL == "" {
		return time.Minute
	}
	return deviceapi.DefaultRecheck
}
