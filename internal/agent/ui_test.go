package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/devicewire"
)

// get and post drive the UI handler as a browser on the appliance would.
func uiDo(h http.Handler, method, target string, form url.Values) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://127.0.0.1:8080"+target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
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
	w := uiDo(a.UIHandler(), "GET", "/", nil)
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
	a.UIHandler().ServeHTTP(w, r)
	if w.Code != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d, want 421", w.Code)
	}
}

func TestUIActivation(t *testing.T) {
	f := newFakeDevice(t)
	a := initAgent(t)
	h := a.UIHandler()
	form := uiDo(h, "GET", "/activate", nil)
	m := csrfField.FindStringSubmatch(form.Body.String())
	if form.Code != 200 || m == nil {
		t.Fatalf("activation page: %d, CSRF field found %v", form.Code, m != nil)
	}
	key := f.key(time.Now().Add(time.Hour))

	if w := uiDo(h, "POST", "/activate", url.Values{"key": {key}}); w.Code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d, want 403", w.Code)
	}
	if w := uiDo(h, "POST", "/activate", url.Values{"key": {key}, "csrf": {"wrong"}}); w.Code != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d, want 403", w.Code)
	}
	if f.caCalls+f.activateCalls != 0 {
		t.Fatal("a refused form reached the server")
	}
	w := uiDo(h, "POST", "/activate", url.Values{"key": {"evak1_garbage"}, "csrf": {m[1]}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "malformed") {
		t.Errorf("bad key: %d, body lacks the error", w.Code)
	}
	w = uiDo(h, "POST", "/activate", url.Values{"key": {key}, "csrf": {m[1]}})
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
	hb := b.UIHandler()
	m = csrfField.FindStringSubmatch(uiDo(hb, "GET", "/activate", nil).Body.String())
	w = uiDo(hb, "POST", "/activate", url.Values{"key": {g.key(time.Now().Add(time.Hour))}, "csrf": {m[1]}})
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
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.Run(ctx, RunOptions{Heartbeat: time.Second, UIAddr: "127.0.0.1:0", UIReady: func(s string) { addrc <- s }})
	}()
	var base string
	select {
	case addr := <-addrc:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("Run = %v", err)
	}
	resp, err := http.Get(base + "/activate")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(page))
	if m == nil {
		t.Fatal("no CSRF field")
	}
	resp, err = http.PostForm(base+"/activate", url.Values{"key": {f.key(time.Now().Add(time.Hour))}, "csrf": {m[1]}})
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
