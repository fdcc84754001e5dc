package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/cli"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/server"
)

// cliRun is one run of the CLI and what it printed.
type cliRun struct {
	args           []string
	code           int
	stdout, stderr string
	// mayShow is the one secret the run exists to print: the new client
	// secret of `sp create` and `sp reset-secret`.
	mayShow string
}

// cliDriver runs the real CLI, as built by cmd/edgevault, in this process
// with its own config directory, and keeps every secret it comes across so
// that the test can check that none was printed or logged.
type cliDriver struct {
	t       *testing.T
	dir     string            // $EDGEVAULT_CONFIG_DIR
	runs    []*cliRun         // every run, in order
	secrets map[string]string // secret value → what it is
}

func newCLIDriver(t *testing.T) *cliDriver {
	dir := t.TempDir()
	t.Setenv(cli.ConfigDirEnv, dir)
	return &cliDriver{t: t, dir: dir, secrets: map[string]string{}}
}

// secret records a secret value.
func (c *cliDriver) secret(what, v string) {
	if v != "" {
		c.secrets[v] = what
	}
}

// run runs `edgevault args...` with empty stdin (so that nothing prompts),
// then records the secrets of the profile it left behind: the refresh
// token, a service principal's client secret, the cached access tokens.
func (c *cliDriver) run(args ...string) *cliRun {
	c.t.Helper()
	root := cli.NewRoot()
	root.AddCommand(server.Command())
	var stdout, stderr bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(""))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	r := &cliRun{args: args, code: cli.Execute(root), stdout: stdout.String(), stderr: stderr.String()}
	c.runs = append(c.runs, r)
	if p, err := cli.LoadProfile(c.dir); err == nil {
		c.secret("the profile's refresh token", p.RefreshToken.Reveal())
		c.secret("the profile's client secret", p.ClientSecret.Reveal())
		for aud, tok := range p.Tokens {
			c.secret("an access token for "+aud, tok.AccessToken.Reveal())
		}
	}
	return r
}

// must runs the CLI and stops the test unless it exits 0.
func (c *cliDriver) must(args ...string) *cliRun {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", c.command(r), r.code, r.stdout, r.stderr)
	}
	return r
}

// fail runs the CLI and stops the test unless it exits 1 (a failure, not
// a usage error) with an error on stderr containing want.
func (c *cliDriver) fail(want string, args ...string) *cliRun {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR: ") || !strings.Contains(r.stderr, want) {
		c.t.Fatalf("%s: exit %d, stderr %q; want exit 1 and an error mentioning %q", c.command(r), r.code, r.stderr, want)
	}
	return r
}

// decode decodes r's stdout (an -o json run) into v.
func (c *cliDriver) decode(r *cliRun, v any) {
	c.t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		c.t.Fatalf("%s: stdout is not the JSON expected: %v\n%s", c.command(r), err, r.stdout)
	}
}

// command renders r's command line for messages, with secrets redacted.
func (c *cliDriver) command(r *cliRun) string {
	args := slices.Clone(r.args)
	for i, a := range args {
		if _, ok := c.secrets[a]; ok {
			args[i] = sensitive.Redacted
		}
	}
	return "edgevault " + strings.Join(args, " ")
}

// checkOutputs checks that no run printed a secret other than its own new
// client secret, and that the server log holds none at all.
func (c *cliDriver) checkOutputs(serverLog string) {
	c.t.Helper()
	for _, r := range c.runs {
		for v, what := range c.secrets {
			if v != r.mayShow && strings.Contains(r.stdout+r.stderr, v) {
				c.t.Errorf("%s printed %s", c.command(r), what)
			}
		}
	}
	for v, what := range c.secrets {
		if strings.Contains(serverLog, v) {
			c.t.Errorf("the server log holds %s", what)
		}
	}
}

// accountJSON is what `account show -o json` prints, in part.
type accountJSON struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	User           struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"user"`
	ManagementEndpoint string `json:"managementEndpoint"`
}

// TestCLI walks an operator's session with the real CLI against a real
// server: sign in with bootstrap.json, manage service principals, see a
// non-admin refused, rotate both keys, restart, sign out. Throughout, no
// output and no server log line may hold a secret.
func TestCLI(t *testing.T) {
	ctx := t.Context()
	dataDir := t.TempDir()
	serverLog := &syncBuffer{}
	srv := startInProcess(t, dataDir, "127.0.0.1:0", serverLog)
	boot := srv.boot
	bootPath := filepath.Join(dataDir, bootstrap.FileName)
	tc := tokenClient(srv.http, boot)
	c := newCLIDriver(t)
	c.secret("the admin password", boot.Admin.Password)
	c.secret("the bootstrap client secret", boot.ServicePrincipal.ClientSecret)
	account := func() accountJSON {
		t.Helper()
		var a accountJSON
		c.decode(c.must("account", "show", "-o", "json"), &a)
		return a
	}
	listed := func() map[string]string {
		t.Helper()
		r := c.must("sp", "list", "-o", "json")
		if strings.Contains(r.stdout, "clientSecret") {
			t.Error("sp list shows a clientSecret field")
		}
		var sps []servicePrincipal
		c.decode(r, &sps)
		m := map[string]string{}
		for _, sp := range sps {
			m[sp.ClientID] = sp.DisplayName
		}
		return m
	}

	// The bootstrap admin signs in with the password from bootstrap.json.
	c.must("login", "--bootstrap", bootPath)
	want := accountJSON{TenantID: boot.TenantID, SubscriptionID: boot.SubscriptionID, ManagementEndpoint: boot.ManagementEndpoint}
	want.User.Name, want.User.Type = "admin", "user"
	if diff := cmp.Diff(want, account()); diff != "" {
		t.Errorf("account show as admin (-want +got):\n%s", diff)
	}

	// A new service principal; its secret is shown once.
	r := c.must("sp", "create", "--name", "e2e-ci", "-o", "json")
	var sp servicePrincipal
	c.decode(r, &sp)
	r.mayShow = sp.ClientSecret
	c.secret("the client secret of e2e-ci", sp.ClientSecret)
	if sp.DisplayName != "e2e-ci" || !strings.HasPrefix(sp.ClientSecret, "evcs_") || !strings.Contains(r.stderr, "Save the client secret now") {
		t.Errorf("sp create: name %q, secret prefix ok %v, stderr %q", sp.DisplayName, strings.HasPrefix(sp.ClientSecret, "evcs_"), r.stderr)
	}
	if got := listed()[sp.ClientID]; got != "e2e-ci" {
		t.Errorf("sp list: %s is %q, want e2e-ci", sp.ClientID, got)
	}

	// Signed in as that principal, which is no admin: the admin API refuses.
	c.must("login", "--service-principal", "--client-id", sp.ClientID, "--client-secret", sp.ClientSecret, "--bootstrap", bootPath)
	want.User.Name, want.User.Type = sp.ClientID, "servicePrincipal"
	if diff := cmp.Diff(want, account()); diff != "" {
		t.Errorf("account show as the service principal (-want +got):\n%s", diff)
	}
	c.fail("AuthorizationFailed", "sp", "list")

	// Back as admin: reset the secret; the old one stops working at once.
	c.must("login", "--bootstrap", bootPath)
	r = c.must("sp", "reset-secret", "--id", sp.ClientID, "-o", "json")
	var reset servicePrincipal
	c.decode(r, &reset)
	r.mayShow = reset.ClientSecret
	c.secret("the reset client secret of e2e-ci", reset.ClientSecret)
	if reset.ClientID != sp.ClientID || reset.ClientSecret == "" || reset.ClientSecret == sp.ClientSecret {
		t.Fatalf("sp reset-secret gave client id %s and a new secret %v", reset.ClientID, reset.ClientSecret != sp.ClientSecret)
	}
	if _, err := tc.ClientCredentials(ctx, sp.ClientID, sensitive.New(sp.ClientSecret), boot.ManagementAudience); !refusedClient(err) {
		t.Errorf("the replaced secret: %v, want invalid_client", err)
	}
	c.secret("a token of e2e-ci", spToken(t, tc, sp.ClientID, reset.ClientSecret, boot.ManagementAudience))

	// Delete it: gone from the list, and its secret is refused.
	r = c.must("sp", "delete", "--id", sp.ClientID)
	if !strings.Contains(r.stderr, "Deleted service principal "+sp.ClientID) {
		t.Errorf("sp delete said %q", r.stderr)
	}
	if _, ok := listed()[sp.ClientID]; ok {
		t.Error("sp list still shows the deleted service principal")
	}
	if _, err := tc.ClientCredentials(ctx, sp.ClientID, sensitive.New(reset.ClientSecret), boot.ManagementAudience); !refusedClient(err) {
		t.Errorf("the deleted principal's secret: %v, want invalid_client", err)
	}

	// Rotate the signing key: the JWKS publishes the new and the old key.
	first := jwksKIDs(t, srv.http, boot)
	var rot struct {
		KID         string `json:"kid"`
		PreviousKID string `json:"previousKid"`
	}
	c.decode(c.must("admin", "rotate-signing-key", "-o", "json"), &rot)
	if diff := cmp.Diff(first, []string{rot.PreviousKID}); diff != "" {
		t.Errorf("previousKid is not the key published before (-before +previousKid):\n%s", diff)
	}
	wantKIDs := []string{rot.KID, rot.PreviousKID}
	slices.Sort(wantKIDs)
	if diff := cmp.Diff(wantKIDs, jwksKIDs(t, srv.http, boot)); diff != "" {
		t.Errorf("JWKS after rotate-signing-key (-want +got):\n%s", diff)
	}

	// Rotate the root key. The answer names the new key and nothing else.
	var root map[string]any
	c.decode(c.must("admin", "rotate-root-key", "-o", "json"), &root)
	if id, _ := root["rootKeyId"].(string); id == "" || len(root) != 1 {
		t.Errorf("rotate-root-key printed %v, want just a rootKeyId", root)
	}
	// The server keeps working: new tokens are signed by the rotated key,
	// the admin API answers, and a new signing key can be sealed under the
	// rewrapped key-encryption keys.
	bsp := boot.ServicePrincipal
	tok := spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.ManagementAudience)
	c.secret("a token of the bootstrap principal", tok)
	if got := tokenKID(t, tok); got != rot.KID {
		t.Errorf("after rotate-root-key tokens are signed by %s, want %s", got, rot.KID)
	}
	if err := adminAPI(srv.http, tok).Do(ctx, http.MethodGet, boot.ManagementEndpoint+adminPath+"/servicePrincipals", nil, nil); err != nil {
		t.Errorf("admin API after rotate-root-key: %v", err)
	}
	c.must("admin", "rotate-signing-key")
	if got := len(jwksKIDs(t, srv.http, boot)); got != 3 {
		t.Errorf("JWKS has %d keys after the second rotation, want 3", got)
	}
	// And a restart on the same port opens everything with the new root key.
	srv.stop()
	srv = startInProcess(t, dataDir, srv.Addr().String(), serverLog)
	listed()
	c.secret("a token of the bootstrap principal", spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.ManagementAudience))

	// Sign out: the profile is gone and commands ask for a login.
	if r := c.must("logout"); !strings.Contains(r.stderr, "Logged out.") {
		t.Errorf("logout said %q", r.stderr)
	}
	if _, err := cli.LoadProfile(c.dir); !errors.Is(err, cli.ErrNotLoggedIn) {
		t.Errorf("profile after logout: %v", err)
	}
	c.fail("edgevault login", "sp", "list")

	srv.stop()
	log := serverLog.String()
	if !strings.Contains(log, "http request") || !strings.Contains(log, "status=403") {
		t.Errorf("the server log lacks the access log lines this test caused:\n%s", log)
	}
	t.Logf("checked %d CLI runs and %d bytes of server log for %d secrets", len(c.runs), len(log), len(c.secrets))
	c.checkOutputs(log)
	if t.Failed() {
		t.Logf("secrets: %v", slices.Sorted(maps.Values(c.secrets)))
	}
}
