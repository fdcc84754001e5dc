package cli

import (
	"fmt"
	"strings"
	"testing"
)

// armGoldenCases are the golden runs of the group, provider, role and
// lock commands, each against a fresh fake server signed in as the
// bootstrap administrator. TERMINAL in stdin makes stdin a terminal.
var armGoldenCases = []goldenCase{
	{name: "group_help", args: []string{"group"}},
	{name: "group_create", args: []string{"group", "create", "-n", "rg-new", "-l", "westeurope", "--tags", "env=prod", "--tags", "owner=ops"}},
	{name: "group_create_json", args: []string{"group", "create", "-n", "rg-new", "-l", "westeurope", "-o", "json"}},
	{name: "group_create_no_location", args: []string{"group", "create", "-n", "rg-new"}},
	{name: "group_create_bad_name", args: []string{"group", "create", "-n", "bad/name", "-l", "westeurope"}},
	{name: "group_create_bad_tag", args: []string{"group", "create", "-n", "rg-new", "-l", "westeurope", "--tags", "=x"}},
	{name: "group_show", args: []string{"group", "show", "-n", "rg-prod"}},
	{name: "group_show_json", args: []string{"group", "show", "-n", "rg-prod", "-o", "json"}},
	{name: "group_show_not_found", args: []string{"group", "show", "-n", "nope"}},
	{name: "group_list", args: []string{"group", "list"}},
	{name: "group_list_json", args: []string{"group", "list", "-o", "json"}},
	{name: "group_delete", args: []string{"group", "delete", "-n", "rg-dev", "--yes"}},
	{name: "group_delete_json", args: []string{"group", "delete", "-n", "rg-dev", "--yes", "-o", "json"}},
	{name: "group_delete_no_wait", args: []string{"group", "delete", "-n", "rg-dev", "--yes", "--no-wait"}},
	{name: "group_delete_no_wait_json", args: []string{"group", "delete", "-n", "rg-dev", "--yes", "--no-wait", "-o", "json"}},
	{name: "group_delete_failed", args: []string{"group", "delete", "-n", "fail-rg", "--yes"}},
	{name: "group_delete_location", args: []string{"group", "delete", "-n", "loc-rg", "--yes"}},
	{name: "group_delete_sync", args: []string{"group", "delete", "-n", "sync-rg", "--yes"}},
	{name: "group_delete_foreign_poll", args: []string{"group", "delete", "-n", "foreign-rg", "--yes"}},
	{name: "group_delete_not_found", args: []string{"group", "delete", "-n", "nope", "--yes"}},
	{name: "group_delete_no_terminal", args: []string{"group", "delete", "-n", "rg-dev"}},
	{name: "group_delete_confirmed", stdin: "TERMINAL y\n", args: []string{"group", "delete", "-n", "rg-dev"}},
	{name: "group_delete_declined", stdin: "TERMINAL n\n", args: []string{"group", "delete", "-n", "rg-dev"}},

	{name: "provider_list", args: []string{"provider", "list"}},
	{name: "provider_list_json", args: []string{"provider", "list", "-o", "json"}},
	{name: "provider_show", args: []string{"provider", "show", "-n", "Microsoft.KeyVault"}},
	{name: "provider_show_json", args: []string{"provider", "show", "-n", "Microsoft.KeyVault", "-o", "json"}},
	{name: "provider_show_not_found", args: []string{"provider", "show", "-n", "Contoso.Nothing"}},
	{name: "provider_show_bad_namespace", args: []string{"provider", "show", "-n", "Microsoft/KeyVault"}},
	{name: "provider_register", args: []string{"provider", "register", "-n", "Microsoft.DataBoxEdge"}},
	{name: "provider_register_json", args: []string{"provider", "register", "-n", "Microsoft.DataBoxEdge", "-o", "json"}},
	{name: "provider_register_no_wait", args: []string{"provider", "register", "-n", "Microsoft.DataBoxEdge", "--no-wait"}},
	{name: "provider_register_registered", args: []string{"provider", "register", "-n", "Microsoft.KeyVault"}},
	{name: "provider_unregister", args: []string{"provider", "unregister", "-n", "Microsoft.Storage"}},
	{name: "provider_register_no_namespace", args: []string{"provider", "register"}},

	{name: "role_assignment_create", args: []string{"role", "assignment", "create", "--role", "Reader", "--assignee", "alice"}},
	{name: "role_assignment_create_json", args: []string{"role", "assignment", "create", "--role", "reader", "--assignee", "alice", "-o", "json"}},
	{name: "role_assignment_create_sp", args: []string{"role", "assignment", "create", "--role", "User Access Administrator", "--assignee", bootSPID, "-g", "rg-prod"}},
	{name: "role_assignment_create_object_id", args: []string{"role", "assignment", "create", "--role", contribRole, "--assignee-object-id", orphanObjectID, "--assignee-principal-type", "user", "--scope", prodScope}},
	{name: "role_assignment_create_exists", args: []string{"role", "assignment", "create", "--role", "Owner", "--assignee", "admin"}},
	{name: "role_assignment_create_unknown_role", args: []string{"role", "assignment", "create", "--role", "Superuser", "--assignee", "alice"}},
	{name: "role_assignment_create_unknown_assignee", args: []string{"role", "assignment", "create", "--role", "Reader", "--assignee", "mallory"}},
	{name: "role_assignment_create_no_assignee", args: []string{"role", "assignment", "create", "--role", "Reader"}},
	{name: "role_assignment_create_type_without_oid", args: []string{"role", "assignment", "create", "--role", "Reader", "--assignee", "alice", "--assignee-principal-type", "User"}},
	{name: "role_assignment_create_both_scopes", args: []string{"role", "assignment", "create", "--role", "Reader", "--assignee", "alice", "-g", "rg-prod", "--scope", prodScope}},
	{name: "role_assignment_list", args: []string{"role", "assignment", "list"}},
	{name: "role_assignment_list_json", args: []string{"role", "assignment", "list", "-o", "json"}},
	{name: "role_assignment_list_assignee", args: []string{"role", "assignment", "list", "--assignee", "admin"}},
	{name: "role_assignment_list_at_scope", args: []string{"role", "assignment", "list", "--at-scope"}},
	{name: "role_assignment_delete", args: []string{"role", "assignment", "delete", "--assignee", "admin", "--role", "Owner"}},
	{name: "role_assignment_delete_orphan", args: []string{"role", "assignment", "delete", "--assignee", orphanObjectID}},
	{name: "role_assignment_delete_ids", args: []string{"role", "assignment", "delete", "--ids", prodScope + authzProvider + "/roleAssignments/00000000-0000-4000-8000-0000000000a2"}},
	{name: "role_assignment_delete_none", args: []string{"role", "assignment", "delete", "--assignee", "alice"}},
	{name: "role_assignment_delete_no_selector", args: []string{"role", "assignment", "delete"}},

	{name: "lock_create", args: []string{"lock", "create", "-n", "keep", "-t", "CanNotDelete", "-g", "rg-dev", "--notes", "keep it"}},
	{name: "lock_create_json", args: []string{"lock", "create", "-n", "keep", "--lock-type", "readonly", "-o", "json"}},
	{name: "lock_create_resource", args: []string{"lock", "create", "-n", "vault-lock", "-t", "CanNotDelete", "--resource", prodScope + "/providers/Microsoft.KeyVault/vaults/kv1"}},
	{name: "lock_create_bad_type", args: []string{"lock", "create", "-n", "keep", "-t", "NoWay"}},
	{name: "lock_create_both_scopes", args: []string{"lock", "create", "-n", "keep", "-t", "ReadOnly", "-g", "rg-dev", "--resource", prodScope}},
	{name: "lock_create_bad_resource", args: []string{"lock", "create", "-n", "keep", "-t", "ReadOnly", "--resource", "vaults/kv1"}},
	{name: "lock_list", args: []string{"lock", "list"}},
	{name: "lock_list_json", args: []string{"lock", "list", "-o", "json"}},
	{name: "lock_list_group", args: []string{"lock", "list", "-g", "rg-prod"}},
	{name: "lock_delete", args: []string{"lock", "delete", "-n", "no-delete", "-g", "rg-prod"}},
	{name: "lock_delete_no_name", args: []string{"lock", "delete"}},
}

// TestARMGolden runs each ARM case and compares exit code, stdout and
// stderr with testdata/<name>.golden. Waits are recorded, not slept.
func TestARMGolden(t *testing.T) {
	for _, tc := range armGoldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			useConfigDir(t)
			stubSleep(t)
			stubAssignmentNames(t)
			stdin, tty := strings.CutPrefix(tc.stdin, "TERMINAL ")
			stubTerminal(t, tty, false)
			fs := newFakeServer(t)
			newFakeARM(t, fs)
			mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
			r := runCLI(t, stdin, tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.ReplaceAll(got, ":"+fs.srv.Port, ":8443")
			golden(t, tc.name, got)
		})
	}
}
