package server

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevault/edgevault/internal/armapi"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/auditexport"
)

// auditExportInterval is how often the exporter looks for new records:
// well inside the 10 seconds in which a record must reach the blob.
const auditExportInterval = time.Second

// startAuditExport starts delivering audit records to the storage
// accounts of diagnostic settings; it stops (and is waited for) before the
// audit writer and the store close.
func (s *Server) startAuditExport() error {
	x, err := auditexport.New(auditexport.Config{
		Settings: &s.arm.auditSettings, Records: s.audit, Accounts: s.arm.storage, Store: s.store,
		Render: renderAuditEvent, Logger: s.log,
	})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(background())
	var wg sync.WaitGroup
	wg.Go(func() { x.Run(ctx, auditExportInterval) })
	s.closers = append(s.closers, func() { stop(); wg.Wait() })
	return nil
}

// renderAuditEvent is the one AuditEvent rendering (armapi.AuditEvent),
// as one JSON line's object.
func renderAuditEvent(e audit.Entry) ([]byte, error) { return json.Marshal(armapi.AuditEvent(e)) }

// SetAuditExportSettings replaces the diagnostic settings the audit
// exporter serves. Until internal/diagnostics provides them, none are
// served unless a test sets them here.
func (s *Server) SetAuditExportSettings(settings auditexport.Settings) {
	s.arm.auditSettings.v.Store(&settings)
}

// settingsSlot is an auditexport.Settings that can be replaced while the
// exporter runs; empty until set.
type settingsSlot struct {
	v atomic.Pointer[auditexport.Settings]
}

// All implements auditexport.Settings.
func (s *settingsSlot) All(ctx context.Context) ([]auditexport.Setting, error) {
	if p := s.v.Load(); p != nil && *p != nil {
		return (*p).All(ctx)
	}
	return nil, nil
}

// AllVersion implements auditexport.VersionedSettings: the settings'
// own version when they have one, else the settings themselves, read
// and fingerprinted (so a slot is versioned whatever it holds).
func (s *settingsSlot) AllVersion(ctx context.Context) (string, error) {
	p := s.v.Load()
	if p == nil || *p == nil {
		return "", nil
	}
	if v, ok := (*p).(auditexport.VersionedSettings); ok {
		version, err := v.AllVersion(ctx)
		return "v:" + version, err
	}
	all, err := (*p).All(ctx)
	return "s:" + auditexport.Signature(all), err
}
