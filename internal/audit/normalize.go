package audit

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Length limits, in bytes, for the text a record keeps. Longer text is cut
// at a character boundary rather than refused: an over-long User-Agent must
// not fail the request it describes.
const (
	maxShort = 64   // operation names, api-versions, reason phrases, claims, request ids
	maxMid   = 256  // client info, correlation ids, UPNs
	maxLong  = 2048 // URIs, result descriptions
)

// Times a record may carry: Unix nanoseconds cover 1678–2262, and nothing
// audited happened before 2000.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Normalize returns r in the form that is stored and hashed, or an
// errkind.Invalid error for a record no request could produce (a
// programming error: the caller fails the request). It
//   - requires OperationName (ASCII letters) and a Time in 2000–2200,
//     converted to UTC without a monotonic reading;
//   - defaults Category to AuditEvent;
//   - strips every query parameter but api-version and maxresults, and
//     any user information and fragment, from the URIs;
//   - replaces invalid UTF-8 and NUL (which PostgreSQL's text refuses, and
//     which would otherwise fail a whole batch) with U+FFFD and cuts text
//     to its length limit;
//   - lower-cases the caller's object id and unmaps IPv4-in-IPv6
//     addresses.
//
// Normalize is idempotent.
func Normalize(r Record) (Record, error) {
	if r.OperationName == "" || len(r.OperationName) > maxShort || !isLetters(string(r.OperationName)) {
		return Record{}, errkind.E(errkind.Invalid, "audit: invalid operation name %q", clean(string(r.OperationName), maxShort))
	}
	t, err := normalTime(r.Time)
	if err != nil {
		return Record{}, err
	}
	r.Time = t
	if r.Category == "" {
		r.Category = AuditEvent
	}
	r.Category = Category(clean(string(r.Category), maxShort))
	r.OperationVersion = clean(r.OperationVersion, maxShort)
	r.ResultType = ResultType(clean(string(r.ResultType), maxShort))
	r.ResultSignature = clean(r.ResultSignature, maxShort)
	r.ResultDescription = clean(r.ResultDescription, maxLong)
	r.DurationMs = max(r.DurationMs, 0)
	r.CallerIPAddress = r.CallerIPAddress.Unmap().WithZone("")
	r.CorrelationID = clean(r.CorrelationID, maxMid)
	r.RequestID = clean(r.RequestID, maxShort)

	id := &r.Identity
	id.TenantID = clean(id.TenantID, maxShort)
	id.ObjectID = strings.ToLower(clean(id.ObjectID, maxShort))
	id.AppID = clean(id.AppID, maxShort)
	id.UPN = clean(id.UPN, maxMid)
	id.IDType = clean(id.IDType, maxShort)

	p := &r.Properties
	p.ID = cleanURI(p.ID)
	p.RequestURI = cleanURI(p.RequestURI)
	if p.HTTPStatusCode < 0 || p.HTTPStatusCode > 999 {
		return Record{}, errkind.E(errkind.Invalid, "audit: invalid HTTP status %d", p.HTTPStatusCode)
	}
	p.ClientInfo = clean(p.ClientInfo, maxMid)
	p.TLSVersion = clean(p.TLSVersion, maxShort)
	if p.IsAccessPolicyMatch != nil {
		v := *p.IsAccessPolicyMatch // a copy: the caller's bool is not shared
		p.IsAccessPolicyMatch = &v
	}
	if sp := p.SecretProperties; sp != nil {
		a := *sp
		if a.NotBefore, err = optionalTime(a.NotBefore); err != nil {
			return Record{}, err
		}
		if a.Expires, err = optionalTime(a.Expires); err != nil {
			return Record{}, err
		}
		p.SecretProperties = &a
	}
	return r, nil
}

func normalTime(t time.Time) (time.Time, error) {
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, errkind.E(errkind.Invalid, "audit: time %s out of range", t.UTC().Format(time.RFC3339))
	}
	return t.UTC().Round(0), nil
}

func optionalTime(t time.Time) (time.Time, error) {
	if t.IsZero() {
		return time.Time{}, nil
	}
	return normalTime(t)
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// clean makes s storable text of at most n bytes: valid UTF-8 without NUL,
// cut at a character boundary.
func clean(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanURI keeps what an audit record may say about a URL: scheme, host,
// path, and the api-version and maxresults parameters when their values
// look like an api-version and a page size. Other query parameters could
// carry anything a client chose to put there (a skip token is opaque and
// could be replayed), so they are dropped whole, names included, as are
// user information and the fragment. It works on the text rather than
// re-serializing a parsed URL, so the path stays as the client sent it
// and cleaning twice changes nothing.
func cleanURI(s string) string {
	s = clean(s, 4*maxLong)
	s, _, _ = strings.Cut(s, "#")
	base, rawQuery, _ := strings.Cut(s, "?")
	if scheme, rest, ok := strings.Cut(base, "//"); ok && !strings.Contains(scheme, "/") {
		authority, path, slash := strings.Cut(rest, "/")
		if i := strings.LastIndexByte(authority, '@'); i >= 0 {
			authority = authority[i+1:]
		}
		if slash {
			path = "/" + path
		}
		base = scheme + "//" + authority + path
	}
	var version, maxResults string
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		switch {
		case err != nil:
		case version == "" && strings.EqualFold(key, "api-version") && isVersion(v):
			version = v
		case maxResults == "" && strings.EqualFold(key, "maxresults") && isPageSize(v):
			maxResults = v
		}
	}
	var query []string
	if version != "" {
		query = append(query, "api-version="+version)
	}
	if maxResults != "" {
		query = append(query, "maxresults="+maxResults)
	}
	if len(query) == 0 {
		return cutURI(base, maxLong)
	}
	q := "?" + strings.Join(query, "&")
	return cutURI(base, maxLong-len(q)) + q
}

// isPageSize reports whether v is a maxresults value: 1 to 4 digits.
func isPageSize(v string) bool {
	if v == "" || len(v) > 4 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// isVersion reports whether v looks like an api-version ("7.5",
// "2023-07-01", "7.6-preview.1"); anything else is not kept.
func isVersion(v string) bool {
	if v == "" || len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// cutURI cuts a URL to n bytes without leaving half a %-escape at the
// end.
func cutURI(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = clean(s, n)
	if i := strings.LastIndexByte(s, '%'); i >= 0 && i >= len(s)-2 {
		s = s[:i]
	}
	return s
}
