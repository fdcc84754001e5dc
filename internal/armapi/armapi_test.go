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
	"github.com/edgevault/edgevault/internal/resource"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestEveryRouteHasAccess is the deny-by-default check: every route names
// exactly one access rule, RBAC routes name an action and a scope, and only
// listed routes may let any authenticated caller in (they filter per item).
func TestEveryRouteHasAccess(t *testing.T) {
	h := New(Config{})
	filtered := map[string]bool{
		"GET /subscriptions": true,
		// Operations check the caller against the operation's starter and
		// target (operationFor).
		"GET /subscriptions/{subscriptionId}/providers/Microsoft.Resources/operationStatuses/{operationId}": true,
		"GET /subscriptions/{subscriptionId}/providers/Microsoft.Resources/operationResults/{operationId}":  true,
		// The built-in role definitions are public knowledge.
		"GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}": true,
		"GET {scope}/providers/Microsoft.Authorization/roleDefinitions":                    true,
	}
	for _, rt := range h.routes {
		a, name := rt.Access, rt.Method+" "+rt.Pattern
		rules := 0
		for _, set := range []bool{a.action != "", a.admin, a.anyCaller} {
			if set {
				rules++
			}
		}
		switch {
		case rules != 1:
			t.Errorf("%s has %d access rules, want exactly 1", name, rules)
		case a.action != "" && a.scope == nil:
			t.Errorf("%s names action %s but no scope", name, a.action)
		case a.anyCaller && !filtered[name]:
			t.Errorf("%s lets any caller in but is not a filtered list route", name)
		case rt.Handler == nil:
			t.Errorf("%s has no handler", name)
		case rt.Versions == nil && !a.admin:
			t.Errorf("%s is an ARM route without api-versions", name)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		ok            bool
		scope         string
		vars          map[string]string
	}{
		{"/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", "/subscriptions/s/resourceGroups/rg", true, "", map[string]string{"subscriptionId": "s", "resourceGroupName": "rg"}},
		{"/subscriptions/{subscriptionId}/resourcegroups", "/subscriptions/s/resourcegroups/rg", false, "", nil},
		{"{scope}/providers/Microsoft.Authorization/locks/{lockName}", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/providers/microsoft.authorization/LOCKS/l1", true,
			"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v", map[string]string{"lockName": "l1"}},
		{"{scope}/providers/Microsoft.Authorization/locks", "/providers/Microsoft.Authorization/locks", true, "/", map[string]string{}},
		{"{scope}/providers/Microsoft.Authorization/locks", "/subscriptions/s/bogus/providers/Microsoft.Authorization/locks", false, "", nil},
	}
	for _, tt := range tests {
		vars, scope, ok := compile(tt.pattern).match(splitPath(tt.path))
		if ok != tt.ok {
			t.Errorf("%s on %s: ok = %v", tt.pattern, tt.path, ok)
			continue
		}
		if ok && (scope.String() != tt.scope && !(tt.scope == "" && scope.Level() == 0) || fmt.Sprint(vars) != fmt.Sprint(tt.vars)) {
			t.Errorf("%s on %s: scope %q vars %v", tt.pattern, tt.path, scope, vars)
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

// FuzzRoute: any path either matches no route or binds variables that are
// non-empty path segments, and a {scope} that is a valid resource id.
func FuzzRoute(f *testing.F) {
	h := New(Config{})
	for _, p := range []string{"/subscriptions/s/resourcegroups/rg", "/subscriptions/s/providers/Microsoft.KeyVault/register",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/locks/l", "//", "/providers/Microsoft.Authorization/roleDefinitions/x"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		segs := splitPath(path)
		for _, rt := range h.routes {
			vars, scope, ok := rt.pattern.match(segs)
			if !ok {
				continue
			}
			for k, v := range vars {
				if v == "" || strings.Contains(v, "/") {
					t.Fatalf("%s bound %s=%q from %q", rt.Pattern, k, v, path)
				}
			}
			if rt.pattern.scoped {
				if _, err := resource.Parse(scope.String()); err != nil {
					t.Fatalf("%s bound an unparsable scope %q from %q", rt.Pattern, scope, path)
				}
			}
		}
	})
}
