package store

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// auditColumns are the stored columns of an audit record, in the order
// auditRow.appendValues writes and scanAuditEntry reads them (after the id).
const auditColumns = `resource_key, seq, format, prev_hash, hash, occurred_at, resource_id,
	operation_name, operation_version, category, result_type, result_signature, result_description,
	duration_ms, caller_ip, correlation_id, request_id, tenant_id, object_id, app_id, upn, id_type,
	object_uri, request_uri, http_status, client_info, access_policy_match, tls_version,
	secret_enabled, secret_not_before, secret_expires`

var auditColumnCount = strings.Count(auditColumns, ",") + 1

// AppendAudit stores records in one transaction (audit.Store).
func (s *Store) AppendAudit(ctx context.Context, records []audit.Record) error {
	if len(records) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, records) })
}

// appendAudit appends records to their resources' chains inside tx. It is
// also for repositories whose write and its audit record must commit
// together (a secret version and its SecretSet record).
//
// For each resource, in key order (so two replicas' batches lock chain
// heads in the same order and cannot deadlock), an upsert that changes
// nothing locks the head row and returns it: PostgreSQL holds the row
// lock to commit, and a concurrent appender waits and then reads the head
// this transaction leaves; on SQLite the single writer serialises anyway.
// The same SQL text serves both, with no FOR UPDATE.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, records []audit.Record) error {
	rows := make([]auditRow, len(records))
	byKey := map[string][]int{}
	for i, r := range records {
		r, err := audit.Normalize(r)
		if err != nil {
			return err
		}
		k := r.ResourceID.Key()
		rows[i] = auditRow{rec: r, key: k}
		byKey[k] = append(byKey[k], i)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var (
			seq  int64
			hash []byte
		)
		err := tx.QueryRowContext(ctx, `INSERT INTO audit_chains (resource_key, seq, hash) VALUES ($1, 0, $2)
			ON CONFLICT (resource_key) DO UPDATE SET seq = audit_chains.seq
			RETURNING seq, hash`, k, audit.Genesis()).Scan(&seq, &hash)
		if err != nil {
			return s.wrap(err, "audit chain head")
		}
		for _, i := range byKey[k] {
			seq++
			next := audit.Link(hash, seq, rows[i].rec)
			rows[i].seq, rows[i].prevHash, rows[i].hash = seq, hash, next
			hash = next
		}
		if _, err := tx.ExecContext(ctx, `UPDATE audit_chains SET seq = $2, hash = $3 WHERE resource_key = $1`,
			k, seq, hash); err != nil {
			return s.wrap(err, "audit chain head")
		}
	}
	// Rows go in arrival order, so ids follow sequence numbers.
	return s.insertAuditRows(ctx, tx, rows)
}

// auditInsertRows caps the rows of one multi-row INSERT: 3,100
// parameters, where PostgreSQL allows 65,535.
const auditInsertRows = 100

// insertAuditRows inserts rows. The dialects differ here, for speed
// (BenchmarkRecord in internal/audit). SQLite runs in-process, and one
// single-row INSERT, prepared once per batch and executed per record, is
// its cheapest way: a multi-row INSERT must be parsed for every batch
// size, needs a statement journal, and SQLite looks "$n" parameters up by
// a linear search, quadratic in a statement's parameters. PostgreSQL is a
// round trip away per statement: one multi-row INSERT per auditInsertRows
// records costs a third of one per record (pgx caches the prepared
// statement per batch size and connection).
func (s *Store) insertAuditRows(ctx context.Context, tx *sql.Tx, rows []auditRow) error {
	if s.dialect.name == sqliteDialect.name {
		stmt, err := tx.PrepareContext(ctx, auditInsert(1))
		if err != nil {
			return s.wrap(err, "audit record")
		}
		defer stmt.Close()
		args := make([]any, 0, auditColumnCount)
		for _, r := range rows {
			if _, err := stmt.ExecContext(ctx, r.appendValues(args[:0])...); err != nil {
				return s.wrap(err, "audit record")
			}
		}
		return nil
	}
	args := make([]any, 0, min(len(rows), auditInsertRows)*auditColumnCount)
	for chunk := range slices.Chunk(rows, auditInsertRows) {
		args = args[:0]
		for _, r := range chunk {
			args = r.appendValues(args)
		}
		if _, err := tx.ExecContext(ctx, auditInsert(len(chunk)), args...); err != nil {
			return s.wrap(err, "audit record")
		}
	}
	return nil
}

// auditInsert returns an INSERT of n audit records.
func auditInsert(n int) string {
	var b strings.Builder
	b.Grow(len(auditColumns) + 40 + n*auditColumnCount*6)
	b.WriteString("INSERT INTO audit_records (" + auditColumns + ") VALUES ")
	p := 1
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range auditColumnCount {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(p))
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// auditRow is a record with its place in its chain, ready to insert.
type auditRow struct {
	rec            audit.Record
	key            string
	seq            int64
	prevHash, hash []byte
}

// appendValues appends the row's values in auditColumns order.
func (row auditRow) appendValues(args []any) []any {
	r := row.rec
	var (
		match             sql.NullInt64
		enabled, nbf, exp sql.NullInt64
		p                 = r.Properties
		id                = r.Identity
	)
	if p.IsAccessPolicyMatch != nil {
		match = sql.NullInt64{Int64: boolInt(*p.IsAccessPolicyMatch), Valid: true}
	}
	if sp := p.SecretProperties; sp != nil {
		enabled = sql.NullInt64{Int64: boolInt(sp.Enabled), Valid: true}
		nbf, exp = ns(sp.NotBefore), ns(sp.Expires)
	}
	ip := ""
	if r.CallerIPAddress.IsValid() {
		ip = r.CallerIPAddress.String()
	}
	return append(args, row.key, row.seq, audit.Format, row.prevHash, row.hash, r.Time.UnixNano(), r.ResourceID.String(),
		string(r.OperationName), r.OperationVersion, string(r.Category), string(r.ResultType),
		r.ResultSignature, r.ResultDescription, r.DurationMs, ip, r.CorrelationID, r.RequestID,
		id.TenantID, id.ObjectID, id.AppID, id.UPN, id.IDType,
		p.ID, p.RequestURI, p.HTTPStatusCode, p.ClientInfo, match, p.TLSVersion, enabled, nbf, exp)
}

func boolInt(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

// AuditHead returns the head of id's chain (audit.Store).
func (s *Store) AuditHead(ctx context.Context, id resource.ID) (audit.Head, error) {
	var h audit.Head
	err := s.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_chains WHERE resource_key = $1`, id.Key()).
		Scan(&h.Seq, &h.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return audit.Head{}, nil
	case err != nil:
		return audit.Head{}, s.wrap(err, "audit chain head")
	}
	return h, nil
}

// AuditChain returns up to limit entries of id's chain after afterSeq, in
// sequence order (audit.Store).
func (s *Store) AuditChain(ctx context.Context, id resource.ID, afterSeq int64, limit int) ([]audit.Entry, error) {
	return s.queryAudit(ctx, `SELECT id, `+auditColumns+` FROM audit_records
		WHERE resource_key = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id.Key(), afterSeq, limit)
}

// ListAudit returns the entries matching f, in id order (audit.Store).
func (s *Store) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add("id > ?", f.After)
	if f.ResourceID != nil {
		add("resource_key = ?", f.ResourceID.Key())
	}
	if !f.From.IsZero() {
		add("occurred_at >= ?", f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add("occurred_at < ?", f.To.UnixNano())
	}
	if f.Operation != "" {
		add("operation_name = ?", string(f.Operation))
	}
	if f.CallerObjectID != "" {
		add("object_id = ?", f.CallerObjectID)
	}
	if f.ResultType != "" {
		add("result_type = ?", string(f.ResultType))
	}
	args = append(args, f.Limit)
	return s.queryAudit(ctx, `SELECT id, `+auditColumns+` FROM audit_records WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT $`+strconv.Itoa(len(args)), args...)
}

func (s *Store) queryAudit(ctx context.Context, q string, args ...any) ([]audit.Entry, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "audit records")
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "audit records")
	}
	return out, nil
}

func scanAuditEntry(rows *sql.Rows) (audit.Entry, error) {
	var (
		e                           audit.Entry
		r                           = &e.Record
		p                           = &r.Properties
		id                          = &r.Identity
		key, resourceID, ip         string
		op, category, result        string
		occurred                    int64
		match, enabled, nbf, expire sql.NullInt64
	)
	err := rows.Scan(&e.ID, &key, &e.Seq, &e.Format, &e.PrevHash, &e.Hash, &occurred, &resourceID,
		&op, &r.OperationVersion, &category, &result, &r.ResultSignature, &r.ResultDescription,
		&r.DurationMs, &ip, &r.CorrelationID, &r.RequestID, &id.TenantID, &id.ObjectID, &id.AppID, &id.UPN, &id.IDType,
		&p.ID, &p.RequestURI, &p.HTTPStatusCode, &p.ClientInfo, &match, &p.TLSVersion, &enabled, &nbf, &expire)
	if err != nil {
		return audit.Entry{}, errkind.Wrap(errkind.Unavailable, err, "database error (audit records)")
	}
	r.OperationName, r.Category, r.ResultType = audit.OperationName(op), audit.Category(category), audit.ResultType(result)
	r.Time = fromNS(sql.NullInt64{Int64: occurred, Valid: true})
	if r.ResourceID, err = resource.Parse(resourceID); err != nil {
		return audit.Entry{}, errkind.Wrap(errkind.Internal, err, "stored audit resource id is not a resource id")
	}
	if ip != "" {
		if r.CallerIPAddress, err = netip.ParseAddr(ip); err != nil {
			return audit.Entry{}, errkind.Wrap(errkind.Internal, err, "stored audit caller address is not an address")
		}
	}
	if match.Valid {
		v := match.Int64 != 0
		p.IsAccessPolicyMatch = &v
	}
	if enabled.Valid {
		p.SecretProperties = &audit.SecretAttributes{Enabled: enabled.Int64 != 0, NotBefore: fromNS(nbf), Expires: fromNS(expire)}
	}
	return e, nil
}
