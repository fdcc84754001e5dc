package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/devicewire"
)

// uiDo drives the UI handler as a browser on the appliance would, with
// the session cookies given.
func uiDo(h http.Handler, method, target string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://127.0.0.1:8080"+target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const testUIPassword = "one-time-test-password"

// uiLogin signs in with the one-time password and returns the cookie.
func uiLogin(t *testing.T, h http.Handler) *http.Cookie {
	t.Helper()
	m := csrfField.FindStringSubmatch(uiDo(h, "GET", "/login", nil).Body.String())
	if m == nil {
		t.Fatal("no CSRF field on the sign-in page")
	}
	w := uiDo(h, "POST", "/login", url.Values{"password": {testUIPassword}, "csrf": {m[1]}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == uiCookie && c.HttpOnly && c.SameSite == http.SameSiteStrictMode {
			return c
		}
	}
	t.Fatal("sign-in set no HttpOnly, SameSite=Strict session cookie")
	return nil
}

// TestUIPassword: every page but the sign-in needs the one-time password;
// a wrong one is refused; the password signs in one browser only.
func TestUIPassword(t *testing.T) {
	a := initAgent(t)
	h := a.UIHandler(testUIPassword)
	for _, target := range []string{"/", "/activate"} {
		if w := uiDo(h, "GET", target, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Errorf("GET %s signed out: %d to %q, want a redirect to /login", target, w.Code, w.Header().Get("Location"))
		}
	}
	m := csrfField.FindStringSubmatch(uiDo(h, "GET", "/login", nil).Body.String())
	if w := uiDo(h, "POST", "/login", url.Values{"password": {"guess"}, "csrf": {m[1]}}); w.Code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", w.Code)
	}
	if w := uiDo(h, "POST", "/login", url.Values{"password": {testUIPassword}}); w.Code != http.StatusForbidden {
		t.Errorf("sign-in without CSRF token: %d, want 403", w.Code)
	}
	c := uiLogin(t, h)
	if w := uiDo(h, "GET", "/", nil, c); w.Code != http.StatusOK {
		t.Errorf("status page signed in: %d", w.Code)
	}
	if w := uiDo(h, "GET", "/", nil, &http.Cookie{Name: uiCookie, Value: "forged"}); w.Code != http.StatusSeeOther {
		t.Errorf("forged cookie: %d, want a redirect to /login", w.Code)
	}
	if w := uiDo(h, "POST", "/login", url.Values{"password": {testUIPassword}, "csrf": {m[1]}}); w.Code != http.StatusForbidden {
		t.Errorf("second sign-in with the used password: %d, want 403", w.Code)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestUIStatusPage(t *testing.T) {
	a, f := activatedAgent(t)
	s, _ := a.newSession(time.Second)
	f.answers = nil
	if _, err := a.cycle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := a.update(func(st *State) error {
		st.CustomerSecrets = append(st.CustomerSecrets, CustomerSecret{ID: "m", Name: "ShareKey",
			Value: sensitiveBytes([]byte("customer-value-xyz")), ReceivedAt: time.Now()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h0 := a.UIHandler(testUIPassword)
	w := uiDo(h0, "GET", "/", nil, uiLogin(t, h0))
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status page: %d", w.Code)
	}
	for _, want := range append([]string{"Activated", testResourceID, "Online", "KeyVaultSynced", "ShareKey"}, a.State().SecretNames()...) {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	for _, v := range secretValues(t, a) {
		if strings.Contains(body, v) {
			t.Error("the status page shows a secret value")
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	// A page reached through another name (DNS rebinding) is refused.
	r := httptest.NewRequest("GET", "http://evil.example:8080/", nil)
	w = httptest.NewRecorder()
	a.UIHandler(testUIPassword).ServeHTTP(w, r)
	if w.Code != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d, want 421", w.Code)
	}
}

func TestUIActivation(t *testing.T) {
	f := newFakeDevice(t)
	a := initAgent(t)
	h := a.UIHandler(testUIPassword)
	c := uiLogin(t, h)
	form := uiDo(h, "GET", "/activate", nil, c)
	m := csrfField.FindStringSubmatch(form.Body.String())
	if form.Code != 200 || m == nil {
		t.Fatalf("activation page: %d, CSRF field found %v", form.Code, m != nil)
	}
	key := f.key(time.Now().Add(time.Hour))

	if w := uiDo(h, "POST", "/activate", url.Values{"key": {key}}, c); w.Code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d, want 403", w.Code)
	}
	if w := uiDo(h, "POST", "/activate", url.Values{"key": {key}, "csrf": {"wrong"}}, c); w.Code != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d, want 403", w.Code)
	}
	if f.caCalls+f.activateCalls != 0 {
		t.Fatal("a refused form reached the server")
	}
	w := uiDo(h, "POST", "/activate", url.Values{"key": {"evak1_garbage"}, "csrf": {m[1]}}, c)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "malformed") {
		t.Errorf("bad key: %d, body lacks the error", w.Code)
	}
	w = uiDo(h, "POST", "/activate", url.Values{"key": {key}, "csrf": {m[1]}}, c)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Activated.") || !strings.Contains(w.Body.String(), testResourceID) {
		t.Fatalf("activation: %d\n%s", w.Code, w.Body.String())
	}
	if a.State().ActivationState() != Activated {
		t.Error("the UI activation did not activate")
	}
	// The server's errors are shown.
	g := newFakeDevice(t)
	g.activateErr = &devicewire.Error{Error: devicewire.ErrorBody{Code: "KeyRevoked", Message: "The activation key was revoked."}}
	b := initAgent(t)
	hb := b.UIHandler(testUIPassword)
	cb := uiLogin(t, hb)
	m = csrfField.FindStringSubmatch(uiDo(hb, "GET", "/activate", nil, cb).Body.String())
	w = uiDo(hb, "POST", "/activate", url.Values{"key": {g.key(time.Now().Add(time.Hour))}, "csrf": {m[1]}}, cb)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "KeyRevoked") {
		t.Errorf("server error: %d, body lacks the code", w.Code)
	}
}

func TestCheckUIAddr(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "[::1]:0": true, "localhost:80": true,
		"0.0.0.0:8080": false, ":8080": false, "192.168.1.10:80": false, "example.com:80": false, "127.0.0.1": false} {
		if err := CheckUIAddr(addr); (err == nil) != ok {
			t.Errorf("CheckUIAddr(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

// TestRunWaitsForUIActivation runs an unactivated agent with the UI, activates
// it through the form over HTTP, and sees its first push.
func TestRunWaitsForUIActivation(t *testing.T) {
	f := newFakeDevice(t)
	a := initAgent(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.Run(ctx, RunOptions{Heartbeat: time.Second, UIAddr: "127.0.0.1:0", UIReady: func(addr, pw string) { addrc <- [2]string{addr, pw} }})
	}()
	var base, password string
	select {
	case ap := <-addrc:
		base, password = "http://"+ap[0], ap[1]
	case err := <-done:
		t.Fatalf("Run = %v", err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	loginPage, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lm := csrfField.FindStringSubmatch(string(loginPage))
	if lm == nil {
		t.Fatal("no CSRF field on the sign-in page")
	}
	if resp, err = browser.PostForm(base+"/login", url.Values{"password": {password}, "csrf": {lm[1]}}); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = browser.Get(base + "/activate")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(page))
	if m == nil {
		t.Fatal("no CSRF field")
	}
	resp, err = browser.PostForm(base+"/activate", url.Values{"key": {f.key(time.Now().Add(time.Hour))}, "csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("activation form: %d", resp.StatusCode)
	}
	f.waitEvent(t, "push")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
