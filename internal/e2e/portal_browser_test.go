package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgevault/edgevault/internal/agent"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// chromiumPath is Debian's Chromium (apt-get install -y chromium).
const chromiumPath = "/usr/bin/chromium"

// TestPortalInBrowser is the seed's whole flow done by a person in
// headless Chromium, with the real agent and its local UI: sign in by
// keyboard, create an edge resource (and its resource group), generate an
// activation key, activate the appliance in its local UI with it, see the
// secrets synced on the Security page, sync them and see the
// notification, send the appliance a secret, give yourself access and
// reveal the BitLocker key, remove
// the vault's lock and delete the vault from its page, see the Critical
// alert, recover the vault through the blade, and delete the resource
// through the typed confirmation. Any console error or uncaught exception
// (a CSP violation included) fails the test. With EDGEVAULT_SCREENSHOTS
// set (make screenshots), it saves the main pages there.
func TestPortalInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	srv := startInProcessWith(t, t.TempDir(), "127.0.0.1:0", "", &syncBuffer{}, func(c *config.Config) {
		c.DeviceHeartbeat, c.DeviceOfflineAfter = time.Second, 5*time.Second
	})
	boot := srv.boot
	b := newPortalBrowser(t, srv)
	portal := boot.PortalURL // https://portal.localhost:PORT/

	// Sign in with the keyboard only: type, Tab to the password, Enter.
	b.do("sign in",
		chromedp.Navigate(portal),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.Focus(chromedp.ID("username")),
		chromedp.KeyEvent(boot.Admin.Username+"\t"),
		chromedp.KeyEvent(boot.Admin.Password+"\r"),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Edge resources"]`)),
	)
	// Create a resource in a group that does not exist yet.
	b.do("create",
		chromedp.SendKeys(chromedp.ID("name"), "dev-portal"),
		chromedp.SendKeys(chromedp.ID("group"), "rg-portal"),
		chromedp.Submit(chromedp.ID("name")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="dev-portal"]`)),
		chromedp.Navigate(portal),
		chromedp.WaitVisible(chromedp.Search(`//a[text()="dev-portal"]`)),
	)
	b.screenshot("portal-resources")
	if list := b.text("table"); !strings.Contains(list, "dev-portal") || !strings.Contains(list, "rg-portal") {
		t.Errorf("resource list: %q", list)
	}

	// Generate a key into a named vault; the name is checked as typed, the
	// progress page follows the operation and shows the key once.
	b.do("generate",
		chromedp.Click(chromedp.Search(`//a[text()="dev-portal"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="dev-portal"]`)),
		chromedp.SendKeys(chromedp.ID("keyVaultName"), "kv-portal-1"),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="kvcheck" and text()="The name is available."]`)),
		chromedp.Submit(chromedp.ID("keyVaultName")),
		chromedp.WaitVisible(chromedp.ID("activation-key")),
	)
	key := b.value("#activation-key")
	b.screenshotMasked("portal-activation-key", "activation-key")
	if card := b.text(".key"); !strings.Contains(card, "Expires") || !strings.Contains(card, "UTC") {
		t.Errorf("key card: %q", card)
	}
	if !strings.HasPrefix(key, "evak1_") {
		t.Fatalf("the activation key shown is %q", key)
	}
	// Reloading the page does not show the key again.
	b.do("reload the key page", chromedp.Reload(), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "already shown")]`)))
	if strings.Contains(b.text("main"), key) {
		t.Error("the key is shown a second time")
	}

	// The appliance: activated in its own local UI with the key.
	a := startApplianceUI(t, b)
	b.do("activate the appliance",
		chromedp.Navigate(a.url),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), a.password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.Search(`//th[text()="Serial number"]`)),
		chromedp.Click(chromedp.Search(`//a[text()="activate"]`)),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SetValue(chromedp.ID("key"), key),
		chromedp.Submit(chromedp.ID("key")),
		chromedp.WaitVisible(chromedp.Search(`//strong[text()="Activated."]`)),
	)
	b.screenshot("agent-activated")

	// The Security page shows the four device secrets once synced.
	security := portal + "resources/rg-portal/dev-portal/security"
	b.reloadUntil("the device secrets on the Security page", security, func(page string) bool {
		return strings.Contains(page, "KeyVaultSynced") && strings.Contains(page, devicewire.SystemVolumeBitLockerRecoveryKey) &&
			strings.Contains(page, devicewire.BMCDefaultUserPassword)
	})
	b.screenshot("portal-security")
	page := b.text("main")
	for _, want := range []string{"kv-portal-1", "Active", "CanNotDelete", "get, set", "Security preferences"} {
		if !strings.Contains(page, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	if strings.Contains(page, key) {
		t.Error("the security page shows the activation key")
	}

	// Sync device secrets: the progress page ends with the notification.
	b.do("sync",
		chromedp.Click(chromedp.Search(`//button[text()="Sync device secrets"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="op-done" and text()="Device secrets synced."]`)),
	)
	b.screenshot("portal-sync-done")

	// Send the appliance a secret of the customer's: it arrives, and the
	// value is in no page.
	const wifi = "plant-wifi-Passphrase-42"
	b.do("send a secret",
		chromedp.Navigate(security),
		chromedp.SendKeys(chromedp.ID("secretName"), "WifiPassphrase"),
		chromedp.SendKeys(chromedp.ID("secretValue"), wifi),
		chromedp.Click(chromedp.Search(`//button[text()="Send to the device"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and contains(., "queued")]`)),
	)
	if strings.Contains(b.text("main"), wifi) || b.value("#secretValue") != "" {
		t.Error("the Security page shows the secret sent")
	}
	waitFor(t, "the appliance to receive the secret", func() (struct{}, bool) {
		for _, cs := range a.a.State().CustomerSecrets {
			if cs.Name == "WifiPassphrase" {
				return struct{}{}, cs.Value.Reveal() == wifi
			}
		}
		return struct{}{}, false
	})

	// Reveal the BitLocker key: refused in words until the person gives
	// themself access in the vault's access policies, then shown.
	recovery := a.secret(devicewire.SystemVolumeBitLockerRecoveryKey)
	revealButton := `//tr[td[text()="` + devicewire.SystemVolumeBitLockerRecoveryKey + `"]]//button[text()="Reveal"]`
	b.do("reveal without access",
		chromedp.Navigate(security),
		chromedp.Click(chromedp.Search(revealButton)),
		chromedp.WaitVisible(chromedp.Search(`//p[@class="error" and contains(., "access policies")]`)),
	)
	b.grantMyselfSecretsAccess("rg-portal", "kv-portal-1")
	b.do("reveal",
		chromedp.Navigate(security),
		chromedp.Click(chromedp.Search(revealButton)),
		chromedp.WaitVisible(chromedp.ID("revealed-value")),
	)
	if got := b.value("#revealed-value"); got != recovery {
		t.Error("the revealed BitLocker key is not the appliance's")
	}
	if !strings.Contains(b.text("main"), "recorded in the vault's audit log") {
		t.Error("the reveal has no audit notice")
	}
	b.screenshotMasked("portal-reveal", "revealed-value")
	b.visitAuditPages("/resources/rg-portal/dev-portal")

	// Delete the vault from its page: refused while locked, then the lock
	// removed and the vault deleted; the Critical alert appears.
	b.deleteVault("rg-portal", "kv-portal-1")
	b.do("critical alert",
		chromedp.Navigate(portal+"resources/rg-portal/dev-portal/alerts"),
		chromedp.WaitVisible(chromedp.Search(`//tr[contains(@class, "sev-Critical")]`)),
	)
	b.screenshot("portal-alerts")
	b.do("security page after the delete",
		chromedp.Navigate(security),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(@class, "sev-Critical")]`)),
	)

	// Recover it through the blade; the appliance pushes its secrets again.
	b.do("recover",
		chromedp.Click(chromedp.Search(`//a[text()="Recover key vault"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Recover key vault"]`)),
	)
	b.screenshot("portal-recover")
	b.do("recover: run",
		chromedp.Click(chromedp.Search(`//button[text()="Recover key vault"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="op-done" and text()="The key vault is recovered."]`)),
	)
	b.reloadUntil("the vault active again without alerts", security, func(page string) bool {
		return strings.Contains(page, "KeyVaultSynced") && !strings.Contains(page, "Active alerts") && strings.Contains(page, "CanNotDelete")
	})

	// A narrow window: no page scrolls sideways.
	b.checkNarrow(portal, security, portal+"resources/rg-portal/dev-portal", portal+"vaults")

	// Delete the resource through the typed confirmation.
	b.expectRefusal("/resources/rg-portal/dev-portal/delete")
	b.do("delete",
		chromedp.Navigate(portal+"resources/rg-portal/dev-portal/delete"),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "dev-porta"),
		chromedp.Submit(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(@class, "error") and contains(., "exactly")]`)),
	)
	b.screenshot("portal-delete")
	b.do("delete: confirmed",
		chromedp.Navigate(portal+"resources/rg-portal/dev-portal/delete"),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "dev-portal"),
		chromedp.SendKeys(chromedp.ID("deleteVault"), "Yes"),
		chromedp.Submit(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("op-done")),
		chromedp.Navigate(portal),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Edge resources"]`)),
	)
	if strings.Contains(b.text("main"), "dev-portal") {
		t.Error("the deleted resource is still listed")
	}
	b.checkConsole()
}

// portalBrowser is a Chromium tab on a test server's portal; every page it
// visits is checked for console errors at the end (checkConsole).
type portalBrowser struct {
	t      *testing.T
	ctx    context.Context
	srv    *inproc
	closed chan struct{}

	mu   sync.Mutex
	errs []consoleError
	// refused are the page URLs the test expects the portal to answer with
	// an error status (a form shown again with its problem): Chromium logs
	// each such answer as "Failed to load resource", which is then not a
	// fault. Any other URL's failure (a script, a stylesheet) still is.
	refused map[string]bool
}

// consoleError is one console error or exception.
type consoleError struct{ text, url string }

func (e consoleError) String() string { return e.text + " (" + e.url + ")" }

func newPortalBrowser(t *testing.T, srv *inproc) *portalBrowser {
	t.Helper()
	b := &portalBrowser{t: t, srv: srv, ctx: browser(t, serverSPKI(t, srv.Addr().(*net.TCPAddr).Port)), closed: make(chan struct{}),
		refused: map[string]bool{}}
	// Console messages are collected from the start (Console subscribes
	// when called) and read in another goroutine until the browser closes.
	messages := chromedp.Console(b.ctx)
	go func() {
		defer close(b.closed)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errs = append(b.errs, consoleError{text: fmt.Sprintf("%s: %s", m.Type, m.Text), url: m.URL})
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps, failing the test with the page's text if one fails.
func (b *portalBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := do(b.ctx, steps...); err != nil {
		b.mu.Lock()
		errs := b.errs
		b.mu.Unlock()
		b.t.Fatalf("browser: %s: %v (console: %v)\n%s", what, err, errs, pageText(b.ctx))
	}
}

// text is the text of the first element sel (CSS) matches.
func (b *portalBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// value is the value of the form field sel (CSS).
func (b *portalBrowser) value(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// reloadUntil loads url until its main text satisfies ok, for at most 30 s.
func (b *portalBrowser) reloadUntil(what, url string, ok func(page string) bool) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.do(what, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main")))
		page := b.text("main")
		if ok(page) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s:\n%s", what, page)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (b *portalBrowser) screenshot(name string) {
	b.t.Helper()
	screenshot(b.t, b.ctx, name)
}

// screenshotMasked is screenshot with the value of the fields ids
// replaced first: a key or secret, even a test one, is not published in
// docs/screenshots. Only the page's copy is changed, after the test has
// read the real value.
func (b *portalBrowser) screenshotMasked(name string, ids ...string) {
	b.t.Helper()
	if os.Getenv("EDGEVAULT_SCREENSHOTS") == "" {
		return
	}
	for _, id := range ids {
		js := `document.getElementById(` + strconv.Quote(id) + `).value = "•••••••• (masked in this screenshot)"`
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js)); err != nil {
			b.t.Fatalf("mask %s: %v", id, err)
		}
	}
	b.screenshot(name)
}

// checkNarrow loads each page in a 360-pixel-wide window and fails if the
// document is wider than the window (a page that scrolls sideways).
func (b *portalBrowser) checkNarrow(urls ...string) {
	b.t.Helper()
	b.do("narrow window", chromedp.EmulateViewport(360, 740))
	for _, u := range urls {
		b.do("narrow "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main")))
		over, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth - window.innerWidth`))
		if err != nil {
			b.t.Fatal(err)
		}
		if over > 0 {
			b.t.Errorf("%s scrolls sideways by %v px in a 360 px window", u, over)
		}
	}
	b.do("wide window", chromedp.EmulateViewport(1280, 800))
}

// checkConsole closes the browser and fails the test on any console error
// seen during it.
func (b *portalBrowser) checkConsole() {
	b.t.Helper()
	_ = chromedp.Cancel(b.ctx)
	<-b.closed
	for _, e := range b.errs {
		if b.refused[e.url] && strings.HasPrefix(e.text, "error: Failed to load resource: the server responded with a status of 4") {
			continue
		}
		b.t.Errorf("browser console: %s", e)
	}
}

// expectRefusal declares that the portal answers a form posted to path
// with an error status, by design.
func (b *portalBrowser) expectRefusal(path string) {
	b.mu.Lock()
	b.refused[strings.TrimSuffix(b.srv.boot.PortalURL, "/")+path] = true
	b.mu.Unlock()
}

// grantMyselfSecretsAccess adds the signed-in user to the vault's access
// policies with secrets get and list, on the vault's page.
func (b *portalBrowser) grantMyselfSecretsAccess(group, vault string) {
	b.t.Helper()
	b.do("grant myself access",
		chromedp.Navigate(b.srv.boot.PortalURL+"vaults/"+group+"/"+vault),
		chromedp.WaitVisible(chromedp.ID("policy-add")),
		chromedp.Click(chromedp.ID("policy-add")),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and text()="The access policy was added."]`)),
	)
	b.screenshot("portal-vault")
}

// visitAuditPages opens the audit-log and insights pages of the resource
// at path and checks they show the reveal just made.
func (b *portalBrowser) visitAuditPages(path string) {
	b.t.Helper()
	b.do("audit logs",
		chromedp.Navigate(strings.TrimSuffix(b.srv.boot.PortalURL, "/")+path+"/audit"),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "SecretGet")]`)),
	)
	b.screenshot("portal-audit")
	b.do("insights",
		chromedp.Navigate(strings.TrimSuffix(b.srv.boot.PortalURL, "/")+path+"/insights"),
		chromedp.WaitVisible(chromedp.CSS("svg")),
	)
	b.screenshot("portal-insights")
}

// deleteVault deletes the vault from its page: refused while the lock is
// on, then the lock removed and the vault deleted.
func (b *portalBrowser) deleteVault(group, vault string) {
	b.t.Helper()
	page := b.srv.boot.PortalURL + "vaults/" + group + "/" + vault
	b.expectRefusal("/vaults/" + group + "/" + vault + "/delete")
	b.do("delete the locked vault",
		chromedp.Navigate(page+"/delete"),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), vault),
		chromedp.Submit(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.Search(`//div[@class="error"]/p[contains(., "lock")]`)),
	)
	b.do("remove the lock",
		chromedp.Click(chromedp.Search(`//a[text()="See and remove the vault's locks"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h2[text()="Locks"]`)),
		chromedp.Click(chromedp.ID("lock-confirm-0")),
		chromedp.Click(chromedp.Search(`//button[text()="Remove"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and text()="The lock was removed."]`)),
	)
	b.do("delete the vault",
		chromedp.Navigate(page+"/delete"),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), vault),
		chromedp.Submit(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Key vaults"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and contains(., "was deleted")]`)),
		chromedp.WaitVisible(chromedp.Search(`//td[starts-with(normalize-space(.), "`+vault+`")]`)),
	)
	b.screenshot("portal-deleted-vaults")
}

// appliance is an agent whose local UI runs on loopback.
type appliance struct {
	a        *agent.Agent
	url      string // http://127.0.0.1:PORT/
	password string // the one-time password it printed
}

func (a *appliance) secret(name string) string {
	for _, s := range a.a.State().Secrets {
		if s.Name == name {
			return s.Value.Reveal()
		}
	}
	return ""
}

// startApplianceUI initialises an appliance and runs its agent, not yet
// activated, with its local UI on a free loopback port.
func startApplianceUI(t *testing.T, _ *portalBrowser) *appliance {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "appliance")
	if _, err := agent.Init(dir, "SN-PORTAL-1", nil); err != nil {
		t.Fatal(err)
	}
	a, err := agent.Open(agent.Config{DataDir: dir, Terminal: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan [2]string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- a.Run(ctx, agent.RunOptions{Heartbeat: time.Second, UIAddr: "127.0.0.1:0",
			UIReady: func(addr, password string) { ready <- [2]string{addr, password} }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	select {
	case r := <-ready:
		return &appliance{a: a, url: "http://" + r[0] + "/", password: r[1]}
	case err := <-done:
		t.Fatalf("agent: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's local UI did not start")
	}
	return nil
}

// browser starts headless Chromium for the test, trusting only the test
// server's certificate (by its public key) and resolving *.localhost to
// loopback.
func browser(t *testing.T, spki string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP *.localhost 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	return ctx
}

// serverSPKI returns the base64 SHA-256 of the public key of the
// certificate the server presents for the portal host, the form
// --ignore-certificate-errors-spki-list takes.
func serverSPKI(t *testing.T, port int) string {
	t.Helper()
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{ServerName: "portal.localhost", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// do runs steps with a deadline, so that a page that never shows what a
// step waits for fails the test instead of hanging it.
func do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// screenshot saves the page as dir/name.png when EDGEVAULT_SCREENSHOTS
// names a directory (make screenshots; docs/screenshots).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("EDGEVAULT_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pageText is the text of the page shown, for a failure's message.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	return s
}
