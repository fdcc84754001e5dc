package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stdout     bool // usage on stdout
		stderrHint string
	}{
		{nil, 2, false, "Commands (not implemented yet):"},
		{[]string{"-h"}, 0, true, ""},
		{[]string{"--help"}, 0, true, ""},
		{[]string{"bogus"}, 2, false, `unknown command "bogus"`},
		{[]string{"activate"}, 1, false, `"activate" is not implemented yet`},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if code := run(tt.args, &out, &errb); code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
		if got := strings.Contains(out.String(), "edgevault-agent <command>"); got != tt.stdout {
			t.Errorf("run(%q): usage on stdout = %v, want %v", tt.args, got, tt.stdout)
		}
		if !strings.Contains(errb.String(), tt.stderrHint) {
			t.Errorf("run(%q): stderr = %q, want it to contain %q", tt.args, errb.String(), tt.stderrHint)
		}
	}
	for _, c := range []string{"init", "activate", "run", "status"} {
		if !strings.Contains(usage, "  "+c+" ") {
			t.Errorf("usage does not list %q", c)
		}
	}
}
