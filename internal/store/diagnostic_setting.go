package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"

	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Diagnostic settings (diagnostics.Store). A setting is one row; its log
// and metric entries are a JSON column each, in the store's own shape
// (not the wire's), so an api-version never changes what is stored.

const settingColumns = `uid, id, storage_account_id, storage_account_uid, logs, metrics, deliver_from, created_by, created_at, updated_at`

type storedRetention struct {
	Enabled bool `json:"enabled"`
	Days    int  `json:"days"`
}

type storedLog struct {
	Category  string           `json:"category,omitempty"`
	Group     string           `json:"group,omitempty"`
	Enabled   bool             `json:"enabled"`
	Retention *storedRetention `json:"retention,omitempty"`
}

type storedMetric struct {
	Category  string           `json:"category"`
	Enabled   bool             `json:"enabled"`
	TimeGrain string           `json:"timeGrain,omitempty"`
	Retention *storedRetention `json:"retention,omitempty"`
}

func toStoredRetention(r *diagnostics.Retention) *storedRetention {
	if r == nil {
		return nil
	}
	return &storedRetention{Enabled: r.Enabled, Days: r.Days}
}

func fromStoredRetention(r *storedRetention) *diagnostics.Retention {
	if r == nil {
		return nil
	}
	return &diagnostics.Retention{Enabled: r.Enabled, Days: r.Days}
}

// settingEntries encodes a setting's log and metric entries.
func settingEntries(st diagnostics.Setting) (logs, metrics string, err error) {
	ls := make([]storedLog, 0, len(st.Logs))
	for _, l := range st.Logs {
		ls = append(ls, storedLog{Category: l.Category, Group: l.Group, Enabled: l.Enabled, Retention: toStoredRetention(l.Retention)})
	}
	ms := make([]storedMetric, 0, len(st.Metrics))
	for _, m := range st.Metrics {
		ms = append(ms, storedMetric{Category: m.Category, Enabled: m.Enabled, TimeGrain: m.TimeGrain, Retention: toStoredRetention(m.Retention)})
	}
	lb, err := json.Marshal(ls)
	if err != nil {
		return "", "", err
	}
	mb, err := json.Marshal(ms)
	return string(lb), string(mb), err
}

// InsertDiagnosticSetting inserts a setting; errkind.Conflict when its id
// is taken.
func (s *Store) InsertDiagnosticSetting(ctx context.Context, st diagnostics.Setting) error {
	logs, metrics, err := settingEntries(st)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO diagnostic_settings (uid, id_key, resource_key, name_key, id,
		storage_account_id, storage_account_uid, logs, metrics, delivers_audit, deliver_from, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		st.UID, st.ID.Key(), st.ResourceID().Key(), lower(st.Name()), st.ID.String(),
		st.StorageAccountID.String(), st.StorageAccountUID, logs, metrics, boolInt(st.DeliversAudit()),
		st.DeliverFrom.UnixNano(), st.CreatedBy, st.CreatedAt.UnixNano(), st.UpdatedAt.UnixNano())
	return s.wrap(err, "diagnostic setting")
}

// UpdateDiagnosticSetting replaces a setting's destination and entries.
// Its uid, id, creator and creation time never change.
func (s *Store) UpdateDiagnosticSetting(ctx context.Context, st diagnostics.Setting) error {
	logs, metrics, err := settingEntries(st)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE diagnostic_settings SET storage_account_id = $1, storage_account_uid = $2,
		logs = $3, metrics = $4, delivers_audit = $5, deliver_from = $6, updated_at = $7 WHERE uid = $8`,
		st.StorageAccountID.String(), st.StorageAccountUID, logs, metrics, boolInt(st.DeliversAudit()),
		st.DeliverFrom.UnixNano(), st.UpdatedAt.UnixNano(), st.UID)
	return s.mustAffect(res, err, "diagnostic setting")
}

// DiagnosticSetting returns the setting with an id (any case).
func (s *Store) DiagnosticSetting(ctx context.Context, id resource.ID) (diagnostics.Setting, error) {
	st, err := scanSetting(s.read.QueryRowContext(ctx, `SELECT `+settingColumns+` FROM diagnostic_settings WHERE id_key = $1`, id.Key()))
	return st, s.wrap(err, "diagnostic setting")
}

// DiagnosticSettings lists the settings of a resource by lower-cased name.
func (s *Store) DiagnosticSettings(ctx context.Context, resourceID resource.ID) ([]diagnostics.Setting, error) {
	return s.querySettings(ctx, `SELECT `+settingColumns+` FROM diagnostic_settings WHERE resource_key = $1 ORDER BY name_key`,
		resourceID.Key())
}

// AuditDiagnosticSettings lists the settings that deliver audit records,
// by resource and name.
func (s *Store) AuditDiagnosticSettings(ctx context.Context) ([]diagnostics.Setting, error) {
	return s.querySettings(ctx, `SELECT `+settingColumns+` FROM diagnostic_settings WHERE delivers_audit = 1
		ORDER BY resource_key, name_key`)
}

// AuditDiagnosticSettingsVersion identifies the current set of settings
// AuditDiagnosticSettings returns, in one aggregate over them: their
// number and their latest update. Adding, removing or changing one
// changes it (a write sets updated_at to its time), so the audit exporter
// reads the settings themselves only when it moves.
func (s *Store) AuditDiagnosticSettingsVersion(ctx context.Context) (string, error) {
	var n, latest int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM diagnostic_settings
		WHERE delivers_audit = 1`).Scan(&n, &latest)
	if err != nil {
		return "", s.wrap(err, "diagnostic settings")
	}
	return strconv.FormatInt(n, 10) + "/" + strconv.FormatInt(latest, 10), nil
}

// DeleteDiagnosticSetting removes a setting row.
func (s *Store) DeleteDiagnosticSetting(ctx context.Context, uid string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM diagnostic_settings WHERE uid = $1`, uid)
	return s.mustAffect(res, err, "diagnostic setting")
}

func (s *Store) querySettings(ctx context.Context, q string, args ...any) ([]diagnostics.Setting, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "diagnostic settings")
	}
	defer rows.Close()
	var out []diagnostics.Setting
	for rows.Next() {
		st, err := scanSetting(rows)
		if err != nil {
			return nil, s.wrap(err, "diagnostic settings")
		}
		out = append(out, st)
	}
	return out, s.wrap(rows.Err(), "diagnostic settings")
}

func scanSetting(row interface{ Scan(...any) error }) (diagnostics.Setting, error) {
	var (
		st                            diagnostics.Setting
		id, account, logs, metrics    string
		deliverFrom, created, updated sql.NullInt64
	)
	if err := row.Scan(&st.UID, &id, &account, &st.StorageAccountUID, &logs, &metrics, &deliverFrom, &st.CreatedBy,
		&created, &updated); err != nil {
		return diagnostics.Setting{}, err
	}
	corrupt := func(err error, what string) (diagnostics.Setting, error) {
		return diagnostics.Setting{}, errkind.Wrap(errkind.Internal, err, "stored diagnostic setting "+what+" is corrupt")
	}
	var err error
	if st.ID, err = resource.Parse(id); err != nil {
		return corrupt(err, "id")
	}
	if st.StorageAccountID, err = resource.Parse(account); err != nil {
		return corrupt(err, "storage account id")
	}
	var ls []storedLog
	var ms []storedMetric
	if err := json.Unmarshal([]byte(logs), &ls); err != nil {
		return corrupt(err, "logs")
	}
	if err := json.Unmarshal([]byte(metrics), &ms); err != nil {
		return corrupt(err, "metrics")
	}
	st.Logs = make([]diagnostics.LogSetting, 0, len(ls))
	for _, l := range ls {
		st.Logs = append(st.Logs, diagnostics.LogSetting{Category: l.Category, Group: l.Group, Enabled: l.Enabled,
			Retention: fromStoredRetention(l.Retention)})
	}
	st.Metrics = make([]diagnostics.MetricSetting, 0, len(ms))
	for _, m := range ms {
		st.Metrics = append(st.Metrics, diagnostics.MetricSetting{Category: m.Category, Enabled: m.Enabled,
			TimeGrain: m.TimeGrain, Retention: fromStoredRetention(m.Retention)})
	}
	st.DeliverFrom, st.CreatedAt, st.UpdatedAt = fromNS(deliverFrom), fromNS(created), fromNS(updated)
	return st, nil
}
