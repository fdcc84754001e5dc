package server

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/config"
)

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	if w == nil {
		w = os.Stderr
	}
	level, err := cfg.Level()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// printSummary tells the person who started the server where things are.
// It never prints a credential: those are in bootstrap.json (mode 0600).
func printSummary(w io.Writer, s *Server) {
	if w == nil {
		return
	}
	e := s.endpoints
	fmt.Fprintf(w, "edgevault server listening on %s (database: %s)\n", s.listener.Addr(), s.store.Dialect())
	fmt.Fprintf(w, "  login:       %s\n", e.AuthorityHost())
	fmt.Fprintf(w, "  management:  %s\n", e.Management())
	fmt.Fprintf(w, "  vaults:      https://{name}.%s\n", e.Host("vault"))
	fmt.Fprintf(w, "  portal:      %s\n", e.Portal())
	if s.caFile != "" {
		fmt.Fprintf(w, "  CA:          %s\n", s.caFile)
	}
	fmt.Fprintf(w, "  tenant:      %s\n", s.boot.TenantID)
	switch {
	case s.boot.Created:
		fmt.Fprintf(w, "First start: credentials for the admin user and service principal are in %s (mode 0600).\n", s.boot.Path)
	case s.boot.Path != "":
		fmt.Fprintf(w, "Credentials: %s\n", s.boot.Path)
	default:
		fmt.Fprintf(w, "Bootstrap was done by another server sharing this database; its data dir holds %s.\n", bootstrap.FileName)
	}
}
