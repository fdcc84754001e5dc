package cli

import (
	"strings"
	"testing"
)

// TestNoSecretsInOutput runs every command, in both output formats and
// through its error paths, and checks that no password, client secret,
// refresh token or access token appears on stdout or stderr, except the
// new client secret that `sp create` and `sp reset-secret` show once.
func TestNoSecretsInOutput(t *testing.T) {
	useConfigDir(t)
	fs := newFakeServer(t)
	const wrongPassword = "wrong-password-e81f"
	bs := fs.bootstrapFile
	var outputs []string
	run := func(stdin string, args ...string) result {
		r := runCLI(t, stdin, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	exerciseCLI(run, bs, wrongPassword)
	var oneTime []result
	for _, o := range []string{"table", "json"} {
		r := runCLI(t, "", "sp", "create", "--name", "ci-"+o, "-o", o)
		oneTime = append(oneTime, r)
		oneTime = append(oneTime, runCLI(t, "", "sp", "reset-secret", "--id", bootSPID, "-o", o))
		run("", "sp", "list", "-o", o)
	}
	run("", "logout")
	secrets := append(fs.allSecrets(), wrongPassword)
	if len(secrets) < 20 {
		t.Fatalf("only %d secrets issued; the test did not exercise the server", len(secrets))
	}
	for i, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output %d leaks secret %q:\n%s", i, s, out)
			}
		}
	}
	for _, r := range oneTime {
		checkOneTime(t, r, secrets)
	}
}

// exerciseCLI runs every command that handles a secret, in both output
// formats, through success and failure.
func exerciseCLI(run func(stdin string, args ...string) result, bs, wrongPassword string) {
	for _, o := range []string{"table", "json"} {
		run("", "login", "--bootstrap", bs, "-o", o)
		run("", "login", "--bootstrap", bs, "-u", "alice", "-p", "alice-pw-4b2a", "-o", o)
		run("alice-pw-4b2a\n", "login", "--bootstrap", bs, "-u", "alice", "--password-stdin", "-o", o)
		run("", "login", "--bootstrap", bs, "-u", "alice", "-p", wrongPassword, "-o", o)
		run(wrongPassword+"\n", "login", "--bootstrap", bs, "-u", "alice", "--password-stdin", "-o", o)
		run("", "login", "--bootstrap", bs, "--service-principal", "--client-id", bootSPID, "--client-secret", wrongPassword, "-o", o)
		run("", "login", "--bootstrap", bs, "-u", "alice", "-p", wrongPassword, "--password-stdin", "-o", o)
		run("", "login", "--bootstrap", bs, "-p", wrongPassword, "--help")
		run("", "login", "--bootstrap", bs, "--service-principal", "-o", o)
		run(bootSPSecret+"\n", "login", "--bootstrap", bs, "--service-principal", "--client-id", bootSPID, "--client-secret-stdin", "-o", o)
		run("", "account", "show", "-o", o)
		run("", "sp", "list", "-o", o)
		run("", "sp", "delete", "--id", "missing", "-o", o)
		run("", "admin", "rotate-signing-key", "-o", o)
		run("", "admin", "rotate-root-key", "-o", o)
		run("", "login", "--bootstrap", bs, "-o", o)
		run("", "account", "show", "-o", o)
		run("", "sp", "list", "-o", o)
	}
}

// checkOneTime checks a one-time display shows exactly the new client
// secret, on stdout only, with the note on stderr.
func checkOneTime(t *testing.T, r result, secrets []string) {
	t.Helper()
	if r.code != 0 || !strings.Contains(r.stderr, "cannot be shown again") {
		t.Errorf("one-time display: exit %d, stderr %q", r.code, r.stderr)
	}
	var shown []string
	for _, s := range secrets {
		if strings.Contains(r.stderr, s) {
			t.Errorf("one-time display leaks %q on stderr", s)
		}
		if strings.Contains(r.stdout, s) {
			shown = append(shown, s)
		}
	}
	if len(shown) != 1 || !strings.Contains(shown[0], "-client-secret-") {
		t.Errorf("one-time display shows %q, want exactly the new client secret:\n%s", shown, r.stdout)
	}
}
