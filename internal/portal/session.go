package portal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// Cookie names. The __Host- prefix makes the browser refuse the cookie
// unless it is Secure, has Path=/ and no Domain (RFC 6265bis §4.1.3.2),
// so no sibling host (a vault or blob host) can set or shadow it.
const (
	sessionCookie = "__Host-edgevault-session"
	signInCookie  = "__Host-edgevault-signin"
)

// session is one signed-in browser. Its fields after user are guarded by
// mu: two tabs may use one session at once.
type session struct {
	id      string
	csrf    string
	user    User
	created time.Time

	mu           sync.Mutex
	lastSeen     time.Time
	subscription string                // the user's subscription, once read
	ops          map[string]*operation // operations this session started, by id
}

// operation is a long-running operation the user started in this
// session: the portal follows it by the URLs the API gave, never by URLs
// from the browser.
type operation struct {
	id        string
	kind      string // generate | sync | delete | recover
	group     string
	name      string
	statusURL string
	resultURL string
	keyShown  bool // the activation key was displayed once
}

// sessions holds the sessions in memory, by id.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for u; expired sessions are dropped on the way.
func (s *sessions) create(u User) *session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), user: u, created: now, lastSeen: now, ops: map[string]*operation{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.m {
		if old.expired(now) {
			delete(s.m, id)
		}
	}
	s.m[ss.id] = ss
	return ss
}

// get returns the live session with id and marks it used; an expired one
// is deleted.
func (s *sessions) get(id string) (*session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return nil, false
	}
	if ss.expired(now) {
		delete(s.m, id)
		return nil, false
	}
	ss.mu.Lock()
	ss.lastSeen = now
	ss.mu.Unlock()
	return ss, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (ss *session) expired(now time.Time) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return now.Sub(ss.lastSeen) >= IdleTimeout || now.Sub(ss.created) >= AbsoluteTimeout
}

func (ss *session) addOperation(op *operation) {
	ss.mu.Lock()
	ss.ops[op.id] = op
	ss.mu.Unlock()
}

func (ss *session) operation(id string) (*operation, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	op, ok := ss.ops[id]
	return op, ok
}

// setCookie writes a __Host- cookie; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// equalToken compares tokens in constant time.
func equalToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type sessionKey struct{}

func sessionOf(ctx context.Context) *session {
	ss, _ := ctx.Value(sessionKey{}).(*session)
	return ss
}

// auth runs next with the request's session; without one, a GET is sent
// to the sign-in page and anything else is refused. A POST must carry the
// session's CSRF token.
func (h *Handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var ss *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			ss, _ = h.sessions.get(c.Value)
		}
		if ss == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "Your session has ended", "Sign in again to continue.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !equalToken(r.PostFormValue("csrf"), ss.csrf) {
				h.fail(w, r, http.StatusForbidden, "The form has expired",
					"The page was out of date or did not come from this portal. Reload it and try again.")
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, ss)))
	}
}

// signInForm shows the sign-in form with a fresh double-submit token: a
// sign-in is a state change too (login CSRF would sign the victim in as
// the attacker).
func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) {
	h.showSignIn(w, r, http.StatusOK, "", "")
}

func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, status int, userName, problem string) {
	tok := randomToken()
	setCookie(w, signInCookie, tok, 600)
	h.render(w, r, status, "signin", map[string]any{"CSRF": tok, "UserName": userName, "Problem": problem})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(signInCookie)
	if err != nil || !equalToken(r.PostFormValue("csrf"), c.Value) {
		h.fail(w, r, http.StatusForbidden, "The form has expired",
			"The sign-in page was out of date or did not come from this portal. Reload it and try again.")
		return
	}
	name := r.PostFormValue("username")
	pw := r.PostFormValue("password")
	if name == "" || pw == "" {
		h.showSignIn(w, r, http.StatusBadRequest, name, "Enter your user name and password.")
		return
	}
	u, err := h.cfg.Auth.SignIn(r.Context(), name, sensitive.New(pw))
	if err != nil {
		if errors.Is(err, ErrBadCredentials) {
			h.showSignIn(w, r, http.StatusUnauthorized, name, "The user name or password is wrong.")
			return
		}
		h.internal(w, r, err)
		return
	}
	// A new id at every sign-in: an id planted before sign-in is useless.
	if old, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.delete(old.Value)
	}
	ss := h.sessions.create(u)
	setCookie(w, signInCookie, "", -1)
	setCookie(w, sessionCookie, ss.id, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	h.sessions.delete(sessionOf(r.Context()).id)
	setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
