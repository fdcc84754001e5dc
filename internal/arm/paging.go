package arm

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
)

// List is the ARM list envelope: {"value": [...], "nextLink": "..."}.
type List[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// Page is a parsed paging request: where to start and how many to return.
type Page struct {
	After string // the key of the last item of the previous page ("" for the first)
	Size  int
}

// DefaultPageSize is used when the client sends no $top.
const DefaultPageSize = 100

// MaxPageSize bounds $top.
const MaxPageSize = 1000

// ParsePage reads $skipToken (ours: base64url of the last key) and $top.
func ParsePage(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{Size: DefaultPageSize}
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return Page{}, &Error{Status: http.StatusBadRequest, Code: "InvalidParameter",
				Message: "The value of $top must be a positive integer."}
		}
		p.Size = min(n, MaxPageSize)
	}
	if tok := q.Get("$skipToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) == 0 {
			return Page{}, &Error{Status: http.StatusBadRequest, Code: "InvalidSkipToken",
				Message: "The $skipToken is invalid."}
		}
		p.After = string(b)
	}
	return p, nil
}

// NextLink returns the absolute URL of the page after the one that ended
// with lastKey: the request's URL with $skipToken replaced. base is the
// public endpoint ("https://management.S:P"); the request's own host is
// never trusted for it.
func NextLink(r *http.Request, base, lastKey string) string {
	q := r.URL.Query()
	q.Set("$skipToken", base64.RawURLEncoding.EncodeToString([]byte(lastKey)))
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return base + u.String()
}
