package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/resource"
)

// exportSettings is the test's diagnostic setting, given to the server
// through SetAuditExportSettings until internal/diagnostics serves them.
type exportSettings []auditexport.Setting

func (s exportSettings) All(context.Context) ([]auditexport.Setting, error) { return s, nil }

// TestAuditExport: with a diagnostic setting sending AuditEvent to a
// storage account, azsecrets calls on the vault appear within 10 seconds
// as AuditEvent JSON lines in insights-logs-auditevent, read back with
// the unmodified azblob client: each call once, in order, with its
// operationName, caller oid and status. The vault's creation, before the
// setting, is not back-filled.
func TestAuditExport(t *testing.T) {
	ctx := t.Context()
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	e := newDataEnv(t, srv)
	se := newStorageEnv(t, srv)
	se.requireWired(t)
	se.group(t, "logs-rg")
	_, acct := se.create(t, "logs-rg", "auditexport", storageParams(armstorage.SKUNameStandardLRS, nil))
	boot := srv.boot
	vault, err := resource.Parse("/subscriptions/" + boot.SubscriptionID + "/resourceGroups/kv-data/providers/Microsoft.KeyVault/vaults/" + e.name)
	if err != nil {
		t.Fatal(err)
	}
	acctID, err := resource.Parse(*acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The diagnostic setting, through the unmodified armmonitor client;
	// while the server does not serve diagnostic settings, through the
	// test hook.
	diag, err := armmonitor.NewDiagnosticSettingsClient(e.cred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = diag.CreateOrUpdate(ctx, vault.String(), "to-storage", armmonitor.DiagnosticSettingsResource{
		Properties: &armmonitor.DiagnosticSettings{StorageAccountID: acct.ID, Logs: []*armmonitor.LogSettings{
			{Category: to.Ptr("AuditEvent"), Enabled: to.Ptr(true)}}}}, nil)
	viaARM := err == nil
	if code, status := sdkStatus(err); status == http.StatusNotFound && code != "ResourceNotFound" {
		t.Logf("diagnostic settings not served (%v): using SetAuditExportSettings", err)
		srv.SetAuditExportSettings(exportSettings{{ID: vault.String() + "/providers/Microsoft.Insights/diagnosticSettings/to-storage",
			ResourceID: vault, StorageAccountID: acctID, CreatedAt: time.Now()}})
	} else if err != nil {
		t.Fatalf("create diagnostic setting: %v", err)
	}

	if _, err := e.secrets.SetSecret(ctx, "exported", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.secrets.GetSecret(ctx, "exported", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.secrets.GetSecret(ctx, "missing", "", nil); !hasStatus(err, "SecretNotFound", 404) {
		t.Fatalf("GetSecret missing: %v", err)
	}
	lastCall := time.Now()

	cred, err := azidentity.NewClientSecretCredential(boot.TenantID, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: boot.AuthorityHost}, Transport: srv.http},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClient(*acct.Properties.PrimaryEndpoints.Blob, cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: srv.http}, Audience: boot.StorageAudience})
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		op, oid string
		status  int
	}
	want := []call{
		{"SecretSet", boot.ServicePrincipal.ObjectID, 200},
		{"SecretGet", boot.ServicePrincipal.ObjectID, 200},
		{"SecretGet", boot.ServicePrincipal.ObjectID, 404},
	}
	prefix := "resourceId=" + strings.ToUpper(vault.String()) + "/"
	var (
		got []call
		all []auditEvent
	)
	for {
		got = nil
		all = exportedEvents(t, ctx, c, prefix)
		for _, ev := range all {
			if ev.ResourceID != strings.ToUpper(vault.String()) {
				t.Errorf("record of %s in the blobs of %s", ev.ResourceID, vault)
			}
			if strings.HasPrefix(ev.OperationName, "Vault") {
				t.Errorf("%s, made before the setting, was back-filled", ev.OperationName)
			}
			if ev.OperationName == "Authentication" {
				continue // the SDK's unauthenticated challenge requests
			}
			oid := ""
			if ev.Identity != nil {
				oid = ev.Identity.Claim.ObjectID
			}
			got = append(got, call{ev.OperationName, oid, ev.Properties.HTTPStatusCode})
		}
		if len(got) >= len(want) || time.Since(lastCall) > 10*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got) != len(want) {
		t.Fatalf("after %v, exported calls = %+v, want %+v", time.Since(lastCall).Round(time.Millisecond), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !viaARM {
		return
	}
	// Removing the setting stops delivery: a later call is not exported,
	// even after the 10 seconds' bound (one export interval is enough to
	// see it would have been).
	if _, err := diag.Delete(ctx, vault.String(), "to-storage", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.secrets.GetSecret(ctx, "exported", "", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := len(exportedEvents(t, ctx, c, prefix)); n != len(all) {
		t.Errorf("after the setting's removal, %d records exported, want %d", n, len(all))
	}
}

// exportedEvents reads every AuditEvent line of the blobs under prefix,
// in blob (hour) order.
func exportedEvents(t *testing.T, ctx context.Context, c *azblob.Client, prefix string) []auditEvent {
	t.Helper()
	var out []auditEvent
	pager := c.NewListBlobsFlatPager(auditexport.Container, &azblob.ListBlobsFlatOptions{Prefix: to.Ptr(prefix)})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil // the container does not exist before the first delivery
		}
		for _, item := range page.Segment.BlobItems {
			if !strings.HasSuffix(*item.Name, "/m=00/PT1H.json") {
				t.Errorf("blob %s is not an hourly PT1H.json", *item.Name)
			}
			dl, err := c.DownloadStream(ctx, auditexport.Container, *item.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(dl.Body)
			dl.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var ev auditEvent
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("line %q: %v", sc.Bytes(), err)
				}
				out = append(out, ev)
			}
		}
	}
	return out
}
