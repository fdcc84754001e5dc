package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
)

// TestCLIARM drives the ARM nouns of the real CLI against a real server:
// groups, providers, role assignments and locks, and a group deletion
// waited for with the LRO helper.
func TestCLIARM(t *testing.T) {
	var log syncBuffer
	dir := t.TempDir()
	srv := startInProcess(t, dir, "127.0.0.1:0", &log)
	c := newCLIDriver(t)
	c.secret("the admin password", srv.boot.Admin.Password)
	c.secret("the bootstrap client secret", srv.boot.ServicePrincipal.ClientSecret)
	c.must("login", "--bootstrap", filepath.Join(dir, bootstrap.FileName))

	c.must("group", "create", "--name", "cli-rg", "--location", "westeurope", "--tags", "env=test")
	var group struct {
		Name, Location string
		Tags           map[string]string
	}
	c.decode(c.must("group", "show", "--name", "CLI-RG", "-o", "json"), &group)
	if group.Name != "cli-rg" || group.Location != "westeurope" || group.Tags["env"] != "test" {
		t.Errorf("group show = %+v", group)
	}
	if out := c.must("group", "list").stdout; !strings.Contains(out, "cli-rg") || !strings.Contains(out, "Succeeded") {
		t.Errorf("group list:\n%s", out)
	}

	var prov struct{ Namespace, RegistrationState string }
	c.decode(c.must("provider", "register", "--namespace", "Microsoft.DataBoxEdge", "-o", "json"), &prov)
	if prov.RegistrationState != "Registered" {
		t.Errorf("provider register waited for %q", prov.RegistrationState)
	}

	// A role assignment by user name, at the group.
	c.must("role", "assignment", "create", "--role", "Reader", "--assignee", "admin", "--resource-group", "cli-rg")
	if out := c.must("role", "assignment", "list", "--resource-group", "cli-rg", "--at-scope").stdout; !strings.Contains(out, "Reader") {
		t.Errorf("role assignment list:\n%s", out)
	}
	c.must("role", "assignment", "delete", "--assignee", "admin", "--role", "Reader", "--resource-group", "cli-rg")

	// A lock makes the deletion fail; without it the deletion completes.
	c.must("lock", "create", "--name", "keep", "--lock-type", "CanNotDelete", "--notes", "audit", "--resource-group", "cli-rg")
	if out := c.must("lock", "list", "--resource-group", "cli-rg").stdout; !strings.Contains(out, "CanNotDelete") {
		t.Errorf("lock list:\n%s", out)
	}
	c.fail("ScopeLocked", "group", "delete", "--name", "cli-rg", "--yes")
	c.must("lock", "delete", "--name", "keep", "--resource-group", "cli-rg")
	c.must("group", "delete", "--name", "cli-rg", "--yes")
	c.fail("ResourceGroupNotFound", "group", "show", "--name", "cli-rg")
	c.checkOutputs(log.String())
}
