package armapi

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestEveryRouteHasPermission is the deny-by-default check: a route added
// without a permission fails here.
func TestEveryRouteHasPermission(t *testing.T) {
	h := &Handler{}
	for _, rt := range h.routes() {
		if rt.Permission == "" || rt.Handler == nil {
			t.Errorf("%s %s has no permission or handler", rt.Method, rt.Pattern)
		}
		if err := rt.Permission.check(Caller{Principal: principal.Principal{ObjectID: principal.NewID()}}); err == nil {
			t.Errorf("%s %s is allowed to a principal with no rights", rt.Method, rt.Pattern)
		}
	}
}

// TestErrorTableGolden renders every row of the error table, so a change
// of status or code is visible in review.
func TestErrorTableGolden(t *testing.T) {
	var b strings.Builder
	for _, row := range errorTable {
		var err error
		if row.sentinel != nil {
			err = row.sentinel
		} else {
			err = errkind.E(row.kind, "a %s error", row.kind)
		}
		w := httptest.NewRecorder()
		writeError(w, httptest.NewRequest("GET", "/", nil), err)
		fmt.Fprintf(&b, "%d %s\n", w.Code, strings.TrimSpace(w.Body.String()))
	}
	w := httptest.NewRecorder()
	writeError(w, httptest.NewRequest("GET", "/", nil), fmt.Errorf("disk on fire"))
	fmt.Fprintf(&b, "%d %s\n", w.Code, strings.TrimSpace(w.Body.String()))
	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("error table changed; run go test ./internal/armapi -update if intended\n got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(b.String(), "disk on fire") {
		t.Error("an internal error's cause reached the client")
	}
}

func TestBearer(t *testing.T) {
	tests := []struct {
		in, tok string
		ok      bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if tok, ok := bearer(tt.in); tok != tt.tok || ok != tt.ok {
			t.Errorf("bearer(%q) = %q, %v", tt.in, tok, ok)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"displayName":"x"}`)
	f.Add(`{"displayName":"x"}{}`)
	f.Add(`{"other":1}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			DisplayName string `json:"displayName"`
		}
		err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		if err != nil && errkind.KindOf(err) != errkind.Invalid {
			t.Fatalf("kind %v for %q", errkind.KindOf(err), body)
		}
	})
}
