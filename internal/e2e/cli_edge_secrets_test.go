package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// TestCLIEdgeSecrets drives `edgevault edge secrets` and `edge secret`
// against a real server, with a test device playing the appliance: the
// device pushes its secrets, `secrets show` lists their names and never
// their values, the admin is refused the value until an access policy
// grants get, then reads it (and the vault's audit log names the read), a
// customer secret sent with --value-file reaches the device, and
// `secrets sync` waits while the device long-polls and answers.
func TestCLIEdgeSecrets(t *testing.T) {
	var log syncBuffer
	dir := t.TempDir()
	srv := startInProcess(t, dir, "127.0.0.1:0", &log)
	c := newCLIDriver(t)
	c.secret("the admin password", srv.boot.Admin.Password)
	c.secret("the bootstrap client secret", srv.boot.ServicePrincipal.ClientSecret)
	c.must("login", "--bootstrap", filepath.Join(dir, bootstrap.FileName))
	c.must("group", "create", "--name", "sec-rg", "--location", "westeurope")
	c.must("provider", "register", "--namespace", "Microsoft.DataBoxEdge")
	edge := func(args ...string) []string {
		return append(append([]string{"edge"}, args...), "--name", "dbe-sec", "--resource-group", "sec-rg")
	}
	var dev struct {
		Identity   struct{ PrincipalID string }
		Properties struct{ DataBoxEdgeDeviceStatus string }
	}
	c.decode(c.must(edge("create", "-o", "json")...), &dev)

	r := c.must(append(edge("activation-key", "generate", "-o", "json"), "--key-vault-name", "kv-dbe-sec")...)
	var gen struct{ ActivationKey string }
	c.decode(r, &gen)
	r.mayShow = gen.ActivationKey
	c.secret("the activation key", gen.ActivationKey)

	// Before activation nothing is escrowed, and the device cannot sync.
	if out := c.must(edge("secrets", "show")...).stdout; strings.Count(out, "not escrowed") != len(devicewire.DeviceSecretNames) {
		t.Errorf("secrets show before activation:\n%s", out)
	}
	c.fail("not been activated", edge("secrets", "sync")...)

	// The appliance activates and pushes its secrets.
	d := newTestDevice(t, "SN-CLI-SEC")
	if code, ec := d.activate(t, gen.ActivationKey); code != http.StatusOK {
		t.Fatalf("activate: %d %s", code, ec)
	}
	if out := c.must(edge("show")...).stdout; field(out, "STATUS") != "Online" {
		t.Errorf("show after activation:\n%s", out)
	}
	values := map[string]string{
		devicewire.SystemVolumeBitLockerRecoveryKey:      "111111-222222-333333-444444-555555-666666-777777-888888",
		devicewire.HcsDataVolumeBitLockerExternalKey:     "hcs-data-key-Tq81",
		devicewire.HcsInternalVolumeBitLockerExternalKey: "hcs-internal-key-Wm27",
		devicewire.BMCDefaultUserPassword:                "bmc-Pa55-Lx90",
	}
	for name, v := range values {
		c.secret("the device secret "+name, v)
	}
	if code, ec := d.call(t, devicewire.PathSecrets, d.pushRequest(t, "", values), nil); code != http.StatusOK {
		t.Fatalf("push: %d %s", code, ec)
	}

	// Names, versions and state; no value.
	out := c.must(edge("secrets", "show")...).stdout
	for _, want := range append([]string{"kv-dbe-sec", "KeyVaultSynced", "ase-cik-", "in key vault"}, devicewire.DeviceSecretNames...) {
		if !strings.Contains(out, want) {
			t.Errorf("secrets show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not escrowed") {
		t.Errorf("secrets show after the push:\n%s", out)
	}

	// The value: refused without an access policy, with the command that
	// grants one; read once it is granted.
	reveal := edge("secrets", "show", "--reveal", devicewire.SystemVolumeBitLockerRecoveryKey)
	r = c.fail("Forbidden", reveal...)
	if !strings.Contains(r.stderr, "edgevault keyvault set-policy --name kv-dbe-sec --resource-group sec-rg --assignee "+srv.boot.Admin.Username) {
		t.Errorf("reveal without access: no hint\n%s", r.stderr)
	}
	c.must("keyvault", "set-policy", "--name", "kv-dbe-sec", "--resource-group", "sec-rg",
		"--assignee", srv.boot.Admin.Username, "--secret-permissions", "get")
	r = c.must(reveal...)
	r.mayShow = values[devicewire.SystemVolumeBitLockerRecoveryKey]
	if field(r.stdout, "VALUE") != r.mayShow || !strings.Contains(r.stderr, "audit log") {
		t.Errorf("reveal:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	var events []auditEvent
	c.decode(c.must("audit", "logs", "--vault", "kv-dbe-sec", "--operation", "SecretGet", "-o", "json"), &events)
	var reads, denied int
	for _, ev := range events {
		if !strings.Contains(ev.Properties.ID, "/secrets/"+devicewire.SystemVolumeBitLockerRecoveryKey+"/") ||
			ev.Identity == nil || ev.Identity.Claim.ObjectID == dev.Identity.PrincipalID {
			continue
		}
		switch ev.Properties.HTTPStatusCode {
		case http.StatusOK:
			reads++
		case http.StatusForbidden:
			denied++
		}
	}
	if reads != 1 || denied != 1 {
		t.Errorf("audit: %d reads and %d denied reads by the admin, want 1 and 1: %+v", reads, denied, events)
	}

	// A customer secret reaches the device with its next heartbeat.
	wifi := "wifi-Pa55-Cv63"
	c.secret("the customer secret", wifi)
	file := filepath.Join(t.TempDir(), "wifi")
	if err := os.WriteFile(file, []byte(wifi), 0o600); err != nil {
		t.Fatal(err)
	}
	out = c.must(append(edge("secret", "send", "--secret", "WifiPassword"), "--value-file", file)...).stdout
	if field(out, "STATE") != "Queued" || field(out, "ID") == "" {
		t.Errorf("secret send:\n%s", out)
	}
	var hb devicewire.HeartbeatResponse
	if code, ec := d.call(t, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{}, &hb); code != http.StatusOK || len(hb.CustomerSecrets) != 1 {
		t.Fatalf("heartbeat: %d %s %+v", code, ec, hb)
	}
	cs := hb.CustomerSecrets[0]
	if v, err := devicewire.OpenSecret(d.cik, d.act.ResourceID, cs.Name, cs.ID, cs.Ciphertext); err != nil || string(v) != wifi ||
		cs.Name != "WifiPassword" || cs.ID != field(out, "ID") {
		t.Errorf("customer secret %s (%s) opens to %q, %v", cs.Name, cs.ID, v, err)
	}

	// Sync: the CLI waits while the device long-polls, learns of the sync
	// and pushes new versions quoting it.
	done := make(chan *cliRun, 1)
	go func() { done <- c.run(edge("secrets", "sync", "-o", "json")...) }()
	hb = devicewire.HeartbeatResponse{}
	for deadline := time.Now().Add(30 * time.Second); hb.SyncID == "" && time.Now().Before(deadline); {
		d.call(t, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{WaitSeconds: 5}, &hb)
	}
	if hb.SyncID == "" {
		t.Fatalf("the device never heard of the sync; CLI: %+v", <-done)
	}
	values[devicewire.BMCDefaultUserPassword] = "bmc-Pa55-Rotated-Jn4"
	c.secret("the rotated BMC password", values[devicewire.BMCDefaultUserPassword])
	if code, ec := d.call(t, devicewire.PathSecrets, d.pushRequest(t, hb.SyncID, values), nil); code != http.StatusOK {
		t.Fatalf("push for the sync: %d %s", code, ec)
	}
	r = <-done
	if r.code != 0 {
		t.Fatalf("secrets sync: exit %d\n%s", r.code, r.stderr)
	}
	var res struct {
		KeyVaultSyncStatus string
		LastSyncTime       time.Time
		DeviceSecrets      map[string]struct{ KeyVaultID string }
	}
	c.decode(r, &res)
	if res.KeyVaultSyncStatus != "KeyVaultSynced" || res.LastSyncTime.IsZero() || len(res.DeviceSecrets) != len(values) ||
		!strings.HasPrefix(res.DeviceSecrets[devicewire.BMCDefaultUserPassword].KeyVaultID, "secrets/BMCDefaultUserPassword/") {
		t.Errorf("secrets sync = %+v", res)
	}
	if !strings.Contains(r.stderr, "Waiting for the device of edge resource 'dbe-sec' to push its secrets...") ||
		!strings.Contains(r.stderr, "The device pushed its secrets after") {
		t.Errorf("secrets sync stderr:\n%s", r.stderr)
	}
	// The escrowed version is now the synced one.
	var view struct {
		Secrets []struct{ Name, KeyVaultID string }
	}
	c.decode(c.must(edge("secrets", "show", "-o", "json")...), &view)
	for _, s := range view.Secrets {
		if s.Name == devicewire.BMCDefaultUserPassword && s.KeyVaultID != res.DeviceSecrets[s.Name].KeyVaultID {
			t.Errorf("secrets show after sync: %s at %s, sync says %s", s.Name, s.KeyVaultID, res.DeviceSecrets[s.Name].KeyVaultID)
		}
	}
	c.checkOutputs(log.String())
}
