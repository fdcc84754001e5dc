package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The local UI is the appliance's own web page (DESIGN §2): status, and
// an activation form where a person pastes the key. It listens on loopback
// only, answers only to loopback host names (a DNS-rebinding page cannot
// read it), asks for the one-time password the agent printed when it
// started (so another local user or process cannot use it), and its forms
// carry a per-process CSRF token.

//go:embed ui/*.html
var uiFiles embed.FS

var uiTemplates = template.Must(template.ParseFS(uiFiles, "ui/*.html"))

// maxFormSize bounds the activation form (a key is at most 2 KiB).
const maxFormSize = 16 << 10

// activateTimeout bounds an activation from the UI.
const activateTimeout = 2 * time.Minute

// CheckUIAddr refuses a UI address that is not loopback: only someone on
// the appliance may reach the UI.
func CheckUIAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--ui %q: want HOST:PORT on loopback, e.g. 127.0.0.1:8080", addr)
	}
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--ui %q: the local UI listens on a loopback address only (127.0.0.1, [::1] or localhost)", addr)
	}
	return nil
}

// serveUI starts the UI on addr and returns its stop function.
func (a *Agent) serveUI(addr string, ready func(addr, password string)) (stop func(), err error) {
	if err := CheckUIAddr(addr); err != nil {
		return nil, err
	}
	password := rand.Text()
	h := a.UIHandler(password)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("local UI: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: activateTimeout + 30*time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("local UI stopped", "error", err)
		}
	}()
	a.log.Info("local UI", "url", "http://"+ln.Addr().String()+"/")
	// The password goes to the terminal of the person who started the
	// agent, never to the log.
	fmt.Fprintf(a.uiOut(), "Local UI: http://%s/ — sign in with the one-time password %s\n", ln.Addr().String(), password)
	if ready != nil {
		ready(ln.Addr().String(), password)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// ui serves the pages.
type ui struct {
	a        *Agent
	csrf     string
	password []byte

	mu      sync.Mutex
	used    bool   // the one-time password signed a browser in
	session string // that browser's cookie; "" before
}

// uiCookie is the signed-in browser's session cookie.
const uiCookie = "edgevault-agent-ui"

// UIHandler returns the local UI's handler; password is the one-time
// password that signs a browser in (once).
func (a *Agent) UIHandler(password string) http.Handler {
	u := &ui{a: a, csrf: rand.Text(), password: []byte(password)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", u.loginForm)
	mux.HandleFunc("POST /login", u.login)
	mux.HandleFunc("GET /{$}", u.status)
	mux.HandleFunc("GET /activate", u.activateForm)
	mux.HandleFunc("POST /activate", u.activate)
	return u.guard(mux)
}

// guard refuses requests not addressed to a loopback name and sets the
// headers that keep the pages out of frames and away from other origins.
func (u *ui) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "the local UI answers only on a loopback address", http.StatusMisdirectedRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path != "/login" && !u.signedIn(r) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signedIn reports whether r comes from the browser the password signed in.
func (u *ui) signedIn(r *http.Request) bool {
	c, err := r.Cookie(uiCookie)
	if err != nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.session != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(u.session)) == 1
}

func (u *ui) loginForm(w http.ResponseWriter, _ *http.Request) {
	u.render(w, http.StatusOK, "login.html", page{Title: "Sign in", CSRF: u.csrf})
}

// login signs a browser in with the one-time password, once.
func (u *ui) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form is malformed or too large", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(u.csrf)) != 1 {
		http.Error(w, "the form's CSRF token is missing or wrong: reload the sign-in page", http.StatusForbidden)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	p := page{Title: "Sign in", CSRF: u.csrf}
	switch {
	case u.used:
		p.Error = "The one-time password was already used. Restart edgevault-agent run for a new one."
		u.render(w, http.StatusForbidden, "login.html", p)
		return
	case subtle.ConstantTimeCompare([]byte(r.PostForm.Get("password")), u.password) != 1:
		p.Error = "That is not the password edgevault-agent run printed."
		u.a.log.Warn("local UI: a sign-in with a wrong password")
		u.render(w, http.StatusUnauthorized, "login.html", p)
		return
	}
	u.used, u.session = true, rand.Text()
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: u.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// loopbackHost reports whether a Host header names the loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// page is what the templates render.
type page struct {
	Title     string
	Status    Status
	CSRF      string
	Activated bool
	Result    *ActivateResult
	Error     string
}

func (u *ui) render(w http.ResponseWriter, code int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := uiTemplates.ExecuteTemplate(w, name, p); err != nil {
		u.a.log.Error("local UI: render", "page", name, "error", err)
	}
}

func (u *ui) status(w http.ResponseWriter, r *http.Request) {
	u.render(w, http.StatusOK, "status.html", page{Title: "Appliance status", Status: u.a.Status()})
}

func (u *ui) activateForm(w http.ResponseWriter, r *http.Request) {
	st := u.a.Status()
	u.render(w, http.StatusOK, "activate.html", page{Title: "Activate this appliance", Status: st,
		CSRF: u.csrf, Activated: st.ActivationState == Activated})
}

func (u *ui) activate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form is malformed or too large", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(u.csrf)) != 1 {
		http.Error(w, "the form's CSRF token is missing or wrong: reload the activation page", http.StatusForbidden)
		return
	}
	p := page{Title: "Activate this appliance", CSRF: u.csrf}
	ctx, cancel := context.WithTimeout(r.Context(), activateTimeout)
	defer cancel()
	res, err := u.a.Activate(ctx, r.PostForm.Get("key"), false)
	code := http.StatusOK
	if err != nil {
		code = http.StatusBadRequest
		p.Error = err.Error()
		u.a.log.Warn("activation from the local UI failed", "error", err)
	}
	p.Result = res
	p.Status = u.a.Status()
	p.Activated = p.Status.ActivationState == Activated
	u.render(w, code, "activate.html", p)
}
