package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/spf13/cobra"
)

// loginFlags are the flags of `edgevault login`.
type loginFlags struct {
	bootstrap          string
	tenant             string
	subscription       string
	authorityHost      string
	managementEndpoint string
	caFile             string

	username      string
	password      secretFlag
	passwordStdin bool

	servicePrincipal  bool
	clientID          string
	clientSecret      secretFlag
	clientSecretStdin bool
}

// bootstrap is the part of the server's bootstrap.json the CLI reads.
// internal/bootstrap writes the file; it is a published format, and the
// CLI (which must not import server packages) reads it as any outside tool
// would, holding the credentials in redacting types.
type bootstrap struct {
	TenantID           string `json:"tenantId"`
	SubscriptionID     string `json:"subscriptionId"`
	AuthorityHost      string `json:"authorityHost"`
	ManagementEndpoint string `json:"managementEndpoint"`
	ManagementAudience string `json:"managementAudience"`
	VaultAudience      string `json:"vaultAudience"`
	StorageAudience    string `json:"storageAudience"`
	DeviceEndpoint     string `json:"deviceEndpoint"`
	PortalURL          string `json:"portalUrl"`
	CACertFile         string `json:"caCertFile"`
	Admin              struct {
		Username string       `json:"username"`
		Password storedSecret `json:"password"`
	} `json:"admin"`
	ServicePrincipal struct {
		ClientID     string       `json:"clientId"`
		ClientSecret storedSecret `json:"clientSecret"`
		ObjectID     string       `json:"objectId"`
	} `json:"servicePrincipal"`
}

// credential is who signs in and with what secret.
type credential struct {
	kind   PrincipalKind
	name   string           // user name or client id
	secret sensitive.String // password or client secret
}

func newLoginCmd(a *app) *cobra.Command {
	f := &loginFlags{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to an edgevault server",
		Long: "Sign in as a user (password grant) or a service principal (client credentials) and\n" +
			"store the profile in the config directory ($" + ConfigDirEnv + ", else the user config dir).\n" +
			"With --bootstrap PATH and no credential flags, signs in as the server's bootstrap admin.",
		Example: "  edgevault login --bootstrap ./edgevault-data/bootstrap.json\n" +
			"  edgevault login --bootstrap bootstrap.json --username alice --password-stdin < pw.txt\n" +
			"  edgevault login --service-principal --client-id ID --client-secret-stdin --tenant T \\\n" +
			"      --authority-host https://login.localhost:8443/ --management-endpoint https://management.localhost:8443",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd, a) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.bootstrap, "bootstrap", "", "path of the server's bootstrap.json, for endpoints, tenant, CA and admin")
	fl.StringVar(&f.tenant, "tenant", "", "tenant id")
	fl.StringVar(&f.subscription, "subscription", "", "default subscription id")
	fl.StringVar(&f.authorityHost, "authority-host", "", "login endpoint, e.g. https://login.localhost:8443/")
	fl.StringVar(&f.managementEndpoint, "management-endpoint", "", "management endpoint, e.g. https://management.localhost:8443")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM file of the server's CA certificate")
	fl.StringVarP(&f.username, "username", "u", "", "user name")
	fl.VarP(&f.password, "password", "p", "password (prefer --password-stdin or the prompt)")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from one line of stdin")
	fl.BoolVar(&f.servicePrincipal, "service-principal", false, "sign in as a service principal")
	fl.StringVar(&f.clientID, "client-id", "", "service principal client id")
	fl.Var(&f.clientSecret, "client-secret", "service principal client secret (prefer --client-secret-stdin)")
	fl.BoolVar(&f.clientSecretStdin, "client-secret-stdin", false, "read the client secret from one line of stdin")
	return cmd
}

// run signs in and saves the profile.
func (f *loginFlags) run(cmd *cobra.Command, a *app) error {
	if err := f.check(); err != nil {
		return err
	}
	bs, err := readBootstrap(f.bootstrap)
	if err != nil {
		return err
	}
	p, err := f.profile(bs)
	if err != nil {
		return err
	}
	cred, err := f.credential(cmd, bs)
	if err != nil {
		return err
	}
	dir, err := ConfigDir()
	if err != nil {
		return err
	}
	s, err := NewSession(dir, p)
	if err != nil {
		return err
	}
	if err := s.login(cmd, cred); err != nil {
		return err
	}
	v, r := accountView(p, false)
	return a.print(cmd.OutOrStdout(), v, r)
}

// login redeems cred for a management token and saves the profile.
func (s *Session) login(cmd *cobra.Command, cred credential) error {
	p, tc := s.Profile, s.TokenClient()
	var (
		tok *client.Token
		err error
	)
	if cred.kind == ServicePrincipal {
		tok, err = tc.ClientCredentials(cmd.Context(), cred.name, cred.secret, p.ManagementAudience)
	} else {
		tok, err = tc.Password(cmd.Context(), cred.name, cred.secret, p.ManagementAudience)
	}
	if err != nil {
		return fmt.Errorf("login failed: %w", err)
	}
	p.PrincipalKind, p.PrincipalName = cred.kind, cred.name
	if cred.kind == ServicePrincipal {
		p.ClientSecret = cred.secret
	} else {
		if tok.RefreshToken.IsZero() {
			return fmt.Errorf("login failed: the server issued no refresh token")
		}
		p.RefreshToken = tok.RefreshToken
	}
	p.Tokens[p.ManagementAudience] = CachedToken{AccessToken: tok.AccessToken, ExpiresOn: tok.ExpiresOn}
	return p.Save(s.Dir, s.now())
}

// check rejects flag combinations that mix the two kinds of principal or
// give a secret twice.
func (f *loginFlags) check() error {
	userFlags := f.username != "" || !f.password.v.IsZero() || f.passwordStdin
	spFlags := f.clientID != "" || !f.clientSecret.v.IsZero() || f.clientSecretStdin
	switch {
	case f.servicePrincipal && userFlags:
		return usagef("--username, --password and --password-stdin cannot be used with --service-principal")
	case !f.servicePrincipal && spFlags:
		return usagef("--client-id, --client-secret and --client-secret-stdin require --service-principal")
	case !f.password.v.IsZero() && f.passwordStdin:
		return usagef("--password and --password-stdin cannot be used together")
	case !f.clientSecret.v.IsZero() && f.clientSecretStdin:
		return usagef("--client-secret and --client-secret-stdin cannot be used together")
	}
	return nil
}

// readBootstrap reads a bootstrap.json; an empty path yields a zero value.
func readBootstrap(path string) (*bootstrap, error) {
	bs := &bootstrap{}
	if path == "" {
		return bs, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bootstrap file: %w", err)
	}
	if err := json.Unmarshal(b, bs); err != nil {
		return nil, fmt.Errorf("read bootstrap file %s: %w", path, err)
	}
	return bs, nil
}

// profile builds the profile's endpoints from the flags over the bootstrap.
func (f *loginFlags) profile(bs *bootstrap) (*Profile, error) {
	p := &Profile{
		TenantID:           or(f.tenant, bs.TenantID),
		SubscriptionID:     or(f.subscription, bs.SubscriptionID),
		AuthorityHost:      or(f.authorityHost, bs.AuthorityHost),
		ManagementEndpoint: strings.TrimRight(or(f.managementEndpoint, bs.ManagementEndpoint), "/"),
		VaultAudience:      bs.VaultAudience,
		StorageAudience:    bs.StorageAudience,
		DeviceEndpoint:     bs.DeviceEndpoint,
		PortalURL:          bs.PortalURL,
		Tokens:             make(map[string]CachedToken),
	}
	// Without a bootstrap file the management audience is the endpoint
	// itself, which is what the server uses by default.
	p.ManagementAudience = or(bs.ManagementAudience, p.ManagementEndpoint)
	if p.TenantID == "" {
		return nil, usagef("--tenant is required (or --bootstrap)")
	}
	if err := checkHTTPS("--authority-host", p.AuthorityHost); err != nil {
		return nil, err
	}
	if err := checkHTTPS("--management-endpoint", p.ManagementEndpoint); err != nil {
		return nil, err
	}
	if ca := or(f.caFile, bs.CACertFile); ca != "" {
		abs, err := filepath.Abs(ca)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		p.CAFile = abs
	}
	return p, nil
}

// credential resolves who signs in: flags first, then the bootstrap file,
// then stdin or a terminal prompt for the secret.
func (f *loginFlags) credential(cmd *cobra.Command, bs *bootstrap) (credential, error) {
	if f.servicePrincipal {
		c := credential{kind: ServicePrincipal, name: or(f.clientID, bs.ServicePrincipal.ClientID)}
		if c.name == "" {
			return c, usagef("--client-id is required with --service-principal (or --bootstrap)")
		}
		var fromFile sensitive.String
		if c.name == bs.ServicePrincipal.ClientID {
			fromFile = sensitive.String(bs.ServicePrincipal.ClientSecret)
		}
		var err error
		c.secret, err = secretFrom(cmd, f.clientSecret.v, f.clientSecretStdin, fromFile,
			"Client secret", "--client-secret-stdin or --client-secret")
		return c, err
	}
	c := credential{kind: User, name: or(f.username, bs.Admin.Username)}
	if c.name == "" {
		return c, usagef("--username is required (or --bootstrap)")
	}
	var fromFile sensitive.String
	if c.name == bs.Admin.Username {
		fromFile = sensitive.String(bs.Admin.Password)
	}
	var err error
	c.secret, err = secretFrom(cmd, f.password.v, f.passwordStdin, fromFile,
		"Password", "--password-stdin or --password")
	return c, err
}

// secretFrom picks a secret from, in order: its flag, stdin (when asked),
// the bootstrap file, a terminal prompt.
func secretFrom(cmd *cobra.Command, flag sensitive.String, stdin bool, fromFile sensitive.String, prompt, flags string) (sensitive.String, error) {
	switch {
	case !flag.IsZero():
		return flag, nil
	case stdin:
		return readSecretLine(cmd, strings.ToLower(prompt))
	case !fromFile.IsZero():
		return fromFile, nil
	}
	return promptSecret(cmd, prompt, flags)
}

// checkHTTPS requires u to be an absolute https URL.
func checkHTTPS(flag, u string) error {
	if u == "" {
		return usagef("%s is required (or --bootstrap)", flag)
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "https" || pu.Host == "" {
		return usagef("%s must be an https URL, got %q", flag, u)
	}
	return nil
}

// or returns the first non-empty string.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
