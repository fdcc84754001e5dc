// Package config holds edgevault server's configuration: its flags, their
// EDGEVAULT_* environment equivalents, defaults, validation, and the public
// URLs derived from the DNS suffix and port.
//
// Precedence: a flag given on the command line wins over the environment,
// which wins over the default.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/edgevault/edgevault/internal/dnsname"
)

// Config is the server's configuration.
type Config struct {
	DataDir       string
	Listen        string
	DNSSuffix     string
	DatabaseURL   string
	TLSCert       string
	TLSKey        string
	RootKeyFile   string
	LogFormat     string
	LogLevel      string
	MetricsListen string
	// VaultRequestLimit is how many data-plane requests one vault accepts
	// per 10 seconds before answering 429 Throttled (Azure's default is
	// 2,000); 0 turns the limit off.
	VaultRequestLimit int
	// DeviceHeartbeat is the interval devices are told to heartbeat at;
	// DeviceOfflineAfter the silence after which a device is Offline.
	DeviceHeartbeat    time.Duration
	DeviceOfflineAfter time.Duration
}

// Defaults.
const (
	DefaultDataDir   = "./edgevault-data"
	DefaultListen    = "127.0.0.1:8443"
	DefaultDNSSuffix = "localhost"
	// DefaultVaultRequestLimit is Azure Key Vault's per-vault limit for
	// secret operations per 10 seconds.
	DefaultVaultRequestLimit = 2000
	// DefaultDeviceHeartbeat and DefaultDeviceOfflineAfter: devices
	// heartbeat twice a minute and are Offline after six missed beats.
	DefaultDeviceHeartbeat    = 30 * time.Second
	DefaultDeviceOfflineAfter = 3 * time.Minute
)

// envPrefix is prepended to a flag's upper-cased name (dashes become
// underscores) to form its environment variable.
const envPrefix = "EDGEVAULT_"

// Bind registers the server flags on fs and returns the Config they fill.
func Bind(fs *pflag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.DataDir, "data-dir", DefaultDataDir, "directory for the database, keys, certificates and bootstrap.json")
	fs.StringVar(&c.Listen, "listen", DefaultListen, "address of the TLS listener serving every host")
	fs.StringVar(&c.DNSSuffix, "dns-suffix", DefaultDNSSuffix, "DNS suffix S of the hosts login.S, management.S, *.vault.S, ...")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "empty for SQLite in the data dir, or a postgres:// URL")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate chain to serve instead of the generated one")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&c.RootKeyFile, "root-key-file", "", "root key file (32 bytes, mode 0600); default <data-dir>/root.key")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "", "plain-HTTP address for Prometheus /metrics (off when empty)")
	fs.IntVar(&c.VaultRequestLimit, "vault-request-limit", DefaultVaultRequestLimit, "Key Vault requests per vault per 10 s before 429 Throttled (0: no limit)")
	fs.DurationVar(&c.DeviceHeartbeat, "device-heartbeat", DefaultDeviceHeartbeat, "interval at which activated devices are told to heartbeat")
	fs.DurationVar(&c.DeviceOfflineAfter, "device-offline-after", DefaultDeviceOfflineAfter, "silence after which a device is reported Offline")
	return c
}

// ApplyEnv sets every flag not given on the command line from its
// EDGEVAULT_* variable, when that is set. lookup is os.LookupEnv in
// production.
func ApplyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := EnvName(f.Name)
		if v, ok := lookup(name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// EnvName returns the environment variable for a flag name.
func EnvName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Validate checks the configuration and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if _, _, err := c.listenPort(); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", c.Listen, err))
	}
	c.DNSSuffix = strings.TrimSuffix(strings.ToLower(c.DNSSuffix), ".")
	if !dnsname.ValidName(c.DNSSuffix) {
		errs = append(errs, fmt.Errorf("--dns-suffix %q is not a DNS name", c.DNSSuffix))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("--database-url must be empty (SQLite) or a postgres:// URL"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: %w", c.MetricsListen, err))
		}
	}
	if c.VaultRequestLimit < 0 {
		errs = append(errs, errors.New("--vault-request-limit must be 0 (no limit) or positive"))
	}
	if c.DeviceHeartbeat == 0 {
		c.DeviceHeartbeat = DefaultDeviceHeartbeat
	}
	if c.DeviceOfflineAfter == 0 {
		c.DeviceOfflineAfter = DefaultDeviceOfflineAfter
	}
	if c.DeviceHeartbeat < time.Second {
		errs = append(errs, errors.New("--device-heartbeat must be at least 1s"))
	}
	if c.DeviceOfflineAfter <= c.DeviceHeartbeat {
		errs = append(errs, errors.New("--device-offline-after must be longer than --device-heartbeat"))
	}
	if c.RootKeyFile == "" {
		c.RootKeyFile = filepath.Join(c.DataDir, "root.key")
	}
	return errors.Join(errs...)
}

// Level returns the slog level named by LogLevel.
func (c *Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

func (c *Config) listenPort() (string, int, error) {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, errors.New("bad port")
	}
	return host, p, nil
}

// Endpoints are the server's public URLs, derived from the DNS suffix and
// the port the clients reach (the listener's port).
type Endpoints struct {
	Suffix string
	Port   int
}

// Endpoints returns the public URLs for the given port (the bound port,
// which differs from the configured one when that is 0).
func (c *Config) Endpoints(port int) Endpoints { return Endpoints{Suffix: c.DNSSuffix, Port: port} }

// Host returns "name.S:P" (or "name.S" on 443); name "" gives the bare suffix.
func (e Endpoints) Host(name string) string {
	h := e.Suffix
	if name != "" {
		h = name + "." + h
	}
	if e.Port != 443 {
		h += ":" + strconv.Itoa(e.Port)
	}
	return h
}

// AuthorityHost is the login host with a trailing slash, as azidentity
// expects it.
func (e Endpoints) AuthorityHost() string { return "https://" + e.Host("login") + "/" }

// Management is the ARM endpoint, which is also its token audience.
func (e Endpoints) Management() string { return "https://" + e.Host("management") }

// VaultAudience is the Key Vault challenge resource. It must be a proper
// parent domain of every vault host with the same port, and have no
// trailing slash (reference/keyvault-wire.md §2.2).
func (e Endpoints) VaultAudience() string { return "https://" + e.Host("vault") }

// StorageAudience is the blob service's token audience.
func (e Endpoints) StorageAudience() string { return "https://" + e.Host("storage") }

// Device is the device API's base URL.
func (e Endpoints) Device() string { return "https://" + e.Host("device") }

// Portal is the web portal's URL.
func (e Endpoints) Portal() string { return "https://" + e.Host("portal") + "/" }

// Audiences lists every token audience the issuer accepts.
func (e Endpoints) Audiences() []string {
	return []string{e.Management(), e.VaultAudience(), e.StorageAudience()}
}

// LookupEnv is os.LookupEnv, named for callers of ApplyEnv.
var LookupEnv = os.LookupEnv
