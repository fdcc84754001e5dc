// Package bootstrap performs edgevault's first start: it creates a tenant,
// a subscription named "Default", an administrator user with a random
// password and an administrator service principal, both Owner of the
// subscription, and hands their credentials to the operator once, in
// <data-dir>/bootstrap.json (mode 0600).
//
// bootstrap.json is a published file format: outside tools and tests read
// its field names, so they never change.
//
// Crash safety: the file is written under a temporary name before the
// database transaction commits and renamed after, so a crash leaves either
// no bootstrap (and a stale temporary file, discarded on the next start) or
// a committed bootstrap whose temporary file the next start renames into
// place. A restart never bootstraps again and never changes the file.
package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// FileName is the name of the bootstrap file in the data directory.
const FileName = "bootstrap.json"

// AdminUserName is the bootstrap administrator's sign-in name.
const AdminUserName = "admin"

// File is the content of bootstrap.json.
type File struct {
	TenantID           string `json:"tenantId"`
	SubscriptionID     string `json:"subscriptionId"`
	AuthorityHost      string `json:"authorityHost"`
	ManagementEndpoint string `json:"managementEndpoint"`
	ManagementAudience string `json:"managementAudience"`
	VaultAudience      string `json:"vaultAudience"`
	StorageAudience    string `json:"storageAudience"`
	DeviceEndpoint     string `json:"deviceEndpoint"`
	PortalURL          string `json:"portalUrl"`
	CACertFile         string `json:"caCertFile"`
	Admin              struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"admin"`
	ServicePrincipal struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		ObjectID     string `json:"objectId"`
	} `json:"servicePrincipal"`
}

// Endpoints are the server's public URLs, as written to the file.
type Endpoints struct {
	AuthorityHost      string
	ManagementEndpoint string
	ManagementAudience string
	VaultAudience      string
	StorageAudience    string
	DeviceEndpoint     string
	PortalURL          string
	CACertFile         string // absolute path
}

// Records is everything a bootstrap creates, committed in one transaction.
type Records struct {
	Tenant          principal.Tenant
	Subscription    principal.Subscription
	Principals      []Principal
	RoleAssignments []rbac.Assignment
}

// Principal is a principal with its credential.
type Principal struct {
	Principal  principal.Principal
	Credential identity.Credential
}

// Store records the bootstrap.
type Store interface {
	// BootstrappedTenant returns the bootstrap tenant id, or "" before the
	// first start completed.
	BootstrappedTenant(ctx context.Context) (string, error)
	// CommitBootstrap stores r all or nothing; it fails with
	// errkind.Conflict when a bootstrap is already recorded.
	CommitBootstrap(ctx context.Context, r Records) error
}

// Config configures Run.
type Config struct {
	Store     Store
	Identity  *identity.Service
	DataDir   string
	Endpoints Endpoints
	Now       func() time.Time
}

// Result says what Run found or did.
type Result struct {
	Created  bool   // this start performed the bootstrap
	TenantID string // the bootstrap tenant
	Path     string // absolute path of bootstrap.json ("" if another replica holds it)
	// SubscriptionID is the Default subscription (known when this data
	// directory holds the file).
	SubscriptionID string
}

// Run bootstraps on first start and is a no-op afterwards.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	path, err := filepath.Abs(filepath.Join(cfg.DataDir, FileName))
	if err != nil {
		return Result{}, err
	}
	tenant, err := cfg.Store.BootstrappedTenant(ctx)
	if err != nil {
		return Result{}, err
	}
	if tenant != "" {
		return existing(path, tenant)
	}
	f, recs, err := generate(cfg)
	if err != nil {
		return Result{}, err
	}
	pending := path + ".pending"
	if err := writeFile(pending, f); err != nil {
		return Result{}, err
	}
	if err := cfg.Store.CommitBootstrap(ctx, recs); err != nil {
		_ = os.Remove(pending)
		if errkind.KindOf(err) == errkind.Conflict { // another replica won the race
			if tenant, err = cfg.Store.BootstrappedTenant(ctx); err == nil {
				return existing(path, tenant)
			}
		}
		return Result{}, err
	}
	if err := renameSynced(pending, path); err != nil {
		return Result{}, err
	}
	return Result{Created: true, TenantID: f.TenantID, SubscriptionID: f.SubscriptionID, Path: path}, nil
}

// existing handles a start after the bootstrap was committed: it finishes
// an interrupted rename and checks that the file belongs to this database.
func existing(path, tenant string) (Result, error) {
	pending := path + ".pending"
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if f, err := readFile(pending); err == nil && f.TenantID == tenant {
			if err := renameSynced(pending, path); err != nil {
				return Result{}, err
			}
		}
	}
	_ = os.Remove(pending) // a stale one from an attempt that lost or crashed
	f, err := readFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Another replica (sharing PostgreSQL) bootstrapped; its data
		// directory holds the file.
		return Result{TenantID: tenant}, nil
	case err != nil:
		return Result{}, err
	case f.TenantID != tenant:
		return Result{}, fmt.Errorf("bootstrap: %s is for tenant %s but the database belongs to tenant %s; is --database-url pointing at another server's database?", path, f.TenantID, tenant)
	}
	return Result{TenantID: tenant, SubscriptionID: f.SubscriptionID, Path: path}, nil
}

func generate(cfg Config) (File, Records, error) {
	now := cfg.Now().UTC()
	tenant := principal.Tenant{ID: principal.NewID(), DisplayName: "Default Directory", CreatedAt: now}
	sub := principal.Subscription{ID: principal.NewID(), TenantID: tenant.ID, DisplayName: "Default", State: "Enabled", CreatedAt: now}
	password := sensitive.New(randomPassword())
	user, userCred, err := cfg.Identity.NewUser(tenant.ID, AdminUserName, "Administrator", password, true)
	if err != nil {
		return File{}, Records{}, err
	}
	sp, spCred, secret, err := cfg.Identity.NewServicePrincipal(tenant.ID, "edgevault-admin", true)
	if err != nil {
		return File{}, Records{}, err
	}
	scope := "/subscriptions/" + sub.ID
	recs := Records{
		Tenant:       tenant,
		Subscription: sub,
		Principals:   []Principal{{user, userCred}, {sp, spCred}},
		RoleAssignments: []rbac.Assignment{
			{ID: principal.NewID(), Scope: scope, PrincipalID: user.ObjectID, PrincipalType: string(principal.User), RoleDefinitionID: rbac.Owner, CreatedAt: now},
			{ID: principal.NewID(), Scope: scope, PrincipalID: sp.ObjectID, PrincipalType: string(principal.ServicePrincipal), RoleDefinitionID: rbac.Owner, CreatedAt: now},
		},
	}
	e := cfg.Endpoints
	f := File{
		TenantID: tenant.ID, SubscriptionID: sub.ID,
		AuthorityHost: e.AuthorityHost, ManagementEndpoint: e.ManagementEndpoint,
		ManagementAudience: e.ManagementAudience, VaultAudience: e.VaultAudience,
		StorageAudience: e.StorageAudience, DeviceEndpoint: e.DeviceEndpoint,
		PortalURL: e.PortalURL, CACertFile: e.CACertFile,
	}
	f.Admin.Username = AdminUserName
	f.Admin.Password = password.Reveal()
	f.ServicePrincipal.ClientID = sp.ClientID
	f.ServicePrincipal.ClientSecret = secret.Reveal()
	f.ServicePrincipal.ObjectID = sp.ObjectID
	return f, recs, nil
}

// randomPassword returns 144 random bits, base64url (24 characters).
func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ReadFile reads a bootstrap.json.
func ReadFile(path string) (File, error) { return readFile(path) }

func readFile(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return File{}, fmt.Errorf("bootstrap: %s is not valid JSON", path)
	}
	return f, nil
}

func writeFile(path string, f File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func renameSynced(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(to))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
