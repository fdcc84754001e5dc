package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/rbac"
)

// TestBlobSDK runs the whole server and reads delivered audit blobs of a
// storage account created through ARM with the unmodified azblob client,
// authenticated by azidentity against the login host with the storage
// audience; the bootstrap service principal is Owner of the subscription,
// so RBAC allows it.
func TestBlobSDK(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	e := newStorageEnv(t, srv)
	e.requireWired(t)
	ctx := context.Background()
	e.group(t, "blob-rg")
	_, acct := e.create(t, "blob-rg", "auditlogs", storageParams(armstorage.SKUNameStandardLRS, nil))
	key := strings.ToLower(*acct.ID)
	boot, hc := srv.boot, srv.http
	line := []byte(`{"operationName":"SecretGet"}` + "\n")
	name := "resourceId=/SUBSCRIPTIONS/X/y=2026/m=11/d=27/h=01/m=00/PT1H.json"
	for range 2 {
		if err := srv.Blobs().Append(ctx, key, "insights-logs-auditevent", name, line); err != nil {
			t.Fatal(err)
		}
	}

	cred, err := azidentity.NewClientSecretCredential(boot.TenantID, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: boot.AuthorityHost}, Transport: hc},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	serviceURL := *acct.Properties.PrimaryEndpoints.Blob
	c, err := azblob.NewClient(serviceURL, cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: hc}, Audience: boot.StorageAudience})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.NewListBlobsFlatPager("insights-logs-auditevent", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("resourceId=")}).NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 1 || *page.Segment.BlobItems[0].Name != name {
		t.Fatalf("ListBlobsFlat = %+v, %v", page.Segment, err)
	}
	dl, err := c.DownloadStream(ctx, "insights-logs-auditevent", name, &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: int64(len(line))}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if !bytes.Equal(got, line) {
		t.Errorf("second line = %q", got)
	}
	_, err = c.UploadBuffer(ctx, "insights-logs-auditevent", "x", []byte("x"), nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 405 {
		t.Errorf("UploadBuffer = %v", err)
	}
	// A principal without a role is refused; Storage Blob Data Reader,
	// assigned through ARM and decided by the real rbac service, reads.
	api := adminAPI(hc, spToken(t, tokenClient(hc, boot), boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience))
	var sp servicePrincipal
	if err := api.Do(ctx, http.MethodPost, boot.ManagementEndpoint+adminPath+"/servicePrincipals", map[string]string{"displayName": "blob-reader"}, &sp); err != nil {
		t.Fatal(err)
	}
	readerCred, err := azidentity.NewClientSecretCredential(boot.TenantID, sp.ClientID, sp.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: boot.AuthorityHost}, Transport: hc},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := azblob.NewClient(serviceURL, readerCred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}, Audience: boot.StorageAudience})
	if _, err := rc.DownloadStream(ctx, "insights-logs-auditevent", name, nil); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("no role: %v", err)
	}
	sub := "/subscriptions/" + boot.SubscriptionID
	assignment := map[string]any{"properties": map[string]string{
		"roleDefinitionId": sub + "/providers/Microsoft.Authorization/roleDefinitions/" + rbac.StorageBlobDataReader,
		"principalId":      sp.ObjectID, "principalType": "ServicePrincipal"}}
	if err := api.Do(ctx, http.MethodPut, boot.ManagementEndpoint+sub+"/providers/Microsoft.Authorization/roleAssignments/"+
		"7d1c2a4e-1b2c-4d5e-8f90-0123456789ab?api-version=2022-04-01", assignment, nil); err != nil {
		t.Fatalf("assign Storage Blob Data Reader: %v", err)
	}
	if dl, err := rc.DownloadStream(ctx, "insights-logs-auditevent", name, nil); err != nil {
		t.Fatalf("Storage Blob Data Reader: %v", err)
	} else {
		dl.Body.Close()
	}

	// An unknown account's host is a 404, not a crash or a 401 loop.
	other, _ := azblob.NewClient(strings.Replace(serviceURL, "auditlogs", "nosuch", 1), cred,
		&azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}, Audience: boot.StorageAudience})
	if _, err := other.NewListContainersPager(nil).NextPage(ctx); !errors.As(err, &re) || re.StatusCode != 404 {
		t.Errorf("unknown account: %v", err)
	}
}

// TestBlobWithStorageAccount: a storage account created through ARM is
// served on its blob host; deleting it purges its blobs, and an account
// created again under the same name starts empty.
func TestBlobWithStorageAccount(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	e := newStorageEnv(t, srv)
	e.requireWired(t)
	ctx := context.Background()
	e.group(t, "blob-rg")
	_, acct := e.create(t, "blob-rg", "auditblobs", storageParams(armstorage.SKUNameStandardLRS, nil))
	key := strings.ToLower(*acct.ID)
	name := "resourceId=/SUBSCRIPTIONS/X/y=2026/m=11/d=27/h=01/m=00/PT1H.json"
	line := []byte(`{"operationName":"SecretSet"}` + "\n")
	if err := srv.Blobs().Append(ctx, key, "insights-logs-auditevent", name, line); err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClient(*acct.Properties.PrimaryEndpoints.Blob, e.cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: srv.http}, Audience: srv.boot.StorageAudience})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := c.DownloadStream(ctx, "insights-logs-auditevent", name, nil)
	if err != nil {
		t.Fatalf("DownloadStream from %s: %v", *acct.Properties.PrimaryEndpoints.Blob, err)
	}
	got, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if !bytes.Equal(got, line) {
		t.Errorf("blob = %q", got)
	}
	if _, err := e.accounts.Delete(ctx, "blob-rg", "auditblobs", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Blobs().Read(ctx, key, "insights-logs-auditevent", name, 0, 1); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("blob after account deletion: %v", err)
	}
	var re *azcore.ResponseError
	if _, err := c.NewListContainersPager(nil).NextPage(ctx); !errors.As(err, &re) || re.StatusCode != 404 {
		t.Errorf("deleted account's host: %v", err)
	}
	e.create(t, "blob-rg", "auditblobs", storageParams(armstorage.SKUNameStandardLRS, nil))
	page, err := c.NewListContainersPager(nil).NextPage(ctx)
	if err != nil || len(page.ContainerItems) != 0 {
		t.Errorf("recreated account lists %d containers, %v", len(page.ContainerItems), err)
	}
}
