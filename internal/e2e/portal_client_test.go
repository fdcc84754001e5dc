package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// portalClient is a signed-in portal session driven over HTTP, without a
// browser: the pages' forms posted as a browser would post them, cookies
// kept, redirects not followed (the test sees each 303).
type portalClient struct {
	t    testing.TB
	hc   *http.Client
	base string // https://portal.localhost:PORT (no trailing slash)
	csrf string // the session's CSRF token, read from the last page with a form
}

var portalCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInPortal signs user in to srv's portal.
func signInPortal(t testing.TB, srv *inproc, user, password string) *portalClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := *srv.http
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := &portalClient{t: t, hc: &hc, base: strings.TrimSuffix(srv.boot.PortalURL, "/")}
	if status, _ := p.get("/signin"); status != http.StatusOK {
		t.Fatalf("GET /signin: %d", status)
	}
	status, page, loc := p.post("/signin", url.Values{"username": {user}, "password": {password}})
	if status != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign in as %s: %d to %q\n%s", user, status, loc, page)
	}
	if status, _ := p.get("/"); status != http.StatusOK {
		t.Fatalf("GET / after sign-in: %d", status)
	}
	return p
}

// get fetches path and returns the status and the page.
func (p *portalClient) get(path string) (int, string) {
	p.t.Helper()
	res, err := p.hc.Get(p.base + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return p.read(res)
}

// post submits form to path with the session's CSRF token and returns
// the status, the page and the Location of a redirect.
func (p *portalClient) post(path string, form url.Values) (int, string, string) {
	p.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", p.csrf)
	res, err := p.hc.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatalf("POST %s: %v", path, err)
	}
	status, page := p.read(res)
	return status, page, res.Header.Get("Location")
}

func (p *portalClient) read(res *http.Response) (int, string) {
	p.t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	page := string(b)
	if m := portalCSRF.FindStringSubmatch(page); m != nil {
		p.csrf = m[1]
	}
	return res.StatusCode, page
}

func TestPortalClientSignIn(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", &syncBuffer{})
	p := signInPortal(t, srv, srv.boot.Admin.Username, srv.boot.Admin.Password)
	status, page := p.get("/")
	if status != http.StatusOK || !strings.Contains(page, "Edge resources") {
		t.Fatalf("%d\n%s", status, page)
	}
}
