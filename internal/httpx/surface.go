package httpx

import (
	"net/netip"
	"strings"

	"github.com/edgevault/edgevault/internal/dnsname"
)

// Surface is one of the APIs the server exposes, chosen by Host header.
type Surface uint8

// The surfaces of DESIGN.md §3. Unknown is the zero value, so a request that
// was never classified counts as unknown rather than as some real surface.
const (
	Unknown    Surface = iota // any host not listed below
	Login                     // login.S: OIDC and OAuth2 token endpoints
	Management                // management.S: the ARM API
	Vault                     // {name}.vault.S: Key Vault data plane
	Blob                      // {account}.blob.S: blob read API for audit logs
	Device                    // device.S: the device-facing API
	Portal                    // portal.S and S itself: the web portal
)

var surfaceNames = [...]string{
	Unknown:    "unknown",
	Login:      "login",
	Management: "management",
	Vault:      "vault",
	Blob:       "blob",
	Device:     "device",
	Portal:     "portal",
}

// String returns the surface's lowercase name, as used in logs and metric
// labels.
func (s Surface) String() string {
	if int(s) < len(surfaceNames) {
		return surfaceNames[s]
	}
	return "unknown"
}

// DefaultSuffix is the DNS suffix used when a Router has none. Browsers
// resolve *.localhost to loopback, and so do the project's own clients
// (RFC 6761 §6.3).
const DefaultSuffix = "localhost"

// Router classifies Host headers into surfaces for one DNS suffix.
type Router struct {
	// Suffix is the server's DNS suffix, e.g. "localhost" or
	// "edgevault.example.com". Case and a trailing dot do not matter; empty
	// means DefaultSuffix.
	Suffix string
}

// Classify returns the surface that serves host, and for Vault and Blob the
// vault or account name: the single DNS label in front of "vault.S" or
// "blob.S", lowercased.
//
// Any port is ignored, case is ignored and one trailing dot is tolerated,
// since clients legitimately send all three. IP literals (v4 or v6) are
// Unknown: every surface is named, and an IP cannot say which one.
func (rt Router) Classify(host string) (s Surface, label string) {
	host, ok := stripPort(host)
	if !ok {
		return Unknown, ""
	}
	host = strings.TrimSuffix(lowerASCII(host), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return Unknown, ""
	}
	suffix := rt.suffix()
	if host == suffix {
		return Portal, ""
	}
	prefix, ok := strings.CutSuffix(host, "."+suffix)
	if !ok {
		return Unknown, ""
	}
	switch prefix {
	case "login":
		return Login, ""
	case "management":
		return Management, ""
	case "device":
		return Device, ""
	case "portal":
		return Portal, ""
	}
	if name, ok := strings.CutSuffix(prefix, ".vault"); ok && dnsname.ValidLabel(name) {
		return Vault, name
	}
	if name, ok := strings.CutSuffix(prefix, ".blob"); ok && dnsname.ValidLabel(name) {
		return Blob, name
	}
	return Unknown, ""
}

// suffix returns the normalized suffix.
func (rt Router) suffix() string {
	s := strings.TrimSuffix(lowerASCII(rt.Suffix), ".")
	if s == "" {
		return DefaultSuffix
	}
	return s
}

// stripPort removes a ":port" from host. It refuses bracketed IPv6
// literals, bare IPv6 addresses and non-numeric ports, which no surface
// host can have.
func stripPort(host string) (string, bool) {
	if strings.HasPrefix(host, "[") {
		return "", false
	}
	i := strings.IndexByte(host, ':')
	if i < 0 {
		return host, true
	}
	port := host[i+1:]
	if len(port) > 5 {
		return "", false
	}
	for _, c := range []byte(port) {
		if c < '0' || c > '9' {
			return "", false // also catches a second colon
		}
	}
	return host[:i], true
}

// lowerASCII lowercases ASCII letters only. strings.ToLower would also fold
// non-ASCII look-alikes (the Kelvin sign K becomes k), letting a Unicode host
// name a vault; those must stay invalid instead.
func lowerASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if 'A' <= b[j] && b[j] <= 'Z' {
			b[j] += 'a' - 'A'
		}
	}
	return string(b)
}
