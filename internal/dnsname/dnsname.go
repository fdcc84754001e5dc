// Package dnsname checks host names: the rules every surface shares for
// the DNS suffix and for the vault and account labels in front of it.
// Names here are lowercase ASCII (RFC 1123 host names); callers lowercase
// first. Unicode is refused on purpose, so that no look-alike character
// (the Kelvin sign for "k") can name a vault.
package dnsname

import (
	"net/netip"
	"strings"
)

// ValidLabel reports whether l is a lowercase RFC 1123 label: 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen.
func ValidLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range []byte(l) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ValidName reports whether s is a lowercase host name of at most 253
// characters made of valid labels, and not an IP address.
func ValidName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !ValidLabel(label) {
			return false
		}
	}
	return true
}
