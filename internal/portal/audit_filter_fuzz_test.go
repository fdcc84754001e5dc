package portal

import (
	"net/url"
	"testing"
	"time"
)

// FuzzReadAuditForm: any query string of the audit-log page is read
// without panicking; an accepted one yields an API query of known
// parameters only, and the page's own links (first page and next page)
// are accepted again and ask the API the same question.
func FuzzReadAuditForm(f *testing.F) {
	for _, seed := range []string{
		"", "range=1h", "range=custom&since=2026-11-27T09:30&until=2026-11-27T10:00:05",
		"range=7d&operation=SecretGet&caller=ABCDEF00-0000-0000-0000-000000000001&result=Failure&order=oldest&top=2&page=MTIz",
		"range=all&page=a%20b", "since=2026-11-27T09:30:00Z&until=2026-11-27T09:00", "caller=a@b", "order=sideways",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	allowed := map[string]bool{"since": true, "until": true, "operation": true, "caller": true, "result": true,
		"$top": true, "$skipToken": true, "order": true}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		form, problems := readAuditForm(q, now)
		if problems != nil {
			return
		}
		api := form.apiQuery()
		for k := range api {
			if !allowed[k] {
				t.Fatalf("the API query has %q (from %q)", k, raw)
			}
		}
		for _, token := range []string{"", form.Page} {
			again, problems := readAuditForm(form.linkQuery(token), now)
			if problems != nil {
				t.Fatalf("the page's own link %q is refused: %v", form.linkQuery(token).Encode(), problems)
			}
			want := form.apiQuery()
			want.Del("$skipToken")
			if token != "" {
				want.Set("$skipToken", token)
			}
			if got := again.apiQuery(); got.Encode() != want.Encode() {
				t.Fatalf("link %q asks %q, the page asked %q", form.linkQuery(token).Encode(), got.Encode(), want.Encode())
			}
		}
	})
}
