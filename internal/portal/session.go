package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// Cookie names. The __Host- prefix makes the browser refuse the cookie
// unless it is Secure, has Path=/ and no Domain (RFC 6265bis §4.1.3.2),
// so no sibling host (a vault or blob host) can set or shadow it.
const (
	sessionCookie = "__Host-edgevault-session"
	signInCookie  = "__Host-edgevault-signin"
)

// lastSeenGranularity is how stale a session's stored last use may be:
// a request writes it only when the stored one is older, so page views
// are mostly reads. Idle expiry is therefore exact to within it, on the
// safe side: a session may end up to a minute before IdleTimeout after
// its last request, never after.
const lastSeenGranularity = time.Minute

// session is one signed-in browser, as one request sees it: read from the
// SessionStore when the request began. Changes (the subscription, a new
// operation, an activation key shown) are written through to the store at
// once, so the next request, on any replica, sees them. The fields after
// mu are guarded by it.
type session struct {
	id       string // the cookie value; the store keeps only hashID(id)
	hash     []byte
	csrf     string
	user     User
	created  time.Time
	lastSeen time.Time
	store    *sessions

	mu           sync.Mutex
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

// sessions finds, starts and ends sessions in a SessionStore, and owns
// the rules: ids, CSRF tokens, expiry.
type sessions struct {
	now   func() time.Time
	store SessionStore
	log   *slog.Logger
}

func newSessions(now func() time.Time, store SessionStore, log *slog.Logger) *sessions {
	if store == nil {
		store = newMemorySessions()
	}
	return &sessions{now: now, store: store, log: log}
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionIDLen is the length of randomToken's text; a cookie of any other
// length is not looked up.
const sessionIDLen = 43

// hashID is what the store knows a session by: SHA-256 of its id, so a
// copy of the store lets no one present a session cookie.
func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// csrfToken derives the session's CSRF token from its id: HMAC-SHA256
// keyed with the id (256 random bits) over a fixed label. Nobody without
// the id can compute it, it needs no key of the server's own for every
// replica to share, and it is stored nowhere: the store's SHA-256 of the
// id is a different function of it, and reveals neither.
func csrfToken(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("edgevault portal CSRF token v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// expired says whether a session created and last seen at these times has
// ended at now.
func expired(created, lastSeen, now time.Time) bool {
	return now.Sub(lastSeen) >= IdleTimeout || now.Sub(created) >= AbsoluteTimeout
}

// create starts a session for u. Sessions that expired meanwhile are
// swept on the way: a sign-in is rare enough to pay for one indexed
// DELETE, and after it the store holds no session older than
// AbsoluteTimeout, so the table stays as small as the sign-ins of the
// last 12 hours without a goroutine of its own.
func (s *sessions) create(ctx context.Context, u User) (*session, error) {
	now := s.now()
	if err := s.store.DeleteExpiredSessions(ctx, now.Add(-IdleTimeout), now.Add(-AbsoluteTimeout)); err != nil {
		return nil, err
	}
	id := randomToken()
	rec := SessionRecord{IDHash: hashID(id), User: u, Created: now, LastSeen: now}
	if err := s.store.CreateSession(ctx, rec); err != nil {
		return nil, err
	}
	return s.session(ctx, id, rec), nil
}

// get returns the live session with id (nil if there is none) and marks
// it used, at most once per lastSeenGranularity; an expired one is
// deleted.
func (s *sessions) get(ctx context.Context, id string) (*session, error) {
	if len(id) != sessionIDLen {
		return nil, nil
	}
	hash := hashID(id)
	rec, err := s.store.Session(ctx, hash)
	if errkind.KindOf(err) == errkind.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if expired(rec.Created, rec.LastSeen, now) {
		return nil, s.store.DeleteSession(ctx, hash)
	}
	if now.Sub(rec.LastSeen) >= lastSeenGranularity {
		if err := s.store.TouchSession(ctx, hash, now); err != nil {
			return nil, err
		}
		rec.LastSeen = now
	}
	return s.session(ctx, id, rec), nil
}

func (s *sessions) delete(ctx context.Context, id string) error {
	return s.store.DeleteSession(ctx, hashID(id))
}

// session makes the request's view of the stored session rec.
func (s *sessions) session(ctx context.Context, id string, rec SessionRecord) *session {
	ss := &session{id: id, hash: rec.IDHash, csrf: csrfToken(id), user: rec.User, created: rec.Created,
		lastSeen: rec.LastSeen, store: s, subscription: rec.Subscription,
		ops: make(map[string]*operation, len(rec.Operations))}
	for _, o := range rec.Operations {
		ss.ops[o.ID] = &operation{id: o.ID, kind: o.Kind, group: o.Group, name: o.Name, statusURL: o.StatusURL,
			resultURL: o.ResultURL, keyShown: o.KeyShown}
	}
	return ss
}

// addOperation records op in the session, in the store at once so that
// the progress page finds it on any replica. An operation the session
// already holds (the API answered a repeated request with the same one)
// stays as it is.
func (ss *session) addOperation(ctx context.Context, op *operation) error {
	ss.mu.Lock()
	_, held := ss.ops[op.id]
	if !held {
		ss.ops[op.id] = op
	}
	ss.mu.Unlock()
	err := ss.store.store.AddSessionOperation(ctx, ss.hash, OperationRecord{ID: op.id, Kind: op.kind, Group: op.group,
		Name: op.name, StatusURL: op.statusURL, ResultURL: op.resultURL, KeyShown: op.keyShown})
	if errkind.KindOf(err) == errkind.Conflict {
		return nil
	}
	return err
}

func (ss *session) operation(id string) (*operation, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	op, ok := ss.ops[id]
	return op, ok
}

// cachedSubscription is the user's subscription if the session has read
// it, or "".
func (ss *session) cachedSubscription() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.subscription
}

// setSubscription remembers the user's subscription for the session. It
// is only a cache: if the write fails, the next request reads the
// subscription from the API again.
func (ss *session) setSubscription(ctx context.Context, sub string) {
	ss.mu.Lock()
	ss.subscription = sub
	ss.mu.Unlock()
	if err := ss.store.store.SetSessionSubscription(ctx, ss.hash, sub); err != nil && errkind.KindOf(err) != errkind.NotFound {
		ss.store.log.LogAttrs(ctx, slog.LevelWarn, "portal: remember the session's subscription",
			slog.String("error", err.Error()))
	}
}

// setKeyShown sets whether op's activation key has been shown and reports
// whether this call changed it. Setting it true is a claim decided by the
// store in one conditional write: of two requests, on two replicas, only
// one wins and shows the key.
func (ss *session) setKeyShown(ctx context.Context, op *operation, shown bool) (bool, error) {
	changed, err := ss.store.store.SetKeyShown(ctx, ss.hash, op.id, shown)
	if err != nil {
		return false, err
	}
	ss.mu.Lock()
	op.keyShown = shown // changed or not, that is what the store now holds
	ss.mu.Unlock()
	return changed, nil
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
			if ss, err = h.sessions.get(r.Context(), c.Value); err != nil {
				h.internal(w, r, err) // the store failed: not a reason to sign the user out
				return
			}
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
	// Deleting the old session is tidiness, not safety, so a failure is
	// only logged.
	if old, err := r.Cookie(sessionCookie); err == nil {
		if err := h.sessions.delete(r.Context(), old.Value); err != nil {
			h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "portal: delete the session replaced at sign-in",
				slog.String("error", err.Error()))
		}
	}
	ss, err := h.sessions.create(r.Context(), u)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	setCookie(w, signInCookie, "", -1)
	setCookie(w, sessionCookie, ss.id, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signOut ends the session at the server, on every replica; if the store
// cannot delete it, the user is told so rather than shown the sign-in
// page of a session that lives on.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.delete(r.Context(), sessionOf(r.Context()).id); err != nil {
		h.internal(w, r, err)
		return
	}
	setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// SessionStore keeps the portal's sessions where every replica sees them.
// The server implements it with the database (internal/store); a nil
// Config.Sessions keeps them in this process's memory. Sessions are known
// by the SHA-256 of their id: a store never sees an id or a CSRF token.
// It holds no policy: the portal judges expiry and passes the cut-offs.
type SessionStore interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s SessionRecord) error
	// Session returns the session with its operations; an error of kind
	// errkind.NotFound when there is none.
	Session(ctx context.Context, idHash []byte) (SessionRecord, error)
	// TouchSession sets the session's LastSeen to at, unless it is later
	// already; a session that is gone is not an error.
	TouchSession(ctx context.Context, idHash []byte, at time.Time) error
	// DeleteSession deletes the session and its operations; a session
	// that is gone is not an error.
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredSessions deletes the sessions last seen at or before
	// seenBy or created at or before createdBy.
	DeleteExpiredSessions(ctx context.Context, seenBy, createdBy time.Time) error
	// SetSessionSubscription remembers the user's subscription; NotFound
	// when the session is gone.
	SetSessionSubscription(ctx context.Context, idHash []byte, subscription string) error
	// AddSessionOperation records an operation the session started;
	// NotFound when the session is gone.
	AddSessionOperation(ctx context.Context, idHash []byte, op OperationRecord) error
	// SetKeyShown sets the operation's KeyShown to shown unless it is
	// already, atomically, and reports whether this call changed it (false
	// too when there is no such operation).
	SetKeyShown(ctx context.Context, idHash []byte, opID string, shown bool) (bool, error)
}

// SessionRecord is a session as a SessionStore keeps it.
type SessionRecord struct {
	IDHash       []byte // SHA-256 of the session id (the cookie value)
	User         User
	Created      time.Time
	LastSeen     time.Time // written at most once per minute
	Subscription string    // "" until read
	Operations   []OperationRecord
}

// OperationRecord is an operation a session started, as kept.
type OperationRecord struct {
	ID        string
	Kind      string
	Group     string
	Name      string
	StatusURL string
	ResultURL string
	KeyShown  bool
}
