package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := WriteJSON(rec, http.StatusAccepted, map[string]string{"a": "<b>"}); err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Content-Type":           {ContentTypeJSON},
		"Content-Length":         {"21"},
		"X-Content-Type-Options": {"nosniff"},
	}
	if diff := cmp.Diff(want, rec.Header()); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if rec.Code != 202 || rec.Body.String() != `{"a":"\u003cb\u003e"}` {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	if err := WriteJSON(rec, 200, make(chan int)); err == nil {
		t.Error("no error for an unencodable value")
	}
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Error("wrote something despite the encoding error")
	}
}

func TestErrorWriters(t *testing.T) {
	tests := []struct {
		name   string
		ew     ErrorWriter
		status int
		want   string
	}{
		{"ARM 404", WriteARMError, 404, `{"error":{"code":"NotFound","message":"m"}}`},
		{"ARM 413", WriteARMError, 413, `{"error":{"code":"RequestEntityTooLarge","message":"m"}}`},
		{"ARM 500", WriteARMError, 500, `{"error":{"code":"InternalServerError","message":"m"}}`},
		{"ARM unknown status", WriteARMError, 599, `{"error":{"code":"Error","message":"m"}}`},
		{"OAuth 400", WriteOAuthError, 400, `{"error":"invalid_request","error_description":"m"}`},
		{"OAuth 401", WriteOAuthError, 401, `{"error":"invalid_client","error_description":"m"}`},
		{"OAuth 413", WriteOAuthError, 413, `{"error":"invalid_request","error_description":"m"}`},
		{"OAuth 500", WriteOAuthError, 500, `{"error":"server_error","error_description":"m"}`},
		{"OAuth 503", WriteOAuthError, 503, `{"error":"temporarily_unavailable","error_description":"m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.ew(rec, httptest.NewRequest("GET", "/", nil), tt.status, "m")
			if rec.Code != tt.status || rec.Body.String() != tt.want {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.want)
			}
		})
	}
}
