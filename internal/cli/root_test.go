package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestExecuteWithAddedCommands checks exit codes and error printing for
// commands added after NewRoot, as cmd/edgevault adds the server command.
func TestExecuteWithAddedCommands(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"server"}, 0, ""},
		{[]string{"server", "extra"}, 2, `ERROR: unknown command "extra" for "edgevault server"`},
		{[]string{"server", "--port", "x"}, 2, `ERROR: invalid argument "x" for "--port" flag`},
		{[]string{"fail"}, 1, "ERROR: boom\n"},
		{[]string{"bundle"}, 0, ""},
		{[]string{"bundle", "bogus"}, 2, `ERROR: unknown command "bogus" for "edgevault bundle"`},
		{[]string{"bundle", "leaf", "-o", "json"}, 0, ""},
		{[]string{"-o", "JSON", "version"}, 0, ""},
	}
	for _, tt := range tests {
		root := NewRoot()
		server := &cobra.Command{Use: "server", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
		server.Flags().Int("port", 8443, "port")
		fail := &cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error { return errors.New("boom") }}
		group := &cobra.Command{Use: "bundle"} // not "group": that is a real command
		group.AddCommand(&cobra.Command{Use: "leaf", Run: func(*cobra.Command, []string) {}})
		root.AddCommand(server, fail, group)
		var out, errb strings.Builder
		root.SetArgs(tt.args)
		root.SetOut(&out)
		root.SetErr(&errb)
		if code := execute(t.Context(), root); code != tt.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tt.args, code, tt.code, errb.String())
		}
		if !strings.HasPrefix(errb.String(), tt.want) {
			t.Errorf("%q: stderr %q, want prefix %q", tt.args, errb.String(), tt.want)
		}
	}
}
