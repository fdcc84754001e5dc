package akv

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

func TestBlobEncoding(t *testing.T) {
	// The Go SDK sends and expects base64url without padding
	// (reference/keyvault-wire.md §1.4: bytes 01 02 03 fa are "AQID-g").
	if got := EncodeBlob([]byte{1, 2, 3, 0xfa}); got != "AQID-g" {
		t.Errorf("EncodeBlob = %q", got)
	}
	for in, ok := range map[string]bool{"AQID-g": true, "AQID-g==": true, "AQID+g": false, "AQID-h": false, "A": false, "": true} {
		if _, err := DecodeBlob(in); (err == nil) != ok {
			t.Errorf("DecodeBlob(%q): %v", in, err)
		}
	}
}

func TestShapes(t *testing.T) {
	if Unix(time.Time{}) != nil || *Unix(time.Unix(1700000000, 999)) != 1700000000 || !FromUnix(nil).IsZero() {
		t.Error("Unix conversions")
	}
	vault := VaultURL("MyVault", "vault.localhost:8443")
	if id := SecretID(vault, "n", "v"); id != "https://myvault.vault.localhost:8443/secrets/n/v" {
		t.Errorf("SecretID = %s", id)
	}
	if id := SecretID(vault, "n", ""); id != "https://myvault.vault.localhost:8443/secrets/n" {
		t.Errorf("base SecretID = %s", id)
	}
	if RecoveryID(vault, "n") != "https://myvault.vault.localhost:8443/deletedsecrets/n" {
		t.Error("RecoveryID")
	}
	for _, v := range []string{"7.0", "7.4", "7.6", "2025-07-01", "2026-04-01"} {
		if !SupportedVersion(v) {
			t.Errorf("%s not supported", v)
		}
	}
	if SupportedVersion("2015-06-01") || SupportedVersion("") {
		t.Error("unknown version supported")
	}
	b, _ := json.Marshal(SecretListResult{Value: []SecretItem{}})
	if string(b) != `{"value":[],"nextLink":null}` {
		t.Errorf("empty last page = %s", b)
	}
	b, _ = json.Marshal(NewError("Forbidden", "m", "AccessDenied"))
	if string(b) != `{"error":{"code":"Forbidden","message":"m","innererror":{"code":"AccessDenied"}}}` {
		t.Errorf("error = %s", b)
	}
	w := httptest.NewRecorder()
	WriteError(w, 404, NewError("SecretNotFound", "m", ""))
	if w.Code != 404 || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("WriteError: %d %v", w.Code, w.Header())
	}
}
