// Package cli is the edgevault command-line interface for operators, shaped
// like Azure's az: `edgevault <noun> <verb>`, human tables by default and
// `-o json` for scripts.
//
// It owns the signed-in profile in the user's config directory (a 0600 file
// in a 0700 directory, replaced atomically) and the Session that turns it
// into access tokens. It talks to the server only over HTTP through package
// client and never imports server-side packages, so the CLI builds alone.
//
// Invariants: data goes to stdout, messages and errors to stderr; no secret
// (password, client secret, refresh or access token, Key Vault secret value)
// is ever printed, except the one-time display of a new client secret by
// `sp create` and `sp reset-secret`, and the value `keyvault secret show`
// is asked for. Errors print as "ERROR: <message>"; usage errors exit 2,
// other failures 1.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
)

// app is the state shared by the commands of one root: the global flags.
type app struct {
	output outputFormat
}

// NewRoot returns the root `edgevault` command with every CLI command
// attached. The caller may add more (the server command) before Execute.
func NewRoot() *cobra.Command {
	a := &app{output: outputTable}
	root := &cobra.Command{
		Use:   "edgevault",
		Short: "Self-hosted Azure Key Vault and Azure Stack Edge activation",
		Long: "edgevault runs the server (edgevault server) and manages it from the command line.\n" +
			"Sign in with `edgevault login`; add `-o json` to any command for machine-readable output.",
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRun,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().VarP(&a.output, "output", "o", "output format: table or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCmd(a),
		newLoginCmd(a),
		newLogoutCmd(),
		newAccountCmd(a),
		newSPCmd(a),
		newAdminCmd(a),
		newGroupCmd(a),
		newProviderCmd(a),
		newRoleCmd(a),
		newLockCmd(a),
		newKeyVaultCmd(a),
		newStorageCmd(a),
		newEdgeCmd(a),
		newAuditCmd(a),
		newMonitorCmd(a),
	)
	return root
}

// Execute runs root with the process's arguments, prints any error on stderr
// as "ERROR: <message>", and returns the exit code: 0, 1 for a failure, 2 for
// a usage error. An interrupt cancels the command's context.
func Execute(root *cobra.Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return execute(ctx, root)
}

// execute is Execute with a given context.
func execute(ctx context.Context, root *cobra.Command) int {
	root.SilenceErrors, root.SilenceUsage = true, true
	requireSubcommands(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	stderr := root.ErrOrStderr()
	fmt.Fprintf(stderr, "ERROR: %s\n", err)
	if !isUsageError(err) {
		return 1
	}
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return 2
}

// usageError marks an error as the caller's misuse of the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// cobraUsagePrefixes are the starts of the usage errors cobra returns as
// plain errors (args.go, flag_groups.go, command.go of cobra v1.10), for
// commands this package did not build, such as the server command.
var cobraUsagePrefixes = []string{
	"unknown command ", "unknown flag", "unknown shorthand flag", "invalid argument ",
	"requires at least ", "accepts ",
	"required flag(s) ", "if any flags in the group ", "at least one of the flags in the group ",
}

// isUsageError reports whether err is a usage error.
func isUsageError(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	for _, p := range cobraUsagePrefixes {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}

// groupRun is the RunE of a command that only groups subcommands: alone it
// prints help; with an argument it is an unknown subcommand (cobra would
// print help and succeed instead).
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set lazily by cobra itself
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return usageError{errors.New(msg)}
}

// requireSubcommands gives every group command in the tree (also those added
// after NewRoot) the behaviour of groupRun.
func requireSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args, cmd.RunE = cobra.ArbitraryArgs, groupRun
	}
	for _, c := range cmd.Commands() {
		requireSubcommands(c)
	}
}

// noArgs is cobra.NoArgs returning a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// newGroup returns a command that only groups subcommands.
func newGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: groupRun}
	c.AddCommand(subs...)
	return c
}
