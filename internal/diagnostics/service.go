package diagnostics

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Errors with Azure's codes (mapped in armapi's error table).
var (
	// ErrNotFound: ResourceNotFound, 404.
	ErrNotFound = errkind.E(errkind.NotFound, "The diagnostic setting could not be found.")
	// ErrStorageAccount: a storageAccountId that names no account of the
	// caller's tenant (missing, being created or deleted, or another
	// tenant's): 400, one message for all, so it tells nothing of other
	// tenants.
	ErrStorageAccount = errkind.E(errkind.Invalid, "The storage account of the diagnostic setting is not valid.")
)

// Store persists settings. Setting ids are unique ignoring case.
type Store interface {
	// InsertDiagnosticSetting inserts a setting; errkind.Conflict when its
	// id is taken.
	InsertDiagnosticSetting(ctx context.Context, s Setting) error
	// UpdateDiagnosticSetting replaces the setting with s.UID;
	// errkind.NotFound when it is gone.
	UpdateDiagnosticSetting(ctx context.Context, s Setting) error
	// DiagnosticSetting returns the setting with an id (errkind.NotFound).
	DiagnosticSetting(ctx context.Context, id resource.ID) (Setting, error)
	// DiagnosticSettings lists the settings of a resource by name.
	DiagnosticSettings(ctx context.Context, resourceID resource.ID) ([]Setting, error)
	// AuditDiagnosticSettings lists every setting that delivers audit
	// records (Setting.DeliversAudit), by resource and name.
	AuditDiagnosticSettings(ctx context.Context) ([]Setting, error)
	// AuditDiagnosticSettingsVersion identifies the current result of
	// AuditDiagnosticSettings: it changes whenever that would.
	AuditDiagnosticSettingsVersion(ctx context.Context) (string, error)
	// DeleteDiagnosticSetting removes a setting; errkind.NotFound when it
	// is gone.
	DeleteDiagnosticSetting(ctx context.Context, uid string) error
}

// Account is what a setting needs to know of its storage account.
type Account struct {
	UID      string
	TenantID string
}

// Accounts finds storage accounts: errkind.NotFound when id names no
// account that is ready (provisioned and not being deleted).
type Accounts interface {
	Account(ctx context.Context, id resource.ID) (Account, error)
}

// AccountsFunc adapts a function to Accounts.
type AccountsFunc func(ctx context.Context, id resource.ID) (Account, error)

// Account calls f.
func (f AccountsFunc) Account(ctx context.Context, id resource.ID) (Account, error) {
	return f(ctx, id)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Locks is asked before every change with the setting's id, which
	// inherits the locks of the resource it extends.
	Locks    lock.Checker
	Accounts Accounts
	Now      func() time.Time
}

// Service manages diagnostic settings.
type Service struct {
	cfg Config
	// stripes serialise this process's changes to one resource's settings,
	// so the per-resource limit and the one-sink-per-category rule hold.
	stripes [64]sync.Mutex
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Locks == nil || cfg.Accounts == nil {
		return nil, errors.New("diagnostics: Store, Locks and Accounts are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

func (s *Service) lockResource(id resource.ID) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id.Key()))
	m := &s.stripes[h.Sum32()%uint32(len(s.stripes))]
	m.Lock()
	return m.Unlock
}

// SettingID returns the id of the setting called name on a resource.
func SettingID(resourceID resource.ID, name string) resource.ID {
	return resourceID.Child(Namespace, "diagnosticSettings", name)
}

// Spec is the body of a PUT.
type Spec struct {
	StorageAccountID string
	Logs             []LogSetting
	Metrics          []MetricSetting
}

// Put creates or replaces the setting id for caller. It reports whether
// the setting was created.
func (s *Service) Put(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (Setting, bool, error) {
	if err := ValidName(id.Name()); err != nil {
		return Setting{}, false, err
	}
	logs, metrics, err := normalise(spec)
	if err != nil {
		return Setting{}, false, err
	}
	accountID, err := parseAccountID(spec.StorageAccountID)
	if err != nil {
		return Setting{}, false, err
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Setting{}, false, err
	}
	acct, err := s.cfg.Accounts.Account(ctx, accountID)
	if errkind.KindOf(err) == errkind.NotFound || (err == nil && acct.TenantID != caller.TenantID) {
		return Setting{}, false, &errkind.Error{Kind: errkind.Invalid, Err: ErrStorageAccount,
			Message: "The storage account '" + truncate(accountID.String()) + "' was not found in this tenant."}
	}
	if err != nil {
		return Setting{}, false, err
	}
	defer s.lockResource(id.Parent())()
	siblings, err := s.cfg.Store.DiagnosticSettings(ctx, id.Parent())
	if err != nil {
		return Setting{}, false, err
	}
	now := s.cfg.Now().UTC()
	next := Setting{UID: principal.NewID(), ID: id, StorageAccountID: accountID, StorageAccountUID: acct.UID,
		Logs: logs, Metrics: metrics, DeliverFrom: now, CreatedBy: caller.ObjectID, CreatedAt: now, UpdatedAt: now}
	var cur *Setting
	for i, o := range siblings {
		if o.ID.Equal(id) {
			cur = &siblings[i]
			continue
		}
		if err := sinkInUse(o, next); err != nil {
			return Setting{}, false, err
		}
	}
	if cur == nil {
		if len(siblings) >= MaxPerResource {
			return Setting{}, false, errkind.E(errkind.Invalid,
				"The resource already holds the maximum number of diagnostic settings (%d).", MaxPerResource)
		}
		if err := s.cfg.Store.InsertDiagnosticSetting(ctx, next); err != nil {
			return Setting{}, false, err
		}
		return next, true, nil
	}
	next.UID, next.ID, next.CreatedBy, next.CreatedAt = cur.UID, cur.ID, cur.CreatedBy, cur.CreatedAt
	if cur.DeliversAudit() && next.DeliversAudit() && cur.StorageAccountUID == next.StorageAccountUID {
		next.DeliverFrom = cur.DeliverFrom // delivery goes on where it was
	}
	if err := s.cfg.Store.UpdateDiagnosticSetting(ctx, next); err != nil {
		return Setting{}, false, err
	}
	return next, false, nil
}

// sinkInUse enforces Azure's rule that a category reaches one destination
// through one setting of a resource only.
func sinkInUse(other, next Setting) error {
	if other.StorageAccountUID != next.StorageAccountUID {
		return nil
	}
	overlap := func(a, b []string) string {
		for _, x := range a {
			for _, y := range b {
				if strings.EqualFold(x, y) {
					return x
				}
			}
		}
		return ""
	}
	if c := overlap(enabledCategories(other), enabledCategories(next)); c != "" {
		return errkind.E(errkind.Invalid, "Data sink '%s' is already used in diagnostic setting '%s' for category '%s'. "+
			"Data sinks can't be reused in different settings on the same category for the same resource.",
			truncate(next.StorageAccountID.String()), other.Name(), c)
	}
	return nil
}

// enabledCategories expands a setting's enabled entries to categories.
func enabledCategories(st Setting) []string {
	var out []string
	for _, l := range st.Logs {
		switch {
		case !l.Enabled:
		case l.Category != "":
			out = append(out, l.Category)
		default:
			for _, c := range Categories {
				for _, g := range c.Groups {
					if strings.EqualFold(g, l.Group) {
						out = append(out, c.Name)
					}
				}
			}
		}
	}
	for _, m := range st.Metrics {
		if m.Enabled {
			out = append(out, m.Category)
		}
	}
	return out
}

// Get returns the setting id.
func (s *Service) Get(ctx context.Context, id resource.ID) (Setting, error) {
	st, err := s.cfg.Store.DiagnosticSetting(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return Setting{}, &errkind.Error{Kind: errkind.NotFound, Err: ErrNotFound,
			Message: "The diagnostic setting '" + truncate(id.Name()) + "' doesn't exist."}
	}
	return st, err
}

// List returns every setting of a resource, by name.
func (s *Service) List(ctx context.Context, resourceID resource.ID) ([]Setting, error) {
	return s.cfg.Store.DiagnosticSettings(ctx, resourceID)
}

// Delete deletes the setting id: delivery through it stops. It reports
// whether the setting existed (ARM answers 200, or 204).
func (s *Service) Delete(ctx context.Context, id resource.ID) (bool, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Delete, id); err != nil {
		return false, err
	}
	defer s.lockResource(id.Parent())()
	st, err := s.cfg.Store.DiagnosticSetting(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = s.cfg.Store.DeleteDiagnosticSetting(ctx, st.UID)
	if errkind.KindOf(err) == errkind.NotFound {
		return false, nil
	}
	return err == nil, err
}

// ForResource returns the settings of a resource that deliver its audit
// records (Setting.DeliversAudit): for the audit exporter.
func (s *Service) ForResource(ctx context.Context, resourceID resource.ID) ([]Setting, error) {
	all, err := s.cfg.Store.DiagnosticSettings(ctx, resourceID)
	if err != nil {
		return nil, err
	}
	var out []Setting
	for _, st := range all {
		if st.DeliversAudit() {
			out = append(out, st)
		}
	}
	return out, nil
}

// All returns every setting that delivers audit records, of every
// resource: for the audit exporter, which delivers a resource's records
// from each setting's DeliverFrom to its storage account.
func (s *Service) All(ctx context.Context) ([]Setting, error) {
	return s.cfg.Store.AuditDiagnosticSettings(ctx)
}

// AllVersion identifies what All returns now, cheaply: it changes when a
// setting that delivers audit records is added, removed or changed.
func (s *Service) AllVersion(ctx context.Context) (string, error) {
	return s.cfg.Store.AuditDiagnosticSettingsVersion(ctx)
}
