package portal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingSessions is a SessionStore that counts the calls that write on
// every page view, and fails every call once fail is set.
type countingSessions struct {
	SessionStore
	mu      sync.Mutex
	touches int
	fail    error
}

func (c *countingSessions) failing() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail
}

func (c *countingSessions) Session(ctx context.Context, idHash []byte) (SessionRecord, error) {
	if err := c.failing(); err != nil {
		return SessionRecord{}, err
	}
	return c.SessionStore.Session(ctx, idHash)
}

func (c *countingSessions) TouchSession(ctx context.Context, idHash []byte, at time.Time) error {
	c.mu.Lock()
	c.touches++
	c.mu.Unlock()
	return c.SessionStore.TouchSession(ctx, idHash, at)
}

func (c *countingSessions) touched() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.touches
}

// replicas returns the fixture with its handler on store, and a second
// handler, another replica, on the same store, API and clock.
func replicas(t *testing.T, store SessionStore) (*fixture, *Handler) {
	t.Helper()
	f := newFixture(t)
	var hs [2]*Handler
	for i := range hs {
		h, err := New(Config{Auth: fakeAuth{}, API: f.api, ManagementHost: mgmtHost, VaultHost: vaultHost, Now: f.clock,
			Sessions: store})
		if err != nil {
			t.Fatal(err)
		}
		hs[i] = h
	}
	f.h = hs[0]
	return f, hs[1]
}

func (m *memorySessions) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// The store knows a session by the SHA-256 of its id, and holds neither
// the id nor the CSRF token, which is derived from the id.
func TestSessionStoreHoldsOnlyTheHash(t *testing.T) {
	st := newMemorySessions()
	f, _ := replicas(t, st)
	b, home := f.signIn(t)
	id := b.cookies[sessionCookie]
	h := sha256.Sum256([]byte(id))
	rec, err := st.Session(t.Context(), h[:])
	if err != nil {
		t.Fatalf("no session under SHA-256 of the cookie: %v", err)
	}
	if rec.User.ObjectID != aliceID || rec.User.Name != "alice" {
		t.Errorf("stored user %+v", rec.User)
	}
	tok := csrf(t, home)
	if tok != csrfToken(id) || tok == id || tok == base64.RawURLEncoding.EncodeToString(h[:]) {
		t.Errorf("CSRF token %q is not the HMAC of the id, or is the id or its stored hash", tok)
	}
	if len(tok) != sessionIDLen {
		t.Errorf("CSRF token %q is not 256 bits", tok)
	}
}

// A session, its operations and the shown-once activation key are shared
// by every portal on one store: the replicas of a scaled-out server.
func TestSessionSharedByReplicas(t *testing.T) {
	f, other := replicas(t, newMemorySessions())
	b, _ := f.signIn(t)
	a := f.h
	b.h = other
	res, ov := b.do("GET", "/resources/rg1/dev1", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the session on the other replica: %d", res.StatusCode)
	}
	// Started on one replica, followed on the other.
	res, _ = b.do("POST", "/resources/rg1/dev1/generate", url.Values{"csrf": {csrf(t, ov)}, "keyVaultName": {"kv-one"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operations/op1" {
		t.Fatalf("generate: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	f.api.mu.Lock()
	f.api.opStatus = "Succeeded"
	f.api.mu.Unlock()
	// Many loads of the result page at once, on both replicas: the key is
	// in exactly one of them.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		shown int
	)
	for i := range 8 {
		h := []*Handler{a, other}[i%2]
		wg.Go(func() {
			bb := &browser{t: t, h: h, cookies: map[string]string{sessionCookie: b.cookies[sessionCookie]}}
			res, page := bb.do("GET", "/operations/op1", nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("result page: %d", res.StatusCode)
			}
			if strings.Contains(page, keyVal) {
				mu.Lock()
				shown++
				mu.Unlock()
			} else if !strings.Contains(page, "already shown") {
				t.Errorf("a page neither shows the key nor says it was shown:\n%s", page)
			}
		})
	}
	wg.Wait()
	if shown != 1 {
		t.Errorf("the activation key was shown %d times", shown)
	}
	// Signed out on one replica, signed out on both.
	id := b.cookies[sessionCookie]
	_, home := b.do("GET", "/", nil)
	if res, _ := b.do("POST", "/signout", url.Values{"csrf": {csrf(t, home)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	stale := &browser{t: t, h: a, cookies: map[string]string{sessionCookie: id}}
	if res, _ := stale.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("after sign-out on the other replica: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// Page views within a minute of the last stored use write nothing; expiry
// still holds to within that minute.
func TestLastSeenThrottled(t *testing.T) {
	st := &countingSessions{SessionStore: newMemorySessions()}
	f, _ := replicas(t, st)
	b, _ := f.signIn(t)
	n := st.touched()
	for range 5 {
		f.advance(10 * time.Second)
		if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("GET /: %d", res.StatusCode)
		}
	}
	if got := st.touched() - n; got != 0 {
		t.Errorf("%d writes of last use within the first minute, want 0", got)
	}
	f.advance(10 * time.Second) // a minute since sign-in
	b.do("GET", "/", nil)
	b.do("GET", "/", nil)
	if got := st.touched() - n; got != 1 {
		t.Errorf("%d writes of last use after a minute, want 1", got)
	}
	// Used at 1:00 (stored) and at 1:50 (not stored): idle from 1:00.
	f.advance(50 * time.Second)
	b.do("GET", "/", nil)
	f.advance(IdleTimeout - 50*time.Second - time.Nanosecond)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("just under 30 minutes after the stored use: %d", res.StatusCode)
	}
	f.advance(IdleTimeout)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("30 idle minutes: %d", res.StatusCode)
	}
}

// An expired session is deleted when looked up, and every sign-in sweeps
// away the sessions that expired without being looked up.
func TestExpiredSessionsDeleted(t *testing.T) {
	st := newMemorySessions()
	f, _ := replicas(t, st)
	b, _ := f.signIn(t)
	f.advance(IdleTimeout)
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("expired session: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if n := st.len(); n != 0 {
		t.Errorf("%d sessions stored after the expired one was looked up", n)
	}
	f.signIn(t)
	f.signIn(t)
	f.advance(IdleTimeout)
	f.signIn(t)
	if n := st.len(); n != 1 {
		t.Errorf("%d sessions stored after a sign-in swept, want 1", n)
	}
}

// A store that fails is a failed request, not a sign-out: the cookie stays.
func TestSessionStoreFailure(t *testing.T) {
	st := &countingSessions{SessionStore: newMemorySessions()}
	f, _ := replicas(t, st)
	b, _ := f.signIn(t)
	st.mu.Lock()
	st.fail = errors.New("database unreachable")
	st.mu.Unlock()
	res, page := b.do("GET", "/", nil)
	if res.StatusCode != http.StatusInternalServerError || !strings.Contains(page, "Something went wrong") ||
		strings.Contains(page, "database unreachable") {
		t.Errorf("GET / with the store down: %d\n%s", res.StatusCode, page)
	}
	if b.cookies[sessionCookie] == "" {
		t.Error("the store's failure deleted the session cookie")
	}
}
