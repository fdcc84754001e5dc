package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

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
	if err := s.insertAuditRows(ctx, tx, rows); err != nil {
		return err
	}
	return s.rollupAudit(ctx, tx, rows)
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
// AuditLastID implements audit.Store: the primary key's maximum.
func (s *Store) AuditLastID(ctx context.Context) (int64, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit_records`).Scan(&id)
	return id, s.wrap(err, "audit records")
}

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

// ListAudit returns the entries matching f, in id order, or in descending
// id order with f.Newest (audit.Store).
func (s *Store) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	// Newest first reads the (resource_key, id, occurred_at) index
	// backwards, and the cursor bounds it from above.
	order := "id"
	if !f.Newest {
		add("id > ?", f.After)
	} else {
		order = "id DESC"
		if f.After > 0 {
			add("id < ?", f.After)
		}
	}
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
	if len(where) == 0 { // newest first of every resource, from the newest
		where = append(where, "TRUE")
	}
	args = append(args, f.Limit)
	return s.queryAudit(ctx, `SELECT id, `+auditColumns+` FROM audit_records WHERE `+
		strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
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

// The insights rollups (migration 0011): per batch, the records are
// aggregated in memory and each (resource, minute, operation, status) and
// (resource, hour, caller) touched is upserted once, adding to the row
// other batches left (INSERT ... ON CONFLICT DO UPDATE SET n = n +
// excluded.n, one text for both dialects; see upsertRollups for how each
// runs it). The rows are per resource, so the chain-head lock appendAudit
// holds already serialises the writers of one row across replicas.
var (
	rollupOpsColumns = append([]string{"resource_key", "bucket", "operation_name", "http_status", "records"},
		histogramColumns()...)
	rollupOpsConflict = ` ON CONFLICT (resource_key, bucket, operation_name, http_status) DO UPDATE SET ` +
		addExcluded("audit_rollup_ops", rollupOpsColumns[4:])
	rollupCallersColumns  = []string{"resource_key", "bucket", "object_id", "records"}
	rollupCallersConflict = ` ON CONFLICT (resource_key, bucket, object_id) DO UPDATE SET ` +
		addExcluded("audit_rollup_callers", rollupCallersColumns[3:])
	rollupOpsSelect = rollupOpsSelectSQL()
)

func histogramColumns() []string {
	cols := make([]string, audit.HistogramBuckets)
	for i := range cols {
		cols[i] = "h" + strconv.Itoa(i)
	}
	return cols
}

// addExcluded is "c = table.c + excluded.c, ..." for cols.
func addExcluded(table string, cols []string) string {
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = " + table + "." + c + " + excluded." + c
	}
	return strings.Join(set, ", ")
}

// rollupUpsertRows caps the rows of one upsert: 2,900 parameters.
const rollupUpsertRows = 100

// upsertRollups upserts n rows of cols into table, args(i, dst) appending
// row i's values to dst. As in insertAuditRows, SQLite runs one
// single-row statement per row, prepared once, and PostgreSQL one
// multi-row statement per rollupUpsertRows rows.
func (s *Store) upsertRollups(ctx context.Context, tx *sql.Tx, table string, cols []string, conflict string,
	n int, args func(i int, dst []any) []any) error {
	var (
		vals []any
		b    strings.Builder
	)
	perStatement := rollupUpsertRows
	if s.dialect.name == sqliteDialect.name {
		perStatement = 1
	}
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	for lo := 0; lo < n; lo += perStatement {
		hi := min(lo+perStatement, n)
		vals = vals[:0]
		b.Reset()
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(len(vals) + j + 1))
			}
			b.WriteByte(')')
			vals = args(i, vals)
		}
		b.WriteString(conflict)
		var err error
		switch {
		case perStatement > 1:
			_, err = tx.ExecContext(ctx, b.String(), vals...)
		case stmt == nil && n == 1:
			_, err = tx.ExecContext(ctx, b.String(), vals...)
		default:
			if stmt == nil {
				if stmt, err = tx.PrepareContext(ctx, b.String()); err != nil {
					return s.wrap(err, "audit rollup")
				}
			}
			_, err = stmt.ExecContext(ctx, vals...)
		}
		if err != nil {
			return s.wrap(err, "audit rollup")
		}
	}
	return nil
}

// rollupOpsSelectSQL sums the rows of a range per interval ($4 seconds),
// operation and status in the database: a day of minutes is some 20,000
// rows of 28 columns, and scanning them into Go costs more than summing
// them where they are.
func rollupOpsSelectSQL() string {
	sums := []string{"CAST(SUM(records) AS BIGINT)"}
	for _, c := range histogramColumns() {
		sums = append(sums, "CAST(SUM("+c+") AS BIGINT)")
	}
	return `SELECT bucket - bucket % $4 AS t, operation_name, http_status, ` + strings.Join(sums, ", ") +
		` FROM audit_rollup_ops WHERE resource_key = $1 AND bucket >= $2 AND bucket < $3
		GROUP BY t, operation_name, http_status`
}

type rollupOpsKey struct {
	resource string
	minute   int64
	op       audit.OperationName
	status   int
}

type rollupCallerKey struct {
	resource string
	hour     int64
	objectID string
}

type rollupOps struct {
	records int64
	latency audit.Histogram
}

// rollupAudit adds rows to the insights rollups, in key order (so two
// replicas' batches lock rollup rows in the same order on PostgreSQL).
func (s *Store) rollupAudit(ctx context.Context, tx *sql.Tx, rows []auditRow) error {
	ops := map[rollupOpsKey]*rollupOps{}
	callers := map[rollupCallerKey]int64{}
	for i := range rows {
		r := &rows[i].rec
		k := rollupOpsKey{rows[i].key, r.Time.Unix() - r.Time.Unix()%60, r.OperationName, r.Properties.HTTPStatusCode}
		o := ops[k]
		if o == nil {
			o = &rollupOps{}
			ops[k] = o
		}
		o.records++
		o.latency.Add(r.DurationMs)
		if oid := r.Identity.ObjectID; oid != "" {
			callers[rollupCallerKey{rows[i].key, r.Time.Unix() - r.Time.Unix()%3600, oid}]++
		}
	}
	opKeys := slices.SortedFunc(func(yield func(rollupOpsKey) bool) {
		for k := range ops {
			if !yield(k) {
				return
			}
		}
	}, func(a, b rollupOpsKey) int {
		return cmp.Or(strings.Compare(a.resource, b.resource), cmp.Compare(a.minute, b.minute),
			strings.Compare(string(a.op), string(b.op)), cmp.Compare(a.status, b.status))
	})
	if err := s.upsertRollups(ctx, tx, "audit_rollup_ops", rollupOpsColumns, rollupOpsConflict, len(opKeys), func(i int, args []any) []any {
		k := opKeys[i]
		o := ops[k]
		args = append(args, k.resource, k.minute, string(k.op), k.status, o.records)
		for _, n := range o.latency {
			args = append(args, n)
		}
		return args
	}); err != nil {
		return err
	}
	callerKeys := slices.SortedFunc(func(yield func(rollupCallerKey) bool) {
		for k := range callers {
			if !yield(k) {
				return
			}
		}
	}, func(a, b rollupCallerKey) int {
		return cmp.Or(strings.Compare(a.resource, b.resource), cmp.Compare(a.hour, b.hour), strings.Compare(a.objectID, b.objectID))
	})
	return s.upsertRollups(ctx, tx, "audit_rollup_callers", rollupCallersColumns, rollupCallersConflict, len(callerKeys), func(i int, args []any) []any {
		k := callerKeys[i]
		return append(args, k.resource, k.hour, k.objectID, callers[k])
	})
}

// AuditRollups returns id's operation rollups of the minutes in [from,
// to), summed per interval (audit.RollupStore).
func (s *Store) AuditRollups(ctx context.Context, id resource.ID, from, to time.Time, interval time.Duration) ([]audit.OperationRollup, error) {
	secs := max(int64(interval/time.Second), 60)
	rows, err := s.read.QueryContext(ctx, rollupOpsSelect, id.Key(), from.Unix(), to.Unix(), secs)
	if err != nil {
		return nil, s.wrap(err, "audit rollups")
	}
	defer rows.Close()
	var (
		out  []audit.OperationRollup
		dest = make([]any, 4+audit.HistogramBuckets)
	)
	for rows.Next() {
		var (
			r     audit.OperationRollup
			start int64
			op    string
		)
		dest[0], dest[1], dest[2], dest[3] = &start, &op, &r.HTTPStatus, &r.Records
		for i := range r.Latency {
			dest[4+i] = &r.Latency[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap(err, "audit rollups")
		}
		r.Time, r.Operation = time.Unix(start, 0).UTC(), audit.OperationName(op)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "audit rollups")
	}
	return out, nil
}

// AuditTopCallers returns the n callers of id with the most records in
// the hours in [from, to) (audit.RollupStore).
func (s *Store) AuditTopCallers(ctx context.Context, id resource.ID, from, to time.Time, n int) ([]audit.CallerCount, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT object_id, CAST(SUM(records) AS BIGINT) AS total FROM audit_rollup_callers
		WHERE resource_key = $1 AND bucket >= $2 AND bucket < $3
		GROUP BY object_id ORDER BY total DESC, object_id LIMIT $4`, id.Key(), from.Unix(), to.Unix(), n)
	if err != nil {
		return nil, s.wrap(err, "audit rollups")
	}
	defer rows.Close()
	var out []audit.CallerCount
	for rows.Next() {
		var c audit.CallerCount
		if err := rows.Scan(&c.ObjectID, &c.Records); err != nil {
			return nil, s.wrap(err, "audit rollups")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "audit rollups")
	}
	return out, nil
}
