package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLoginVariants signs in every supported way and checks what the
// profile holds afterwards.
func TestLoginVariants(t *testing.T) {
	tests := []struct {
		name      string
		stdin     string
		args      []string // BOOTSTRAP, LOGIN, MGMT and CA are substituted
		kind      PrincipalKind
		principal string
		grant     string
	}{
		{"bootstrap admin", "", []string{"--bootstrap", "BOOTSTRAP"}, User, adminUser, "password"},
		{"password flag", "", []string{"--bootstrap", "BOOTSTRAP", "-u", "alice", "-p", "alice-pw-4b2a"}, User, "alice", "password"},
		{"password stdin", "alice-pw-4b2a\r\n", []string{"--bootstrap", "BOOTSTRAP", "--username", "alice", "--password-stdin"}, User, "alice", "password"},
		{"password stdin no newline", "alice-pw-4b2a", []string{"--bootstrap", "BOOTSTRAP", "-u", "alice", "--password-stdin"}, User, "alice", "password"},
		{"explicit endpoints", "", []string{"--tenant", "tenant-1", "--authority-host", "LOGIN", "--management-endpoint", "MGMT/",
			"--ca-file", "CA", "-u", "admin", "-p", adminPassword}, User, adminUser, "password"},
		{"bootstrap service principal", "", []string{"--bootstrap", "BOOTSTRAP", "--service-principal"}, ServicePrincipal, bootSPID, "client_credentials"},
		{"service principal flags", "", []string{"--tenant", "tenant-1", "--authority-host", "LOGIN", "--management-endpoint", "MGMT",
			"--ca-file", "CA", "--service-principal", "--client-id", bootSPID, "--client-secret", bootSPSecret}, ServicePrincipal, bootSPID, "client_credentials"},
		{"service principal stdin", bootSPSecret + "\n", []string{"--bootstrap", "BOOTSTRAP", "--service-principal",
			"--client-id", bootSPID, "--client-secret-stdin"}, ServicePrincipal, bootSPID, "client_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := useConfigDir(t)
			fs := newFakeServer(t)
			r := strings.NewReplacer("BOOTSTRAP", fs.bootstrapFile, "LOGIN", fs.srv.URLFor("login.localhost")+"/",
				"MGMT", fs.srv.URLFor("management.localhost"), "CA", fs.srv.CAFile)
			args := []string{"login"}
			for _, a := range tt.args {
				args = append(args, r.Replace(a))
			}
			mustRun(t, tt.stdin, args...)
			p, err := LoadProfile(dir)
			if err != nil {
				t.Fatal(err)
			}
			if p.PrincipalKind != tt.kind || p.PrincipalName != tt.principal || p.TenantID != "tenant-1" {
				t.Errorf("profile principal = %s %s in %s", p.PrincipalKind, p.PrincipalName, p.TenantID)
			}
			if fs.grantCount(tt.grant) != 1 {
				t.Errorf("%s grants = %d, want 1", tt.grant, fs.grantCount(tt.grant))
			}
			if tt.kind == User && (p.RefreshToken.IsZero() || !p.ClientSecret.IsZero()) {
				t.Error("user profile: want a refresh token and no client secret")
			}
			if tt.kind == ServicePrincipal && (p.ClientSecret.Reveal() != bootSPSecret || !p.RefreshToken.IsZero()) {
				t.Error("service principal profile: want the client secret and no refresh token")
			}
			if len(p.Tokens) != 1 || strings.HasSuffix(p.ManagementEndpoint, "/") || !filepath.IsAbs(p.CAFile) {
				t.Errorf("profile = %+v", p)
			}
			// The stored session works: list service principals with it.
			mustRun(t, "", "sp", "list")
		})
	}
}

// TestLoginUsageErrors checks that bad flag combinations exit 2 before any
// request is sent.
func TestLoginUsageErrors(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"sp with username", "", []string{"--service-principal", "-u", "x"}, "cannot be used with --service-principal"},
		{"sp with password-stdin", "", []string{"--service-principal", "--password-stdin"}, "cannot be used with --service-principal"},
		{"client id without sp", "", []string{"--client-id", "x"}, "require --service-principal"},
		{"client secret stdin without sp", "", []string{"--client-secret-stdin"}, "require --service-principal"},
		{"password twice", "", []string{"-u", "admin", "-p", "x", "--password-stdin"}, "cannot be used together"},
		{"client secret twice", "", []string{"--service-principal", "--client-id", "c", "--client-secret", "x", "--client-secret-stdin"}, "cannot be used together"},
		{"empty stdin", "", []string{"-u", "admin", "--password-stdin"}, "no password on stdin"},
		{"no username", "", []string{"--tenant", "t", "--authority-host", "https://login.localhost/", "--management-endpoint", "https://management.localhost"}, "--username is required"},
		{"sp without client id", "", []string{"--tenant", "t", "--authority-host", "https://login.localhost/", "--management-endpoint", "https://management.localhost", "--service-principal"}, "--client-id is required"},
		{"http authority", "", []string{"--tenant", "t", "--authority-host", "http://login.localhost/", "--management-endpoint", "https://m.localhost"}, "--authority-host must be an https URL"},
		{"no management endpoint", "", []string{"--tenant", "t", "--authority-host", "https://login.localhost/"}, "--management-endpoint is required"},
		{"prompt without terminal", "", []string{"-u", "alice"}, "stdin is not a terminal"},
		{"sp secret prompt without terminal", "", []string{"--service-principal", "--client-id", "c"}, "stdin is not a terminal"},
		{"positional argument", "", []string{"admin"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useConfigDir(t)
			fs := newFakeServer(t)
			args := append([]string{"login"}, tt.args...)
			if !strings.HasPrefix(tt.name, "no ") && !strings.HasPrefix(tt.name, "http") && !strings.HasPrefix(tt.name, "sp without") {
				args = append(args, "--bootstrap", fs.bootstrapFile)
			}
			r := runCLI(t, tt.stdin, args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) || !strings.HasPrefix(r.stderr, "ERROR: ") {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			if n := fs.grantCount("password") + fs.grantCount("client_credentials"); n != 0 {
				t.Errorf("%d grants sent", n)
			}
		})
	}
}

// TestLoginFailures checks that a failed sign-in exits 1 and leaves no
// profile behind.
func TestLoginFailures(t *testing.T) {
	dir := useConfigDir(t)
	fs := newFakeServer(t)
	for _, args := range [][]string{
		{"login", "--bootstrap", fs.bootstrapFile, "-u", "admin", "-p", "wrong"},
		{"login", "--bootstrap", fs.bootstrapFile, "--service-principal", "--client-id", bootSPID, "--client-secret", "wrong"},
		{"login", "--bootstrap", fs.bootstrapFile, "--tenant", "other-tenant"},
		{"login", "--bootstrap", filepath.Join(t.TempDir(), "missing.json")},
	} {
		r := runCLI(t, "", args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 1", args, r.code, r.stderr)
		}
	}
	if _, err := LoadProfile(dir); err != ErrNotLoggedIn {
		t.Errorf("after failed logins: LoadProfile = %v, want ErrNotLoggedIn", err)
	}
}

// TestProfileFileModes checks the profile is 0600 in a 0700 directory and
// no temporary file is left behind.
func TestProfileFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := useConfigDir(t)
	fs := newFakeServer(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile) // replace an existing profile
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode = %v, want 0700", st.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != profileFile {
		t.Errorf("config dir holds %v, want only %s", entries, profileFile)
	}
	st, err = os.Stat(filepath.Join(dir, profileFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("profile mode = %v, want 0600", st.Mode().Perm())
	}
	mustRun(t, "", "logout")
	if _, err := os.Stat(filepath.Join(dir, profileFile)); !os.IsNotExist(err) {
		t.Errorf("profile after logout: %v", err)
	}
	if r := mustRun(t, "", "logout"); r.stderr != "Not logged in.\n" {
		t.Errorf("second logout: %q", r.stderr)
	}
}
