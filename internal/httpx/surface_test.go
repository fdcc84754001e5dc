package httpx

import (
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/dnsname"
)

type classifyResult struct {
	s     Surface
	label string
}

// classifyTests are Host headers and what the router must make of them.
var classifyTests = []struct {
	suffix, host string
	want         classifyResult
}{
	{"", "login.localhost", classifyResult{Login, ""}},
	{"", "LOGIN.LocalHost:8443", classifyResult{Login, ""}},
	{"", "login.localhost.", classifyResult{Login, ""}},
	{"", "login.localhost.:8443", classifyResult{Login, ""}},
	{"", "login.localhost:", classifyResult{Login, ""}},
	{"", "management.localhost:1", classifyResult{Management, ""}},
	{"", "device.localhost:8443", classifyResult{Device, ""}},
	{"", "portal.localhost", classifyResult{Portal, ""}},
	{"", "localhost", classifyResult{Portal, ""}},
	{"", "localhost:8443", classifyResult{Portal, ""}},
	{"", "myvault.vault.localhost:8443", classifyResult{Vault, "myvault"}},
	{"", "MyVault-2.VAULT.localhost", classifyResult{Vault, "myvault-2"}},
	{"", "a.vault.localhost", classifyResult{Vault, "a"}},
	{"", "0.vault.localhost", classifyResult{Vault, "0"}},
	{"", strings.Repeat("a", 63) + ".vault.localhost", classifyResult{Vault, strings.Repeat("a", 63)}},
	{"", "acct1.blob.localhost:8443", classifyResult{Blob, "acct1"}},
	{"localhost", "vault.vault.localhost", classifyResult{Vault, "vault"}},
	{"localhost", "login.blob.localhost", classifyResult{Blob, "login"}},

	// Unknown: no label, bad labels, other names.
	{"", "vault.localhost", classifyResult{Unknown, ""}},
	{"", "blob.localhost:8443", classifyResult{Unknown, ""}},
	{"", ".vault.localhost", classifyResult{Unknown, ""}},
	{"", "a.b.vault.localhost", classifyResult{Unknown, ""}},
	{"", "-a.vault.localhost", classifyResult{Unknown, ""}},
	{"", "a-.vault.localhost", classifyResult{Unknown, ""}},
	{"", "a_b.vault.localhost", classifyResult{Unknown, ""}},
	{"", "a b.vault.localhost", classifyResult{Unknown, ""}},
	{"", strings.Repeat("a", 64) + ".vault.localhost", classifyResult{Unknown, ""}},
	{"", "\u212Aey.vault.localhost", classifyResult{Unknown, ""}}, // Kelvin sign folds to k in Unicode
	{"", "x.login.localhost", classifyResult{Unknown, ""}},
	{"", "login.localhost..", classifyResult{Unknown, ""}},
	{"", "evillocalhost", classifyResult{Unknown, ""}},
	{"", "login.evillocalhost", classifyResult{Unknown, ""}},
	{"", "login.localhost.example.com", classifyResult{Unknown, ""}},
	{"", "example.com", classifyResult{Unknown, ""}},
	{"", "", classifyResult{Unknown, ""}},
	{"", ":8443", classifyResult{Unknown, ""}},

	// Ports that are not ports.
	{"", "login.localhost:abc", classifyResult{Unknown, ""}},
	{"", "login.localhost:123456", classifyResult{Unknown, ""}},
	{"", "login.localhost:8443:1", classifyResult{Unknown, ""}},

	// IP literals.
	{"", "127.0.0.1", classifyResult{Unknown, ""}},
	{"", "127.0.0.1:8443", classifyResult{Unknown, ""}},
	{"", "[::1]:8443", classifyResult{Unknown, ""}},
	{"", "[::1]", classifyResult{Unknown, ""}},
	{"", "::1", classifyResult{Unknown, ""}},
	{"", "[fe80::1%25eth0]:8443", classifyResult{Unknown, ""}},

	// Another suffix, spelt carelessly in the configuration.
	{"Edge.Example.COM.", "x.vault.edge.example.com:443", classifyResult{Vault, "x"}},
	{"Edge.Example.COM.", "edge.example.com", classifyResult{Portal, ""}},
	{"Edge.Example.COM.", "Portal.Edge.Example.com.", classifyResult{Portal, ""}},
	{"Edge.Example.COM.", "login.localhost", classifyResult{Unknown, ""}},
	{"Edge.Example.COM.", "localhost", classifyResult{Unknown, ""}},
	{"10.0.0.1", "10.0.0.1", classifyResult{Unknown, ""}},
}

func TestClassify(t *testing.T) {
	for _, tt := range classifyTests {
		s, label := Router{Suffix: tt.suffix}.Classify(tt.host)
		if got := (classifyResult{s, label}); got != tt.want {
			t.Errorf("Router{%q}.Classify(%q) = %v %q, want %v %q", tt.suffix, tt.host, s, label, tt.want.s, tt.want.label)
		}
	}
}

func TestSurfaceString(t *testing.T) {
	tests := map[Surface]string{
		Unknown: "unknown", Login: "login", Management: "management", Vault: "vault",
		Blob: "blob", Device: "device", Portal: "portal", Surface(200): "unknown",
	}
	for s, want := range tests {
		if got := s.String(); got != want {
			t.Errorf("Surface(%d).String() = %q, want %q", uint8(s), got, want)
		}
	}
}

// FuzzClassify checks the router's contract on arbitrary Host headers:
// it never panics, a label comes only with Vault or Blob and is a valid DNS
// label, and any valid label round-trips through a vault or blob host name.
func FuzzClassify(f *testing.F) {
	f.Add("myvault.vault.localhost:8443", "MyVault")
	f.Add("[::1]:8443", "-bad")
	f.Add("login.localhost.", "a")
	routers := []Router{{}, {Suffix: "Edge.Example.COM."}}
	f.Fuzz(func(t *testing.T, host, label string) {
		for _, rt := range routers {
			s, l := rt.Classify(host)
			if s > Portal {
				t.Fatalf("Classify(%q) = surface %d", host, s)
			}
			hasLabel := s == Vault || s == Blob
			if hasLabel != (l != "") || (hasLabel && !dnsname.ValidLabel(l)) {
				t.Fatalf("Classify(%q) = %v %q", host, s, l)
			}
			want := lowerASCII(label)
			if !dnsname.ValidLabel(want) {
				continue
			}
			for _, tc := range []struct {
				s    Surface
				host string
			}{
				{Vault, label + ".vault." + rt.suffix() + ":8443"},
				{Blob, label + ".blob." + strings.ToUpper(rt.suffix()) + "."},
			} {
				if s, l := rt.Classify(tc.host); s != tc.s || l != want {
					t.Fatalf("Classify(%q) = %v %q, want %v %q", tc.host, s, l, tc.s, want)
				}
			}
		}
	})
}
