package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	c := Bind(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != DefaultDataDir || c.Listen != DefaultListen || c.DNSSuffix != "localhost" ||
		c.DatabaseURL != "" || c.RootKeyFile != "edgevault-data/root.key" || c.MetricsListen != "" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	env := map[string]string{"EDGEVAULT_LISTEN": "127.0.0.1:9000", "EDGEVAULT_DNS_SUFFIX": "Example.TEST.", "EDGEVAULT_LOG_FORMAT": "json"}
	c, err := parse(t, []string{"--listen", "127.0.0.1:9443"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9443" {
		t.Errorf("flag should beat env: listen = %s", c.Listen)
	}
	if c.DNSSuffix != "example.test" || c.LogFormat != "json" {
		t.Errorf("env not applied: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "nonsense"}, "--listen"},
		{[]string{"--dns-suffix", "bad_suffix"}, "--dns-suffix"},
		{[]string{"--dns-suffix", "127.0.0.1"}, "--dns-suffix"},
		{[]string{"--database-url", "mysql://x"}, "--database-url"},
		{[]string{"--tls-cert", "a.pem"}, "go together"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--metrics-listen", "9090"}, "--metrics-listen"},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.args, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want mention of %s", tt.args, err, tt.want)
		}
	}
}

func TestEndpoints(t *testing.T) {
	e := Endpoints{Suffix: "localhost", Port: 8443}
	got := []string{e.AuthorityHost(), e.Management(), e.VaultAudience(), e.StorageAudience(), e.Device(), e.Portal()}
	want := []string{"https://login.localhost:8443/", "https://management.localhost:8443", "https://vault.localhost:8443",
		"https://storage.localhost:8443", "https://device.localhost:8443", "https://portal.localhost:8443/"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("endpoint %d = %s, want %s", i, got[i], want[i])
		}
	}
	if h := (Endpoints{Suffix: "edge.example.com", Port: 443}).Host("management"); h != "management.edge.example.com" {
		t.Errorf("port 443 host = %s", h)
	}
}
