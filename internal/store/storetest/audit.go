package storetest

import (
	"bytes"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

func init() {
	register("AuditAppend", testAuditAppend)
	register("AuditList", testAuditList)
	register("AuditAtomic", testAuditAtomic)
	register("AuditText", testAuditText)
	register("AuditConcurrentChains", testAuditConcurrentChains)
	register("AuditLargeBatch", testAuditLargeBatch)
}

func vaultID(name string) resource.ID {
	return resource.NewResourceGroup("00000000-0000-0000-0000-000000000001", "Edge-RG").
		Child("Microsoft.KeyVault", "vaults", name)
}

// auditRecord returns a record with every field set, so that a field the
// store drops or garbles shows up in a diff.
func auditRecord(vault resource.ID, op audit.OperationName, n int) audit.Record {
	match, exp := n%2 == 0, at.Add(24*time.Hour)
	r := audit.Record{
		Time: at.Add(time.Duration(n) * time.Second), ResourceID: vault, OperationName: op,
		OperationVersion: "7.5", ResultType: audit.Success, ResultSignature: "OK",
		ResultDescription: "", DurationMs: int64(n), CallerIPAddress: netip.MustParseAddr("192.0.2.7"),
		CorrelationID: fmt.Sprintf("corr-%d", n), RequestID: fmt.Sprintf("req-%d", n),
		Identity: audit.Identity{TenantID: "t1", ObjectID: "0b7a2c4e-0000-4000-8000-00000000000a",
			AppID: "app1", UPN: "admin@example.test", IDType: "user"},
		Properties: audit.Properties{ID: "https://v1.vault.localhost:8443/secrets/s1",
			RequestURI:     "https://v1.vault.localhost:8443/secrets/s1?api-version=7.5",
			HTTPStatusCode: 200, ClientInfo: "azsecrets/1.5.1", IsAccessPolicyMatch: &match, TLSVersion: "TLS1_3"},
	}
	if op == audit.SecretSet {
		r.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true, Expires: exp}
	}
	return r
}

// recordCmp compares records: resource ids by their exact spelling,
// addresses by value.
var recordCmp = cmp.Options{
	cmp.Comparer(func(a, b resource.ID) bool { return a.String() == b.String() }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func normalized(t *testing.T, r audit.Record) audit.Record {
	t.Helper()
	n, err := audit.Normalize(r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testAuditAppend(t *testing.T, open Opener) {
	s := open(t)
	a, b := vaultID("vault-a"), vaultID("Vault-B")
	head, err := s.AuditHead(ctx, a)
	if err != nil || head.Seq != 0 {
		t.Fatalf("empty chain head = %+v, %v", head, err)
	}
	// Two batches, interleaving two resources; B's second batch names it
	// in other casing (the same chain).
	batches := [][]audit.Record{
		{auditRecord(a, audit.SecretSet, 0), auditRecord(b, audit.SecretGet, 1), auditRecord(a, audit.SecretGet, 2)},
		{auditRecord(vaultID("vault-b"), audit.SecretList, 3), auditRecord(a, audit.SecretDelete, 4)},
	}
	for _, batch := range batches {
		if err := s.AppendAudit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]audit.Record{
		a.Key(): {batches[0][0], batches[0][2], batches[1][1]},
		b.Key(): {batches[0][1], batches[1][0]},
	}
	lastID := int64(0)
	for _, id := range []resource.ID{a, b} {
		entries, err := s.AuditChain(ctx, id, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(want[id.Key()]) {
			t.Fatalf("%s: %d entries, want %d", id, len(entries), len(want[id.Key()]))
		}
		prev := audit.Genesis()
		for i, e := range entries {
			if e.Seq != int64(i+1) || e.Format != audit.Format || e.ID <= 0 {
				t.Errorf("%s entry %d: seq %d format %d id %d", id, i, e.Seq, e.Format, e.ID)
			}
			if i > 0 && e.ID <= entries[i-1].ID {
				t.Errorf("%s: ids not increasing with seq: %d after %d", id, e.ID, entries[i-1].ID)
			}
			if diff := cmp.Diff(normalized(t, want[id.Key()][i]), e.Record, recordCmp); diff != "" {
				t.Errorf("%s entry %d round trip (-want +got):\n%s", id, i, diff)
			}
			if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, audit.Link(prev, e.Seq, e.Record)) {
				t.Errorf("%s entry %d is not linked to its predecessor", id, i)
			}
			prev = e.Hash
			lastID = max(lastID, e.ID)
		}
		head, err := s.AuditHead(ctx, id)
		if err != nil || head.Seq != int64(len(entries)) || !bytes.Equal(head.Hash, prev) {
			t.Errorf("%s head = %+v, %v; want seq %d", id, head, err, len(entries))
		}
		page, err := s.AuditChain(ctx, id, 1, 1)
		if err != nil || len(page) != 1 || page[0].Seq != 2 {
			t.Errorf("AuditChain(after 1, limit 1) = %v, %v", page, err)
		}
	}
	if err := s.AppendAudit(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testAuditList(t *testing.T, open Opener) {
	s := open(t)
	a, b := vaultID("vault-a"), vaultID("vault-b")
	var batch []audit.Record
	for i := range 10 {
		v, op := a, audit.SecretGet
		if i%3 == 0 {
			v = b
		}
		if i%2 == 1 {
			op = audit.SecretSet
		}
		r := auditRecord(v, op, i)
		if i == 7 {
			r.ResultType, r.Identity.ObjectID = audit.Failure, "AAAA0000-0000-4000-8000-000000000001"
		}
		batch = append(batch, r)
	}
	if err := s.AppendAudit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	list := func(f audit.Filter) []int {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = audit.DefaultLimit
		}
		entries, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, e := range entries {
			got = append(got, int(e.DurationMs)) // DurationMs is the record's number
		}
		return got
	}
	all := list(audit.Filter{})
	for _, tt := range []struct {
		name string
		f    audit.Filter
		want []int
	}{
		{"all", audit.Filter{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"resource", audit.Filter{ResourceID: &b}, []int{0, 3, 6, 9}},
		{"from-to", audit.Filter{From: at.Add(2 * time.Second), To: at.Add(5 * time.Second)}, []int{2, 3, 4}},
		{"operation", audit.Filter{Operation: audit.SecretSet}, []int{1, 3, 5, 7, 9}},
		{"caller", audit.Filter{CallerObjectID: "aaaa0000-0000-4000-8000-000000000001"}, []int{7}},
		{"result", audit.Filter{ResultType: audit.Failure}, []int{7}},
		{"limit", audit.Filter{Limit: 3}, []int{0, 1, 2}},
		{"combined", audit.Filter{ResourceID: &a, Operation: audit.SecretGet, From: at.Add(3 * time.Second)}, []int{4, 8}},
	} {
		if got := list(tt.f); !cmp.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// Paging with the cursor visits every entry once, in order.
	var paged []int
	f := audit.Filter{ResourceID: &a, Limit: 2}
	for {
		entries, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			paged = append(paged, int(e.DurationMs))
		}
		f.After = entries[len(entries)-1].ID
	}
	if want := []int{1, 2, 4, 5, 7, 8}; !cmp.Equal(paged, want) || len(all) != 10 {
		t.Errorf("paged = %v, want %v", paged, want)
	}
}

// testAuditAtomic checks that a batch failing part-way leaves nothing: not
// the records of the resources already appended, nor their chain heads.
func testAuditAtomic(t *testing.T, open Opener) {
	s := open(t)
	a, b := vaultID("vault-a"), vaultID("vault-b")
	db, _ := s.JobsDB()
	// A forged row occupies B's first sequence number: the batch's insert
	// fails after A's head has moved inside the transaction.
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_records (`+auditColumnsForTest+`)
		VALUES ($1, 1, 1, $2, $2, 0, $3, 'SecretGet', '', '', '', '', '', 0, '', '', '', '', '', '', '', '', '', '', 0, '', NULL, '', NULL, NULL, NULL)`,
		b.Key(), audit.Genesis(), b.String()); err != nil {
		t.Fatal(err)
	}
	err := s.AppendAudit(ctx, []audit.Record{auditRecord(a, audit.SecretGet, 0), auditRecord(b, audit.SecretGet, 1)})
	if err == nil {
		t.Fatal("batch colliding with a stored row was committed")
	}
	if head, err := s.AuditHead(ctx, a); err != nil || head.Seq != 0 {
		t.Errorf("failed batch moved A's head: %+v, %v", head, err)
	}
	if entries, err := s.AuditChain(ctx, a, 0, 10); err != nil || len(entries) != 0 {
		t.Errorf("failed batch left %d records of A (%v)", len(entries), err)
	}
	// A record no request could produce refuses the whole batch.
	bad := auditRecord(a, "", 2)
	wantKind(t, s.AppendAudit(ctx, []audit.Record{auditRecord(a, audit.SecretGet, 3), bad}), errkind.Invalid)
	if head, _ := s.AuditHead(ctx, a); head.Seq != 0 {
		t.Errorf("invalid batch moved A's head to %d", head.Seq)
	}
	// A's chain starts at 1 once a batch succeeds.
	if err := s.AppendAudit(ctx, []audit.Record{auditRecord(a, audit.SecretGet, 4)}); err != nil {
		t.Fatal(err)
	}
	if head, _ := s.AuditHead(ctx, a); head.Seq != 1 {
		t.Errorf("head after success = %d, want 1", head.Seq)
	}
}

// auditColumnsForTest lists the columns a forged row fills; it must match
// the migration (a forged row is how tampering is simulated).
const auditColumnsForTest = `resource_key, seq, format, prev_hash, hash, occurred_at, resource_id,
	operation_name, operation_version, category, result_type, result_signature, result_description,
	duration_ms, caller_ip, correlation_id, request_id, tenant_id, object_id, app_id, upn, id_type,
	object_uri, request_uri, http_status, client_info, access_policy_match, tls_version,
	secret_enabled, secret_not_before, secret_expires`

// testAuditText stores text PostgreSQL's text type refuses (NUL, invalid
// UTF-8) and text over the limits: normalized, it is stored in both
// dialects and reads back as hashed.
func testAuditText(t *testing.T, open Opener) {
	s := open(t)
	a := vaultID("vault-a")
	r := auditRecord(a, audit.SecretGet, 0)
	r.Properties.ClientInfo = "agent\x00with\xffbad\nbytes\x1b[31m"
	r.CorrelationID = string(bytes.Repeat([]byte("é"), 1000))
	r.Properties.RequestURI = "https://user:pw@v1.vault.localhost/secrets/s1?api-version=7.5&token=hunter2#frag"
	r.ResultDescription = "Secret not found: s1"
	if err := s.AppendAudit(ctx, []audit.Record{r}); err != nil {
		t.Fatal(err)
	}
	entries, err := s.AuditChain(ctx, a, 0, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("AuditChain = %v, %v", entries, err)
	}
	got := entries[0]
	if diff := cmp.Diff(normalized(t, r), got.Record, recordCmp); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if want := "agent\uFFFDwith\uFFFDbad\nbytes\x1b[31m"; got.Properties.ClientInfo != want {
		t.Errorf("client info = %q, want %q", got.Properties.ClientInfo, want)
	}
	if want := "https://v1.vault.localhost/secrets/s1?api-version=7.5"; got.Properties.RequestURI != want {
		t.Errorf("request URI = %q, want %q", got.Properties.RequestURI, want)
	}
	if !bytes.Equal(got.Hash, audit.Link(audit.Genesis(), 1, got.Record)) {
		t.Error("stored record does not hash to its stored hash")
	}
}

// testAuditConcurrentChains appends from many goroutines at once, each
// batch naming two resources in either order. On PostgreSQL these are
// concurrent transactions on the pool: the chain heads' row locks keep
// each chain linear, and locking in key order keeps them from
// deadlocking.
func testAuditConcurrentChains(t *testing.T, open Opener) {
	s := open(t)
	a, b := vaultID("vault-a"), vaultID("vault-b")
	const workers, batches = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range batches {
				first, second := a, b
				if (w+i)%2 == 0 {
					first, second = b, a
				}
				batch := []audit.Record{auditRecord(first, audit.SecretGet, i), auditRecord(second, audit.SecretGet, i),
					auditRecord(first, audit.SecretList, i)}
				if err := s.AppendAudit(ctx, batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	w, err := audit.New(audit.Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	// Half the batches lead with each resource: 2 records for the first, 1
	// for the second.
	const want = workers * batches * 3 / 2
	for _, id := range []resource.ID{a, b} {
		v, err := w.Verify(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if v.Entries != want {
			t.Errorf("%s: %d entries, want %d", id, v.Entries, want)
		}
	}
}

// testAuditLargeBatch appends a batch larger than one INSERT statement
// takes, across three resources.
func testAuditLargeBatch(t *testing.T, open Opener) {
	s := open(t)
	vaults := []resource.ID{vaultID("v1"), vaultID("v2"), vaultID("v3")}
	var batch []audit.Record
	for i := range 250 {
		batch = append(batch, auditRecord(vaults[i%3], audit.SecretGet, i))
	}
	if err := s.AppendAudit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	entries, err := s.ListAudit(ctx, audit.Filter{Limit: audit.MaxLimit})
	if err != nil || len(entries) != len(batch) {
		t.Fatalf("ListAudit = %d entries, %v; want %d", len(entries), err, len(batch))
	}
	for i, e := range entries {
		if e.DurationMs != int64(i) || e.Seq != int64(i/3+1) {
			t.Fatalf("entry %d is record %d with seq %d; want record %d, seq %d", i, e.DurationMs, e.Seq, i, i/3+1)
		}
	}
	w, err := audit.New(audit.Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	for _, v := range vaults {
		if got, err := w.Verify(ctx, v); err != nil || got.Entries < 83 {
			t.Errorf("Verify(%s) = %+v, %v", v.Name(), got, err)
		}
	}
}

var _ audit.Store = (*store.Store)(nil)
