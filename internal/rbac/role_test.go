package rbac_test

import (
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/rbac"
)

func TestDefinitions(t *testing.T) {
	var names []string
	for _, d := range rbac.Definitions() {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, ","); got != "Contributor,Owner,Reader,Storage Blob Data Reader,User Access Administrator" {
		t.Fatalf("Definitions = %s", got)
	}
	c, ok := rbac.DefinitionByName("contributor")
	if !ok || c.ID != rbac.Contributor || len(c.NotActions) != 11 || c.Actions[0] != "*" {
		t.Fatalf("DefinitionByName(contributor) = %+v, %v", c, ok)
	}
	// Callers get copies: changing one does not change the built-in role.
	c.NotActions[0] = "nothing"
	if again, _ := rbac.DefinitionByID(rbac.Contributor); again.NotActions[0] != "Microsoft.Authorization/*/Delete" {
		t.Fatal("the built-in table was changed through a returned definition")
	}
	if !c.Allows("Microsoft.KeyVault/vaults/write") || (rbac.RoleDefinition{Actions: []string{"*/read"}}).Allows("x/write") {
		t.Error("RoleDefinition.Allows")
	}

	const sub = "00000000-0000-0000-0000-000000000001"
	for id, want := range map[string]string{
		rbac.Reader:                  "Reader",
		strings.ToUpper(rbac.Reader): "Reader",
		"/providers/Microsoft.Authorization/roleDefinitions/" + rbac.Owner:                                             "Owner",
		"/subscriptions/" + sub + "/providers/microsoft.authorization/roledefinitions/" + rbac.UserAccessAdministrator: "User Access Administrator",
		rbac.DefinitionResourceID(sub, rbac.Contributor):                                                               "Contributor",
		rbac.DefinitionResourceID("", rbac.Contributor):                                                                "Contributor",
		"/subscriptions/" + sub + "/providers/Microsoft.Authorization/locks/" + rbac.Owner:                             "",
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/" + rbac.Owner: "",
		"00000000-0000-0000-0000-000000000000":                                                                         "",
		"":                                                                                                             "",
	} {
		d, ok := rbac.DefinitionByID(id)
		if d.Name != want || ok != (want != "") {
			t.Errorf("DefinitionByID(%q) = %q, %v; want %q", id, d.Name, ok, want)
		}
	}
	if got := rbac.DefinitionResourceID(sub, rbac.Reader); got != "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+rbac.Reader {
		t.Errorf("DefinitionResourceID = %s", got)
	}
	if got := rbac.DefinitionSubscription(rbac.DefinitionResourceID(sub, rbac.Reader)); got != sub {
		t.Errorf("DefinitionSubscription = %q", got)
	}
	if _, ok := rbac.DefinitionByName("Key Vault Administrator"); ok {
		t.Error("a role we do not implement was found")
	}
}

// TestStorageBlobDataReader: the data role reads containers and blobs and
// nothing else; control-plane wildcards also cover the blob read data
// action, by design (see compiledRole.allows).
func TestStorageBlobDataReader(t *testing.T) {
	const (
		blobRead      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
		containerRead = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
	)
	d, ok := rbac.DefinitionByID(rbac.StorageBlobDataReader)
	if !ok || d.Name != "Storage Blob Data Reader" || len(d.DataActions) != 1 {
		t.Fatalf("DefinitionByID(StorageBlobDataReader) = %+v, %v", d, ok)
	}
	for action, want := range map[string]bool{
		blobRead: true, containerRead: true,
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write": false,
		"Microsoft.Storage/storageAccounts/read":                                false,
		"Microsoft.KeyVault/vaults/read":                                        false,
	} {
		if got := d.Allows(action); got != want {
			t.Errorf("Storage Blob Data Reader allows %s = %v", action, got)
		}
	}
	for _, id := range []string{rbac.Owner, rbac.Contributor, rbac.Reader} {
		if r, _ := rbac.DefinitionByID(id); !r.Allows(blobRead) || !r.Allows(containerRead) {
			t.Errorf("%s does not allow blob reads", r.Name)
		}
	}
	if r, _ := rbac.DefinitionByID(rbac.Reader); r.Allows("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write") {
		t.Error("Reader allows blob writes")
	}
}
