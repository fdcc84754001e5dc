package blobapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

const auditContainer = "insights-logs-auditevent"

// sdkClient returns an unmodified azblob v1.8.3 client for account, with
// ClientOptions.Audience set to the storage audience (azblob otherwise
// asks for https://storage.azure.com/.default).
func (f *fixture) sdkClient(account string, cred *credential) *azblob.Client {
	f.t.Helper()
	c, err := azblob.NewClient(f.serviceURL(account), cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: f.hc, Retry: policyNoRetry},
		Audience:      f.audience,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// blobPath is the layout Azure Monitor writes (reference/keyvault-wire.md
// §4.3).
func blobPath(f *fixture, hour int) string {
	return fmt.Sprintf("resourceId=%s/y=2026/m=11/d=27/h=%02d/m=00/PT1H.json", f.account.ID.Key()[1:], hour)
}

// TestAzblobSDK drives the handler with the official, unmodified azblob
// v1.8.3 client: list containers, list blobs with a prefix across pages,
// download whole and by range, properties, and refused writes.
func TestAzblobSDK(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testAzblobSDK(t, newFixture(t)) })
	t.Run("postgres", func(t *testing.T) { testAzblobSDK(t, newFixtureDB(t, pgtest.URL(t))) })
}

func testAzblobSDK(t *testing.T, f *fixture) {
	ctx := context.Background()
	acct := f.account.Key()
	var want []byte
	for i := range 3 {
		line := fmt.Appendf(nil, `{"time":"2026-11-27T00:00:0%dZ","operationName":"SecretGet"}`+"\n", i)
		want = append(want, line...)
		if err := f.blobs.Append(ctx, acct, auditContainer, blobPath(f, 0), line); err != nil {
			t.Fatal(err)
		}
	}
	for h := 1; h < 12; h++ {
		if err := f.blobs.Append(ctx, acct, auditContainer, blobPath(f, h), []byte("{}\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.blobs.Append(ctx, acct, "other-logs", "x.json", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	cred := &credential{f: f, p: f.principal(rbac.Reader)}
	c := f.sdkClient("auditlogs", cred)

	// List containers, one per page.
	var containers []string
	pager := c.NewListContainersPager(&azblob.ListContainersOptions{MaxResults: to.Ptr[int32](1)})
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListContainers: %v", err)
		}
		pages++
		for _, it := range page.ContainerItems {
			containers = append(containers, *it.Name)
			if it.Properties == nil || it.Properties.ETag == nil || it.Properties.LastModified == nil {
				t.Errorf("container %s has no properties: %+v", *it.Name, it.Properties)
			}
		}
	}
	if !slices.Equal(containers, []string{auditContainer, "other-logs"}) || pages < 2 {
		t.Errorf("containers = %v in %d pages", containers, pages)
	}
	if got := cred.scopes[0]; got != f.audience+"/.default" {
		t.Errorf("azblob asked for scope %q", got)
	}

	// List blobs with a prefix, 5 per page: 11 of the 12 hours match.
	prefix := blobPath(f, 0)[:len(blobPath(f, 0))-len("h=00/m=00/PT1H.json")] + "h=0"
	var names []string
	pages = 0
	bp := c.NewListBlobsFlatPager(auditContainer, &azblob.ListBlobsFlatOptions{Prefix: &prefix, MaxResults: to.Ptr[int32](4)})
	for bp.More() {
		page, err := bp.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListBlobsFlat: %v", err)
		}
		pages++
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
			if *it.Properties.BlobType != "AppendBlob" || it.Properties.ContentLength == nil {
				t.Errorf("blob item %s: %+v", *it.Name, it.Properties)
			}
		}
	}
	if len(names) != 10 || pages != 3 || names[0] != blobPath(f, 0) || names[9] != blobPath(f, 9) {
		t.Errorf("blobs with prefix %q = %d in %d pages: %v", prefix, len(names), pages, names)
	}

	// Download whole and by range.
	dl, err := c.DownloadStream(ctx, auditContainer, blobPath(f, 0), nil)
	if err != nil {
		t.Fatalf("DownloadStream: %v", err)
	}
	got, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || !bytes.Equal(got, want) || *dl.ContentLength != int64(len(want)) || dl.ETag == nil {
		t.Fatalf("DownloadStream = %q, %v", got, err)
	}
	dl, err = c.DownloadStream(ctx, auditContainer, blobPath(f, 0), &azblob.DownloadStreamOptions{
		Range: azblob.HTTPRange{Offset: 10, Count: 20}})
	if err != nil {
		t.Fatalf("DownloadStream range: %v", err)
	}
	got, _ = io.ReadAll(dl.Body)
	dl.Body.Close()
	if !bytes.Equal(got, want[10:30]) || *dl.ContentRange != fmt.Sprintf("bytes 10-29/%d", len(want)) {
		t.Errorf("range download = %q (%s)", got, *dl.ContentRange)
	}
	buf := make([]byte, len(want))
	if n, err := c.DownloadBuffer(ctx, auditContainer, blobPath(f, 0), buf, nil); err != nil || n != int64(len(want)) || !bytes.Equal(buf, want) {
		t.Errorf("DownloadBuffer = %d, %v", n, err)
	}

	// Properties (HEAD).
	props, err := c.ServiceClient().NewContainerClient(auditContainer).NewBlobClient(blobPath(f, 0)).GetProperties(ctx, nil)
	if err != nil || *props.ContentLength != int64(len(want)) || *props.BlobCommittedBlockCount != 3 {
		t.Errorf("GetProperties = %+v, %v", props, err)
	}
	if _, err := c.ServiceClient().NewContainerClient(auditContainer).GetProperties(ctx, nil); err != nil {
		t.Errorf("container GetProperties: %v", err)
	}

	// Missing things.
	_, err = c.DownloadStream(ctx, auditContainer, "nope.json", nil)
	if !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Errorf("download of a missing blob: %v", err)
	}
	_, err = c.NewListBlobsFlatPager("missing", nil).NextPage(ctx)
	if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Errorf("listing a missing container: %v", err)
	}

	// Writes are refused.
	for name, op := range map[string]func() error{
		"UploadBuffer": func() error {
			_, err := c.UploadBuffer(ctx, auditContainer, "forged.json", []byte("x"), nil)
			return err
		},
		"DeleteBlob": func() error { _, err := c.DeleteBlob(ctx, auditContainer, blobPath(f, 0), nil); return err },
		"CreateContainer": func() error {
			_, err := c.CreateContainer(ctx, "new-one", &container.CreateOptions{})
			return err
		},
	} {
		err := op()
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 405 || re.ErrorCode != "UnsupportedHttpVerb" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := f.blobs.Read(ctx, acct, auditContainer, "forged.json", 0, 1); err == nil {
		t.Error("a refused upload wrote a blob")
	}
}

// TestAzblobSDKAuthorization: who may read.
func TestAzblobSDKAuthorization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.blobs.Append(ctx, f.account.Key(), auditContainer, "a.json", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		role string
		ok   bool
	}{
		{rbac.Owner, true}, {rbac.Contributor, true}, {rbac.Reader, true}, {rbac.StorageBlobDataReader, true},
		{rbac.UserAccessAdministrator, true}, // "*/read", like Reader
		{"", false},
	} {
		c := f.sdkClient("auditlogs", &credential{f: f, p: f.principal(tt.role)})
		_, err := c.DownloadStream(ctx, auditContainer, "a.json", nil)
		if tt.ok != (err == nil) {
			t.Errorf("role %q: %v", tt.role, err)
		}
		if !tt.ok && !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
			t.Errorf("role %q: error %v", tt.role, err)
		}
	}
}
