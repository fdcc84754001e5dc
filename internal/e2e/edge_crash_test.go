package e2e

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/activationkey"
)

// TestEdgeActivationCrash ends the server process (exit status 3, no
// shutdown of any kind) at each crash point of the generate-activation-key
// operation, starts it again on the same data, and checks that the
// operation reaches Succeeded with one of everything it makes: one vault,
// one lock on it, one CIK secret with one version, one storage account
// with one lock, one diagnostic setting, the identity's policy once, one
// key. The crash points are before each step's checkpoint ("<step>/done")
// and, for steps that make something, between making it and recording it
// ("<step>/made"), the window a resumed step must recognise.
func TestEdgeActivationCrash(t *testing.T) {
	var points []string
	for _, step := range activation.Steps[:len(activation.Steps)-1] {
		switch step {
		case activation.StepIdentity, activation.StepVerify: // make nothing to record
		default:
			points = append(points, step+"/made")
		}
		points = append(points, step+"/done")
	}
	points = append(points, activation.StepIssue)
	name := func(point string) string { return strings.ReplaceAll(point, "/", "-") }
	// The restarted server is the same replica (same data directory), so
	// it resumes its predecessor's jobs at once, on both databases.
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			for _, point := range points {
				t.Run(name(point), func(t *testing.T) { testActivationCrash(t, db.url(t), point) })
			}
		})
	}
}

func testActivationCrash(t *testing.T, databaseURL, point string) {
	a := serverArgs{dataDir: t.TempDir(), port: freePort(t), databaseURL: databaseURL, failpoints: true,
		env: []string{"EDGEVAULT_FAILPOINT=" + point}}
	first := a.start(t)
	boot, hc := first.waitReady(t)
	e := newEdgeEnv(t, &inproc{boot: boot, http: hc}, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	e.group(t, "crash-rg")
	e.createDevice(t, "crash-rg", "dbe-crash")
	poller, err := e.beginGenerate(t, "crash-rg", "dbe-crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	resume, err := poller.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	e, res := resumeAfterCrash[activationResult](t, a, first, point, resume)
	if _, err := activationkey.Parse(res.ActivationKey); err != nil {
		t.Fatal(err)
	}
	checkProvisionedOnce(t, e, "crash-rg", "dbe-crash", res)
}

// checkProvisionedOnce checks that a device's group holds exactly one of
// everything the activation operation makes.
func checkProvisionedOnce(t *testing.T, e *edgeEnv, group, device string, res activationResult) {
	t.Helper()
	ctx := context.Background()
	dev, err := e.devices.Get(ctx, device, group, nil)
	if err != nil {
		t.Fatal(err)
	}
	mi := *dev.Identity.PrincipalID
	var vaults []*armkeyvault.Vault
	for pager := e.vaults.NewListByResourceGroupPager(group, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		vaults = append(vaults, page.Value...)
	}
	if len(vaults) != 1 || !strings.EqualFold(*vaults[0].ID, res.KeyVaultID) {
		t.Fatalf("vaults in %s: %d, want the one the key names (%s)", group, len(vaults), res.KeyVaultID)
	}
	v := vaults[0]
	if n := countLocks(t, e, *v.ID); n != 1 {
		t.Errorf("locks on the vault: %d, want 1", n)
	}
	var miPolicies int
	for _, p := range v.Properties.AccessPolicies {
		if *p.ObjectID == mi {
			miPolicies++
			if len(p.Permissions.Secrets) != 2 {
				t.Errorf("identity's secret permissions = %d entries, want get and set", len(p.Permissions.Secrets))
			}
		}
	}
	if miPolicies != 1 || len(v.Properties.AccessPolicies) != 1 {
		t.Errorf("access policies: %d, of which %d for the identity; want exactly the identity's", len(v.Properties.AccessPolicies), miPolicies)
	}
	accts, err := e.accounts.NewListByResourceGroupPager(group, nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts.Value) != 1 {
		t.Fatalf("storage accounts in %s: %d, want 1", group, len(accts.Value))
	}
	if n := countLocks(t, e, *accts.Value[0].ID); n != 1 {
		t.Errorf("locks on the storage account: %d, want 1", n)
	}
	var settings struct{ Value []struct{ ID string } }
	if code := e.raw(t, http.MethodGet, e.boot.ManagementEndpoint+*v.ID+"/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview", nil, &settings); code != http.StatusOK || len(settings.Value) != 1 {
		t.Errorf("diagnostic settings on the vault: %d (status %d), want 1", len(settings.Value), code)
	}
	// The CIK: one ase-cik- secret, with one version, read by an admin the
	// test grants list and get.
	if _, err := e.vaults.UpdateAccessPolicy(ctx, group, *v.Name, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(e.boot.TenantID), ObjectID: to.Ptr(e.boot.ServicePrincipal.ObjectID),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsList), to.Ptr(armkeyvault.SecretPermissionsGet)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	sc, err := azsecrets.NewClient(res.KeyVaultURI, e.cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.http}})
	if err != nil {
		t.Fatal(err)
	}
	var ciks []string
	for pager := sc.NewListSecretPropertiesPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			if strings.HasPrefix(s.ID.Name(), activation.CIKPrefix) {
				ciks = append(ciks, s.ID.Name())
			}
		}
	}
	if len(ciks) != 1 {
		t.Fatalf("CIK secrets: %v, want one", ciks)
	}
	versions, err := sc.NewListSecretPropertiesVersionsPager(ciks[0], nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.Value) != 1 {
		t.Errorf("CIK versions: %d, want 1", len(versions.Value))
	}
	var keys struct{ Value []struct{ ID, State string } }
	e.raw(t, http.MethodGet, e.deviceURL(group, device, "/activationKeys"), nil, &keys)
	if len(keys.Value) != 1 || keys.Value[0].State != "Unused" {
		t.Errorf("activation keys = %+v, want one unused", keys.Value)
	}
}

// countLocks counts the management locks at a scope.
func countLocks(t *testing.T, e *edgeEnv, scope string) int {
	t.Helper()
	var locks struct{ Value []struct{ ID string } }
	if code := e.raw(t, http.MethodGet, e.boot.ManagementEndpoint+scope+"/providers/Microsoft.Authorization/locks?api-version=2020-05-01", nil, &locks); code != http.StatusOK {
		t.Fatalf("listing locks at %s: status %d", scope, code)
	}
	return len(locks.Value)
}

// TestRecoverKeyVaultCrash ends the server at each crash point of
// recoverKeyVault (after an accidental deletion) and checks that the
// restarted server finishes it with one of everything: the vault active
// with one lock, one new audit storage account with one lock, one
// diagnostic setting, the identity's policy once.
func TestRecoverKeyVaultCrash(t *testing.T) {
	var points []string
	for _, step := range activation.RecoverSteps {
		switch step {
		case activation.StepLock, activation.StepStorage, activation.StepDiagnostics, activation.StepAccessPolicy:
			points = append(points, step+"/made")
		}
		points = append(points, step+"/done")
	}
	name := func(point string) string { return strings.ReplaceAll(point, "/", "-") }
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			for _, point := range points {
				t.Run(name(point), func(t *testing.T) { testRecoverCrash(t, db.url(t), point) })
			}
		})
	}
}

// recoverResult is the part of recoverKeyVault's result the test reads.
type recoverResult struct {
	Action string `json:"action"`
}

func testRecoverCrash(t *testing.T, databaseURL, point string) {
	ctx := context.Background()
	a := serverArgs{dataDir: t.TempDir(), port: freePort(t), databaseURL: databaseURL}
	setup := a.start(t)
	boot, hc := setup.waitReady(t)
	e := &lifecycleEnv{edgeEnv: newEdgeEnv(t, &inproc{boot: boot, http: hc}, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)}
	e.group(t, "life-rg")
	e.createDevice(t, "life-rg", "dbe-crash")
	res := e.generate(t, "life-rg", "dbe-crash", "")
	e.vaultName = res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	e.deleteVaultAccidentally(t)
	setup.kill()

	a.failpoints, a.env = true, []string{"EDGEVAULT_FAILPOINT=" + point}
	first := a.start(t)
	boot, hc = first.waitReady(t)
	e.edgeEnv = newEdgeEnv(t, &inproc{boot: boot, http: hc}, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	req, err := runtime.NewRequest(ctx, http.MethodPost, e.deviceURL("life-rg", "dbe-crash", "/recoverKeyVault"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.pl.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("recoverKeyVault: %v %v", resp, err)
	}
	poller, err := runtime.NewPoller(resp, e.pl, &runtime.NewPollerOptions[recoverResult]{FinalStateVia: runtime.FinalStateViaLocation})
	if err != nil {
		t.Fatal(err)
	}
	resume, err := poller.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	env, out := resumeAfterCrash[recoverResult](t, a, first, point, resume)
	e.edgeEnv = env
	if out.Action != "Recovered" {
		t.Fatalf("after the crash at %s: %+v", point, out)
	}
	vaultScope := e.subScope() + "/resourceGroups/life-rg/providers/Microsoft.KeyVault/vaults/" + e.vaultName
	v, err := e.vaults.Get(ctx, "life-rg", e.vaultName, nil)
	if err != nil {
		t.Fatalf("the vault is not back: %v", err)
	}
	if n := countLocks(t, e.edgeEnv, vaultScope); n != 1 {
		t.Errorf("locks on the vault: %d, want 1", n)
	}
	if n := len(v.Properties.AccessPolicies); n != 1 {
		t.Errorf("access policies: %d, want the identity's once", n)
	}
	var settings struct{ Value []struct{ ID string } }
	e.raw(t, http.MethodGet, e.boot.ManagementEndpoint+vaultScope+"/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview", nil, &settings)
	if len(settings.Value) != 1 {
		t.Errorf("diagnostic settings: %d, want 1", len(settings.Value))
	}
	accts, err := e.accounts.NewListByResourceGroupPager("life-rg", nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts.Value) != 2 {
		t.Fatalf("storage accounts: %d, want the first and one new", len(accts.Value))
	}
	for _, acct := range accts.Value {
		if n := countLocks(t, e.edgeEnv, *acct.ID); n != 1 {
			t.Errorf("locks on %s: %d, want 1", *acct.Name, n)
		}
	}
}

// resumeAfterCrash waits for the server first, started from a with the
// failpoint point, to exit there (status 3), starts a again without
// failpoints, and polls the operation of the resume token to its end on
// the new server, returning the new server's env and the result.
func resumeAfterCrash[T any](t *testing.T, a serverArgs, first *proc, point, resume string) (*edgeEnv, T) {
	t.Helper()
	var zero T
	select {
	case <-first.exited:
	case <-time.After(90 * time.Second):
		t.Fatalf("the server did not reach failpoint %s", point)
	}
	var exit *exec.ExitError
	if !errors.As(first.err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("server exited with %v, want status 3 at failpoint %s", first.err, point)
	}
	a.failpoints, a.env = false, nil
	second := a.start(t)
	boot, hc := second.waitReady(t)
	e := newEdgeEnv(t, &inproc{boot: boot, http: hc}, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	resumed, err := runtime.NewPollerFromResumeToken[T](resume, e.pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := resumed.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("after the crash at %s: %v", point, err)
		return nil, zero
	}
	return e, out
}
