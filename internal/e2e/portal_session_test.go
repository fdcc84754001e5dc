package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/portal"
	"github.com/edgevault/edgevault/internal/store"
)

// portalSessionCookie is the portal's session cookie (internal/portal).
const portalSessionCookie = "__Host-edgevault-session"

// Portal sessions live in the database: a restart signs no one out, the
// database holds only the SHA-256 of the cookie, sign-out deletes the row,
// and an expired session is refused and deleted. On SQLite and, when
// EDGEVAULT_TEST_POSTGRES_URL is set, on PostgreSQL.
func TestPortalSessionInDatabase(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) { testPortalSessionInDatabase(t, db.url(t)) })
	}
}

func testPortalSessionInDatabase(t *testing.T, databaseURL string) {
	dir := t.TempDir()
	srv := startInProcessDB(t, dir, "127.0.0.1:0", databaseURL, &syncBuffer{})
	p := signInPortal(t, srv, srv.boot.Admin.Username, srv.boot.Admin.Password)
	id := p.sessionID()
	csrf := p.csrf

	// Restarted (on another port, as another replica would be), the server
	// knows the session, and its CSRF token is the same.
	srv.stop()
	srv = startInProcessDB(t, dir, "127.0.0.1:0", databaseURL, &syncBuffer{})
	p.base = portalBase(t, srv)
	if status, page := p.get("/"); status != http.StatusOK || !strings.Contains(page, "Edge resources") {
		t.Fatalf("the session after a restart: %d\n%s", status, page)
	}
	if p.csrf != csrf {
		t.Errorf("the CSRF token changed across the restart")
	}

	// The database has the session under the cookie's SHA-256 only.
	st := openStore(t, dir, databaseURL)
	ps, err := st.PortalSession(t.Context(), sha256Of(id))
	if err != nil {
		t.Fatalf("no session under the SHA-256 of the cookie: %v", err)
	}
	if ps.UserName != srv.boot.Admin.Username || ps.UserObjectID == "" {
		t.Errorf("stored session: %+v", ps)
	}
	if _, err := st.PortalSession(t.Context(), []byte(id)); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("a session is stored under the cookie value itself: %v", err)
	}

	// Sign-out (a POST, so the CSRF token still works) deletes the row; the
	// old cookie is then sent to the sign-in page.
	if status, _, loc := p.post("/signout", nil); status != http.StatusSeeOther || loc != "/signin" {
		t.Fatalf("sign-out: %d to %q", status, loc)
	}
	if _, err := st.PortalSession(t.Context(), sha256Of(id)); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("the session's row after sign-out: %v", err)
	}
	old := portalWithSession(t, srv, id)
	if status, _, loc := old.getRedirect("/"); status != http.StatusSeeOther || loc != "/signin" {
		t.Errorf("the old cookie after sign-out: %d to %q", status, loc)
	}

	// A session past its 12 hours is refused and deleted. The test stores
	// it itself, under the hash of an id it chose: no clock to move.
	stale := randomSessionID(t)
	now := time.Now()
	if err := st.CreatePortalSession(t.Context(), store.PortalSession{IDHash: sha256Of(stale), UserObjectID: ps.UserObjectID,
		UserName: ps.UserName, TenantID: ps.TenantID, CreatedAt: now.Add(-portal.AbsoluteTimeout - time.Minute),
		LastSeenAt: now}); err != nil {
		t.Fatal(err)
	}
	if status, _, loc := portalWithSession(t, srv, stale).getRedirect("/"); status != http.StatusSeeOther || loc != "/signin" {
		t.Errorf("an expired session: %d to %q", status, loc)
	}
	if _, err := st.PortalSession(t.Context(), sha256Of(stale)); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("the expired session's row after its lookup: %v", err)
	}
	// The same, within its lifetime, is a session like any other: the
	// cookie is the id, the database the id's SHA-256.
	fresh := randomSessionID(t)
	if err := st.CreatePortalSession(t.Context(), store.PortalSession{IDHash: sha256Of(fresh), UserObjectID: ps.UserObjectID,
		UserName: ps.UserName, TenantID: ps.TenantID, CreatedAt: now, LastSeenAt: now}); err != nil {
		t.Fatal(err)
	}
	if status, _ := portalWithSession(t, srv, fresh).get("/"); status != http.StatusOK {
		t.Errorf("a live session stored under its hash: %d", status)
	}
}

// sessionID returns the session cookie the client's jar holds.
func (p *portalClient) sessionID() string {
	p.t.Helper()
	u, err := url.Parse(p.base)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range p.hc.Jar.Cookies(u) {
		if c.Name == portalSessionCookie {
			return c.Value
		}
	}
	p.t.Fatal("no portal session cookie")
	return ""
}

// getRedirect fetches path and returns the status, page and Location.
func (p *portalClient) getRedirect(path string) (int, string, string) {
	p.t.Helper()
	res, err := p.hc.Get(p.base + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	status, page := p.read(res)
	return status, page, res.Header.Get("Location")
}

// portalWithSession returns a portal client of srv whose browser holds
// the session cookie id.
func portalWithSession(t *testing.T, srv *inproc, id string) *portalClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := *srv.http
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := &portalClient{t: t, hc: &hc, base: portalBase(t, srv)}
	u, _ := url.Parse(p.base)
	jar.SetCookies(u, []*http.Cookie{{Name: portalSessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true}})
	return p
}

// portalBase is srv's portal URL on the port it listens on now (the
// bootstrap file names the port of the first start).
func portalBase(t *testing.T, srv *inproc) string {
	t.Helper()
	u, err := url.Parse(srv.boot.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return strings.TrimSuffix(u.String(), "/")
}

// openStore opens the server's database beside it (SQLite allows a second
// writer with WAL and busy_timeout); closed at the end of the test.
func openStore(t *testing.T, dir, databaseURL string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{URL: databaseURL, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// randomSessionID is an id of the portal's form: 256 bits, base64url.
func randomSessionID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
