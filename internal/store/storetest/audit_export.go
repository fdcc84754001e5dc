package storetest

import (
	"errors"
	"testing"

	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

func init() {
	register("AuditExportCursor", testAuditExportCursor)
}

// testAuditExportCursor: a delivery moves the cursor and appends in one
// transaction; a stale cursor or a gone account writes nothing.
func testAuditExportCursor(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	a := sampleAccount(sub, "logs-rg", "auditexport01")
	a.ProvisioningState = storageaccount.Succeeded
	if err := s.InsertAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	c, err := s.ExportCursor(ctx, "/x/diag", "/v")
	if err != nil || c.Found {
		t.Fatalf("ExportCursor of none = %+v, %v", c, err)
	}
	deliver := func(from auditexport.Cursor, after int64, line string) error {
		return s.DeliverAudit(ctx, auditexport.Delivery{From: from, SettingCreated: at, After: after, Account: a.ID,
			Appends: []auditexport.Append{{Blob: "b/PT1H.json", Data: []byte(line)}}, Now: at})
	}
	if err := deliver(c, 5, "1\n"); err != nil {
		t.Fatal(err)
	}
	// The same (now stale) cursor again: a second replica's batch.
	if err := deliver(c, 5, "dup\n"); !errors.Is(err, auditexport.ErrCursorMoved) {
		t.Fatalf("stale insert = %v, want ErrCursorMoved", err)
	}
	moved, err := s.ExportCursor(ctx, "/x/diag", "/v")
	if err != nil || !moved.Found || moved.After != 5 || !moved.SettingCreated.Equal(at) {
		t.Fatalf("ExportCursor = %+v, %v", moved, err)
	}
	if err := deliver(moved, 9, "2\n"); err != nil {
		t.Fatal(err)
	}
	if err := deliver(moved, 9, "dup\n"); !errors.Is(err, auditexport.ErrCursorMoved) {
		t.Fatalf("stale update = %v, want ErrCursorMoved", err)
	}
	// The same id, another account (deleted and created again).
	moved.After = 9
	err = s.DeliverAudit(ctx, auditexport.Delivery{From: moved, SettingCreated: at, After: 12, Account: a.ID, AccountUID: "other",
		Appends: []auditexport.Append{{Blob: "b/PT1H.json", Data: []byte("other\n")}}, Now: at})
	if !errors.Is(err, auditexport.ErrAccountGone) {
		t.Fatalf("to another account's UID = %v, want ErrAccountGone", err)
	}
	if err := s.DeleteAccount(ctx, a.UID); err != nil {
		t.Fatal(err)
	}
	if err := deliver(moved, 12, "gone\n"); !errors.Is(err, auditexport.ErrAccountGone) {
		t.Fatalf("to a deleted account = %v, want ErrAccountGone", err)
	}
	if c, _ := s.ExportCursor(ctx, "/x/diag", "/v"); c.After != 9 {
		t.Errorf("cursor moved to %d by a failed delivery", c.After)
	}
	_, data, err := s.ReadBlob(ctx, a.ID.Key(), auditexport.Container, "b/PT1H.json", 0, 100)
	if err != nil || string(data) != "1\n2\n" {
		t.Errorf("blob = %q, %v; want %q", data, err, "1\n2\n")
	}
}
