package httpx

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestResponseWriterRecords(t *testing.T) {
	tests := []struct {
		name        string
		write       func(w http.ResponseWriter)
		wantStatus  int
		wantWritten int64
		wantWrote   bool
	}{
		{"nothing", func(http.ResponseWriter) {}, 200, 0, false},
		{"implicit 200", func(w http.ResponseWriter) { w.Write([]byte("abc")) }, 200, 3, true},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(404); w.Write([]byte("ab")) }, 404, 2, true},
		{"first status wins", func(w http.ResponseWriter) { w.WriteHeader(201); w.WriteHeader(500) }, 201, 0, true},
		{"1xx is not final", func(w http.ResponseWriter) { w.WriteHeader(103); w.WriteHeader(204) }, 204, 0, true},
		{"101 is final", func(w http.ResponseWriter) { w.WriteHeader(101) }, 101, 0, true},
		{"flush commits 200", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rw := NewResponseWriter(rec)
			tt.write(rw)
			if rw.Status() != tt.wantStatus || rw.Written() != tt.wantWritten || rw.WroteHeader() != tt.wantWrote {
				t.Errorf("Status %d Written %d WroteHeader %v, want %d %d %v",
					rw.Status(), rw.Written(), rw.WroteHeader(), tt.wantStatus, tt.wantWritten, tt.wantWrote)
			}
		})
	}
}

func TestNewResponseWriterShares(t *testing.T) {
	rw := NewResponseWriter(httptest.NewRecorder())
	if NewResponseWriter(rw) != rw {
		t.Error("wrapping a *ResponseWriter again made a second record")
	}
	if rw.Unwrap() == nil {
		t.Error("Unwrap returned nil")
	}
}

// TestResponseWriterStreams checks, on a real server and through the whole
// chain, that a handler can flush part of a response and that
// http.ResponseController reaches the connection (deadlines), as long-poll
// handlers need.
func TestResponseWriterStreams(t *testing.T) {
	release := make(chan struct{})
	h := Wrap(&Hosts{Device: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrappers: %v", err)
		}
		w.Write([]byte("first\n"))
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release // the client has read "first": it was flushed, not buffered
		w.Write([]byte("second\n"))
	})}, Options{Logger: discardLogger()})
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/poll", nil)
	req.Host = "device.localhost"
	resp, err := srv.Client().Do(req)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	close(release)
	if first != "first\n" || err != nil {
		t.Fatalf("first line %q %v", first, err)
	}
	if second, err := br.ReadString('\n'); second != "second\n" {
		t.Errorf("second line %q %v", second, err)
	}
}
