package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{strings.NewReader(""), &out, &errb})
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stdout     string // substring of stdout
		stderrHint string
	}{
		{nil, 2, "", "edgevault-agent <command>"},
		{[]string{"-h"}, 0, "edgevault-agent <command>", ""},
		{[]string{"--help"}, 0, "edgevault-agent <command>", ""},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"init", "-h"}, 0, "edgevault-agent init --serial SERIAL", ""},
		{[]string{"activate", "--help"}, 0, "--key-file FILE", ""},
		{[]string{"run", "-h"}, 0, "--ui ADDR", ""},
		{[]string{"status", "-h"}, 0, "-o FORMAT", ""},
		{[]string{"init"}, 2, "", "--serial is required"},
		{[]string{"init", "--serial", "S", "--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"init", "--serial", "S", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"init", "--serial", "S", "--secret", "lower=@x"}, 2, "", "must start with a capital letter"},
		{[]string{"activate", "--data-dir", "x"}, 2, "", "an activation key is required"},
		{[]string{"activate", "--key", "k", "--key-file", "f"}, 2, "", "not both"},
		{[]string{"run", "--ui", "0.0.0.0:80"}, 2, "", "loopback"},
		{[]string{"status", "-o", "yaml"}, 2, "", "-o must be table or json"},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(tt.args...)
		if code != tt.code {
			t.Errorf("run(%q) = %d, want %d (stderr %q)", tt.args, code, tt.code, errOut)
		}
		if tt.stdout != "" && !strings.Contains(out, tt.stdout) {
			t.Errorf("run(%q): stdout lacks %q:\n%s", tt.args, tt.stdout, out)
		}
		if !strings.Contains(errOut, tt.stderrHint) {
			t.Errorf("run(%q): stderr = %q, want it to contain %q", tt.args, errOut, tt.stderrHint)
		}
	}
	for c := range commands {
		if !strings.Contains(usage, "  "+c+" ") {
			t.Errorf("usage does not list %q", c)
		}
	}
}

func TestInitThenStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	secretFile := filepath.Join(t.TempDir(), "bmc")
	os.WriteFile(secretFile, []byte("Bmc-Passw0rd-value\n"), 0o600)
	code, out, errOut := runCmd("init", "--data-dir", dir, "--serial", "SN-7", "--secret", "BMCDefaultUserPassword=@"+secretFile)
	if code != 0 || !strings.Contains(out, "SystemVolumeBitLockerRecoveryKey") {
		t.Fatalf("init = %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd("init", "--data-dir", dir, "--serial", "SN-7"); code != 1 || !strings.Contains(errOut, "already") {
		t.Errorf("second init = %d, %q", code, errOut)
	}
	for _, format := range []string{"table", "json"} {
		code, out, errOut := runCmd("status", "--data-dir", dir, "-o", format)
		if code != 0 || !strings.Contains(out, "NotActivated") || !strings.Contains(out, "BMCDefaultUserPassword") {
			t.Errorf("status -o %s = %d\n%s%s", format, code, out, errOut)
		}
		if strings.Contains(out, "Bmc-Passw0rd-value") {
			t.Error("status shows a secret value")
		}
	}
	if code, _, errOut := runCmd("run", "--data-dir", dir); code != 1 || !strings.Contains(errOut, "not activated") {
		t.Errorf("run unactivated = %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd("activate", "--data-dir", dir, "--key", "-"); code != 1 || !strings.Contains(errOut, "malformed") {
		t.Errorf("activate with an empty stdin = %d, %q", code, errOut)
	}
}
