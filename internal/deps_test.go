package internal_test

// This test enforces the import rules of STYLE.md, in the manner of Go's
// own go/build/deps_test.go: the allowed dependencies of every package are
// written down, so that a new edge in the graph is a deliberate change to
// this file, reviewed as a design decision. When it fails, fix the design
// (move the type, declare the interface where it is consumed), not the rule.

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/edgevault/edgevault/"

// layers groups packages; a package may import the internal packages its
// rule lists, and nothing else of ours.
var (
	// Vocabulary: shared words, importable by everyone, including the CLI
	// and the agent.
	vocabulary = []string{"internal/errkind", "internal/sensitive", "internal/principal", "internal/dnsname", "internal/resource", "internal/activationkey", "internal/devicewire"}
	// Client side: what the CLI and the agent may use besides vocabulary.
	clientSide = append([]string{"internal/client"}, vocabulary...)
	// Mechanisms: no domain knowledge.
	mechanisms = append([]string{"internal/envelope", "internal/httpx", "internal/config", "internal/token", "internal/arm", "internal/pki", "internal/jobs", "internal/akv"}, vocabulary...)
	// Domain: business rules; no HTTP, no SQL, no wire tags.
	domain = []string{"internal/identity", "internal/rbac", "internal/bootstrap", "internal/resourcegroup", "internal/provider", "internal/lock", "internal/operation", "internal/keyvault", "internal/audit", "internal/secret", "internal/storageaccount", "internal/blob", "internal/auditexport", "internal/diagnostics", "internal/edge", "internal/activation", "internal/alert"}
)

var rules = map[string][]string{
	"internal/errkind":   nil,
	"internal/sensitive": nil,
	"internal/principal": nil,
	"internal/dnsname":   nil,
	"internal/resource":  nil,
	// The text format of activation keys: the server issues them, the
	// agent parses them.
	"internal/activationkey": nil,
	// The device API's messages and their cryptography: the server and the
	// agent both speak it.
	"internal/devicewire": nil,

	"internal/envelope": {"internal/errkind"},
	"internal/httpx":    {"internal/dnsname"},
	"internal/config":   {"internal/dnsname"},
	"internal/pki":      {"internal/dnsname"},
	"internal/token":    {"internal/errkind", "internal/principal"},
	"internal/arm":      {"internal/httpx", "internal/errkind"},
	"internal/jobs":     nil,
	"internal/akv":      {"internal/httpx"},

	"internal/identity":      vocabulary,
	"internal/rbac":          vocabulary,
	"internal/bootstrap":     append([]string{"internal/identity", "internal/rbac"}, vocabulary...),
	"internal/resourcegroup": append([]string{"internal/lock", "internal/operation"}, vocabulary...),
	"internal/provider":      vocabulary,
	"internal/keyvault":      append([]string{"internal/lock"}, vocabulary...),
	"internal/lock":          vocabulary,
	"internal/operation":     append([]string{"internal/jobs"}, vocabulary...),
	"internal/audit":         vocabulary,
	"internal/secret":        append([]string{"internal/envelope"}, vocabulary...),

	"internal/storageaccount": append([]string{"internal/lock", "internal/operation"}, vocabulary...),
	"internal/blob":           vocabulary,
	"internal/diagnostics":    append([]string{"internal/lock"}, vocabulary...),
	"internal/auditexport":    append([]string{"internal/audit", "internal/blob"}, vocabulary...),

	"internal/edge":       append([]string{"internal/lock", "internal/operation", "internal/alert"}, vocabulary...),
	"internal/alert":      vocabulary,
	"internal/activation": append([]string{"internal/edge", "internal/alert", "internal/operation", "internal/keyvault", "internal/secret", "internal/lock", "internal/storageaccount", "internal/diagnostics", "internal/provider"}, vocabulary...),

	"internal/store":           concat(domain, mechanisms),
	"internal/store/pgtest":    nil, // test support: a schema of its own per test
	"internal/store/storetest": concat([]string{"internal/store"}, domain, mechanisms),
	"internal/loginapi":        concat([]string{"internal/identity"}, mechanisms),
	"internal/armapi":          concat(domain, mechanisms),
	"internal/kvapi":           concat(domain, mechanisms),
	"internal/blobapi":         concat(domain, mechanisms),
	// The web portal: a client of the management and vault APIs, in
	// process; it knows their wire shapes, not the domain.
	"internal/portal": concat([]string{"internal/client"}, mechanisms),

	"internal/client":            {"internal/sensitive"},
	"internal/client/clienttest": nil,
	"internal/cli":               clientSide,
	// The appliance: speaks only devicewire and activationkey to the server.
	"internal/agent": clientSide,
	// The device host: the agent's side of edge resources.
	"internal/deviceapi": append([]string{"internal/activation", "internal/edge", "internal/audit", "internal/httpx", "internal/pki"}, vocabulary...),

	"internal/server": concat([]string{"internal/store", "internal/loginapi", "internal/armapi", "internal/kvapi", "internal/blobapi", "internal/deviceapi", "internal/portal"}, domain, mechanisms),

	"cmd/edgevault":       {"internal/cli", "internal/server"},
	"cmd/edgevault-agent": append([]string{"internal/agent"}, clientSide...),
}

// forbiddenStd lists standard packages a layer must not import.
var forbiddenStd = map[string][]string{
	"domain":     {"net/http", "database/sql"},
	"clientSide": {"database/sql"},
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func TestDependencies(t *testing.T) {
	imports := packageImports(t)
	for pkg, imps := range imports {
		allowed, ok := rules[pkg]
		if !ok {
			t.Errorf("package %s has no rule in deps_test.go: add one (which layer is it?)", pkg)
			continue
		}
		for _, imp := range imps {
			if rel, ours := strings.CutPrefix(imp, module); ours && !slices.Contains(allowed, rel) {
				t.Errorf("%s imports %s, which its rule does not allow", pkg, rel)
			}
			if slices.Contains(domain, pkg) && slices.Contains(forbiddenStd["domain"], imp) {
				t.Errorf("domain package %s imports %s", pkg, imp)
			}
			if (pkg == "internal/cli" || pkg == "cmd/edgevault-agent" || pkg == "internal/agent" || pkg == "internal/client") &&
				slices.Contains(forbiddenStd["clientSide"], imp) {
				t.Errorf("client-side package %s imports %s", pkg, imp)
			}
		}
	}
	for pkg := range rules {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("deps_test.go has a rule for %s, which does not exist", pkg)
		}
	}
}

// packageImports parses the non-test Go files under internal/ and cmd/ and
// returns each package's imports.
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			rel = filepath.ToSlash(rel)
			for _, spec := range f.Imports {
				p, _ := strconv.Unquote(spec.Path.Value)
				if !slices.Contains(out[rel], p) {
					out[rel] = append(out[rel], p)
				}
			}
			if _, ok := out[rel]; !ok {
				out[rel] = nil
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}
