package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
)

// TestCLIStorage drives `edgevault storage account` against a real
// server: a creation followed with the LRO helper, show, list by
// subscription and group, --no-wait, and deletion.
func TestCLIStorage(t *testing.T) {
	var log syncBuffer
	dir := t.TempDir()
	srv := startInProcess(t, dir, "127.0.0.1:0", &log)
	c := newCLIDriver(t)
	c.secret("the admin password", srv.boot.Admin.Password)
	c.secret("the bootstrap client secret", srv.boot.ServicePrincipal.ClientSecret)
	c.must("login", "--bootstrap", filepath.Join(dir, bootstrap.FileName))
	c.must("group", "create", "--name", "st-rg", "--location", "westeurope")

	var acct struct {
		Name, Kind string
		SKU        struct{ Name string }
		Tags       map[string]string
		Properties struct {
			ProvisioningState string
			PrimaryEndpoints  struct{ Blob string }
		}
	}
	c.decode(c.must("storage", "account", "create", "-n", "clistore1", "-g", "st-rg", "-l", "westeurope", "--tags", "env=e2e", "-o", "json"), &acct)
	if acct.Name != "clistore1" || acct.Kind != "StorageV2" || acct.SKU.Name != "Standard_ZRS" || acct.Tags["env"] != "e2e" ||
		acct.Properties.ProvisioningState != "Succeeded" || !strings.Contains(acct.Properties.PrimaryEndpoints.Blob, "clistore1.blob.") {
		t.Errorf("create = %+v", acct)
	}
	if out := c.must("storage", "account", "show", "-n", "clistore1", "-g", "st-rg").stdout; !strings.Contains(out, "Succeeded") {
		t.Errorf("show:\n%s", out)
	}
	if out := c.must("storage", "account", "create", "-n", "clistore2", "-g", "st-rg", "-l", "westeurope", "--no-wait").stdout; !strings.Contains(out, "Accepted") {
		t.Errorf("create --no-wait:\n%s", out)
	}
	for _, args := range [][]string{{"list"}, {"list", "-g", "st-rg"}} {
		if out := c.must(append([]string{"storage", "account"}, args...)...).stdout; !strings.Contains(out, "clistore1") || !strings.Contains(out, "clistore2") {
			t.Errorf("%v:\n%s", args, out)
		}
	}
	c.must("storage", "account", "delete", "-n", "clistore1", "-g", "st-rg", "--yes")
	c.fail("ResourceNotFound", "storage", "account", "show", "-n", "clistore1", "-g", "st-rg")
	c.checkOutputs(log.String())
}
