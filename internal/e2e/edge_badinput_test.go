package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/rbac"
)

// TestEdgeBadInput: edge resource names and bodies that ARM refuses, a
// second generation while one runs, a subscription that is not the
// caller's; each refused whole, with the ARM error envelope, making
// nothing. On SQLite and PostgreSQL.
func TestEdgeBadInput(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", db.url(t), io.Discard)
			e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
			t.Run("Names", func(t *testing.T) { testEdgeBadNames(t, e) })
			t.Run("Bodies", func(t *testing.T) { testEdgeBadBodies(t, e) })
			t.Run("Busy", func(t *testing.T) { testEdgeBusy(t, e) })
			t.Run("ForeignSubscription", func(t *testing.T) { testEdgeForeignSubscription(t, e) })
		})
	}
}

// armError is ARM's error envelope.
type armError struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (a armError) code() string {
	if a.Error == nil {
		return ""
	}
	return a.Error.Code
}

// deviceNames lists the names of the devices of a group.
func (e *edgeEnv) deviceNames(t *testing.T, group string) []string {
	t.Helper()
	var names []string
	pager := e.devices.NewListByResourceGroupPager(group, nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			names = append(names, *d.Name)
		}
	}
	return names
}

func validDeviceBody() map[string]any {
	return map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base", "tier": "Standard"}}
}

func testEdgeBadNames(t *testing.T, e *edgeEnv) {
	const group = "edge-names"
	e.group(t, group)
	for _, name := range []string{
		"a", strings.Repeat("a", 51), "bad_name", "bad.name", "bad name", "bad$name", "bad~name", "bad'name",
		"bad(name)", "bad@name", "bad+name", "bad,name", "bad;name", "bad=name", "bad*name", "bad!name",
		"-start", "end-", "d\u0435vice", // Cyrillic е
		"caf\u00e9", "dev\u200bice", // zero-width space
	} {
		var out armError
		st := e.raw(t, http.MethodPut, e.deviceURL(group, url.PathEscape(name), ""), validDeviceBody(), &out)
		if st != http.StatusBadRequest || out.code() != "InvalidResourceName" {
			t.Errorf("PUT device %q: %d %s", name, st, dump(out))
		}
	}
	// The bounds themselves are valid.
	for _, name := range []string{"ab", strings.Repeat("b", 50), "Dev-1"} {
		if st := e.raw(t, http.MethodPut, e.deviceURL(group, name, ""), validDeviceBody(), nil); st != http.StatusOK {
			t.Errorf("PUT device %q: %d", name, st)
		}
	}
	if names := e.deviceNames(t, group); len(names) != 3 {
		t.Errorf("devices in the group: %q", names)
	}
}

func testEdgeBadBodies(t *testing.T, e *edgeEnv) {
	const group = "edge-bodies"
	e.group(t, group)
	for _, c := range []struct {
		what string
		body any
	}{
		{"unknown field", map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base"}, "colour": "blue"}},
		{"unknown sku field", map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base", "size": 3}}},
		{"location number", map[string]any{"location": 5, "sku": map[string]any{"name": "EdgeP_Base"}}},
		{"sku string", map[string]any{"location": "westeurope", "sku": "EdgeP_Base"}},
		{"tags array", map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base"}, "tags": []string{"a"}}},
		{"tag value number", map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base"}, "tags": map[string]any{"a": 1}}},
		{"missing sku", map[string]any{"location": "westeurope"}},
		{"null sku", map[string]any{"location": "westeurope", "sku": nil}},
		{"missing location", map[string]any{"sku": map[string]any{"name": "EdgeP_Base"}}},
		{"bad sku tier", map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base", "tier": "Premium"}}},
		{"user-assigned identity", map[string]any{"location": "westeurope", "sku": map[string]any{"name": "EdgeP_Base"}, "identity": map[string]any{"type": "UserAssigned"}}},
		{"array body", []any{validDeviceBody()}},
	} {
		var out armError
		st := e.raw(t, http.MethodPut, e.deviceURL(group, "dbe-body", ""), c.body, &out)
		if st != http.StatusBadRequest || out.code() == "" || out.Error.Message == "" {
			t.Errorf("PUT with %s: %d %s", c.what, st, dump(out))
		}
	}
	if names := e.deviceNames(t, group); len(names) != 0 {
		t.Errorf("devices made by bad bodies: %q", names)
	}
	// generateActivationKey's body.
	e.createDevice(t, group, "dbe-body")
	for _, c := range []struct {
		what string
		body any
	}{
		{"keyVaultName number", map[string]any{"keyVaultName": 5}},
		{"keyVaultName object", map[string]any{"keyVaultName": map[string]any{"name": "kv"}}},
		{"keyVaultName array", map[string]any{"keyVaultName": []string{"kv"}}},
		{"unknown field", map[string]any{"keyVaultNam": "kv-typo"}},
		{"string body", "kv-name"},
	} {
		st, _, b := e.post(t, e.deviceURL(group, "dbe-body", "/generateActivationKey"), c.body)
		if st != http.StatusBadRequest || !strings.Contains(string(b), `"code"`) {
			t.Errorf("generate with %s: %d %s", c.what, st, b)
		}
	}
	e.nothingCreated(t, group, "dbe-body")
}

// testEdgeBusy: two generations started together for one device: one is
// accepted, the other refused with 409 AnotherOperationInProgress naming
// the accepted one, which then succeeds. Both are accepted only if the
// first had ended before the second began, which the operations' times
// must show; the test retries on a new device until it sees the overlap.
func testEdgeBusy(t *testing.T, e *edgeEnv) {
	type answer struct {
		status int
		header http.Header
		body   []byte
		err    error
	}
	for attempt := range 5 {
		// A group per attempt: an attempt whose two generations did not
		// overlap leaves a vault, which the next attempt must not count.
		group, device := "edge-busy-"+string(rune('a'+attempt)), "dbe-busy"
		e.group(t, group)
		url := func(device string) string { return e.deviceURL(group, device, "/generateActivationKey") }
		e.createDevice(t, group, device)
		var wg sync.WaitGroup
		answers := make([]answer, 2)
		start := make(chan struct{})
		for i := range answers {
			wg.Go(func() {
				<-start
				st, h, b, err := e.tryPost(url(device), nil)
				answers[i] = answer{st, h, b, err}
			})
		}
		close(start)
		wg.Wait()
		var accepted, refused []answer
		for _, a := range answers {
			if a.err != nil {
				t.Fatal(a.err)
			}
			switch a.status {
			case http.StatusAccepted:
				accepted = append(accepted, a)
			case http.StatusConflict:
				refused = append(refused, a)
			default:
				t.Fatalf("generate: %d %s", a.status, a.body)
			}
		}
		if len(accepted) == 0 {
			t.Fatalf("both generations refused: %s / %s", answers[0].body, answers[1].body)
		}
		if len(accepted) == 2 {
			// Legitimate only if they did not overlap.
			a := e.waitOperation(t, accepted[0].header.Get("Azure-AsyncOperation"))
			b := e.waitOperation(t, accepted[1].header.Get("Azure-AsyncOperation"))
			// Both accepted while the first ran is the race the claim
			// prevents, even if one of them then failed.
			if a.StartTime.Before(b.EndTime) && b.StartTime.Before(a.EndTime) {
				t.Fatalf("two generations were accepted at once on %s: %+v and %+v", device, a, b)
			}
			t.Logf("attempt %d: no overlap (%+v, %+v); again", attempt, a, b)
			continue
		}
		loc := accepted[0].header.Get("Location")
		opID := loc[strings.LastIndexByte(loc[:strings.IndexByte(loc, '?')], '/')+1 : strings.IndexByte(loc, '?')]
		var out armError
		if err := json.Unmarshal(refused[0].body, &out); err != nil || out.code() != "AnotherOperationInProgress" ||
			!strings.Contains(out.Error.Message, opID) {
			t.Errorf("the refused generation: %s, want AnotherOperationInProgress naming %s", refused[0].body, opID)
		}
		if st := e.waitOperation(t, accepted[0].header.Get("Azure-AsyncOperation")); st.Status != "Succeeded" {
			t.Fatalf("the accepted generation: %+v", st)
		}
		var res activationResult
		if st := e.raw(t, http.MethodGet, loc, nil, &res); st != http.StatusOK {
			t.Fatalf("result: %d", st)
		}
		if _, err := activationkey.Parse(res.ActivationKey); err != nil {
			t.Errorf("the accepted generation's key: %v", err)
		}
		var keys struct{ Value []struct{ State string } }
		e.raw(t, http.MethodGet, e.deviceURL(group, device, "/activationKeys"), nil, &keys)
		if len(keys.Value) != 1 || keys.Value[0].State != "Unused" {
			t.Errorf("activation keys = %+v, want one", keys.Value)
		}
		if vs := e.vaultsIn(t, group); len(vs) != 1 {
			t.Errorf("vaults in the group: %s", dump(vs))
		}
		// Once it has ended, the device is free again.
		if res2 := e.generate(t, group, device, ""); res2.KeyVaultID != res.KeyVaultID {
			t.Errorf("regenerate after the busy one: %+v", res2)
		}
		return
	}
	t.Fatal("never saw two generations overlap in 5 attempts")
}

// testEdgeForeignSubscription: a subscription that is not the caller's
// (nor anyone's) answers 404 SubscriptionNotFound in ARM's envelope, for
// every edge route, and nothing is made there.
func testEdgeForeignSubscription(t *testing.T, e *edgeEnv) {
	foreign := uuid.NewString()
	base := e.boot.ManagementEndpoint + "/subscriptions/" + foreign + "/resourceGroups/edge-rg/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices"
	for _, c := range []struct {
		method, url string
		body        any
	}{
		{http.MethodPut, base + "/dbe-1?api-version=2023-12-01", validDeviceBody()},
		{http.MethodGet, base + "/dbe-1?api-version=2023-12-01", nil},
		{http.MethodPatch, base + "/dbe-1?api-version=2023-12-01", map[string]any{"tags": map[string]string{}}},
		{http.MethodDelete, base + "/dbe-1?api-version=2023-12-01", nil},
		{http.MethodGet, base + "?api-version=2023-12-01", nil},
		{http.MethodGet, e.boot.ManagementEndpoint + "/subscriptions/" + foreign + "/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices?api-version=2022-03-01", nil},
		{http.MethodPost, base + "/dbe-1/generateActivationKey?api-version=2023-12-01", nil},
		{http.MethodPost, base + "/dbe-1/getExtendedInformation?api-version=2023-12-01", nil},
		{http.MethodGet, base + "/dbe-1/activationKeys?api-version=2023-12-01", nil},
	} {
		var out armError
		st := e.raw(t, c.method, c.url, c.body, &out)
		if st != http.StatusNotFound || out.code() != "SubscriptionNotFound" || !strings.Contains(out.Error.Message, foreign) {
			t.Errorf("%s %s: %d %s", c.method, c.url, st, dump(out))
		}
	}
	// Nothing named dbe-1 exists in the caller's subscription either.
	pager := e.devices.NewListBySubscriptionPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			if strings.Contains(strings.ToLower(*d.ID), foreign) || *d.Name == "dbe-1" {
				t.Errorf("device %s was made", *d.ID)
			}
		}
	}
}

// The failure table of reference/edge-arm.md §2.7, run by
// TestEdgeGenerateWithSDK on its servers.

// testEdgeFailures: the blocking rows of the troubleshooting table
// (edge-arm.md §2.7) fail synchronously with ARM's codes and make nothing.
func testEdgeFailures(t *testing.T, e *edgeEnv) {
	ctx := context.Background()
	const group, device = "edge-fail", "dbe-fail"
	e.group(t, group)
	e.createDevice(t, group, device)
	e.group(t, "edge-other")

	// A caller with Reader on the group.
	reader, _ := e.principalWithRole(t, "edge-reader", rbac.Reader, e.rgScope(group))
	re := reader.generateError(t, group, device, nil)
	if re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthorizationFailed" {
		t.Errorf("Reader: %d %s", re.StatusCode, re.ErrorCode)
	}
	e.nothingCreated(t, group, device)

	// Vault names: taken by another vault, soft-deleted, invalid.
	kv := &kvEnv{sdkEnv: e.sdkEnv, srv: e.srv, vaults: e.vaults, me: e.boot.ServicePrincipal.ObjectID}
	kv.create(t, "edge-other", "edge-taken", nil)
	kv.create(t, "edge-other", "edge-gone", func(p *armkeyvault.VaultProperties) { p.EnableSoftDelete = to.Ptr(true) })
	if _, err := e.vaults.Delete(ctx, "edge-other", "edge-gone", nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		status int
		code   string
	}{
		{"edge-taken", http.StatusConflict, "VaultAlreadyExists"},
		{"EDGE-TAKEN", http.StatusConflict, "VaultAlreadyExists"},
		{"edge-gone", http.StatusConflict, "ConflictError"},
		{"ab", http.StatusBadRequest, "VaultNameNotValid"},
		{strings.Repeat("a", 25), http.StatusBadRequest, "VaultNameNotValid"},
		{"bad_name", http.StatusBadRequest, "VaultNameNotValid"},
		{"v\u0430ult1", http.StatusBadRequest, "VaultNameNotValid"}, // Cyrillic а
		{"1vault", http.StatusBadRequest, "VaultNameNotValid"},
		{"vault-", http.StatusBadRequest, "VaultNameNotValid"},
		{"va--ult", http.StatusBadRequest, "VaultNameNotValid"},
	} {
		re := e.generateError(t, group, device, map[string]string{"keyVaultName": c.name})
		if re.StatusCode != c.status || re.ErrorCode != c.code {
			t.Errorf("keyVaultName %q: %d %s, want %d %s", c.name, re.StatusCode, re.ErrorCode, c.status, c.code)
		}
	}
	e.nothingCreated(t, group, device)
	if _, err := e.vaults.Get(ctx, "edge-other", "edge-taken", nil); err != nil {
		t.Errorf("the taken vault: %v", err)
	}
}

// testEdgeRegistration: Microsoft.KeyVault unregistered and a caller who
// may not register it blocks the key (409, nothing made);
// Microsoft.Storage unregistered does not: the key is issued with warnings
// and alerts, and no storage account.
func testEdgeRegistration(t *testing.T, e *edgeEnv) {
	ctx := context.Background()
	const group, device = "edge-reg", "dbe-reg"
	e.group(t, group)
	e.createDevice(t, group, device)
	contributor, _ := e.principalWithRole(t, "edge-contributor", rbac.Contributor, e.rgScope(group))
	withoutAutoRegistration(t, contributor)

	if _, err := e.provs.Unregister(ctx, "Microsoft.KeyVault", nil); err != nil {
		t.Fatal(err)
	}
	re := contributor.generateError(t, group, device, nil)
	if re.StatusCode != http.StatusConflict || re.ErrorCode != "MissingSubscriptionRegistration" ||
		!strings.Contains(re.Error(), "Microsoft.KeyVault") {
		t.Errorf("Microsoft.KeyVault unregistered: %v", re)
	}
	if p, err := e.provs.Get(ctx, "Microsoft.KeyVault", nil); err != nil || *p.RegistrationState == "Registered" {
		t.Errorf("Microsoft.KeyVault after the refused generate: %v %v", p.RegistrationState, err)
	}
	e.nothingCreated(t, group, device)

	// Microsoft.Storage unregistered: non-blocking.
	for _, ns := range []string{"Microsoft.KeyVault", "Microsoft.Insights"} {
		if _, err := e.provs.Register(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.provs.Unregister(ctx, "Microsoft.Storage", nil); err != nil {
		t.Fatal(err)
	}
	res := contributor.generate(t, group, device, "")
	if _, err := activationkey.Parse(res.ActivationKey); err != nil {
		t.Errorf("no key with Microsoft.Storage unregistered: %v", err)
	}
	if len(res.Warnings) == 0 || !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "Microsoft.Storage") }) {
		t.Errorf("warnings = %q", res.Warnings)
	}
	want := []string{"AuditStorageAccountNotConfigured", "KeyVaultDiagnosticSettingNotConfigured"}
	if types := e.alertTypes(t, group, device); !slices.Equal(types, want) {
		t.Errorf("alerts = %v, want %v", types, want)
	}
	if p, err := e.provs.Get(ctx, "Microsoft.Storage", nil); err != nil || *p.RegistrationState == "Registered" {
		t.Errorf("Microsoft.Storage after the generate: %v %v", p.RegistrationState, err)
	}
	if _, err := e.provs.Register(ctx, "Microsoft.Storage", nil); err != nil {
		t.Fatal(err)
	}
	if as := e.accountsIn(t, group); len(as) != 0 {
		t.Errorf("storage accounts = %s", dump(as))
	}
	vaults := e.vaultsIn(t, group)
	if len(vaults) != 1 || !strings.EqualFold(*vaults[0].ID, res.KeyVaultID) {
		t.Fatalf("vaults = %s", dump(vaults))
	}
	locks := e.locksIn(t, e.rgScope(group))
	if len(locks) != 1 || !strings.HasPrefix(strings.ToLower(locks[0].ID), strings.ToLower(res.KeyVaultID)+"/") {
		t.Errorf("locks = %s, want only the vault's", dump(locks))
	}
	if n := e.diagnosticSettings(t, res.KeyVaultID); n != 0 {
		t.Errorf("%d diagnostic settings on the vault", n)
	}

	// Microsoft.Insights unregistered: the diagnostic setting is refused,
	// the storage account is made; the key is issued all the same.
	const group2, device2 = "edge-reg2", "dbe-reg2"
	e.group(t, group2)
	e.createDevice(t, group2, device2)
	contributor2, _ := e.principalWithRole(t, "edge-contributor2", rbac.Contributor, e.rgScope(group2))
	withoutAutoRegistration(t, contributor2)
	if _, err := e.provs.Unregister(ctx, "Microsoft.Insights", nil); err != nil {
		t.Fatal(err)
	}
	res = contributor2.generate(t, group2, device2, "")
	if _, err := activationkey.Parse(res.ActivationKey); err != nil {
		t.Errorf("no key with Microsoft.Insights unregistered: %v", err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "Microsoft.Insights") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if types := e.alertTypes(t, group2, device2); !slices.Equal(types, []string{"KeyVaultDiagnosticSettingNotConfigured"}) {
		t.Errorf("alerts = %v", types)
	}
	if as := e.accountsIn(t, group2); len(as) != 1 {
		t.Errorf("storage accounts = %s", dump(as))
	}
	if ls := e.locksIn(t, e.rgScope(group2)); len(ls) != 2 {
		t.Errorf("locks = %s", dump(ls))
	}
	if _, err := e.provs.Register(ctx, "Microsoft.Insights", nil); err != nil {
		t.Fatal(err)
	}
	if n := e.diagnosticSettings(t, res.KeyVaultID); n != 0 {
		t.Errorf("%d diagnostic settings on the vault", n)
	}
}

// testEdgeResultOnlyForInitiator: the result holds the key, so only the
// principal that started the operation may read it; an Owner of the group
// reads the status without the result, and a principal without access
// does not see the operation at all.
func testEdgeResultOnlyForInitiator(t *testing.T, e *edgeEnv) {
	const group, device = "edge-owner", "dbe-owner"
	e.group(t, group)
	e.createDevice(t, group, device)
	status, result := e.startGenerate(t, group, device, nil)
	if st := e.waitOperation(t, status); st.Status != "Succeeded" {
		t.Fatalf("generate: %+v", st)
	}
	owner, _ := e.principalWithRole(t, "edge-owner", rbac.Owner, e.rgScope(group))
	stranger, _ := e.principalWithRole(t, "edge-stranger", "", "")

	var mine activationResult
	if st := e.raw(t, http.MethodGet, result, nil, &mine); st != http.StatusOK || !strings.HasPrefix(mine.ActivationKey, "evak1_") {
		t.Errorf("initiator reads the result: %d %+v", st, mine)
	}
	var body armError
	st := owner.raw(t, http.MethodGet, result, nil, &body)
	if st != http.StatusForbidden || body.code() != "AuthorizationFailed" || strings.Contains(dump(body), "evak1_") {
		t.Errorf("Owner reads the result: %d %s", st, dump(body))
	}
	var opStatus struct {
		Status     string          `json:"status"`
		Properties json.RawMessage `json:"properties"`
	}
	if st := owner.raw(t, http.MethodGet, status, nil, &opStatus); st != http.StatusOK || opStatus.Status != "Succeeded" ||
		strings.Contains(string(opStatus.Properties), "evak1_") {
		t.Errorf("Owner reads the status: %d %+v", st, opStatus)
	}
	if st := e.raw(t, http.MethodGet, status, nil, &opStatus); st != http.StatusOK || !strings.Contains(string(opStatus.Properties), "evak1_") {
		t.Errorf("initiator reads the status: %d %s", st, opStatus.Properties)
	}
	for _, u := range []string{status, result} {
		if st := stranger.raw(t, http.MethodGet, u, nil, &body); st != http.StatusNotFound {
			t.Errorf("a principal without access reads %s: %d %s", u, st, dump(body))
		}
	}
}
