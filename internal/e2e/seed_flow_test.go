package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/databoxedge/armdataboxedge"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/edgevault/edgevault/internal/agent"
	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// TestSeedFlow is the whole story, with the real CLI, the real agent and
// the official SDKs: an operator creates an edge resource and generates a
// key; the appliance initialises, activates and runs; its secrets reach
// the vault; an authorised admin reads the BitLocker recovery key with
// azsecrets; the CIK is deleted from the vault and "Sync device secrets"
// restores it; a customer secret reaches the appliance; the agent
// restarts without the key; the appliance goes down, is reported Offline,
// and its escrowed secrets stay readable.
func TestSeedFlow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var log syncBuffer
	srv := startInProcessWith(t, dir, "127.0.0.1:0", "", &log, func(c *config.Config) {
		c.DeviceHeartbeat, c.DeviceOfflineAfter = time.Second, 3*time.Second
	})
	e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)

	// The operator, with the CLI.
	c := newCLIDriver(t)
	c.secret("the admin password", srv.boot.Admin.Password)
	c.secret("the bootstrap client secret", srv.boot.ServicePrincipal.ClientSecret)
	c.must("login", "--bootstrap", filepath.Join(dir, bootstrap.FileName))
	c.must("group", "create", "--name", "plant-rg", "--location", "westeurope")
	c.must("provider", "register", "--namespace", "Microsoft.DataBoxEdge")
	edge := func(args ...string) []string {
		return append(append([]string{"edge"}, args...), "--name", "dbe-plant", "--resource-group", "plant-rg")
	}
	c.must(edge("create")...)
	r := c.must(edge("activation-key", "generate")...)
	key := field(r.stdout, "ACTIVATION KEY")
	r.mayShow = key
	c.secret("the activation key", key)

	// The appliance.
	agentDir := filepath.Join(t.TempDir(), "appliance")
	if _, err := agent.Init(agentDir, "SN-PLANT-1", nil); err != nil {
		t.Fatal(err)
	}
	a, err := agent.Open(agent.Config{DataDir: agentDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Activate(ctx, key, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range a.State().Secrets {
		c.secret("the device secret "+s.Name, s.Value.Reveal())
	}
	stop := runAgent(t, a)

	// Its secrets reach the vault.
	info := waitFor(t, "the device secrets to be synced", func() (armdataboxedge.DeviceExtendedInfo, bool) {
		res, err := e.devices.GetExtendedInformation(ctx, "dbe-plant", "plant-rg", nil)
		if err != nil {
			t.Fatal(err)
		}
		p := res.Properties
		return res.DeviceExtendedInfo, *p.KeyVaultSyncStatus == armdataboxedge.KeyVaultSyncStatusKeyVaultSynced && len(p.DeviceSecrets) == len(devicewire.DeviceSecretNames)
	})
	vaultURI := *info.Properties.ClientSecretStoreURL
	vaultName := strings.Split(strings.TrimPrefix(vaultURI, "https://"), ".")[0]
	oldCIK := *info.Properties.ChannelIntegrityKeyName

	// An admin, once given an access policy, reads the recovery key with
	// unmodified azsecrets.
	if _, err := e.vaults.UpdateAccessPolicy(ctx, "plant-rg", vaultName, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(srv.boot.TenantID), ObjectID: to.Ptr(srv.boot.ServicePrincipal.ObjectID),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{
				to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsList), to.Ptr(armkeyvault.SecretPermissionsDelete)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	sc, err := azsecrets.NewClient(vaultURI, e.cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.http}})
	if err != nil {
		t.Fatal(err)
	}
	recovery := deviceSecret(t, a, devicewire.SystemVolumeBitLockerRecoveryKey)
	if got := readSecret(t, sc, devicewire.SystemVolumeBitLockerRecoveryKey); got != recovery {
		t.Fatal("the recovery key in the vault is not the appliance's")
	}
	cikValue := readSecret(t, sc, oldCIK)

	// The CIK deleted from the vault; "Sync device secrets" restores it.
	if _, err := sc.DeleteSecret(ctx, oldCIK, nil); err != nil {
		t.Fatal(err)
	}
	c.must(edge("secrets", "sync")...)
	res, err := e.devices.GetExtendedInformation(ctx, "dbe-plant", "plant-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	newCIK := *res.Properties.ChannelIntegrityKeyName
	if newCIK == oldCIK || !strings.HasPrefix(newCIK, "ase-cik-") {
		t.Fatalf("after the sync the CIK is %q (was %q)", newCIK, oldCIK)
	}
	if readSecret(t, sc, newCIK) != cikValue {
		t.Fatal("the restored CIK is not the appliance's CIK")
	}

	// A customer secret reaches the appliance.
	valueFile := filepath.Join(t.TempDir(), "wifi")
	if err := os.WriteFile(valueFile, []byte("plant-wifi-passphrase"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.secret("the customer secret", "plant-wifi-passphrase")
	c.must(append(edge("secret", "send"), "--secret", "WifiPassphrase", "--value-file", valueFile)...)
	waitFor(t, "the customer secret to reach the appliance", func() (struct{}, bool) {
		st := a.State()
		i := slices.IndexFunc(st.CustomerSecrets, func(s agent.CustomerSecret) bool { return s.Name == "WifiPassphrase" })
		return struct{}{}, i >= 0 && st.CustomerSecrets[i].Value.Reveal() == "plant-wifi-passphrase"
	})

	// The agent restarts from its state file, without the key.
	stop()
	if a, err = agent.Open(agent.Config{DataDir: agentDir}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	stop = runAgent(t, a)
	waitFor(t, "the restarted agent to heartbeat", func() (struct{}, bool) {
		d, err := e.devices.Get(ctx, "dbe-plant", "plant-rg", nil)
		if err != nil {
			t.Fatal(err)
		}
		return struct{}{}, *d.Properties.DataBoxEdgeDeviceStatus == armdataboxedge.DataBoxEdgeDeviceStatusOnline && a.State().DeviceStatus == "Online" && time.Since(before) > 1500*time.Millisecond
	})

	// The appliance goes down: Offline, and its secrets stay readable.
	stop()
	waitFor(t, "the device to be reported Offline", func() (struct{}, bool) {
		return struct{}{}, strings.Contains(c.must(edge("show")...).stdout, "Offline")
	})
	if got := readSecret(t, sc, devicewire.SystemVolumeBitLockerRecoveryKey); got != recovery {
		t.Fatal("the recovery key is not readable while the device is offline")
	}
	c.checkOutputs(log.String())
}

// runAgent runs a until the returned function is called.
func runAgent(t *testing.T, a *agent.Agent) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, agent.RunOptions{Heartbeat: time.Second}) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls check until it reports done, for at most 30 seconds.
func waitFor[T any](t *testing.T, what string, check func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, done := check()
		if done {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deviceSecret(t *testing.T, a *agent.Agent, name string) string {
	t.Helper()
	for _, s := range a.State().Secrets {
		if s.Name == name {
			return s.Value.Reveal()
		}
	}
	t.Fatalf("the appliance has no secret %s", name)
	return ""
}

func readSecret(t *testing.T, sc *azsecrets.Client, name string) string {
	t.Helper()
	res, err := sc.GetSecret(context.Background(), name, "", nil)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return *res.Value
}
