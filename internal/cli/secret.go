package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
)

// maxSecretValue is the largest secret value Key Vault stores, in bytes
// (reference/keyvault-wire.md §1.8).
const maxSecretValue = 25600

// secretAttributes are a secret's attributes; times are integer Unix
// seconds, as on the wire (reference/keyvault-wire.md §1.4).
type secretAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
}

// secretProperties is a secret without its value: a SecretItem of a list,
// or a SecretBundle whose value is dropped on decoding. Every command but
// `secret show` prints this type, so a value cannot reach their output.
// Name is not on the wire; the CLI takes it from the id, as az does.
type secretProperties struct {
	Name            string            `json:"name"`
	ID              string            `json:"id"`
	ContentType     string            `json:"contentType,omitempty"`
	Attributes      secretAttributes  `json:"attributes"`
	Tags            map[string]string `json:"tags,omitempty"`
	Kid             string            `json:"kid,omitempty"`
	Managed         *bool             `json:"managed,omitempty"`
	PreviousVersion string            `json:"previousVersion,omitempty"`
}

// deletedSecret is a DeletedSecretItem or DeletedSecretBundle, without a value.
type deletedSecret struct {
	secretProperties
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        *int64 `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64 `json:"scheduledPurgeDate,omitempty"`
}

// shownSecret is a SecretBundle with its value: the one output of the
// CLI that holds a secret value, printed by `secret show` only.
type shownSecret struct {
	Value string `json:"value"`
	secretProperties
}

// named fills Name from the id: https://{vault}/secrets/{name}[/{version}].
func (s *secretProperties) named() {
	s.Name, _ = splitSecretID(s.ID)
}

// splitSecretID returns the name and version of a secret id; the
// version is "" in a base id.
func splitSecretID(id string) (name, version string) {
	u, err := url.Parse(id)
	if err != nil {
		return "", ""
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) >= 2 {
		name = segs[1]
	}
	if len(segs) >= 3 {
		version = segs[2]
	}
	return name, version
}

// unixText formats Unix seconds for a table (RFC 3339, UTC), "" when absent.
func unixText(s *int64) string {
	if s == nil {
		return ""
	}
	return timeText(time.Unix(*s, 0))
}

func (s secretProperties) record() record {
	a := s.Attributes
	_, version := splitSecretID(s.ID)
	return record{
		{"name", s.Name}, {"version", version}, {"content type", s.ContentType},
		{"enabled", boolText(a.Enabled)}, {"not before", unixText(a.NotBefore)}, {"expires", unixText(a.Expires)},
		{"created", unixText(a.Created)}, {"updated", unixText(a.Updated)},
		{"recovery level", a.RecoveryLevel}, {"managed", boolText(s.Managed)}, {"tags", tagsText(s.Tags)}, {"id", s.ID},
	}
}

func (d deletedSecret) record() record {
	r := d.secretProperties.record()
	return append(r[:len(r)-1], field{"deleted", unixText(d.DeletedDate)},
		field{"scheduled purge", unixText(d.ScheduledPurgeDate)}, field{"recovery id", d.RecoveryID}, r[len(r)-1])
}

// validateSecretName checks a secret name: 1–127 letters, digits and
// hyphens (reference/keyvault-wire.md §1.2).
func validateSecretName(name string) error {
	if name == "" {
		return usagef("--name is required")
	}
	ok := len(name) <= 127
	for i := 0; ok && i < len(name); i++ {
		ok = isLetter(name[i]) || isDigit(name[i]) || name[i] == '-'
	}
	if !ok {
		return usagef("invalid secret name %q: want 1-127 letters, digits and hyphens", name)
	}
	return nil
}

// secretFlags name a vault and, for most commands, a secret in it.
type secretFlags struct{ vault, name string }

func (f *secretFlags) add(cmd *cobra.Command, withName bool) {
	cmd.Flags().StringVar(&f.vault, "vault-name", "", "name of the key vault")
	if withName {
		cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the secret")
	}
}

// open validates the flags and opens a client for the vault.
func (f *secretFlags) open(withName bool) (*vaultClient, error) {
	if err := validateVaultName("vault-name", f.vault); err != nil {
		return nil, err
	}
	if withName {
		if err := validateSecretName(f.name); err != nil {
			return nil, err
		}
	}
	return openVault(f.vault)
}

func newSecretCmd(a *app) *cobra.Command {
	return newGroup("secret", "Manage the secrets of a key vault",
		newSecretSetCmd(a), newSecretShowCmd(a), newSecretListCmd(a), newSecretListVersionsCmd(a),
		newSecretDeleteCmd(a), newSecretRecoverCmd(a), newSecretPurgeCmd(), newSecretListDeletedCmd(a),
		newSecretBackupCmd(), newSecretRestoreCmd(a))
}

// setFlags are the flags of `secret set` besides the names.
type setFlags struct {
	value                 secretFlag
	file                  string
	stdin                 bool
	contentType           string
	tags                  []string
	disabled              bool
	notBefore, expires    string
	nbf, exp              *int64
	parsedTags            map[string]string
	valueGiven, fileGiven bool
}

func (f *setFlags) validate(cmd *cobra.Command) error {
	f.valueGiven, f.fileGiven = cmd.Flags().Changed("value"), cmd.Flags().Changed("file")
	n := 0
	for _, b := range []bool{f.valueGiven, f.fileGiven, f.stdin} {
		if b {
			n++
		}
	}
	if n > 1 {
		return usagef("use only one of --value, --file and --value-stdin")
	}
	var err error
	if f.nbf, err = parseTimeFlag("not-before", f.notBefore); err != nil {
		return err
	}
	if f.exp, err = parseTimeFlag("expires", f.expires); err != nil {
		return err
	}
	f.parsedTags, err = parseTags(f.tags)
	return err
}

// parseTimeFlag parses an RFC 3339 time flag into Unix seconds; nil when empty.
func parseTimeFlag(flag, s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, usagef("invalid --%s %q: want an RFC 3339 time such as 2030-12-31T00:00:00Z", flag, s)
	}
	u := t.Unix()
	return &u, nil
}

// readValue returns the secret value from the chosen source; with none, it
// prompts on a terminal.
func (f *setFlags) readValue(cmd *cobra.Command) (sensitive.String, error) {
	var v string
	switch {
	case f.valueGiven:
		return f.value.v, checkValue(f.value.v.Reveal(), "--value")
	case f.fileGiven:
		b, err := readLimited(f.file, maxSecretValue)
		if err != nil {
			return sensitive.String{}, err
		}
		v = string(b)
		return sensitive.New(v), checkValue(v, "the file")
	case f.stdin:
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxSecretValue+3))
		if err != nil {
			return sensitive.String{}, fmt.Errorf("read the value from stdin: %w", err)
		}
		v = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		return sensitive.New(v), checkValue(v, "stdin")
	}
	return promptSecret(cmd, "Secret value", "--file, --value-stdin or --value")
}

// checkValue checks a value against Key Vault's limits; JSON carries text,
// so binary data must be encoded (e.g. base64) before it is stored.
func checkValue(v, from string) error {
	if len(v) > maxSecretValue {
		return fmt.Errorf("the value from %s is larger than the %d bytes a secret can hold", from, maxSecretValue)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("the value from %s is not UTF-8 text; encode binary data (e.g. with base64) first", from)
	}
	return nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func newSecretSetCmd(a *app) *cobra.Command {
	var names secretFlags
	var f setFlags
	cmd := &cobra.Command{
		Use:   "set --vault-name VAULT --name NAME (--file PATH | --value-stdin | --value VALUE) [--content-type TYPE] [--tags KEY=VALUE]... [--disabled] [--not-before TIME] [--expires TIME]",
		Short: "Set a secret's value, as a new version of the secret",
		Long: "Set a secret's value. Each set adds a new version, which becomes the current one.\n\n" +
			"Give the value with --file PATH (the file's exact content) or --value-stdin (stdin, without\n" +
			"one final line ending). On a terminal, with neither, the value is prompted for. --value works\n" +
			"too, but leaves the secret in your shell history and in the process list: prefer the others.\n" +
			"The value is not printed; use 'edgevault keyvault secret show' to read it.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(cmd); err != nil {
				return err
			}
			c, err := names.open(true)
			if err != nil {
				return err
			}
			v, err := f.readValue(cmd)
			if err != nil {
				return err
			}
			enabled := !f.disabled
			body := map[string]any{
				"value":      v.Reveal(),
				"attributes": secretAttributes{Enabled: &enabled, NotBefore: f.nbf, Expires: f.exp},
			}
			if f.contentType != "" {
				body["contentType"] = f.contentType
			}
			if f.parsedTags != nil {
				body["tags"] = f.parsedTags
			}
			var s secretProperties
			if err := c.do(cmd.Context(), http.MethodPut, c.url("/secrets/"+names.name, nil), body, &s); err != nil {
				return err
			}
			s.named()
			return a.print(cmd.OutOrStdout(), s, s.record())
		},
	}
	names.add(cmd, true)
	cmd.Flags().Var(&f.value, "value", "the secret value (lands in shell history: prefer --file or --value-stdin)")
	cmd.Flags().StringVarP(&f.file, "file", "f", "", "read the value from this file")
	cmd.Flags().BoolVar(&f.stdin, "value-stdin", false, "read the value from stdin")
	cmd.Flags().StringVar(&f.contentType, "content-type", "", "content type of the value, e.g. text/plain")
	cmd.Flags().StringArrayVar(&f.tags, "tags", nil, "a tag KEY=VALUE (or KEY for an empty value); repeat for more")
	cmd.Flags().BoolVar(&f.disabled, "disabled", false, "create the version disabled: it cannot be read")
	cmd.Flags().StringVar(&f.notBefore, "not-before", "", "time (RFC 3339) before which the secret should not be used")
	cmd.Flags().StringVar(&f.expires, "expires", "", "time (RFC 3339) after which the secret should not be used")
	return cmd
}

func newSecretShowCmd(a *app) *cobra.Command {
	var names secretFlags
	var version string
	cmd := &cobra.Command{
		Use:   "show --vault-name VAULT --name NAME [--version VERSION]",
		Short: "Show a secret with its value",
		Long: "Show a secret with its value: the current version, or the one --version names.\n" +
			"The value is printed on stdout, last in a table; with -o json, read it with jq -r .value.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version != "" && !validVersion(version) {
				return usagef("invalid --version %q: want the letters and digits of a version id", version)
			}
			c, err := names.open(true)
			if err != nil {
				return err
			}
			// The current version is GET /secrets/{name}/, with the
			// trailing slash the SDKs send (reference/keyvault-wire.md §1.3).
			var s shownSecret
			if err := c.do(cmd.Context(), http.MethodGet, c.url("/secrets/"+names.name+"/"+version, nil), nil, &s); err != nil {
				return err
			}
			s.named()
			return a.print(cmd.OutOrStdout(), s, append(s.secretProperties.record(), field{"value", s.Value}))
		},
	}
	names.add(cmd, true)
	cmd.Flags().StringVar(&version, "version", "", "version of the secret; the current one when omitted")
	return cmd
}

// validVersion reports whether v can be a secret version (32 hex digits
// on the real service; any letters and digits are accepted).
func validVersion(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isLetter(v[i]) && !isDigit(v[i]) {
			return false
		}
	}
	return len(v) <= 64
}

func newSecretListCmd(a *app) *cobra.Command {
	var names secretFlags
	cmd := &cobra.Command{
		Use:   "list --vault-name VAULT",
		Short: "List the secrets of a vault (never their values)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := names.open(false)
			if err != nil {
				return err
			}
			items, err := listVault[secretProperties](cmd.Context(), c, c.url("/secrets", nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "ENABLED", "CONTENT TYPE", "EXPIRES", "UPDATED"}}
			for i := range items {
				s := &items[i]
				s.named()
				a := s.Attributes
				t.rows = append(t.rows, []string{s.Name, boolText(a.Enabled), s.ContentType, unixText(a.Expires), unixText(a.Updated)})
			}
			return a.print(cmd.OutOrStdout(), items, t)
		},
	}
	names.add(cmd, false)
	return cmd
}

func newSecretListVersionsCmd(a *app) *cobra.Command {
	var names secretFlags
	cmd := &cobra.Command{
		Use:   "list-versions --vault-name VAULT --name NAME",
		Short: "List the versions of a secret (never their values)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := names.open(true)
			if err != nil {
				return err
			}
			items, err := listVault[secretProperties](cmd.Context(), c, c.url("/secrets/"+names.name+"/versions", nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"VERSION", "ENABLED", "CREATED", "UPDATED", "EXPIRES"}}
			for i := range items {
				s := &items[i]
				s.named()
				_, version := splitSecretID(s.ID)
				a := s.Attributes
				t.rows = append(t.rows, []string{version, boolText(a.Enabled), unixText(a.Created), unixText(a.Updated), unixText(a.Expires)})
			}
			return a.print(cmd.OutOrStdout(), items, t)
		},
	}
	names.add(cmd, true)
	return cmd
}

// fileExists returns a usage error when path exists, so that an
// existing file is never overwritten.
func fileExists(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return usagef("%s already exists; remove it or choose another path", path)
	}
	return nil
}

// plural returns "1 byte" or "n bytes".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
