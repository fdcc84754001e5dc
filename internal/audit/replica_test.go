package audit_test

import (
	"os"
	"sync"
	"testing"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

// TestReplicasShareOneChain: two servers on one PostgreSQL database, each
// with its own Writer, audit the same vaults at once; each vault's chain
// stays one linear chain (the chain head's row lock), and a vault's
// entries are listed in chain order.
func TestReplicasShareOneChain(t *testing.T) {
	base := os.Getenv("EDGEVAULT_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("EDGEVAULT_TEST_POSTGRES_URL not set")
	}
	cfg := store.Config{URL: postgresSchema(t, base)}
	writers := []*audit.Writer{
		newWriter(t, audit.Config{Store: openStore(t, cfg)}),
		newWriter(t, audit.Config{Store: openStore(t, cfg)}),
	}
	shared, own := vaultID("shared"), vaultID("own")
	const callers, each = 6, 40 // per replica
	var wg sync.WaitGroup
	for _, w := range writers {
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					v := shared
					if i%4 == 3 {
						v = own
					}
					if err := w.Record(ctx, record(v, c*each+i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	total := map[string]int64{shared.Key(): 2 * callers * each * 3 / 4, own.Key(): 2 * callers * each / 4}
	for _, v := range []resource.ID{shared, own} {
		for i, w := range writers {
			got, err := w.Verify(ctx, v)
			if err != nil || got.Entries != total[v.Key()] {
				t.Errorf("replica %d: Verify(%s) = %+v, %v; want %d entries", i, v.Name(), got, err, total[v.Key()])
			}
		}
		entries := all(t, writers[1], &v)
		for i, e := range entries {
			if e.Seq != int64(i+1) {
				t.Fatalf("%s: entry %d of the list has seq %d", v.Name(), i, e.Seq)
			}
		}
	}
	var batches uint64
	for _, w := range writers {
		batches += w.Stats().Batches
	}
	t.Logf("%d records in %d transactions across 2 replicas", 2*callers*each, batches)
}
