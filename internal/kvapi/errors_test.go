package kvapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
)

// TestErrorTable renders every row of the error table, plus an unmatched
// error, into testdata/errors.golden (rewrite with -update).
func TestErrorTable(t *testing.T) {
	var b strings.Builder
	errs := []error{}
	for _, row := range errorTable {
		if row.sentinel != nil {
			errs = append(errs, row.sentinel)
		} else {
			errs = append(errs, errkind.E(row.kind, "a %v error", row.kind))
		}
	}
	errs = append(errs, errors.New("an unclassified failure"), errkind.E(errkind.Internal, "a broken invariant"))
	for _, err := range errs {
		status, body, internal := lookupError(err)
		j, _ := json.Marshal(body)
		fmt.Fprintf(&b, "%d internal=%v %s\n", status, internal, j)
	}
	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("error table changed; run go test ./internal/kvapi -run TestErrorTable -update if intended\n got:\n%s\nwant:\n%s", got, want)
	}
}

// Every row is reachable: a later row never repeats an earlier sentinel.
func TestErrorTableRowsDistinct(t *testing.T) {
	seen := map[error]bool{}
	kinds := map[errkind.Kind]bool{}
	for _, row := range errorTable {
		switch {
		case row.sentinel != nil && seen[row.sentinel], row.sentinel == nil && kinds[row.kind]:
			t.Errorf("row %+v is shadowed", row)
		case row.sentinel != nil:
			seen[row.sentinel] = true
		default:
			kinds[row.kind] = true
		}
	}
}
