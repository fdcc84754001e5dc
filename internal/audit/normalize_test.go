package audit_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
)

func TestNormalizeRequestURI(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"https://v1.vault.localhost:8443/secrets/s1?api-version=7.5", "https://v1.vault.localhost:8443/secrets/s1?api-version=7.5"},
		{"https://v1.vault.localhost/secrets?maxresults=5&api-version=7.5&$skiptoken=abc", "https://v1.vault.localhost/secrets?api-version=7.5&maxresults=5"},
		{"https://v1.vault.localhost/secrets?maxresults=5x&$skiptoken=abc", "https://v1.vault.localhost/secrets"},
		{"https://v1.vault.localhost/secrets?maxresults=25", "https://v1.vault.localhost/secrets?maxresults=25"},
		{"https://v1.vault.localhost/secrets/s1?value=hunter2", "https://v1.vault.localhost/secrets/s1"},
		{"https://v1.vault.localhost/secrets/s1?hunter2", "https://v1.vault.localhost/secrets/s1"},
		{"https://v1.vault.localhost/secrets/s1?API-Version=7.4&api-version=7.5", "https://v1.vault.localhost/secrets/s1?api-version=7.4"},
		{"https://v1.vault.localhost/secrets/s1?x=1&api-version=", "https://v1.vault.localhost/secrets/s1"},
		{"https://u@v1.vault.localhost:8443", "https://v1.vault.localhost:8443"},
		{"https://v1.vault.localhost/a@b//c?api-version=7.5", "https://v1.vault.localhost/a@b//c?api-version=7.5"},
		{"https://v1.vault.localhost/secrets/s1?api-version=7.5%26x%3Dhunter2", "https://v1.vault.localhost/secrets/s1"},
		{"https://management.localhost/subscriptions/s?api-version=2023-07-01", "https://management.localhost/subscriptions/s?api-version=2023-07-01"},
		{"https://v1.vault.localhost/secrets?api-version=7.6-preview.1", "https://v1.vault.localhost/secrets?api-version=7.6-preview.1"},
		{"https://alice:pw@v1.vault.localhost/secrets/s1#frag", "https://v1.vault.localhost/secrets/s1"},
		{"/secrets/s1?api-version=7.5&x=1", "/secrets/s1?api-version=7.5"},
		{"https://v1.vault.localhost/secrets/a%2Fb?api-version=7.5", "https://v1.vault.localhost/secrets/a%2Fb?api-version=7.5"},
		{"https://v1.vault.localhost/%zz?secret=1", "https://v1.vault.localhost/%zz"}, // unparsable: cut at '?'
		{"https://v1.vault.localhost/s?", "https://v1.vault.localhost/s"},
	} {
		r := audit.Record{Time: at, OperationName: audit.SecretGet, Properties: audit.Properties{RequestURI: tt.in, ID: tt.in}}
		got, err := audit.Normalize(r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Properties.RequestURI != tt.want || got.Properties.ID != tt.want {
			t.Errorf("%q: RequestURI %q, ID %q; want %q", tt.in, got.Properties.RequestURI, got.Properties.ID, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	match := false
	in := audit.Record{
		Time:            time.Date(2026, 11, 26, 13, 0, 0, 0, local),
		OperationName:   audit.SecretGet,
		CallerIPAddress: netip.MustParseAddr("::ffff:192.0.2.7"),
		DurationMs:      -3,
		CorrelationID:   strings.Repeat("ü", 200), // 400 bytes
		Identity:        audit.Identity{ObjectID: "0B7A2C4E-0000-4000-8000-00000000000A"},
		Properties:      audit.Properties{ClientInfo: "a\x00b\xffc", IsAccessPolicyMatch: &match},
	}
	got, err := audit.Normalize(in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Time.Location() != time.UTC || !got.Time.Equal(in.Time) {
		t.Errorf("Time = %v", got.Time)
	}
	if got.Category != audit.AuditEvent || got.DurationMs != 0 || got.CallerIPAddress != netip.MustParseAddr("192.0.2.7") {
		t.Errorf("Category %q, DurationMs %d, CallerIPAddress %v", got.Category, got.DurationMs, got.CallerIPAddress)
	}
	if len(got.CorrelationID) != 256 || !utf8.ValidString(got.CorrelationID) {
		t.Errorf("CorrelationID cut to %d bytes (valid UTF-8: %v)", len(got.CorrelationID), utf8.ValidString(got.CorrelationID))
	}
	if got.Identity.ObjectID != "0b7a2c4e-0000-4000-8000-00000000000a" {
		t.Errorf("ObjectID = %q", got.Identity.ObjectID)
	}
	if got.Properties.ClientInfo != "a\uFFFDb\uFFFDc" {
		t.Errorf("ClientInfo = %q", got.Properties.ClientInfo)
	}
	if got.Properties.IsAccessPolicyMatch == in.Properties.IsAccessPolicyMatch {
		t.Error("the normalized record shares the caller's bool")
	}
	again, err := audit.Normalize(got)
	if err != nil || !cmp.Equal(again, got, recordCmp) {
		t.Errorf("Normalize is not idempotent: %s", cmp.Diff(got, again, recordCmp))
	}
}

// FuzzNormalize feeds untrusted request text (URL, User-Agent, client
// request id) through Normalize: it never fails on them, the result is
// storable text within its limits that keeps no query parameter but
// api-version, and normalizing again changes nothing (a stored record
// hashes the same when read back).
func FuzzNormalize(f *testing.F) {
	f.Add("https://v1.vault.localhost:8443/secrets/s1?api-version=7.5&x=1", "azsecrets/1.5.1", "c1")
	f.Add("https://u:p@h/%41%2F?api-version=%zz&api-version=7.5#f", "a\x00b", "\xff")
	f.Add("/a/b?;x=1&api-version=7.5;y", strings.Repeat("é", 300), strings.Repeat("x", 3000))
	f.Add(strings.Repeat("https://h/"+strings.Repeat("%41", 700), 1)+"?api-version=1", "", "")
	f.Fuzz(func(t *testing.T, uri, agent, correlation string) {
		r := audit.Record{Time: at, OperationName: audit.SecretGet, CorrelationID: correlation,
			Properties: audit.Properties{RequestURI: uri, ID: uri, ClientInfo: agent}}
		got, err := audit.Normalize(r)
		if err != nil {
			t.Fatalf("Normalize: %v", err)
		}
		for _, s := range []string{got.Properties.RequestURI, got.Properties.ID, got.Properties.ClientInfo, got.CorrelationID} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || len(s) > 2048 {
				t.Errorf("not storable: %q", s)
			}
		}
		if u, err := url.Parse(got.Properties.RequestURI); err == nil {
			for k := range u.Query() {
				if k != "api-version" && k != "maxresults" {
					t.Errorf("query parameter %q kept in %q", k, got.Properties.RequestURI)
				}
			}
		}
		again, err := audit.Normalize(got)
		if err != nil || !cmp.Equal(again, got, recordCmp) {
			t.Errorf("not idempotent: %s", cmp.Diff(got, again, recordCmp))
		}
	})
}
