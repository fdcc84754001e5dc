package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (apt-get install -y chromium).
const chromiumPath = "/usr/bin/chromium"

// TestPortalInBrowser drives the portal in headless Chromium as a person
// would: sign in, create an edge resource, open it, generate an activation
// key and see the key, see the vault on the Security page, and delete the
// resource (and its vault) through the typed confirmation. Any console error or uncaught exception (a CSP
// violation included) fails the test.
func TestPortalInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", &syncBuffer{})
	boot := srv.boot
	port := srv.Addr().(*net.TCPAddr).Port

	// The resource group exists beforehand; the portal has no group page yet.
	tok := spToken(t, tokenClient(srv.http, boot), boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience)
	if err := adminAPI(srv.http, tok).Do(t.Context(), http.MethodPut, boot.ManagementEndpoint+"/subscriptions/"+boot.SubscriptionID+
		"/resourceGroups/rg-portal?api-version=2021-04-01", map[string]string{"location": "westeurope"}, nil); err != nil {
		t.Fatalf("create resource group: %v", err)
	}
	// Key Vault's provider is registered, so that the vault name can be
	// checked as it is typed (generateActivationKey would register it).
	if err := adminAPI(srv.http, tok).Do(t.Context(), http.MethodPost, boot.ManagementEndpoint+"/subscriptions/"+boot.SubscriptionID+
		"/providers/Microsoft.KeyVault/register?api-version=2021-04-01", nil, nil); err != nil {
		t.Fatalf("register Microsoft.KeyVault: %v", err)
	}

	ctx := browser(t, serverSPKI(t, port))
	// Console messages are collected from the start (Console subscribes when
	// called) and read in another goroutine until the browser closes.
	messages := chromedp.Console(ctx)
	var consoleErrs []string
	var mu sync.Mutex
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				mu.Lock()
				consoleErrs = append(consoleErrs, fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
				mu.Unlock()
			}
		}
	}()
	portal := boot.PortalURL // https://portal.localhost:PORT/
	err := do(ctx,
		chromedp.Navigate(portal+"signin"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), boot.Admin.Username),
		chromedp.SendKeys(chromedp.ID("password"), boot.Admin.Password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Edge resources"]`)),
		// Create a resource from the list page's form.
		chromedp.SendKeys(chromedp.ID("name"), "dev-portal"),
		chromedp.SendKeys(chromedp.ID("group"), "rg-portal"),
		chromedp.Submit(chromedp.ID("name")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="dev-portal"]`)),
		// It is in the list; open it from there.
		chromedp.Navigate(portal),
		chromedp.WaitVisible(chromedp.Search(`//a[text()="dev-portal"]`)),
	)
	if err != nil {
		t.Fatalf("browser: sign in and create: %v (console: %v)\n%s", err, consoleErrs, pageText(ctx))
	}
	screenshot(t, ctx, "portal-resources")
	listText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table")))
	if err != nil {
		t.Fatal(err)
	}
	err = do(ctx,
		chromedp.Click(chromedp.Search(`//a[text()="dev-portal"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="dev-portal"]`)),
		// Generate a key with a vault name; the progress page follows the
		// operation and shows the key.
		chromedp.SendKeys(chromedp.ID("keyVaultName"), "kv-portal-1"),
		// The name is checked as it is typed.
		chromedp.WaitVisible(chromedp.Search(`//p[@id="kvcheck" and text()="The name is available."]`)),
		chromedp.Submit(chromedp.ID("keyVaultName")),
		chromedp.WaitVisible(chromedp.ID("activation-key")),
	)
	if err != nil {
		t.Fatalf("browser: generate: %v (console: %v)\n%s", err, consoleErrs, pageText(ctx))
	}
	screenshot(t, ctx, "portal-activation-key")
	key, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("activation-key")))
	if err != nil {
		t.Fatal(err)
	}
	expiry, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".key")))
	if err != nil {
		t.Fatal(err)
	}
	// The Security page shows the vault the operation made, and its lock.
	err = do(ctx,
		chromedp.Click(chromedp.Search(`//a[text()="Security"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Security"]`)),
	)
	if err != nil {
		t.Fatalf("browser: security page: %v (console: %v)\n%s", err, consoleErrs, pageText(ctx))
	}
	screenshot(t, ctx, "portal-security")
	security, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kv-portal-1", "Active", "CanNotDelete", "get, set"} {
		if !strings.Contains(security, want) {
			t.Errorf("security page lacks %q:\n%s", want, security)
		}
	}
	if strings.Contains(security, key) {
		t.Error("the security page shows the activation key")
	}
	// Delete it through the blade: the name typed, then Yes for the vault.
	err = do(ctx,
		chromedp.Click(chromedp.Search(`//nav[@class="tabs"]/a[text()="Delete"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "dev-portal"),
		chromedp.SendKeys(chromedp.ID("deleteVault"), "Yes"),
		chromedp.Submit(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("op-done")),
		chromedp.Navigate(portal),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Edge resources"]`)),
	)
	if err != nil {
		t.Fatalf("browser: delete: %v (console: %v)\n%s", err, consoleErrs, pageText(ctx))
	}
	if home := pageText(ctx); strings.Contains(home, "dev-portal") {
		t.Errorf("the deleted resource is still listed:\n%s", home)
	}
	if !strings.Contains(listText, "dev-portal") || !strings.Contains(listText, "rg-portal") {
		t.Errorf("resource list: %q", listText)
	}
	if len(strings.TrimSpace(key)) < 20 {
		t.Errorf("activation key shown: %q", key)
	}
	if !strings.Contains(expiry, "Expires") || !strings.Contains(expiry, "UTC") {
		t.Errorf("key card: %q", expiry)
	}
	chromedp.Cancel(ctx)
	<-collected
	for _, e := range consoleErrs {
		t.Errorf("browser console: %s", e)
	}
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
