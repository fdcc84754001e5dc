package server

import (
	"context"
	"fmt"
	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/edge"
	"log/slog"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/armapi"
	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// armServices are the domain services behind the management host.
type armServices struct {
	queue      *jobs.Queue
	rbac       *rbac.Service
	locks      *lock.Service
	providers  *provider.Service
	groups     *resourcegroup.Service
	operations *operation.Service
	vaults     *keyvault.Service
	secrets    *secret.Service
	storage    *storageaccount.Service
	// diagnostics are the vaults' diagnostic settings.
	diagnostics *diagnostics.Service
	// auditSettings feeds the audit exporter (startAuditExport).
	auditSettings settingsSlot
	edge          *edge.Service
	activation    *activation.Service
	alerts        *alert.Service
}

// newARMServices builds the ARM core's services over the store, and the
// durable job queue their long-running operations run on. Every handler is
// registered before the queue starts (startQueue).
func (s *Server) newARMServices(vaultClock func() time.Time) error {
	var err error
	a := &s.arm
	db, dialect := s.store.JobsDB()
	jobLog := slog.New(levelFloor{s.log.Handler(), slog.LevelWarn})
	replica, err := replicaID(s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("replica id: %w", err)
	}
	if a.queue, err = jobs.New(jobs.Config{DB: db, Dialect: dialect, URL: s.cfg.DatabaseURL, Logger: jobLog,
		ID: "edgevault-" + replica}); err != nil {
		return err
	}
	if a.operations, err = operation.New(operation.Config{
		Store: s.store.Operations(a.queue), Queue: a.queue, ErrorCode: armapi.ErrorCode, Logger: s.log, Sealer: s.keyring,
	}); err != nil {
		return err
	}
	if a.rbac, err = rbac.New(rbac.Config{Store: s.store, Principals: s.identity}); err != nil {
		return err
	}
	if a.locks, err = lock.New(lock.Config{Store: s.store}); err != nil {
		return err
	}
	// The secret service comes first: purging a vault purges its secrets.
	if a.secrets, err = secret.New(secret.Config{Store: s.store, Sealer: s.keyring, Logger: s.log}); err != nil {
		return err
	}
	if a.vaults, err = keyvault.New(keyvault.Config{Store: s.store, Locks: a.locks, Logger: s.log, Secrets: a.secrets, Now: vaultClock,
		VaultURI: func(name string) string { return "https://" + s.endpoints.Host(name+".vault") + "/" },
	}); err != nil {
		return err
	}
	// Storage accounts register their creation handler with operations
	// here, before the queue starts. Blobs (the blob store's purger)
	// reaches the blob store, built later by newBlobHandler, through
	// s.purgeBlobs.
	if a.storage, err = storageaccount.New(storageaccount.Config{Store: s.store, Locks: a.locks, Operations: a.operations,
		BlobEndpoint: func(name string) string { return "https://" + s.endpoints.Host(name+".blob") + "/" },
		Blobs:        storageaccount.BlobPurgerFunc(s.purgeBlobs),
	}); err != nil {
		return err
	}
	if a.diagnostics, err = diagnostics.New(diagnostics.Config{Store: s.store, Locks: a.locks,
		Accounts: diagnostics.AccountsFunc(func(ctx context.Context, id resource.ID) (diagnostics.Account, error) {
			acct, err := a.storage.Get(ctx, id)
			if err == nil && !acct.Ready() {
				err = errkind.E(errkind.NotFound, "storage account not ready")
			}
			return diagnostics.Account{UID: acct.UID, TenantID: acct.TenantID}, err
		}),
	}); err != nil {
		return err
	}
	s.SetAuditExportSettings(auditSettings{a.diagnostics})
	a.providers = provider.New(provider.Config{Store: s.store, InUse: func(ctx context.Context, sub, ns string) (bool, error) {
		if used, err := a.vaults.InUse(ctx, sub, ns); used || err != nil {
			return used, err
		}
		if used, err := a.edge.InUse(ctx, sub, ns); used || err != nil {
			return used, err
		}
		return a.storage.InUse(ctx, sub, ns)
	}})
	if err := s.newEdgeServices(); err != nil {
		return err
	}
	a.groups = resourcegroup.New(resourcegroup.Config{Store: s.store, Locks: a.locks})
	a.groups.EnableDelete(a.operations, s.store, a.locks.Uncached(), a.vaults, a.storage, a.edge)
	return nil
}

// auditSettings gives the audit exporter the diagnostic settings that
// deliver AuditEvent. Delivery starts at DeliverFrom: the setting's
// creation, or when delivery to its account was last switched on.
type auditSettings struct{ d *diagnostics.Service }

// AllVersion implements auditexport.VersionedSettings.
func (a auditSettings) AllVersion(ctx context.Context) (string, error) { return a.d.AllVersion(ctx) }

func (a auditSettings) All(ctx context.Context) ([]auditexport.Setting, error) {
	ss, err := a.d.All(ctx)
	out := make([]auditexport.Setting, 0, len(ss))
	for _, st := range ss {
		out = append(out, auditexport.Setting{ID: st.ID.String(), ResourceID: st.ResourceID(),
			StorageAccountID: st.StorageAccountID, StorageAccountUID: st.StorageAccountUID, CreatedAt: st.DeliverFrom})
	}
	return out, err
}

// startQueue starts running jobs; the queue stops after the HTTP server
// (closers run in reverse) and before the store closes.
func (s *Server) startQueue(ctx context.Context) error {
	if err := s.arm.queue.Start(ctx); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	// The Key Vault purge sweepers (vaults, secrets): at start, then
	// hourly; stopped (and waited for) before the store closes.
	sweepCtx, stopSweep := context.WithCancel(background())
	var swept sync.WaitGroup
	swept.Go(func() { s.arm.vaults.RunSweeper(sweepCtx, time.Hour) })
	swept.Go(func() { s.arm.secrets.RunSweeper(sweepCtx, time.Hour) })
	// The edge resources' escrow health: a bounded batch of devices every
	// 2 seconds (alerts an event missed, access policies edited, devices
	// gone quiet).
	swept.Go(func() { s.arm.edge.RunReconciler(sweepCtx, 2*time.Second) })
	s.closers = append(s.closers, func() { stopSweep(); swept.Wait() })
	// Audit delivery to storage accounts: stops before the queue.
	if err := s.startAuditExport(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	q := s.arm.queue
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(background(), 15*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			s.log.Warn("job queue stop", "err", err)
		}
	})
	return nil
}

// levelFloor drops records below a level: River logs every job retry at
// Info, which belongs in the operation's own record, not the server log.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (l levelFloor) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.Handler.Enabled(ctx, level)
}

func (l levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{l.Handler.WithAttrs(as), l.min}
}

func (l levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{l.Handler.WithGroup(name), l.min}
}
