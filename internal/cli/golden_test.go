package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./internal/cli -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// fixVersion makes `edgevault version` reproducible for the test.
func fixVersion(t *testing.T, version, commit string) {
	oldV, oldC, oldRead, oldGo, oldPlat := Version, Commit, readBuildInfo, goVersion, platform
	t.Cleanup(func() { Version, Commit, readBuildInfo, goVersion, platform = oldV, oldC, oldRead, oldGo, oldPlat })
	Version, Commit = version, commit
	goVersion = func() string { return "go1.26.0" }
	platform = "linux/amd64"
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"},
		}}, true
	}
}

// goldenCase is one CLI run whose output is compared with a golden file.
type goldenCase struct {
	name  string
	login []string // when set, `edgevault login` with these args first
	stdin string
	args  []string
}

var goldenCases = []goldenCase{
	{name: "version", args: []string{"version"}},
	{name: "version_json", args: []string{"version", "-o", "json"}},
	{name: "help", args: []string{"--help"}},
	{name: "no_args", args: nil},
	{name: "sp_help", args: []string{"sp"}},
	{name: "unknown_command", args: []string{"vresion"}},
	{name: "unknown_subcommand", args: []string{"sp", "lst"}},
	{name: "unknown_flag", args: []string{"version", "--verbose"}},
	{name: "bad_output", args: []string{"version", "-o", "yaml"}},
	{name: "extra_arg", args: []string{"logout", "now"}},
	{name: "login_bootstrap", args: []string{"login", "--bootstrap", "BOOTSTRAP"}},
	{name: "login_bootstrap_json", args: []string{"login", "--bootstrap", "BOOTSTRAP", "-o", "json"}},
	{name: "login_sp", args: []string{"login", "--bootstrap", "BOOTSTRAP", "--service-principal"}},
	{name: "login_wrong_password", stdin: "wrong\n", args: []string{"login", "--bootstrap", "BOOTSTRAP", "-u", "admin", "--password-stdin"}},
	{name: "login_mixed_flags", args: []string{"login", "--bootstrap", "BOOTSTRAP", "--service-principal", "-u", "admin"}},
	{name: "login_no_tenant", args: []string{"login", "-u", "admin", "-p", "x"}},
	{name: "login_no_terminal", args: []string{"login", "--bootstrap", "BOOTSTRAP", "-u", "alice"}},
	{name: "account_show", login: bootstrapLogin, args: []string{"account", "show"}},
	{name: "account_show_json", login: bootstrapLogin, args: []string{"account", "show", "-o", "json"}},
	{name: "account_show_logged_out", args: []string{"account", "show"}},
	{name: "logout", login: bootstrapLogin, args: []string{"logout"}},
	{name: "sp_list", login: bootstrapLogin, args: []string{"sp", "list"}},
	{name: "sp_list_json", login: bootstrapLogin, args: []string{"sp", "list", "-o", "json"}},
	{name: "sp_create", login: bootstrapLogin, args: []string{"sp", "create", "--name", "ci"}},
	{name: "sp_create_json", login: bootstrapLogin, args: []string{"sp", "create", "--name", "ci", "-o", "json"}},
	{name: "sp_create_no_name", login: bootstrapLogin, args: []string{"sp", "create"}},
	{name: "sp_reset_secret", login: bootstrapLogin, args: []string{"sp", "reset-secret", "--id", bootSPID}},
	{name: "sp_delete", login: bootstrapLogin, args: []string{"sp", "delete", "--id", bootSPID}},
	{name: "sp_delete_not_found", login: bootstrapLogin, args: []string{"sp", "delete", "--id", "nope"}},
	{name: "admin_rotate_signing_key", login: bootstrapLogin, args: []string{"admin", "rotate-signing-key"}},
	{name: "admin_rotate_signing_key_json", login: bootstrapLogin, args: []string{"admin", "rotate-signing-key", "-o", "json"}},
	{name: "admin_rotate_root_key", login: bootstrapLogin, args: []string{"admin", "rotate-root-key"}},
	{name: "admin_rotate_root_key_json", login: bootstrapLogin, args: []string{"admin", "rotate-root-key", "-o", "json"}},
}

var bootstrapLogin = []string{"login", "--bootstrap", "BOOTSTRAP"}

// TestGolden runs each case against a fresh fake server and config dir and
// compares exit code, stdout and stderr with testdata/<name>.golden.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			useConfigDir(t)
			fs := newFakeServer(t)
			subst := func(args []string) []string {
				out := make([]string, len(args))
				for i, a := range args {
					out[i] = strings.ReplaceAll(a, "BOOTSTRAP", fs.bootstrapFile)
				}
				return out
			}
			if tc.login != nil {
				mustRun(t, "", subst(tc.login)...)
			}
			r := runCLI(t, tc.stdin, subst(tc.args)...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.NewReplacer(fs.srv.CAFile, "/path/to/ca.pem", fs.bootstrapFile, "/path/to/bootstrap.json",
				":"+fs.srv.Port, ":8443").Replace(got)
			golden(t, tc.name, got)
		})
	}
}

func TestVersionFromLdflags(t *testing.T) {
	fixVersion(t, "v1.2.3", "deadbeef")
	r := mustRun(t, "", "version", "-o", "json")
	for _, want := range []string{`"version": "v1.2.3"`, `"commit": "deadbeef"`, `"goVersion": "go1.26.0"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout %q lacks %q", r.stdout, want)
		}
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	Version, Commit = "dev", ""
	if v := buildVersion(); v.Version != "dev" || v.Commit != "unknown" {
		t.Errorf("without build info: %+v", v)
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}}, true
	}
	if v := buildVersion(); v.Version != "v0.9.0" {
		t.Errorf("module version: %+v", v)
	}
}
