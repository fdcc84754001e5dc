// Package auditexport delivers the audit trail to storage accounts, as
// Azure Monitor's diagnostic settings do: for each setting with the
// AuditEvent category and a storage account, every audit record of the
// setting's resource made since the setting was created is appended, as
// one AuditEvent JSON line, to the hourly blob
//
//	insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/{RG}/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{VAULT}/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json
//
// (reference/keyvault-wire.md §4.3).
//
// Invariants:
//   - Exactly once, in order: per (setting, resource) a cursor holds the id
//     of the last record delivered. A batch's blob appends and the cursor's
//     advance commit in one transaction, and the advance is a
//     compare-and-swap on the cursor read before the batch, so a crash
//     repeats nothing and two replicas on one database never deliver a
//     record twice (the loser's transaction rolls back).
//   - No back-fill: a setting's cursor starts at its creation; records
//     with an earlier time are never delivered to it (as Azure). A setting
//     re-created under the same id starts again at its new creation.
//   - Removing a setting stops its delivery at the next pass. A missing or
//     deleting storage account is skipped silently (logged at debug): the
//     records stay undelivered and nothing is raised.
//   - A batch is bounded (Config.BatchSize records), and so is a pass per
//     cursor (Config.MaxPerPass), so one busy vault cannot starve another.
package auditexport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Container is the container Azure writes AuditEvent logs to.
const Container = "insights-logs-auditevent"

// Setting is a diagnostic setting that sends AuditEvent to a storage
// account: the only kind the exporter serves.
type Setting struct {
	// ID is the setting's resource id; with ResourceID it names a cursor.
	ID string
	// ResourceID is the audited resource (a vault).
	ResourceID resource.ID
	// StorageAccountID is the destination account.
	StorageAccountID resource.ID
	// StorageAccountUID, when set, is the UID of the account the setting
	// was made for: an account deleted and created again under the same
	// id is another account and receives nothing.
	StorageAccountUID string
	// CreatedAt is when the setting was created: the first record
	// delivered is the first with a time at or after it.
	CreatedAt time.Time
}

// Settings lists the diagnostic settings with AuditEvent enabled and a
// storage account (internal/diagnostics).
type Settings interface {
	All(ctx context.Context) ([]Setting, error)
}

// VersionedSettings are Settings that can say cheaply whether All would
// answer differently than before: AllVersion changes whenever All's
// answer does. The exporter then reads the settings themselves only in a
// pass that has work, instead of every pass.
type VersionedSettings interface {
	Settings
	AllVersion(ctx context.Context) (string, error)
}

// Records reads the audit trail (*audit.Writer).
type Records interface {
	List(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
	// LastID is the trail's highest entry id: a pass is skipped when it
	// has not moved since a pass that found nothing to deliver.
	LastID(ctx context.Context) (int64, error)
}

// Accounts says whether a storage account can receive blobs
// (*storageaccount.Service).
type Accounts interface {
	Exists(ctx context.Context, id resource.ID) (bool, error)
}

// Store keeps the cursors and commits deliveries (internal/store).
type Store interface {
	// ExportCursor returns the cursor of (settingKey, resourceKey); Found
	// false when there is none.
	ExportCursor(ctx context.Context, settingKey, resourceKey string) (Cursor, error)
	// DeliverAudit appends d's blobs and moves the cursor from d.From to
	// d.After in one transaction. It fails with ErrCursorMoved when the
	// cursor is no longer d.From (another replica delivered), and with
	// ErrAccountGone when the account is missing or being deleted; either
	// way nothing is written.
	DeliverAudit(ctx context.Context, d Delivery) error
}

// Cursor is the delivery position of one (setting, resource).
type Cursor struct {
	SettingKey, ResourceKey string
	// Found is false for a cursor never stored.
	Found bool
	// SettingCreated is the CreatedAt of the setting the cursor was made
	// for; a different one means the setting was re-created.
	SettingCreated time.Time
	// After is the id of the last audit entry delivered.
	After int64
}

// Delivery is one batch: the blobs to append and the cursor's move.
type Delivery struct {
	// From is the cursor as read; the store swaps it only if unchanged.
	From Cursor
	// SettingCreated and After are the cursor's new values.
	SettingCreated time.Time
	After          int64
	// Account is the storage account's id (blob's account is its Key);
	// AccountUID, when set, must be its UID.
	Account    resource.ID
	AccountUID string
	// Appends go to Container, in order.
	Appends []Append
	// Now is the blobs' modification time.
	Now time.Time
}

// Append is one blob append: whole JSON lines.
type Append struct {
	Blob string
	Data []byte
}

// Errors DeliverAudit returns; neither is a failure of the pass.
var (
	ErrCursorMoved = errors.New("auditexport: cursor moved")
	ErrAccountGone = errors.New("auditexport: storage account missing or being deleted")
)

// Observer receives each committed batch, for metrics (delivery lag:
// committed minus each entry's time). It must be quick.
type Observer interface {
	Delivered(entries []audit.Entry, committed time.Time)
}

// Defaults for Config.
const (
	DefaultBatchSize  = 500
	DefaultMaxPerPass = 5000
	DefaultInterval   = time.Second
)

// Config configures an Exporter.
type Config struct {
	Settings Settings
	Records  Records
	Accounts Accounts
	Store    Store
	// Render returns the AuditEvent JSON object of an entry, without a
	// newline: the one rendering, armapi.AuditEvent marshalled.
	Render func(audit.Entry) ([]byte, error)
	// BatchSize caps the records of one transaction (at most
	// audit.MaxLimit); MaxPerPass those of one cursor in one pass.
	BatchSize, MaxPerPass int
	Now                   func() time.Time // time.Now when nil
	Logger                *slog.Logger     // slog.Default when nil
	Observer              Observer         // optional
}

// Exporter delivers audit records to storage accounts.
type Exporter struct {
	cfg  Config
	idle idleState // RunOnce's alone: passes run one at a time
}

// New returns an Exporter.
func New(cfg Config) (*Exporter, error) {
	if cfg.Settings == nil || cfg.Records == nil || cfg.Accounts == nil || cfg.Store == nil || cfg.Render == nil {
		return nil, errkind.E(errkind.Invalid, "auditexport: Settings, Records, Accounts, Store and Render are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	cfg.BatchSize = min(cfg.BatchSize, audit.MaxLimit)
	if cfg.MaxPerPass <= 0 {
		cfg.MaxPerPass = DefaultMaxPerPass
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Exporter{cfg: cfg}, nil
}

// Run runs a pass at once and then every interval (DefaultInterval when
// not positive) until ctx ends. A failed pass is logged; the next one
// retries from the stored cursors.
func (x *Exporter) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := x.RunOnce(ctx); err != nil && ctx.Err() == nil {
			x.cfg.Logger.Warn("audit export", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce delivers what is pending for every setting, up to MaxPerPass
// records per setting, and returns how many records it delivered. A
// setting that fails does not stop the others; the errors are joined.
func (x *Exporter) RunOnce(ctx context.Context) (int, error) {
	last, err := x.cfg.Records.LastID(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit export: %w", err)
	}
	// Nothing recorded and no setting changed since a pass that found
	// nothing: skip the per-setting reads (an idle fleet costs two
	// queries a pass, one of them an aggregate when the settings are
	// versioned). A full pass runs at least every idleRecheck, for a
	// record whose id was allocated before the last pass but committed
	// after it (PostgreSQL sequences can commit out of order).
	var settings []Setting
	sig, versioned, err := x.settingsVersion(ctx)
	if err == nil && !versioned {
		settings, err = x.cfg.Settings.All(ctx)
		sig = Signature(settings)
	}
	if err != nil {
		return 0, fmt.Errorf("audit export: settings: %w", err)
	}
	now := x.cfg.Now()
	if x.idle.ok && x.idle.last == last && x.idle.sig == sig && now.Sub(x.idle.at) < idleRecheck {
		return 0, nil
	}
	x.idle.ok = false
	if versioned {
		if settings, err = x.cfg.Settings.All(ctx); err != nil {
			return 0, fmt.Errorf("audit export: settings: %w", err)
		}
	}
	var (
		total int
		errs  []error
	)
	for _, s := range settings {
		n, err := x.export(ctx, s)
		total += n
		if err != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("audit export to %s for %s: %w", s.StorageAccountID, s.ID, err))
		}
	}
	if total == 0 && len(errs) == 0 {
		x.idle = idleState{ok: true, last: last, sig: sig, at: now}
	}
	return total, errors.Join(errs...)
}

// idleRecheck bounds how long passes are skipped while nothing moves.
const idleRecheck = 30 * time.Second

// idleState is the last pass that found nothing to deliver.
type idleState struct {
	ok   bool
	last int64  // the trail's last id then
	sig  string // the settings then
	at   time.Time
}

// settingsVersion is the settings' version when they are versioned.
func (x *Exporter) settingsVersion(ctx context.Context) (version string, ok bool, err error) {
	v, ok := x.cfg.Settings.(VersionedSettings)
	if !ok {
		return "", false, nil
	}
	version, err = v.AllVersion(ctx)
	return version, true, err
}

// Signature identifies a list of settings (ids, creation, account): what
// an AllVersion can be for settings that keep no version of their own.
func Signature(ss []Setting) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.ID)
		b.WriteByte('|')
		b.WriteString(s.CreatedAt.UTC().Format(time.RFC3339Nano))
		b.WriteByte('|')
		b.WriteString(s.StorageAccountUID)
		b.WriteByte('\n')
	}
	return b.String()
}

// export delivers one setting's pending records, batch by batch.
func (x *Exporter) export(ctx context.Context, s Setting) (int, error) {
	ok, err := x.cfg.Accounts.Exists(ctx, s.StorageAccountID)
	if err != nil {
		return 0, err
	}
	if !ok {
		x.cfg.Logger.Debug("audit export: storage account missing, skipped", "setting", s.ID, "account", s.StorageAccountID)
		return 0, nil
	}
	created := s.CreatedAt.UTC()
	cur, err := x.cfg.Store.ExportCursor(ctx, strings.ToLower(s.ID), s.ResourceID.Key())
	if err != nil {
		return 0, err
	}
	after := cur.After
	if !cur.Found || !cur.SettingCreated.Equal(created) {
		after = 0 // a new or re-created setting: from its creation on
	}
	delivered := 0
	for delivered < x.cfg.MaxPerPass {
		limit := min(x.cfg.BatchSize, x.cfg.MaxPerPass-delivered)
		entries, err := x.cfg.Records.List(ctx, audit.Filter{ResourceID: &s.ResourceID, From: created, After: after, Limit: limit})
		if err != nil {
			return delivered, err
		}
		if len(entries) == 0 {
			return delivered, nil
		}
		appends, err := x.appends(entries)
		if err != nil {
			return delivered, err
		}
		last := entries[len(entries)-1].ID
		now := x.cfg.Now().UTC()
		err = x.cfg.Store.DeliverAudit(ctx, Delivery{From: cur, SettingCreated: created, After: last,
			Account: s.StorageAccountID, AccountUID: s.StorageAccountUID, Appends: appends, Now: now})
		switch {
		case errors.Is(err, ErrCursorMoved):
			// Another replica delivered this batch; it carries on.
			return delivered, nil
		case errors.Is(err, ErrAccountGone):
			x.cfg.Logger.Debug("audit export: storage account gone, skipped", "setting", s.ID, "account", s.StorageAccountID)
			return delivered, nil
		case err != nil:
			return delivered, err
		}
		if x.cfg.Observer != nil {
			x.cfg.Observer.Delivered(entries, x.cfg.Now())
		}
		delivered += len(entries)
		cur = Cursor{SettingKey: cur.SettingKey, ResourceKey: cur.ResourceKey, Found: true, SettingCreated: created, After: last}
		after = last
		if len(entries) < limit {
			return delivered, nil
		}
	}
	return delivered, nil
}

// appends renders entries as JSON lines grouped into their hourly blobs,
// in order, each append within blob.MaxAppendBytes.
func (x *Exporter) appends(entries []audit.Entry) ([]Append, error) {
	var out []Append
	for _, e := range entries {
		line, err := x.cfg.Render(e)
		if err != nil {
			return nil, fmt.Errorf("render audit entry %d: %w", e.ID, err)
		}
		name := BlobName(e.ResourceID, e.Time)
		n := len(out)
		if n == 0 || out[n-1].Blob != name || len(out[n-1].Data)+len(line)+1 > blob.MaxAppendBytes {
			out = append(out, Append{Blob: name})
			n++
		}
		out[n-1].Data = append(append(out[n-1].Data, line...), '\n')
	}
	return out, nil
}

// BlobName returns the blob, in Container, of the records of id made in
// t's hour (UTC): Azure upper-cases the resource id
// (reference/keyvault-wire.md §4.3).
func BlobName(id resource.ID, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("resourceId=%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json",
		strings.ToUpper(id.String()), t.Year(), int(t.Month()), t.Day(), t.Hour())
}
