package e2e

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/cli"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/server"
)

// runIn is cliDriver.run with stdin, for the commands that read an answer.
func (c *cliDriver) runIn(stdin string, args ...string) *cliRun {
	c.t.Helper()
	root := cli.NewRoot()
	root.AddCommand(server.Command())
	var stdout, stderr bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	r := &cliRun{args: args, code: cli.Execute(root), stdout: stdout.String(), stderr: stderr.String()}
	c.runs = append(c.runs, r)
	return r
}

// TestCLIEdgeSteps checks that the CLI's copy of the activation steps is
// the server's.
func TestCLIEdgeSteps(t *testing.T) {
	if !slices.Equal(client.ActivationSteps, activation.Steps) {
		t.Errorf("client.ActivationSteps = %q, activation.Steps = %q", client.ActivationSteps, activation.Steps)
	}
}

// TestCLIEdge drives `edgevault edge` against a real server: create,
// generate (each step shown in order, the key printed once), list and
// revoke keys, the security view, and deletion with the name typed back,
// refused when it does not match.
func TestCLIEdge(t *testing.T) {
	var log syncBuffer
	dir := t.TempDir()
	srv := startInProcess(t, dir, "127.0.0.1:0", &log)
	c := newCLIDriver(t)
	c.secret("the admin password", srv.boot.Admin.Password)
	c.secret("the bootstrap client secret", srv.boot.ServicePrincipal.ClientSecret)
	c.must("login", "--bootstrap", filepath.Join(dir, bootstrap.FileName))
	c.must("group", "create", "--name", "edge-rg", "--location", "westeurope")
	c.fail("provider register --namespace Microsoft.DataBoxEdge", "edge", "create", "-n", "dbe-cli", "-g", "edge-rg")
	c.must("provider", "register", "--namespace", "Microsoft.DataBoxEdge")
	edge := func(args ...string) []string {
		return append(append([]string{"edge"}, args...), "--name", "dbe-cli", "--resource-group", "edge-rg")
	}

	var dev struct {
		Name, Location string
		SKU            struct{ Name string }
		Identity       struct{ Type, PrincipalID string }
		Properties     struct{ DataBoxEdgeDeviceStatus string }
	}
	c.decode(c.must(append(edge("create"), "--tags", "site=plant-1", "-o", "json")...), &dev)
	if dev.Location != "westeurope" || dev.SKU.Name != "EdgeP_Base" || dev.Identity.PrincipalID == "" ||
		dev.Properties.DataBoxEdgeDeviceStatus != "ReadyToSetup" {
		t.Errorf("create = %+v", dev)
	}
	if out := c.must(edge("show")...).stdout; !strings.Contains(out, "ReadyToSetup") || !strings.Contains(out, dev.Identity.PrincipalID) {
		t.Errorf("show:\n%s", out)
	}
	if out := c.must("edge", "list", "-g", "edge-rg").stdout; !strings.Contains(out, "dbe-cli") {
		t.Errorf("list:\n%s", out)
	}

	// Generate: every step, in order, then the key.
	r := c.must(append(edge("activation-key", "generate"), "--key-vault-name", "kv-dbe-cli")...)
	key := field(r.stdout, "ACTIVATION KEY")
	r.mayShow = key
	c.secret("the activation key", key)
	if !strings.HasPrefix(key, "evak1_") {
		t.Fatalf("generate printed key %q\nstdout:\n%s", key, r.stdout)
	}
	var at []int
	for _, step := range activation.Steps {
		at = append(at, strings.Index(r.stderr, "✓ "+step+" "))
	}
	if slices.Contains(at, -1) || !slices.IsSorted(at) {
		t.Errorf("generate: steps at %v in stderr:\n%s", at, r.stderr)
	}
	if !strings.Contains(r.stdout, "kv-dbe-cli") || field(r.stdout, "EXPIRES") == "" {
		t.Errorf("generate stdout:\n%s", r.stdout)
	}

	// A second generation is a regenerate, and says so.
	r = c.must(edge("activation-key", "generate", "-o", "json")...)
	var res struct{ ActivationKey, KeyID, KeyVaultID string }
	c.decode(r, &res)
	r.mayShow = res.ActivationKey
	c.secret("the second activation key", res.ActivationKey)
	if !strings.HasPrefix(res.ActivationKey, "evak1_") || !strings.HasSuffix(res.KeyVaultID, "/kv-dbe-cli") ||
		!strings.Contains(r.stderr, "✓ RegenerateActivationKey") || strings.Contains(r.stderr, "CreateKeyVault") {
		t.Errorf("regenerate: %+v\nstderr:\n%s", res.KeyID, r.stderr)
	}

	var keys []struct{ ID, State string }
	c.decode(c.must(edge("activation-key", "list", "-o", "json")...), &keys)
	if len(keys) != 2 || keys[0].ID != res.KeyID || keys[0].State != "Unused" || keys[1].State != "Revoked" {
		t.Errorf("activation-key list = %+v", keys)
	}
	if out := c.must(edge("activation-key", "list")...).stdout; !strings.Contains(out, "USED BY SERIAL") || !strings.Contains(out, res.KeyID) {
		t.Errorf("activation-key list:\n%s", out)
	}
	if out := c.must(append(edge("activation-key", "revoke"), "--key-id", res.KeyID)...).stdout; !strings.Contains(out, res.KeyID) {
		t.Errorf("revoke:\n%s", out)
	}
	c.decode(c.must(edge("activation-key", "list", "-o", "json")...), &keys)
	if keys[0].State != "Revoked" {
		t.Errorf("after revoke: %+v", keys)
	}

	out := c.must(edge("security", "show")...).stdout
	for _, want := range []string{"kv-dbe-cli", "get, set", "CanNotDelete", "Standard_ZRS", "KeyVaultName=kv-dbe-cli",
		"AuditEvent", "90 days", dev.Identity.PrincipalID, "ase-cik-"} {
		if !strings.Contains(out, want) {
			t.Errorf("security show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not configured") || strings.Contains(out, "Unavailable") {
		t.Errorf("security show after activation has gaps:\n%s", out)
	}
	if out := c.must(edge("extended-info", "show")...).stdout; !strings.Contains(out, "ase-cik-") {
		t.Errorf("extended-info show:\n%s", out)
	}
	c.must(edge("alert", "list")...)

	// Deletion: a wrong name refuses and deletes nothing; the right one
	// deletes.
	r = c.runIn("dbe-cl1\n", edge("delete")...)
	if r.code != 1 || !strings.Contains(r.stderr, "ERROR: cancelled") {
		t.Errorf("delete with a wrong name: exit %d\n%s", r.code, r.stderr)
	}
	c.must(edge("show")...)
	r = c.runIn("dbe-cli\n", edge("delete")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Deleted edge resource dbe-cli") {
		t.Errorf("delete: exit %d\n%s", r.code, r.stderr)
	}
	c.fail("ResourceNotFound", edge("show")...)
	c.checkOutputs(log.String())
}

// field returns the value of a record line "NAME   value" in out.
func field(out, name string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(line, name+"  "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
