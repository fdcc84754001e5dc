package store

import (
	"context"
	"database/sql"
	"time"
)

// Portal sessions. A session is one portal_sessions row, keyed by the
// SHA-256 of its id, and the operations it started are its
// portal_session_operations rows, deleted with it (ON DELETE CASCADE).
// The store holds no session policy: the portal decides when a session
// has expired and passes the cut-offs. The portal cannot be imported here
// (it is a transport), so these are the store's own types and the server
// adapts them to portal.SessionStore.

// PortalSession is a signed-in portal session as stored.
type PortalSession struct {
	IDHash       []byte // SHA-256 of the session id; the id itself is never stored
	UserObjectID string
	UserName     string
	TenantID     string
	Subscription string // "" until the portal first reads it
	CreatedAt    time.Time
	LastSeenAt   time.Time
	Operations   []PortalOperation // ordered by id
}

// PortalOperation is a long-running operation a portal session started.
type PortalOperation struct {
	ID        string
	Kind      string
	Group     string
	Name      string
	StatusURL string
	ResultURL string
	KeyShown  bool
}

const portalSessionColumns = `id_hash, user_object_id, user_name, tenant_id, subscription_id, created_at, last_seen_at`

const portalOperationColumns = `id, kind, group_name, name, status_url, result_url, key_shown`

// CreatePortalSession inserts s and its operations in one transaction; a
// session with the same hash is a Conflict.
func (s *Store) CreatePortalSession(ctx context.Context, ps PortalSession) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_sessions (`+portalSessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			ps.IDHash, ps.UserObjectID, ps.UserName, ps.TenantID, ps.Subscription,
			ps.CreatedAt.UnixNano(), ps.LastSeenAt.UnixNano()); err != nil {
			return s.wrap(err, "portal session")
		}
		for _, op := range ps.Operations {
			if _, err := tx.ExecContext(ctx, `INSERT INTO portal_session_operations (session_hash, `+portalOperationColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				ps.IDHash, op.ID, op.Kind, op.Group, op.Name, op.StatusURL, op.ResultURL, op.KeyShown); err != nil {
				return s.wrap(err, "portal session operation")
			}
		}
		return nil
	})
}

// PortalSession returns the session whose id hashes to idHash, with its
// operations, in one query (a page view is one read). It does not judge
// expiry: the caller does.
func (s *Store) PortalSession(ctx context.Context, idHash []byte) (PortalSession, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT s.id_hash, s.user_object_id, s.user_name, s.tenant_id,
			s.subscription_id, s.created_at, s.last_seen_at,
			o.id, o.kind, o.group_name, o.name, o.status_url, o.result_url, o.key_shown
		FROM portal_sessions s LEFT JOIN portal_session_operations o ON o.session_hash = s.id_hash
		WHERE s.id_hash = $1 ORDER BY o.id`, idHash)
	if err != nil {
		return PortalSession{}, s.wrap(err, "portal session")
	}
	defer rows.Close()
	var (
		ps    PortalSession
		found bool
	)
	for rows.Next() {
		var (
			created, seen                                 int64
			opID, kind, group, name, statusURL, resultURL sql.NullString
			shown                                         sql.NullBool
		)
		if err := rows.Scan(&ps.IDHash, &ps.UserObjectID, &ps.UserName, &ps.TenantID, &ps.Subscription, &created, &seen,
			&opID, &kind, &group, &name, &statusURL, &resultURL, &shown); err != nil {
			return PortalSession{}, s.wrap(err, "portal session")
		}
		found = true
		ps.CreatedAt, ps.LastSeenAt = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC()
		if opID.Valid { // NULL: a session without operations
			ps.Operations = append(ps.Operations, PortalOperation{ID: opID.String, Kind: kind.String, Group: group.String,
				Name: name.String, StatusURL: statusURL.String, ResultURL: resultURL.String, KeyShown: shown.Bool})
		}
	}
	if err := rows.Err(); err != nil {
		return PortalSession{}, s.wrap(err, "portal session")
	}
	if !found {
		return PortalSession{}, s.wrap(sql.ErrNoRows, "portal session")
	}
	return ps, nil
}

// TouchPortalSession records that the session was used at at. It never
// moves last_seen_at back (replicas' clocks differ a little), and touching
// a session that is gone does nothing: the next lookup will not find it.
func (s *Store) TouchPortalSession(ctx context.Context, idHash []byte, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE portal_sessions SET last_seen_at = $2
		WHERE id_hash = $1 AND last_seen_at < $2`, idHash, at.UnixNano())
	return s.wrap(err, "portal session")
}

// DeletePortalSession deletes the session and its operations; deleting a
// session that is gone is not an error (sign-out is idempotent).
func (s *Store) DeletePortalSession(ctx context.Context, idHash []byte) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM portal_sessions WHERE id_hash = $1`, idHash)
	return s.wrap(err, "portal session")
}

// DeleteExpiredPortalSessions deletes the sessions last seen at or before
// seenBy or created at or before createdBy (the portal's idle and absolute
// cut-offs), with their operations, and returns how many went.
func (s *Store) DeleteExpiredPortalSessions(ctx context.Context, seenBy, createdBy time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM portal_sessions WHERE last_seen_at <= $1 OR created_at <= $2`,
		seenBy.UnixNano(), createdBy.UnixNano())
	if err != nil {
		return 0, s.wrap(err, "portal sessions")
	}
	n, err := res.RowsAffected()
	return n, s.wrap(err, "portal sessions")
}

// SetPortalSessionSubscription remembers the user's subscription for the
// session; NotFound when the session is gone.
func (s *Store) SetPortalSessionSubscription(ctx context.Context, idHash []byte, subscription string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE portal_sessions SET subscription_id = $2 WHERE id_hash = $1`,
		idHash, subscription)
	return s.mustAffect(res, err, "portal session")
}

// AddPortalSessionOperation records an operation the session started;
// NotFound when the session is gone, Conflict when it already has one
// with op.ID.
func (s *Store) AddPortalSessionOperation(ctx context.Context, idHash []byte, op PortalOperation) error {
	// INSERT ... SELECT ... WHERE EXISTS rather than a bare INSERT, so that
	// a session deleted meanwhile is NotFound in both dialects instead of
	// each one's foreign-key error.
	res, err := s.write.ExecContext(ctx, `INSERT INTO portal_session_operations (session_hash, `+portalOperationColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8
		WHERE EXISTS (SELECT 1 FROM portal_sessions WHERE id_hash = $1)`,
		idHash, op.ID, op.Kind, op.Group, op.Name, op.StatusURL, op.ResultURL, op.KeyShown)
	return s.mustAffect(res, err, "portal session")
}

// SetPortalOperationKeyShown sets the operation's key_shown to shown if it
// is not already, and reports whether this call changed it. The one
// conditional UPDATE is the whole decision (STYLE.md: single-use values
// are consumed in one statement): of concurrent callers setting it true,
// on any replica, exactly one sees true. An operation or session that is
// gone reports false.
func (s *Store) SetPortalOperationKeyShown(ctx context.Context, idHash []byte, opID string, shown bool) (bool, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE portal_session_operations SET key_shown = $3
		WHERE session_hash = $1 AND id = $2 AND key_shown <> $3`, idHash, opID, shown)
	if err != nil {
		return false, s.wrap(err, "portal session operation")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap(err, "portal session operation")
	}
	return n == 1, nil
}
