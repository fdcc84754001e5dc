package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// secretFlag is a flag whose value is a secret: it is held as a
// sensitive.String and cobra's help never shows a default for it.
type secretFlag struct{ v sensitive.String }

// String implements pflag.Value; it never returns the value.
func (f *secretFlag) String() string {
	if f.v.IsZero() {
		return ""
	}
	return sensitive.Redacted
}

// Set implements pflag.Value.
func (f *secretFlag) Set(s string) error { f.v = sensitive.New(s); return nil }

// Type implements pflag.Value.
func (f *secretFlag) Type() string { return "string" }

// readSecretLine reads one line from the command's stdin, for
// --password-stdin and --client-secret-stdin. The line ending is dropped; an
// empty line is an error.
func readSecretLine(cmd *cobra.Command, what string) (sensitive.String, error) {
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return sensitive.String{}, fmt.Errorf("read %s from stdin: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return sensitive.String{}, usagef("no %s on stdin", what)
	}
	return sensitive.New(line), nil
}

// promptSecret asks for a secret on the terminal without echoing it. When
// stdin is not a terminal it returns a usage error naming the flags that
// give the secret instead.
func promptSecret(cmd *cobra.Command, prompt, flags string) (sensitive.String, error) {
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return sensitive.String{}, usagef("no %s given and stdin is not a terminal: use %s", strings.ToLower(prompt), flags)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: ", prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return sensitive.String{}, fmt.Errorf("read %s: %w", strings.ToLower(prompt), err)
	}
	if len(b) == 0 {
		return sensitive.String{}, usagef("empty %s", strings.ToLower(prompt))
	}
	return sensitive.New(string(b)), nil
}
