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
	"time"
)

// fakeKV adds Microsoft.KeyVault to a fakeARM, as Azure answers it
// (reference/keyvault-wire.md §3): vaults with access policies, soft
// delete, recovery and purge, and each vault's secrets data plane on
// {name}.vault.localhost (fakevault_test.go). Names shape the answers:
// creating "kv-async*" answers 202 with Azure-AsyncOperation, creating
// "kv-dns*" answers RegisteringDns until one GET, purging "kv-lro*"
// answers 202 with a Location. Its state is guarded by the fakeServer's
// mutex (held by auth).
type fakeKV struct {
	f        *fakeServer
	x        *fakeARM
	port     string
	vaults   map[string]*fakeVault // by lower-case name; names are global
	deleted  map[string]*fakeVault // soft-deleted, by lower-case name
	data     map[string]*fakeVaultData
	ops      map[string]*fakeKVOp
	backups  map[string]*fakeSecret // by base64url blob
	pageSize int
	seq      int
	requests []string // "METHOD host path?query" of every Key Vault request
	body     string   // the body of the request being served
	bodies   []string // the body of each request, "" when none
	values   []string // every secret value ever held, for leak checks
	nextLink string   // when set, the first page of secrets links here
}

// fakeVault is a vault's state.
type fakeVault struct {
	name, rg, location, sku, tenant string
	tags                            map[string]string
	policies                        []accessPolicy
	retention                       int
	purgeProtection                 bool
	state                           string // provisioningState
	dnsPolls                        int    // GETs until RegisteringDns ends
	deletedAt                       time.Time
}

// fakeKVOp is a long-running operation: async answers InProgress once,
// then Succeeded; a Location operation answers 202 once, then 200.
type fakeKVOp struct {
	async  bool
	polls  int
	onDone func()
}

// newFakeKV registers the Key Vault routes on f and seeds them.
func newFakeKV(t *testing.T, f *fakeServer, x *fakeARM) *fakeKV {
	t.Helper()
	k := &fakeKV{f: f, x: x, port: f.srv.Port, vaults: map[string]*fakeVault{}, deleted: map[string]*fakeVault{},
		data: map[string]*fakeVaultData{}, ops: map[string]*fakeKVOp{}, backups: map[string]*fakeSecret{}, pageSize: 2}
	admin := accessPolicy{TenantID: "tenant-1", ObjectID: adminObjectID, Permissions: permissions{Secrets: secretPermissions[1:]}}
	alice := accessPolicy{TenantID: "tenant-1", ObjectID: aliceObjectID, Permissions: permissions{Secrets: []string{"get", "list"}, Keys: []string{"get"}}}
	k.addVault(&fakeVault{name: "kv-prod", rg: "rg-prod", location: "westeurope", tags: map[string]string{"env": "prod"}, policies: []accessPolicy{admin, alice}, retention: 90})
	k.addVault(&fakeVault{name: "kv-dev", rg: "rg-dev", location: "northeurope", policies: []accessPolicy{admin}, retention: 7, purgeProtection: true})
	k.addVault(&fakeVault{name: "kv-edge", rg: "rg-edge", location: "westeurope", retention: 90})
	k.deleted["kv-old"] = &fakeVault{name: "kv-old", rg: "rg-dev", location: "northeurope", sku: "standard", tenant: "tenant-1",
		policies: []accessPolicy{admin}, retention: 30, state: "Succeeded", deletedAt: fakeTime.Add(-24 * time.Hour)}
	k.deleted["kv-lro-old"] = &fakeVault{name: "kv-lro-old", rg: "rg-prod", location: "westeurope", sku: "standard", tenant: "tenant-1",
		retention: 90, purgeProtection: true, state: "Succeeded", deletedAt: fakeTime.Add(-time.Hour), tags: map[string]string{"owner": "ops"}}
	k.seedSecrets()
	const sub = "management.localhost/subscriptions/{sub}"
	const rgKV = sub + "/resourceGroups/{rg}/providers/Microsoft.KeyVault"
	const subKV = sub + "/providers/Microsoft.KeyVault"
	f.mux.HandleFunc("GET "+rgKV+"/vaults", f.auth(k.arm(k.listVaults)))
	f.mux.HandleFunc(rgKV+"/vaults/{name}", f.auth(k.arm(k.serveVault)))
	f.mux.HandleFunc("PUT "+rgKV+"/vaults/{name}/accessPolicies/{kind}", f.auth(k.arm(k.updatePolicies)))
	f.mux.HandleFunc("GET "+subKV+"/vaults", f.auth(k.arm(k.listVaults)))
	f.mux.HandleFunc("GET "+subKV+"/deletedVaults", f.auth(k.arm(k.listDeleted)))
	f.mux.HandleFunc("GET "+subKV+"/locations/{loc}/deletedVaults/{name}", f.auth(k.arm(k.getDeleted)))
	f.mux.HandleFunc("POST "+subKV+"/locations/{loc}/deletedVaults/{name}/purge", f.auth(k.arm(k.purge)))
	f.mux.HandleFunc("GET "+subKV+"/operations/{id}", f.auth(k.arm(k.serveOp)))
	f.mux.HandleFunc("/", k.dataPlane) // every {vault}.vault.localhost
	return k
}

func (k *fakeKV) addVault(v *fakeVault) {
	v.sku, v.tenant, v.state = "standard", "tenant-1", "Succeeded"
	k.vaults[strings.ToLower(v.name)] = v
	k.data[strings.ToLower(v.name)] = &fakeVaultData{secrets: map[string]*fakeSecret{}}
}

// arm records the request and checks the subscription and api-version.
func (k *fakeKV) arm(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k.record(r)
		if r.PathValue("sub") != "sub-1" {
			armError(w, 404, "SubscriptionNotFound", "The subscription could not be found.")
			return
		}
		if v := r.URL.Query().Get("api-version"); v != keyVaultAPIVersion {
			armError(w, 400, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid.", v))
			return
		}
		h(w, r)
	}
}

// record notes a request and its body.
func (k *fakeKV) record(r *http.Request) {
	k.requests = append(k.requests, r.Method+" "+r.Host+r.URL.RequestURI())
	b, _ := io.ReadAll(r.Body)
	k.body = string(b)
	k.bodies = append(k.bodies, k.body)
}

func (k *fakeKV) vaultID(v *fakeVault) string {
	return "/subscriptions/sub-1/resourceGroups/" + v.rg + "/providers/Microsoft.KeyVault/vaults/" + v.name
}

func (k *fakeKV) vaultURI(name string) string {
	return "https://" + strings.ToLower(name) + ".vault.localhost:" + k.port + "/"
}

// vaultJSON renders a vault as Azure does, with the properties the CLI
// does not model, to show -o json passes them through.
func (k *fakeKV) vaultJSON(v *fakeVault) map[string]any {
	policies := v.policies
	if policies == nil {
		policies = []accessPolicy{}
	}
	props := map[string]any{
		"tenantId": v.tenant, "sku": map[string]string{"family": "A", "name": v.sku}, "accessPolicies": policies,
		"vaultUri": k.vaultURI(v.name), "enabledForDeployment": false, "enabledForDiskEncryption": false,
		"enabledForTemplateDeployment": false, "enableSoftDelete": true, "softDeleteRetentionInDays": v.retention,
		"enableRbacAuthorization": false, "publicNetworkAccess": "Enabled", "provisioningState": v.state,
		"networkAcls": map[string]any{"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": []any{}, "virtualNetworkRules": []any{}},
	}
	if v.purgeProtection {
		props["enablePurgeProtection"] = true
	}
	tags := v.tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"id": k.vaultID(v), "name": v.name, "type": "Microsoft.KeyVault/vaults", "location": v.location, "tags": tags,
		"systemData": map[string]string{"createdBy": adminUser, "createdByType": "User", "createdAt": fakeTime.Format(time.RFC3339)},
		"properties": props}
}

func (k *fakeKV) deletedJSON(v *fakeVault) map[string]any {
	tags := v.tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id":   "/subscriptions/sub-1/providers/Microsoft.KeyVault/locations/" + v.location + "/deletedVaults/" + v.name,
		"name": v.name, "type": "Microsoft.KeyVault/deletedVaults",
		"properties": map[string]any{"vaultId": k.vaultID(v), "location": v.location, "tags": tags,
			"deletionDate": v.deletedAt.Format(time.RFC3339), "purgeProtectionEnabled": v.purgeProtection,
			"scheduledPurgeDate": v.deletedAt.AddDate(0, 0, v.retention).Format(time.RFC3339)},
	}
}

// page writes one page of items with an absolute nextLink, as ARM does.
func (k *fakeKV) page(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	start, _ := strconv.Atoi(r.URL.Query().Get("$skipToken"))
	start = min(start, len(items))
	end := min(start+k.pageSize, len(items))
	out := map[string]any{"value": append([]map[string]any{}, items[start:end]...)}
	if end < len(items) {
		q := r.URL.Query()
		q.Set("$skipToken", strconv.Itoa(end))
		out["nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, out)
}

func (k *fakeKV) listVaults(w http.ResponseWriter, r *http.Request) {
	rg := r.PathValue("rg")
	if rg != "" && k.x.groups[strings.ToLower(rg)].Name == "" {
		armError(w, 404, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rg))
		return
	}
	var items []map[string]any
	for _, n := range slices.Sorted(maps.Keys(k.vaults)) {
		if v := k.vaults[n]; rg == "" || strings.EqualFold(v.rg, rg) {
			items = append(items, k.vaultJSON(v))
		}
	}
	k.page(w, r, items)
}

func (k *fakeKV) listDeleted(w http.ResponseWriter, r *http.Request) {
	var items []map[string]any
	for _, n := range slices.Sorted(maps.Keys(k.deleted)) {
		items = append(items, k.deletedJSON(k.deleted[n]))
	}
	k.page(w, r, items)
}

func (k *fakeKV) getDeleted(w http.ResponseWriter, r *http.Request) {
	v, ok := k.deleted[strings.ToLower(r.PathValue("name"))]
	if !ok || !strings.EqualFold(v.location, r.PathValue("loc")) {
		armError(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.KeyVault/deletedVaults/%s' was not found.", r.PathValue("name")))
		return
	}
	writeJSON(w, 200, k.deletedJSON(v))
}

// lookup finds the vault a route names in its resource group.
func (k *fakeKV) lookup(w http.ResponseWriter, r *http.Request) (*fakeVault, bool) {
	v, ok := k.vaults[strings.ToLower(r.PathValue("name"))]
	if !ok || !strings.EqualFold(v.rg, r.PathValue("rg")) {
		armError(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.KeyVault/vaults/%s' under resource group '%s' was not found.",
			r.PathValue("name"), r.PathValue("rg")))
		return nil, false
	}
	return v, true
}

func (k *fakeKV) serveVault(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		k.putVault(w, r)
	case http.MethodGet:
		v, ok := k.lookup(w, r)
		if !ok {
			return
		}
		if v.dnsPolls > 0 {
			if v.dnsPolls--; v.dnsPolls == 0 {
				v.state = "Succeeded"
			}
		}
		writeJSON(w, 200, k.vaultJSON(v))
	case http.MethodDelete:
		v, ok := k.lookup(w, r)
		if !ok {
			return
		}
		delete(k.vaults, strings.ToLower(v.name))
		v.deletedAt = fakeTime
		k.deleted[strings.ToLower(v.name)] = v
		w.WriteHeader(http.StatusOK)
	default:
		armError(w, 405, "MethodNotAllowed", "method not allowed")
	}
}

// vaultPut is the body of a vault PUT, as the fake reads it.
type vaultPut struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		TenantID                  string         `json:"tenantId"`
		SKU                       *vaultSKU      `json:"sku"`
		AccessPolicies            []accessPolicy `json:"accessPolicies"`
		SoftDeleteRetentionInDays *int           `json:"softDeleteRetentionInDays"`
		EnablePurgeProtection     *bool          `json:"enablePurgeProtection"`
		CreateMode                string         `json:"createMode"`
	} `json:"properties"`
}

func (k *fakeKV) putVault(w http.ResponseWriter, r *http.Request) {
	name, rg := r.PathValue("name"), r.PathValue("rg")
	var in vaultPut
	if json.Unmarshal([]byte(k.body), &in) != nil || in.Location == "" || in.Properties.TenantID != "tenant-1" ||
		in.Properties.SKU == nil || in.Properties.SKU.Family != "A" {
		armError(w, 400, "BadRequest", "The request is missing location, properties.tenantId or properties.sku.")
		return
	}
	if k.x.groups[strings.ToLower(rg)].Name == "" {
		armError(w, 404, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rg))
		return
	}
	key := strings.ToLower(name)
	if in.Properties.CreateMode == "recover" {
		v, ok := k.deleted[key]
		if !ok {
			armError(w, 400, "SoftDeletedVaultDoesNotExist", fmt.Sprintf("A soft deleted vault with the given name '%s' does not exist.", name))
			return
		}
		delete(k.deleted, key)
		v.rg, v.location, v.deletedAt = rg, in.Location, time.Time{}
		k.vaults[key] = v
		writeJSON(w, 200, k.vaultJSON(v))
		return
	}
	if _, ok := k.deleted[key]; ok {
		armError(w, 409, "ConflictError", "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault.")
		return
	}
	if v, ok := k.vaults[key]; ok && !strings.EqualFold(v.rg, rg) {
		armError(w, 409, "VaultAlreadyExists", fmt.Sprintf("The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name))
		return
	}
	v := &fakeVault{name: name, rg: rg, location: in.Location, tags: in.Tags, sku: in.Properties.SKU.Name, tenant: in.Properties.TenantID,
		policies: in.Properties.AccessPolicies, retention: 90, state: "Succeeded"}
	if p := in.Properties.SoftDeleteRetentionInDays; p != nil {
		v.retention = *p
	}
	v.purgeProtection = in.Properties.EnablePurgeProtection != nil && *in.Properties.EnablePurgeProtection
	k.vaults[key] = v
	k.data[key] = &fakeVaultData{secrets: map[string]*fakeSecret{}}
	switch {
	case strings.HasPrefix(key, "kv-async"):
		k.accepted(w, true, nil)
	case strings.HasPrefix(key, "kv-dns"):
		v.state, v.dnsPolls = "RegisteringDns", 1
		writeJSON(w, 201, k.vaultJSON(v))
	default:
		writeJSON(w, 201, k.vaultJSON(v))
	}
}

// accepted answers 202 for a new long-running operation.
func (k *fakeKV) accepted(w http.ResponseWriter, async bool, onDone func()) {
	k.seq++
	id := fmt.Sprintf("kvop-%d", k.seq)
	k.ops[id] = &fakeKVOp{async: async, onDone: onDone}
	u := "https://management.localhost:" + k.port + "/subscriptions/sub-1/providers/Microsoft.KeyVault/operations/" + id + "?api-version=" + keyVaultAPIVersion
	if async {
		w.Header().Set("Azure-AsyncOperation", u)
	} else {
		w.Header().Set("Location", u)
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusAccepted)
}

func (k *fakeKV) serveOp(w http.ResponseWriter, r *http.Request) {
	op, ok := k.ops[r.PathValue("id")]
	if !ok {
		armError(w, 404, "NotFound", "no such operation")
		return
	}
	op.polls++
	done := op.polls > 1
	if done && op.onDone != nil {
		op.onDone()
		op.onDone = nil
	}
	switch {
	case op.async && done:
		writeJSON(w, 200, map[string]any{"id": r.URL.Path, "name": r.PathValue("id"), "status": "Succeeded"})
	case op.async:
		writeJSON(w, 200, map[string]any{"id": r.URL.Path, "name": r.PathValue("id"), "status": "InProgress"})
	case done:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func (k *fakeKV) purge(w http.ResponseWriter, r *http.Request) {
	key := strings.ToLower(r.PathValue("name"))
	v, ok := k.deleted[key]
	if !ok || !strings.EqualFold(v.location, r.PathValue("loc")) {
		armError(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.KeyVault/deletedVaults/%s' was not found.", r.PathValue("name")))
		return
	}
	gone := func() { delete(k.deleted, key); delete(k.data, key) }
	if strings.HasPrefix(key, "kv-lro") {
		k.accepted(w, false, gone)
		return
	}
	gone()
	w.WriteHeader(http.StatusOK)
}

// updatePolicies serves accessPolicies/{add|replace|remove}: entries are
// matched by object id; add merges permissions, remove drops the entry.
func (k *fakeKV) updatePolicies(w http.ResponseWriter, r *http.Request) {
	v, ok := k.lookup(w, r)
	if !ok {
		return
	}
	var in accessPolicyUpdate
	kind := r.PathValue("kind")
	if json.Unmarshal([]byte(k.body), &in) != nil || len(in.Properties.AccessPolicies) == 0 ||
		(kind != "add" && kind != "remove" && kind != "replace") {
		armError(w, 400, "BadRequest", "Invalid access policy update.")
		return
	}
	for _, p := range in.Properties.AccessPolicies {
		if p.TenantID != v.tenant || p.ObjectID == "" {
			armError(w, 400, "BadRequest", "An access policy must name the vault's tenant and an object id.")
			return
		}
		i := slices.IndexFunc(v.policies, func(e accessPolicy) bool { return strings.EqualFold(e.ObjectID, p.ObjectID) })
		switch {
		case kind == "remove" && i >= 0:
			v.policies = slices.Delete(v.policies, i, i+1)
		case kind == "add" && i >= 0:
			for _, s := range p.Permissions.Secrets {
				if !slices.Contains(v.policies[i].Permissions.Secrets, s) {
					v.policies[i].Permissions.Secrets = append(v.policies[i].Permissions.Secrets, s)
				}
			}
		case kind != "remove" && i >= 0:
			v.policies[i] = p
		case kind != "remove":
			v.policies = append(v.policies, p)
		}
	}
	policies := v.policies
	if policies == nil {
		policies = []accessPolicy{}
	}
	writeJSON(w, 200, map[string]any{"id": k.vaultID(v) + "/accessPolicies/", "type": "Microsoft.KeyVault/vaults/accessPolicies",
		"properties": map[string]any{"accessPolicies": policies}})
}
