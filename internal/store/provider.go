package store

import (
	"context"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/provider"
)

// ProviderStates returns a subscription's stored registration states by
// lower-cased namespace.
func (s *Store) ProviderStates(ctx context.Context, subscriptionID string) (map[string]provider.State, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT namespace_key, state FROM provider_registrations WHERE subscription_id = $1`, subscriptionID)
	if err != nil {
		return nil, s.wrap(err, "provider registrations")
	}
	defer rows.Close()
	out := map[string]provider.State{}
	for rows.Next() {
		var ns, st string
		if err := rows.Scan(&ns, &st); err != nil {
			return nil, s.wrap(err, "provider registrations")
		}
		out[ns] = provider.State(st)
	}
	return out, s.wrap(rows.Err(), "provider registrations")
}

// SetProviderState upserts a registration state.
func (s *Store) SetProviderState(ctx context.Context, subscriptionID, namespace string, st provider.State, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO provider_registrations (subscription_id, namespace_key, namespace, state, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (subscription_id, namespace_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		subscriptionID, strings.ToLower(namespace), namespace, string(st), at.UnixNano())
	return s.wrap(err, "provider registration")
}
