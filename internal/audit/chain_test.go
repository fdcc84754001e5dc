package audit_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
)

// TestLinkGolden pins the version-1 canonical encoding: if this hash
// changes, every chain already stored fails verification. Add a new Format
// instead of changing this one.
func TestLinkGolden(t *testing.T) {
	r := record(vaultID("v1"), 7)
	r.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true, Expires: at.Add(time.Hour)}
	r.Identity.UPN = "admin@example.test"
	r.ResultDescription = "ok"
	r, err := audit.Normalize(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = "7e7c0b947cb5384965810e1dafb3eb28321fb5655e00bba26fd8526e36fbc384"
	if got := hex.EncodeToString(audit.Link(audit.Genesis(), 1, r)); got != want {
		t.Errorf("Link = %s, want %s", got, want)
	}
}

// TestLinkCoversEveryField: changing any one field, the sequence number or
// the previous hash changes the hash.
func TestLinkCoversEveryField(t *testing.T) {
	base := record(vaultID("v1"), 7)
	base.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true, Expires: at.Add(time.Hour)}
	hash := func(r audit.Record) string {
		t.Helper()
		r, err := audit.Normalize(r)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(audit.Link(audit.Genesis(), 1, r))
	}
	want := hash(base)
	f := false
	for name, change := range map[string]func(r *audit.Record){
		"Time":                func(r *audit.Record) { r.Time = r.Time.Add(time.Nanosecond) },
		"ResourceID":          func(r *audit.Record) { r.ResourceID = vaultID("v2") },
		"ResourceID casing":   func(r *audit.Record) { r.ResourceID = vaultID("V1") },
		"OperationName":       func(r *audit.Record) { r.OperationName = audit.SecretSet },
		"OperationVersion":    func(r *audit.Record) { r.OperationVersion = "7.4" },
		"Category":            func(r *audit.Record) { r.Category = "Other" },
		"ResultType":          func(r *audit.Record) { r.ResultType = audit.Failure },
		"ResultSignature":     func(r *audit.Record) { r.ResultSignature = "Forbidden" },
		"ResultDescription":   func(r *audit.Record) { r.ResultDescription = "x" },
		"DurationMs":          func(r *audit.Record) { r.DurationMs++ },
		"CallerIPAddress":     func(r *audit.Record) { r.CallerIPAddress = netip.MustParseAddr("192.0.2.8") },
		"no CallerIPAddress":  func(r *audit.Record) { r.CallerIPAddress = netip.Addr{} },
		"CorrelationID":       func(r *audit.Record) { r.CorrelationID += "x" },
		"RequestID":           func(r *audit.Record) { r.RequestID += "x" },
		"TenantID":            func(r *audit.Record) { r.Identity.TenantID = "t2" },
		"ObjectID":            func(r *audit.Record) { r.Identity.ObjectID = "other" },
		"AppID":               func(r *audit.Record) { r.Identity.AppID = "app2" },
		"UPN":                 func(r *audit.Record) { r.Identity.UPN = "u" },
		"IDType":              func(r *audit.Record) { r.Identity.IDType = "user" },
		"ID":                  func(r *audit.Record) { r.Properties.ID += "2" },
		"RequestURI":          func(r *audit.Record) { r.Properties.RequestURI += "2" },
		"HTTPStatusCode":      func(r *audit.Record) { r.Properties.HTTPStatusCode = 403 },
		"ClientInfo":          func(r *audit.Record) { r.Properties.ClientInfo = "curl" },
		"IsAccessPolicyMatch": func(r *audit.Record) { r.Properties.IsAccessPolicyMatch = &f },
		"no match":            func(r *audit.Record) { r.Properties.IsAccessPolicyMatch = nil },
		"TLSVersion":          func(r *audit.Record) { r.Properties.TLSVersion = "TLS1_2" },
		"no SecretProperties": func(r *audit.Record) { r.Properties.SecretProperties = nil },
		"Enabled": func(r *audit.Record) {
			r.Properties.SecretProperties = &audit.SecretAttributes{Expires: at.Add(time.Hour)}
		},
		"NotBefore": func(r *audit.Record) {
			r.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true, NotBefore: at, Expires: at.Add(time.Hour)}
		},
		"Expires": func(r *audit.Record) { r.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true} },
		// Text boundaries: moving a byte from one field to the next.
		"boundary": func(r *audit.Record) { r.OperationVersion, r.ResultSignature = "7.5O", "K" },
	} {
		r := base
		p := *base.Properties.SecretProperties
		r.Properties.SecretProperties = &p
		change(&r)
		if hash(r) == want {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
	n, _ := audit.Normalize(base)
	if hex.EncodeToString(audit.Link(audit.Genesis(), 2, n)) == want {
		t.Error("the sequence number is not hashed")
	}
	if hex.EncodeToString(audit.Link(make([]byte, 31), 1, n)) == want {
		t.Error("the previous hash is not hashed")
	}
}

// memStore is a chain in memory, for many quick tamper trials.
type memStore struct {
	entries []audit.Entry
	head    audit.Head
}

func (m *memStore) AppendAudit(_ context.Context, recs []audit.Record) error {
	for _, r := range recs {
		r, err := audit.Normalize(r)
		if err != nil {
			return err
		}
		prev := m.head.Hash
		if prev == nil {
			prev = audit.Genesis()
		}
		seq := m.head.Seq + 1
		e := audit.Entry{ID: seq, Seq: seq, PrevHash: prev, Hash: audit.Link(prev, seq, r), Format: audit.Format, Record: r}
		m.entries = append(m.entries, e)
		m.head = audit.Head{Seq: seq, Hash: e.Hash}
	}
	return nil
}

func (m *memStore) AuditHead(context.Context, resource.ID) (audit.Head, error) { return m.head, nil }

func (m *memStore) AuditChain(_ context.Context, _ resource.ID, after int64, limit int) ([]audit.Entry, error) {
	sorted := slices.Clone(m.entries)
	slices.SortStableFunc(sorted, func(a, b audit.Entry) int { return int(a.Seq - b.Seq) })
	var out []audit.Entry
	for _, e := range sorted {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) ListAudit(context.Context, audit.Filter) ([]audit.Entry, error) { return nil, nil }

func (m *memStore) AuditLastID(context.Context) (int64, error) { return int64(len(m.entries)), nil }

// TestVerifyRandomTampering: every one of 1,000 random single changes to
// a stored chain (a field modified, with or without its hash recomputed;
// an entry deleted; two entries swapped; the last entry cut off) is
// detected (reference/reliability.md T13).
func TestVerifyRandomTampering(t *testing.T) {
	vault := vaultID("v1")
	const n = 20
	fresh := func() (*memStore, *audit.Writer) {
		m := &memStore{}
		w := newWriter(t, audit.Config{Store: m})
		for i := range n {
			if err := w.Record(ctx, record(vault, i)); err != nil {
				t.Fatal(err)
			}
		}
		return m, w
	}
	m, w := fresh()
	if v, err := w.Verify(ctx, vault); err != nil || v.Entries != n {
		t.Fatalf("untampered chain: %+v, %v", v, err)
	}
	pristine := slices.Clone(m.entries)
	rng := rand.New(rand.NewPCG(1, 2))
	modify := []func(e *audit.Entry){
		func(e *audit.Entry) { e.OperationName = audit.SecretSet },
		func(e *audit.Entry) { e.Identity.ObjectID = "intruder" },
		func(e *audit.Entry) { e.Time = e.Time.Add(-time.Hour) },
		func(e *audit.Entry) { e.Properties.HTTPStatusCode = 403 },
		func(e *audit.Entry) { e.CallerIPAddress = netip.MustParseAddr("198.51.100.1") },
		func(e *audit.Entry) { e.Properties.IsAccessPolicyMatch = nil },
		func(e *audit.Entry) { e.Format = 2 },
		func(e *audit.Entry) { e.Seq += 100 },
	}
	for trial := range 1000 {
		m.entries = slices.Clone(pristine)
		for i := range m.entries { // deep enough: tamper replaces fields
			m.entries[i].PrevHash = slices.Clone(pristine[i].PrevHash)
		}
		m.head = audit.Head{Seq: n, Hash: pristine[n-1].Hash}
		i := rng.IntN(n)
		kind := rng.IntN(5)
		switch kind {
		case 0: // modify a field
			modify[rng.IntN(len(modify))](&m.entries[i])
		case 1: // modify a field and recompute that entry's hash
			e := &m.entries[i]
			e.ResultType = audit.Failure
			e.Hash = audit.Link(e.PrevHash, e.Seq, e.Record)
		case 2: // delete an entry
			m.entries = slices.Delete(m.entries, i, i+1)
		case 3: // swap two entries' places in the chain
			j := (i + 1 + rng.IntN(n-1)) % n
			m.entries[i].Seq, m.entries[j].Seq = m.entries[j].Seq, m.entries[i].Seq
		case 4: // cut off the last entry
			m.entries = m.entries[:n-1]
		}
		if _, err := w.Verify(ctx, vault); !errors.Is(err, audit.ErrChainBroken) {
			t.Fatalf("trial %d (tamper %d at entry %d) not detected: %v", trial, kind, i+1, err)
		}
	}
}

// forged returns an INSERT of a made-up record at seq of the chain whose
// key is $1, bypassing the chain head; $2 is a hash.
func forged(seq int) string {
	return `INSERT INTO audit_records (resource_key, seq, format, prev_hash, hash,
		occurred_at, resource_id, operation_name, operation_version, category, result_type, result_signature,
		result_description, duration_ms, caller_ip, correlation_id, request_id, tenant_id, object_id, app_id, upn,
		id_type, object_uri, request_uri, http_status, client_info, access_policy_match, tls_version)
		VALUES ($1, ` + strconv.Itoa(seq) + `, 1, $2, $2, 0, '/', 'SecretGet', '', '', '', '', '', 0, '', 'forged',
		'', '', '', '', '', '', '', '', 0, '', NULL, '')`
}

// forge inserts a made-up record at seq of id's chain.
func forge(tb testing.TB, db *sql.DB, id resource.ID, seq int) {
	tb.Helper()
	if _, err := db.ExecContext(ctx, forged(seq), id.Key(), audit.Genesis()); err != nil {
		tb.Fatal(err)
	}
}

// TestVerifyDetectsTamperingInStore tampers with the stored rows the way
// someone with database access would, in both dialects: each change is
// detected at the right entry, and the other vault's chain is unaffected.
func TestVerifyDetectsTamperingInStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tt := range []struct {
			name    string
			tamper  []string // statements; $1 is the resource key
			wantSeq int64
		}{
			{"modify", []string{`UPDATE audit_records SET object_id = 'intruder' WHERE resource_key = $1 AND seq = 3`}, 3},
			{"modify time", []string{`UPDATE audit_records SET occurred_at = occurred_at + 1 WHERE resource_key = $1 AND seq = 5`}, 5},
			{"delete", []string{`DELETE FROM audit_records WHERE resource_key = $1 AND seq = 3`}, 3},
			{"delete first", []string{`DELETE FROM audit_records WHERE resource_key = $1 AND seq = 1`}, 1},
			{"delete last", []string{`DELETE FROM audit_records WHERE resource_key = $1 AND seq = 6`}, 6},
			{"reorder", []string{
				`UPDATE audit_records SET seq = -1 WHERE resource_key = $1 AND seq = 2`,
				`UPDATE audit_records SET seq = 2 WHERE resource_key = $1 AND seq = 3`,
				`UPDATE audit_records SET seq = 3 WHERE resource_key = $1 AND seq = -1`}, 2},
			{"replace head", []string{`UPDATE audit_chains SET hash = $2 WHERE resource_key = $1`}, 6},
			{"delete head", []string{`DELETE FROM audit_chains WHERE resource_key = $1`}, 1},
			{"append behind the head", []string{forged(7)}, 7},
		} {
			t.Run(tt.name, func(t *testing.T) {
				st := openStore(t, b.cfg(t))
				w := newWriter(t, audit.Config{Store: st})
				a, other := vaultID("va"), vaultID("vb")
				for i := range 6 {
					for _, v := range []resource.ID{a, other} {
						if err := w.Record(ctx, record(v, i)); err != nil {
							t.Fatal(err)
						}
					}
				}
				if _, err := w.Verify(ctx, a); err != nil {
					t.Fatalf("before tampering: %v", err)
				}
				db, _ := st.JobsDB()
				for _, stmt := range tt.tamper {
					args := []any{a.Key()}
					if strings.Contains(stmt, "$2") {
						args = append(args, audit.Genesis())
					}
					if _, err := db.ExecContext(ctx, stmt, args...); err != nil {
						t.Fatal(err)
					}
				}
				_, err := w.Verify(ctx, a)
				var ce *audit.ChainError
				if !errors.As(err, &ce) || !errors.Is(err, audit.ErrChainBroken) || ce.Seq != tt.wantSeq {
					t.Fatalf("Verify = %v, want a break at entry %d", err, tt.wantSeq)
				}
				t.Log(err)
				if v, err := w.Verify(ctx, other); err != nil || v.Entries != 6 {
					t.Errorf("the other vault: %+v, %v", v, err)
				}
			})
		}
	})
}

// TestChainsIndependent: each resource's chain starts at 1 from the
// genesis hash, whatever other resources hold.
func TestChainsIndependent(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	w := newWriter(t, audit.Config{Store: st})
	a, other := vaultID("va"), vaultID("vb")
	for i := range 5 {
		if err := w.Record(ctx, record(a, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Record(ctx, record(other, 99)); err != nil {
		t.Fatal(err)
	}
	entries := all(t, w, &other)
	if len(entries) != 1 || entries[0].Seq != 1 || !slices.Equal(entries[0].PrevHash, audit.Genesis()) {
		t.Fatalf("other vault's chain = %+v", entries)
	}
	if v, err := w.Verify(ctx, vaultID("never-audited")); err != nil || v.Entries != 0 || !slices.Equal(v.Head, audit.Genesis()) {
		t.Errorf("empty chain: %+v, %v", v, err)
	}
}
