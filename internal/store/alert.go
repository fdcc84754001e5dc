package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/errkind"
)

// Alerts (alert.Store). An alert is one alerts row; resolved_at is NULL
// while it is active, and the partial unique index alerts_active keeps one
// active alert per device and type whatever the concurrency.

var _ alert.Store = (*Store)(nil)

const alertColumns = `id, device_uid, type, severity, title, recommendation, error_code, error_message, occurrences,
	details, appeared_at, last_seen_at, resolved_at`

// RaiseAlert implements alert.Store with one upsert on the partial index:
// two services raising the same alert at once count two occurrences of
// one alert, never two alerts. A new alert counts a.Occurrences, at least
// one; a.ResolvedAt is ignored (a raised alert is active).
func (s *Store) RaiseAlert(ctx context.Context, a alert.Alert) (alert.Alert, error) {
	details, err := json.Marshal(nonNilTags(a.Details))
	if err != nil {
		return alert.Alert{}, errkind.Wrap(errkind.Internal, err, "encode alert details")
	}
	got, err := scanAlert(s.write.QueryRowContext(ctx, `INSERT INTO alerts (`+alertColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)
		ON CONFLICT (device_uid, type) WHERE resolved_at IS NULL DO UPDATE
		SET occurrences = alerts.occurrences + 1, last_seen_at = excluded.last_seen_at,
			error_message = excluded.error_message, details = excluded.details
		RETURNING `+alertColumns,
		a.ID, a.DeviceUID, string(a.Type), string(a.Severity), a.Title, a.Recommendation, a.ErrorCode, a.ErrorMessage,
		max(a.Occurrences, 1), string(details), a.AppearedAt.UnixNano(), a.LastSeenAt.UnixNano()))
	if err != nil {
		return alert.Alert{}, s.wrap(err, "alert")
	}
	return got, nil
}

// ResolveAlert implements alert.Store.
func (s *Store) ResolveAlert(ctx context.Context, deviceUID string, t alert.Type, at time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE alerts SET resolved_at = $1
		WHERE device_uid = $2 AND type = $3 AND resolved_at IS NULL`, at.UnixNano(), deviceUID, string(t))
	if err := s.mustAffect(res, err, "alert"); errkind.KindOf(err) == errkind.NotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// Alerts implements alert.Store: active alerts first, then by appearance,
// newest first (then by id, so the order is total).
func (s *Store) Alerts(ctx context.Context, deviceUID string) ([]alert.Alert, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE device_uid = $1
		ORDER BY CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END, appeared_at DESC, id`, deviceUID)
	if err != nil {
		return nil, s.wrap(err, "alerts")
	}
	defer rows.Close()
	var out []alert.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, s.wrap(err, "alerts")
		}
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "alerts")
}

// Alert implements alert.Store; an id of another device's alert is not
// found.
func (s *Store) Alert(ctx context.Context, deviceUID, id string) (alert.Alert, error) {
	a, err := scanAlert(s.read.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE id = $1 AND device_uid = $2`, id, deviceUID))
	if err != nil {
		return alert.Alert{}, s.wrap(err, "alert")
	}
	return a, nil
}

// scanAlert reads alertColumns; Details is never nil.
func scanAlert(row interface{ Scan(...any) error }) (alert.Alert, error) {
	var (
		a                  alert.Alert
		typ, sev, details  string
		appeared, lastSeen int64
		resolved           sql.NullInt64
	)
	if err := row.Scan(&a.ID, &a.DeviceUID, &typ, &sev, &a.Title, &a.Recommendation, &a.ErrorCode, &a.ErrorMessage,
		&a.Occurrences, &details, &appeared, &lastSeen, &resolved); err != nil {
		return alert.Alert{}, err
	}
	if err := json.Unmarshal([]byte(details), &a.Details); err != nil {
		return alert.Alert{}, errkind.Wrap(errkind.Internal, err, "stored alert details are corrupt")
	}
	a.Details = nonNilTags(a.Details)
	a.Type, a.Severity = alert.Type(typ), alert.Severity(sev)
	a.AppearedAt, a.LastSeenAt, a.ResolvedAt = time.Unix(0, appeared).UTC(), time.Unix(0, lastSeen).UTC(), fromNS(resolved)
	return a, nil
}
