package blobapi

import (
	"errors"
	"testing"

	"github.com/edgevault/edgevault/internal/blob"
)

// FuzzParsePath: any path yields a valid container and blob name or an
// InvalidUri error, never a panic.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/", "", "/c", "/abc", "/abc/", "/abc/a%2Fb", "/abc/a/../b", "/abc/%zz", "/a--b/x", "//x",
		"/insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/X/y=2026/PT1H.json", "/abc/%C3%A9", "/abc/%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, b, err := ParsePath(p)
		if err != nil {
			if !errors.Is(err, errBadPath) || c != "" || b != "" {
				t.Fatalf("ParsePath(%q) = %q, %q, %v", p, c, b, err)
			}
			return
		}
		if c != "" && !blob.ValidContainerName(c) || b != "" && (c == "" || !blob.ValidBlobName(b)) {
			t.Fatalf("ParsePath(%q) = %q, %q: invalid names accepted", p, c, b)
		}
	})
}

// FuzzParseRange: a parsed range resolves within the blob or is
// unsatisfiable; a rejected one is InvalidHeaderValue.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=0-", "bytes=-5", "bytes=5-2", "bytes=0-1,2-3", "bytes=999999999999999999-",
		"bytes=9999999999999999999-", "items=0-1", "bytes= 1-2", "bytes=-0", ""} {
		f.Add(s, int64(17))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		r, err := ParseRange(v)
		if err != nil {
			if !errors.Is(err, errBadRange) {
				t.Fatalf("ParseRange(%q) error %v", v, err)
			}
			return
		}
		off, n, err := r.Resolve(size)
		if err != nil {
			if !errors.Is(err, errRangeNotSat) {
				t.Fatalf("Resolve(%q, %d) error %v", v, size, err)
			}
			return
		}
		if off < 0 || n <= 0 || off+n > size || off+n < off {
			t.Fatalf("Resolve(%q, %d) = %d, %d", v, size, off, n)
		}
	})
}

// FuzzMarker: a marker decodes to a valid name of its own listing, or is
// InvalidQueryParameterValue; an encoded one round-trips.
func FuzzMarker(f *testing.F) {
	f.Add("", "", "abc")
	f.Add("insights-logs-auditevent", "insights-logs-auditevent", "y=2026/PT1H.json")
	f.Add("abc", "abd", "x")
	f.Add("abc", "abc", "AAAA")
	f.Fuzz(func(t *testing.T, scope, other, last string) {
		// Scopes come from the route: "" or a valid container name.
		if scope != "" && !blob.ValidContainerName(scope) || other != "" && !blob.ValidContainerName(other) {
			return
		}
		if m := EncodeMarker(scope, last); true {
			got, err := DecodeMarker(scope, m)
			valid := blob.ValidBlobName(last)
			if scope == "" {
				valid = blob.ValidContainerName(last)
			}
			if valid && (err != nil || got != last) {
				t.Fatalf("round trip of %q/%q = %q, %v", scope, last, got, err)
			}
			if err == nil && other != scope {
				if _, err := DecodeMarker(other, m); err == nil {
					t.Fatalf("marker of %q accepted for %q", scope, other)
				}
			}
		}
		got, err := DecodeMarker(scope, last) // last as a forged marker
		if err != nil && !errors.Is(err, errBadQuery) {
			t.Fatalf("DecodeMarker(%q) error %v", last, err)
		}
		if err == nil && last != "" && got == "" {
			t.Fatalf("DecodeMarker(%q) accepted an empty name", last)
		}
	})
}
