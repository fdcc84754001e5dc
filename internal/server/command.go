package server

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/edgevault/edgevault/internal/config"
)

// Command returns the `edgevault server` command.
func Command() *cobra.Command {
	var cfg *config.Config
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the edgevault server (identity, ARM, Key Vault, blob, device API, portal)",
		Long: `Run the edgevault server: one process, one TLS port, routed by host name.

With no flags it keeps its data in ./edgevault-data (SQLite), listens on
127.0.0.1:8443 with a generated local CA, and on first start writes the
bootstrap credentials to ./edgevault-data/bootstrap.json (mode 0600).
Every flag can also be set with an EDGEVAULT_* environment variable
(--data-dir is EDGEVAULT_DATA_DIR); a flag on the command line wins.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.ApplyEnv(cmd.Flags(), config.LookupEnv); err != nil {
				return err
			}
			return cfg.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return Run(ctx, *cfg, Options{Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()})
		},
	}
	cfg = config.Bind(cmd.Flags())
	return cmd
}

// background is context.Background, named for shutdown paths that must
// outlive the cancelled run context.
var background = context.Background
