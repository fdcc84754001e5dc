package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeStorage adds Microsoft.Storage/storageAccounts to a fakeServer, as
// Azure answers it: PUT answers 202 with Azure-AsyncOperation and
// Location, the account is Creating until its operation has been polled
// once, lists page two at a time, DELETE answers 200 or 204. Its state is
// guarded by the fakeServer's mutex (held by auth).
type fakeStorage struct {
	x        *fakeARM
	port     string
	accounts map[string]*storageAccount // by lower-case name
	ops      map[string]string          // operation id → account
	requests []string
	bodies   []string
}

func newFakeStorage(t *testing.T, f *fakeServer, x *fakeARM) *fakeStorage {
	t.Helper()
	s := &fakeStorage{x: x, port: f.srv.Port, accounts: map[string]*storageAccount{}, ops: map[string]string{}}
	for _, a := range []struct{ name, rg, sku string }{{"stprod", "rg-prod", "Standard_ZRS"}, {"stdev", "rg-dev", "Standard_LRS"}, {"stlogs", "rg-prod", "Standard_ZRS"}} {
		s.add(a.name, a.rg, "westeurope", a.sku, "Succeeded", map[string]string{"env": "test"})
	}
	const sub = "management.localhost/subscriptions/{sub}"
	f.mux.HandleFunc("GET "+sub+"/providers/Microsoft.Storage/storageAccounts", f.auth(s.arm(s.list)))
	f.mux.HandleFunc("GET "+sub+"/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts", f.auth(s.arm(s.list)))
	f.mux.HandleFunc(sub+"/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}", f.auth(s.arm(s.serve)))
	f.mux.HandleFunc("GET "+sub+"/providers/Microsoft.Storage/locations/{loc}/asyncoperations/{id}", f.auth(s.arm(s.serveOp)))
	return s
}

func (s *fakeStorage) add(name, rg, loc, sku, state string, tags map[string]string) *storageAccount {
	a := &storageAccount{ID: "/subscriptions/sub-1/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + name,
		Name: name, Type: "Microsoft.Storage/storageAccounts", Location: loc, Tags: tags,
		SKU: storageSKU{Name: sku, Tier: "Standard"}, Kind: "StorageV2"}
	a.Properties.ProvisioningState = state
	a.Properties.CreationTime = "2026-11-26T12:00:00.0000000Z"
	a.Properties.PrimaryEndpoints.Blob = "https://" + name + ".blob.localhost:" + s.port + "/"
	s.accounts[name] = a
	return a
}

// arm records the request and checks the subscription and api-version.
func (s *fakeStorage) arm(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		b, _ := io.ReadAll(r.Body)
		s.bodies = append(s.bodies, string(b))
		if r.PathValue("sub") != "sub-1" {
			armError(w, 404, "SubscriptionNotFound", "The subscription could not be found.")
			return
		}
		if v := r.URL.Query().Get("api-version"); v != storageAPIVersion {
			armError(w, 400, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid.", v))
			return
		}
		h(w, r)
	}
}

func (s *fakeStorage) groupExists(w http.ResponseWriter, rg string) bool {
	if rg != "" && s.x.groups[strings.ToLower(rg)].Name == "" {
		armError(w, 404, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rg))
		return false
	}
	return true
}

func (s *fakeStorage) serve(w http.ResponseWriter, r *http.Request) {
	rg, name := r.PathValue("rg"), r.PathValue("name")
	if !s.groupExists(w, rg) {
		return
	}
	a, ok := s.accounts[name]
	if ok && !strings.EqualFold(resourceGroupOf(a.ID), rg) {
		// Names are global: another group's account is taken, not found.
		if r.Method == http.MethodPut {
			armError(w, 409, "StorageAccountAlreadyTaken", fmt.Sprintf("The storage account named %s is already taken.", name))
			return
		}
		ok = false
	}
	switch r.Method {
	case http.MethodGet:
		if !ok {
			armError(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", name, rg))
			return
		}
		writeJSON(w, 200, a)
	case http.MethodPut:
		var body struct {
			Location string            `json:"location"`
			SKU      storageSKU        `json:"sku"`
			Kind     string            `json:"kind"`
			Tags     map[string]string `json:"tags"`
		}
		if err := json.Unmarshal([]byte(s.bodies[len(s.bodies)-1]), &body); err != nil {
			armError(w, 400, "InvalidRequestContent", err.Error())
			return
		}
		if body.SKU.Name == "Gold_LRS" {
			armError(w, 400, "InvalidValuesForRequestParameters", "Values for request parameters are invalid: sku.name.")
			return
		}
		s.add(name, rg, body.Location, body.SKU.Name, "Creating", body.Tags)
		id := "op-" + strconv.Itoa(len(s.ops)+1)
		s.ops[id] = name
		base := s.x.base + "/subscriptions/sub-1/providers/Microsoft.Storage/locations/" + body.Location + "/asyncoperations/" + id + "?api-version=" + storageAPIVersion
		w.Header().Set("Azure-AsyncOperation", base)
		w.Header().Set("Location", base+"&monitor=true")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	case http.MethodDelete:
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		delete(s.accounts, name)
		w.WriteHeader(http.StatusOK)
	default:
		armError(w, 405, "MethodNotAllowed", "The requested method is not allowed on this resource.")
	}
}

func (s *fakeStorage) serveOp(w http.ResponseWriter, r *http.Request) {
	name, ok := s.ops[r.PathValue("id")]
	if !ok {
		armError(w, 404, "NotFound", "no such operation")
		return
	}
	if a := s.accounts[name]; a != nil {
		a.Properties.ProvisioningState = "Succeeded"
	}
	writeJSON(w, 200, map[string]any{"id": r.URL.Path, "name": r.PathValue("id"), "status": "Succeeded"})
}

func (s *fakeStorage) list(w http.ResponseWriter, r *http.Request) {
	rg := r.PathValue("rg")
	if !s.groupExists(w, rg) {
		return
	}
	var items []*storageAccount
	for _, n := range slices.Sorted(maps.Keys(s.accounts)) {
		if a := s.accounts[n]; rg == "" || strings.EqualFold(resourceGroupOf(a.ID), rg) {
			items = append(items, a)
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("$skipToken"))
	start = min(start, len(items))
	end := min(start+2, len(items))
	out := map[string]any{"value": append([]*storageAccount{}, items[start:end]...)}
	if end < len(items) {
		q := r.URL.Query()
		q.Set("$skipToken", strconv.Itoa(end))
		out["nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, out)
}

// storageEnv is a CLI signed in against the fakes.
type storageEnv struct {
	fs *fakeServer
	s  *fakeStorage
}

func newStorageEnv(t *testing.T) *storageEnv {
	t.Helper()
	useConfigDir(t)
	fs := newFakeServer(t)
	x := newFakeARM(t, fs)
	e := &storageEnv{fs: fs, s: newFakeStorage(t, fs, x)}
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	return e
}

func st(args ...string) []string { return append([]string{"storage", "account"}, args...) }

var storageGoldenCases = []struct {
	name  string
	stdin string
	args  []string
}{
	{name: "storage_help", args: st()},
	{name: "storage_create", args: st("create", "-n", "stnew1", "-g", "rg-dev", "-l", "westeurope", "--tags", "env=dev")},
	{name: "storage_create_json", args: st("create", "-n", "stnew1", "-g", "rg-dev", "-l", "westeurope", "--sku", "Standard_LRS", "-o", "json")},
	{name: "storage_create_no_wait", args: st("create", "-n", "stnew1", "-g", "rg-dev", "-l", "westeurope", "--no-wait")},
	{name: "storage_create_taken", args: st("create", "-n", "stprod", "-g", "rg-dev", "-l", "westeurope")},
	{name: "storage_create_bad_sku", args: st("create", "-n", "stnew1", "-g", "rg-dev", "-l", "westeurope", "--sku", "Gold_LRS")},
	{name: "storage_create_bad_name", args: st("create", "-n", "St-New", "-g", "rg-dev", "-l", "westeurope")},
	{name: "storage_create_no_location", args: st("create", "-n", "stnew1", "-g", "rg-dev")},
	{name: "storage_create_no_group", args: st("create", "-n", "stnew1", "-g", "rg-none", "-l", "westeurope")},
	{name: "storage_show", args: st("show", "-n", "stprod", "-g", "rg-prod")},
	{name: "storage_show_json", args: st("show", "-n", "stprod", "-g", "rg-prod", "-o", "json")},
	{name: "storage_show_not_found", args: st("show", "-n", "stnone", "-g", "rg-prod")},
	{name: "storage_show_no_group_flag", args: st("show", "-n", "stprod")},
	{name: "storage_list", args: st("list")},
	{name: "storage_list_json", args: st("list", "-o", "json")},
	{name: "storage_list_group", args: st("list", "-g", "rg-prod")},
	{name: "storage_list_no_group", args: st("list", "-g", "rg-none")},
	{name: "storage_delete", args: st("delete", "-n", "stdev", "-g", "rg-dev", "--yes")},
	{name: "storage_delete_missing", args: st("delete", "-n", "stnone", "-g", "rg-dev", "--yes")},
	{name: "storage_delete_no_terminal", args: st("delete", "-n", "stdev", "-g", "rg-dev")},
}

// TestStorageGolden runs each case against fresh fakes and compares exit
// code, stdout and stderr with testdata/<name>.golden.
func TestStorageGolden(t *testing.T) {
	for _, tc := range storageGoldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			stubSleep(t)
			stubTerminal(t, false, false)
			e := newStorageEnv(t)
			r := runCLI(t, tc.stdin, tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.ReplaceAll(got, ":"+e.fs.srv.Port, ":8443")
			golden(t, tc.name, got)
		})
	}
}

// TestStorageCreateBody checks the PUT body and that create follows the
// operation and then reads the account.
func TestStorageCreateBody(t *testing.T) {
	e := newStorageEnv(t)
	mustRun(t, "", "storage", "account", "create", "-n", "stnew1", "-g", "rg-dev", "-l", "westeurope", "--tags", "a=b")
	want := `{"kind":"StorageV2","location":"westeurope","sku":{"name":"Standard_ZRS"},"tags":{"a":"b"}}`
	var got string
	for i, r := range e.s.requests {
		if strings.HasPrefix(r, "PUT ") {
			var m map[string]any
			if err := json.Unmarshal([]byte(e.s.bodies[i]), &m); err != nil {
				t.Fatal(err)
			}
			got = jsonText(m)
		}
	}
	if got != want {
		t.Errorf("create body\n got %s\nwant %s", got, want)
	}
	var methods []string
	for _, r := range e.s.requests {
		method, uri, _ := strings.Cut(r, " ")
		path, _, _ := strings.Cut(uri, "?")
		methods = append(methods, method+" "+path[strings.LastIndex(path, "/")+1:])
	}
	if want := []string{"PUT stnew1", "GET op-1", "GET stnew1"}; !slices.Equal(methods, want) {
		t.Errorf("requests = %q, want %q", methods, want)
	}
}

func TestValidateStorageName(t *testing.T) {
	for name, ok := range map[string]bool{
		"st1": true, "abcdefghijklmnopqrstuvwx": true, "123": true,
		"": false, "st": false, "abcdefghijklmnopqrstuvwxy": false, "St1": false, "st-1": false, "st_1": false,
	} {
		if err := validateStorageName(name); (err == nil) != ok {
			t.Errorf("validateStorageName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
