package portal

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// fakeVaults is the Key Vault management routes, locks and data plane of
// the vaults of one subscription, in front of fakeAPI (subscriptions,
// edge resources), for the key vault pages' tests (vaults_test.go).

const (
	kv1ID      = "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"
	kv1LockID  = kv1ID + "/providers/Microsoft.Authorization/locks/edgevault-keyvault-lock"
	cikVal     = "CIK-SECRET-VALUE-0123456789abcdef"
	vaultBase  = "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/"
	deletedOld = vaultBase + "locations/eastus/deletedVaults/kvold"
)

// fakeVault is one vault of fakeVaults.
type fakeVault struct {
	group, name     string
	purgeProtection bool
	deleted         bool
	locked          bool
	tags            map[string]string
	policies        []map[string]any
}

// fakeVaults serves the vault routes and hands every other call to next.
type fakeVaults struct {
	next *fakeAPI

	mu           sync.Mutex
	vaults       map[string]*fakeVault // by name
	unregistered bool                  // Microsoft.KeyVault not registered
	listForbid   bool                  // the data plane refuses list
	getForbid    bool                  // the data plane refuses get
	calls        []string              // method, host, path and query of every call
	bodies       []string              // bodies of PUT calls
}

func newFakeVaults(next *fakeAPI) *fakeVaults {
	mine := map[string]any{"tenantId": "t1", "objectId": aliceID, "permissions": map[string]any{
		"secrets": []string{"get", "list"}, "keys": []string{}, "certificates": []string{}}}
	mi := map[string]any{"tenantId": "t1", "objectId": "pid-1", "permissions": map[string]any{
		"secrets": []string{"get", "set"}, "keys": []string{}, "certificates": []string{}}}
	return &fakeVaults{next: next, vaults: map[string]*fakeVault{
		"kv1": {group: "rg1", name: "kv1", purgeProtection: true, locked: true,
			tags: map[string]string{"edgevault-operation": "op-123"}, policies: []map[string]any{mi, mine}},
		"kvold":  {group: "rg2", name: "kvold", deleted: true, tags: map[string]string{}},
		"kvprot": {group: "rg1", name: "kvprot", deleted: true, purgeProtection: true, tags: map[string]string{}},
	}}
}

func (v *fakeVault) arm() map[string]any {
	id := "/subscriptions/" + sub + "/resourceGroups/" + v.group + "/providers/Microsoft.KeyVault/vaults/" + v.name
	p := map[string]any{"tenantId": "t1", "sku": map[string]string{"family": "A", "name": "standard"},
		"accessPolicies": v.policies, "vaultUri": "https://" + v.name + "." + vaultHost + "/", "enableSoftDelete": true,
		"softDeleteRetentionInDays": 90, "enableRbacAuthorization": false, "publicNetworkAccess": "Enabled", "provisioningState": "Succeeded"}
	if v.purgeProtection {
		p["enablePurgeProtection"] = true
	}
	return map[string]any{"id": id, "name": v.name, "type": "Microsoft.KeyVault/vaults", "location": "eastus", "tags": v.tags, "properties": p}
}

func (v *fakeVault) deletedARM() map[string]any {
	return map[string]any{"id": vaultBase + "locations/eastus/deletedVaults/" + v.name, "name": v.name,
		"properties": map[string]any{"vaultId": v.arm()["id"], "location": "eastus", "tags": v.tags,
			"deletionDate": "2026-11-20T08:00:00Z", "scheduledPurgeDate": "2027-02-18T08:00:00Z", "purgeProtectionEnabled": v.purgeProtection}}
}

var (
	vaultPathRE   = regexp.MustCompile(`^/subscriptions/` + sub + `/resourceGroups/([^/]+)/providers/Microsoft\.KeyVault/vaults/([^/]+)$`)
	deletedPathRE = regexp.MustCompile(`^` + regexp.QuoteMeta(vaultBase) + `locations/([^/]+)/deletedVaults/([^/]+)(/purge)?$`)
)

func (f *fakeVaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.Host+r.URL.RequestURI())
	if r.Method == http.MethodPut {
		var b json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.bodies = append(f.bodies, string(b))
	}
	handled := f.serve(w, r)
	f.mu.Unlock()
	if !handled {
		f.next.ServeHTTP(w, r)
	}
}

// serve answers the vault routes; false for the others.
func (f *fakeVaults) serve(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	if strings.HasSuffix(r.Host, "."+vaultHost) {
		return f.dataPlane(w, r)
	}
	if strings.Contains(p, "/Microsoft.KeyVault/") && f.unregistered {
		writeErr(w, 409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace 'Microsoft.KeyVault'.")
		return true
	}
	switch {
	case p == vaultBase+"vaults" || p == vaultBase+"deletedVaults":
		var out []any
		for _, name := range []string{"kv1", "kvold", "kvprot"} {
			v := f.vaults[name]
			if v == nil || v.deleted != (p == vaultBase+"deletedVaults") {
				continue
			}
			if v.deleted {
				out = append(out, v.deletedARM())
			} else {
				out = append(out, v.arm())
			}
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case p == kv1ID+"/providers/Microsoft.Authorization/locks":
		var out []any
		if f.vaults["kv1"].locked {
			out = append(out, map[string]any{"id": kv1LockID, "name": "edgevault-keyvault-lock",
				"properties": map[string]any{"level": "CanNotDelete", "notes": "Placed by edgevault."}})
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case p == kv1LockID && r.Method == http.MethodDelete:
		f.vaults["kv1"].locked = false
		w.WriteHeader(200)
	case vaultPathRE.MatchString(p):
		f.vault(w, r, vaultPathRE.FindStringSubmatch(p))
	case deletedPathRE.MatchString(p):
		f.deleted(w, r, deletedPathRE.FindStringSubmatch(p))
	case p == "/subscriptions/"+sub+"/resourceGroups/rg1/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices":
		writeJSON(w, 200, map[string]any{"value": []any{device("/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/dev1")}})
	case strings.HasSuffix(p, "/dataBoxEdgeDevices/dev1/getExtendedInformation"):
		writeJSON(w, 200, map[string]any{"properties": map[string]any{"clientSecretStoreId": kv1ID}})
	default:
		return false
	}
	return true
}

func (f *fakeVaults) vault(w http.ResponseWriter, r *http.Request, m []string) {
	v := f.vaults[m[2]]
	switch {
	case r.Method == http.MethodPut:
		var body struct {
			Properties struct{ CreateMode string }
		}
		_ = json.Unmarshal([]byte(f.bodies[len(f.bodies)-1]), &body)
		if v == nil || !v.deleted || v.group != m[1] || body.Properties.CreateMode != "recover" {
			writeErr(w, 400, "BadRequest", "not a recovery")
			return
		}
		v.deleted = false
		writeJSON(w, 200, v.arm())
	case v == nil || v.deleted || v.group != m[1]:
		writeErr(w, 404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/"+m[2]+"' under resource group '"+m[1]+"' was not found.")
	case r.Method == http.MethodGet:
		writeJSON(w, 200, v.arm())
	case r.Method == http.MethodDelete && v.locked:
		writeErr(w, 409, "ScopeLocked", "The scope '"+kv1ID+"' cannot perform delete operation because following scope(s) are locked: '"+kv1ID+"'. Please remove the lock and try again.")
	case r.Method == http.MethodDelete:
		v.deleted = true
		w.WriteHeader(200)
	}
}

func (f *fakeVaults) deleted(w http.ResponseWriter, r *http.Request, m []string) {
	v := f.vaults[m[2]]
	switch {
	case v == nil || !v.deleted || m[1] != "eastus":
		writeErr(w, 404, "DeletedVaultNotFound", "The deleted vault '"+m[2]+"' in location '"+m[1]+"' does not exist.")
	case m[3] == "" && r.Method == http.MethodGet:
		writeJSON(w, 200, v.deletedARM())
	case m[3] != "" && r.Method == http.MethodPost && v.purgeProtection:
		writeErr(w, 405, "MethodNotAllowed", "Operation 'DeletedVaultPurge' is not allowed. Purge protection is enabled for the vault '"+v.name+"'.")
	case m[3] != "" && r.Method == http.MethodPost:
		delete(f.vaults, v.name)
		w.WriteHeader(200)
	default:
		writeErr(w, 405, "MethodNotAllowed", "no")
	}
}

// dataPlane is kv1's data plane: two secrets.
func (f *fakeVaults) dataPlane(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer tok-"+aliceID+"-vault" {
		writeErr(w, 401, "Unauthorized", "bad token")
		return true
	}
	base := "https://" + r.Host
	deny := func(perm string) {
		writeErr(w, 403, "Forbidden", "The user, group or application 'oid="+aliceID+"' does not have secrets "+perm+" permission on key vault 'kv1;location=eastus'.")
	}
	switch p := r.URL.Path; {
	case r.Host != "kv1."+vaultHost:
		writeErr(w, 404, "VaultNotFound", "no such vault")
	case p == "/secrets" && f.listForbid:
		deny("list")
	case p == "/secrets":
		writeJSON(w, 200, map[string]any{"value": []any{
			map[string]any{"id": base + "/secrets/ase-cik-op-123", "contentType": "application/octet-stream", "attributes": map[string]any{"enabled": true, "updated": 1795000000}},
			map[string]any{"id": base + "/secrets/BitLockerRecoveryKey", "attributes": map[string]any{"enabled": false}},
		}, "nextLink": nil})
	case f.getForbid:
		deny("get")
	case p == "/secrets/ase-cik-op-123":
		writeJSON(w, 200, map[string]any{"value": cikVal, "id": base + p + "/v1"})
	case p == "/secrets/BitLockerRecoveryKey":
		writeJSON(w, 200, map[string]any{"value": secretVal, "id": base + p + "/v2"})
	default:
		writeErr(w, 404, "SecretNotFound", "no such secret")
	}
	return true
}

// called reports whether some call starts with prefix.
func (f *fakeVaults) called(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func (f *fakeVaults) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}
