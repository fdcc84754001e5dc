package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// mustCreate creates a bundle in a fresh directory.
func mustCreate(t *testing.T, suffix string, now time.Time) (string, *Bundle) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	b, err := LoadOrCreate(dir, suffix, now)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	return dir, b
}

func TestLoadOrCreateReuse(t *testing.T) {
	dir, first := mustCreate(t, "localhost", t0)
	// The same suffix spelt differently must not count as a change.
	second, err := LoadOrCreate(dir, "LocalHost.", t0.Add(day))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := second.CA.Fingerprint(), first.CA.Fingerprint(); got != want {
		t.Errorf("CA fingerprint changed on reuse: %s, want %s", got, want)
	}
	if got, want := second.Server.Leaf.SerialNumber, first.Server.Leaf.SerialNumber; got.Cmp(want) != 0 {
		t.Errorf("server serial changed on reuse: %v, want %v", got, want)
	}
	if !second.CA.key.Equal(first.CA.key) {
		t.Error("CA key changed on reuse")
	}
	if second.Dir != first.Dir || !filepath.IsAbs(second.Dir) {
		t.Errorf("Dir = %q, %q; want the same absolute path", first.Dir, second.Dir)
	}
}

func TestLoadOrCreateRegenerates(t *testing.T) {
	tests := []struct {
		name        string
		suffix      string
		now         time.Time
		wantReissue bool
	}{
		{"same suffix next day", "localhost", t0.Add(day), false},
		{"31 days before expiry", "localhost", t0.Add(serverValidity - 31*day), false},
		{"29 days before expiry", "localhost", t0.Add(serverValidity - 29*day), true},
		{"expired", "localhost", t0.Add(serverValidity + day), true},
		{"clock before NotBefore", "localhost", t0.Add(-time.Hour), true},
		{"suffix changed", "edge.example.com", t0.Add(day), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, first := mustCreate(t, "localhost", t0)
			got, err := LoadOrCreate(dir, tt.suffix, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if got.CA.Fingerprint() != first.CA.Fingerprint() {
				t.Error("CA changed; only the server certificate may be reissued")
			}
			reissued := got.Server.Leaf.SerialNumber.Cmp(first.Server.Leaf.SerialNumber) != 0
			if reissued != tt.wantReissue {
				t.Errorf("reissued = %v, want %v", reissued, tt.wantReissue)
			}
			if diff := cmp.Diff(ServerNames(tt.suffix), got.Server.Leaf.DNSNames); diff != "" {
				t.Errorf("DNS names (-want +got):\n%s", diff)
			}
			// What was issued is what the next start finds.
			again, err := LoadOrCreate(dir, tt.suffix, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if again.Server.Leaf.SerialNumber.Cmp(got.Server.Leaf.SerialNumber) != 0 {
				t.Error("reissued certificate was not persisted")
			}
		})
	}
}

func TestLoadOrCreateServerRepair(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
	}{
		{"server.pem missing", func(t *testing.T, dir string) { remove(t, dir, ServerCertFile) }},
		{"server.key missing", func(t *testing.T, dir string) { remove(t, dir, ServerKeyFile) }},
		{"key and cert do not match", func(t *testing.T, dir string) {
			// A crash between the two renames of a reissue leaves this.
			other, _ := mustCreate(t, "localhost", t0)
			copyFile(t, filepath.Join(other, ServerKeyFile), filepath.Join(dir, ServerKeyFile), 0o600)
		}},
		{"server.pem garbage", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, ServerCertFile), "not a certificate", 0o644)
		}},
		{"signed by another CA", func(t *testing.T, dir string) {
			other, _ := mustCreate(t, "localhost", t0)
			copyFile(t, filepath.Join(other, ServerKeyFile), filepath.Join(dir, ServerKeyFile), 0o600)
			copyFile(t, filepath.Join(other, ServerCertFile), filepath.Join(dir, ServerCertFile), 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, first := mustCreate(t, "localhost", t0)
			tt.corrupt(t, dir)
			got, err := LoadOrCreate(dir, "localhost", t0)
			if err != nil {
				t.Fatal(err)
			}
			if got.CA.Fingerprint() != first.CA.Fingerprint() {
				t.Error("CA changed")
			}
			if err := got.Server.Leaf.CheckSignatureFrom(got.CA.Cert); err != nil {
				t.Errorf("server certificate not signed by the CA: %v", err)
			}
		})
	}
}

func TestLoadOrCreateCAFiles(t *testing.T) {
	t.Run("ca.key missing is an error", func(t *testing.T) {
		dir, _ := mustCreate(t, "localhost", t0)
		remove(t, dir, CAKeyFile)
		_, err := LoadOrCreate(dir, "localhost", t0)
		if err == nil || !strings.Contains(err.Error(), "ca.key is missing") {
			t.Fatalf("err = %v, want one naming the missing ca.key", err)
		}
		if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); err == nil {
			t.Error("a new CA key was written")
		}
	})
	t.Run("ca.pem missing keeps the key", func(t *testing.T) {
		dir, first := mustCreate(t, "localhost", t0)
		remove(t, dir, CACertFile)
		got, err := LoadOrCreate(dir, "localhost", t0)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CA.key.Equal(first.CA.key) {
			t.Error("CA key replaced")
		}
		if err := got.Server.Leaf.CheckSignatureFrom(got.CA.Cert); err != nil {
			t.Errorf("server certificate does not verify under the new CA certificate: %v", err)
		}
	})
	t.Run("CA expired", func(t *testing.T) {
		dir, _ := mustCreate(t, "localhost", t0)
		_, err := LoadOrCreate(dir, "localhost", t0.AddDate(caValidity, 0, 1))
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v, want CA expired", err)
		}
	})
}

func TestKeyFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir, _ := mustCreate(t, "localhost", t0)
	want := map[string]fs.FileMode{
		".":            0o700,
		CAKeyFile:      0o600,
		ServerKeyFile:  0o600,
		CACertFile:     0o644,
		ServerCertFile: 0o644,
	}
	got := map[string]fs.FileMode{".": stat(t, dir).Mode().Perm()}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got[e.Name()] = stat(t, filepath.Join(dir, e.Name())).Mode().Perm()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-want +got), no temp files may remain:\n%s", diff)
	}
}

func TestKeyFileModeRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	tests := []struct {
		file    string
		mode    fs.FileMode
		wantErr bool
	}{
		{CAKeyFile, 0o640, true},
		{CAKeyFile, 0o604, true},
		{CAKeyFile, 0o700, true},
		{CAKeyFile, 0o400, false},
		{ServerKeyFile, 0o644, true},
		{ServerKeyFile, 0o660, true},
		{ServerKeyFile, 0o400, false},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.mode.String(), func(t *testing.T) {
			dir, _ := mustCreate(t, "localhost", t0)
			if err := os.Chmod(filepath.Join(dir, tt.file), tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreate(dir, "localhost", t0)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "more open than 0600") {
				t.Errorf("err = %v, want it to say why", err)
			}
		})
	}
}

func TestCertificateProfiles(t *testing.T) {
	_, b := mustCreate(t, "localhost", t0)
	ca, leaf := b.CA.Cert, b.Server.Leaf
	type profile struct {
		IsCA, MaxPathLenZero bool
		MaxPathLen           int
		Curve                string
		CNPrefix             string
		Validity             time.Duration
	}
	curve := func(c *x509.Certificate) string {
		return c.PublicKey.(*ecdsa.PublicKey).Curve.Params().Name
	}
	got := []profile{
		{ca.IsCA, ca.MaxPathLenZero, ca.MaxPathLen, curve(ca), ca.Subject.CommonName[:19], ca.NotAfter.Sub(t0)},
		{leaf.IsCA, false, 0, curve(leaf), leaf.Subject.CommonName, leaf.NotAfter.Sub(t0)},
	}
	want := []profile{
		{true, true, 0, elliptic.P256().Params().Name, "edgevault local CA ", t0.AddDate(10, 0, 0).Sub(t0)},
		{false, false, 0, elliptic.P256().Params().Name, "localhost", serverValidity},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) > 398*day {
		t.Errorf("server validity %v exceeds 398 days", leaf.NotAfter.Sub(leaf.NotBefore))
	}
	if len(ca.Subject.CommonName) <= 19 {
		t.Errorf("CA name %q has no random part", ca.Subject.CommonName)
	}
}

func TestServerCertificateVerifies(t *testing.T) {
	for _, suffix := range []string{"localhost", "edge.example.com"} {
		t.Run(suffix, func(t *testing.T) {
			_, b := mustCreate(t, suffix, t0)
			var hosts []string
			for _, n := range ServerNames(suffix) {
				hosts = append(hosts, strings.Replace(n, "*", "myvault-1", 1))
			}
			hosts = append(hosts, "127.0.0.1", "::1")
			for _, h := range hosts {
				if err := verify(b, h); err != nil {
					t.Errorf("Verify(%q): %v", h, err)
				}
			}
			for _, h := range []string{"a.b.vault." + suffix, "example.org", "10.0.0.1"} {
				if verify(b, h) == nil {
					t.Errorf("Verify(%q) succeeded, want failure", h)
				}
			}
		})
	}
}

func verify(b *Bundle, host string) error {
	_, err := b.Server.Leaf.Verify(x509.VerifyOptions{
		DNSName:     host,
		Roots:       b.CA.Pool(),
		CurrentTime: t0.Add(time.Hour),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// TestTLSHandshake serves HTTPS with the bundle's configuration and connects
// the way a client that trusts ca.pem does, by a per-vault host name.
func TestTLSHandshake(t *testing.T) {
	_, b := mustCreate(t, "localhost", time.Now())
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Host))
	}))
	ts.TLS = b.TLSConfig()
	ts.StartTLS()
	defer ts.Close()

	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: b.CA.Pool(), MaxVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ts.Listener.Addr().String())
		},
	}}
	resp, err := client.Get("https://myvault.vault.localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS.Version != tls.VersionTLS12 {
		t.Errorf("TLS version %x, want 1.2 accepted", resp.TLS.Version)
	}
	if got := b.TLSConfig().MinVersion; got != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", got)
	}
}

func TestFingerprintAndCAFile(t *testing.T) {
	_, b := mustCreate(t, "localhost", t0)
	data, err := os.ReadFile(b.CACertFile())
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(b.CACertFile()) {
		t.Errorf("CACertFile() = %q, want an absolute path", b.CACertFile())
	}
	if diff := cmp.Diff(string(b.CA.CertPEM()), string(data)); diff != "" {
		t.Errorf("CertPEM differs from ca.pem:\n%s", diff)
	}
	blk, _ := pem.Decode(data)
	sum := sha256.Sum256(blk.Bytes)
	if got, want := b.CA.Fingerprint(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Fingerprint() = %s, want %s", got, want)
	}
}

func TestLoadFiles(t *testing.T) {
	dir, b := mustCreate(t, "localhost", t0)
	chain := filepath.Join(dir, "chain.pem")
	srv, _ := os.ReadFile(filepath.Join(dir, ServerCertFile))
	write(t, chain, string(srv)+string(b.CA.CertPEM()), 0o644)
	otherDir, _ := mustCreate(t, "localhost", t0)

	tests := []struct {
		name      string
		cert, key string
		wantChain int // 0: want an error
	}{
		{"leaf only", filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile), 1},
		{"leaf and CA", chain, filepath.Join(dir, ServerKeyFile), 2},
		{"key mismatch", chain, filepath.Join(otherDir, ServerKeyFile), 0},
		{"missing file", filepath.Join(dir, "nope.pem"), filepath.Join(dir, ServerKeyFile), 0},
		{"key given as cert", filepath.Join(dir, ServerKeyFile), filepath.Join(dir, ServerKeyFile), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadFiles(tt.cert, tt.key)
			if tt.wantChain == 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Certificate) != tt.wantChain || got.Leaf == nil {
				t.Errorf("chain %d, leaf %v; want %d and a leaf", len(got.Certificate), got.Leaf != nil, tt.wantChain)
			}
		})
	}
}

func TestNormalizeSuffix(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"localhost", "localhost"},
		{"Edge.Example.COM.", "edge.example.com"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"", ""},
		{".", ""},
		{"127.0.0.1", ""},
		{"::1", ""},
		{"a..b", ""},
		{"-a.example", ""},
		{"a-.example", ""},
		{"ex_ample.com", ""},
		{"localhost:8443", ""},
		{"*.example.com", ""},
		{strings.Repeat("a", 64) + ".com", ""},
		{strings.Repeat("abcdefghi.", 25) + "com", ""},
	}
	for _, tt := range tests {
		got, err := normalizeSuffix(tt.in)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("normalizeSuffix(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := LoadOrCreate(t.TempDir(), "bad_suffix", t0); err == nil {
		t.Error("LoadOrCreate accepted an invalid suffix")
	}
}

func TestServerNames(t *testing.T) {
	tests := []struct {
		suffix string
		want   []string
	}{
		{"localhost", []string{
			"localhost", "*.localhost", "login.localhost", "management.localhost", "device.localhost",
			"portal.localhost", "vault.localhost", "*.vault.localhost", "blob.localhost", "*.blob.localhost",
		}},
		{"ev.example", []string{
			"ev.example", "*.ev.example", "login.ev.example", "management.ev.example", "device.ev.example",
			"portal.ev.example", "vault.ev.example", "*.vault.ev.example", "blob.ev.example", "*.blob.ev.example",
			"localhost", "*.localhost",
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ServerNames(tt.suffix)); diff != "" {
			t.Errorf("ServerNames(%q) (-want +got):\n%s", tt.suffix, diff)
		}
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string, mode fs.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(data), mode)
}

func stat(t *testing.T, path string) fs.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
