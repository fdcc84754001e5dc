package arm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/edgevault/edgevault/internal/arm"
)

const sub = "00000000-0000-0000-0000-000000000001"
const opID = "4d2a2f3c-1b7e-4c55-9d0e-2f6b1a7c9e10"

func TestOperationURLs(t *testing.T) {
	base := "https://management.edgevault.test:8443"
	tests := []struct{ got, want string }{
		{arm.OperationStatusID(sub, opID), "/subscriptions/" + sub + "/providers/Microsoft.Resources/operationStatuses/" + opID},
		{arm.OperationURL(base, arm.OperationStatusID(sub, opID), "2021-04-01"),
			base + "/subscriptions/" + sub + "/providers/Microsoft.Resources/operationStatuses/" + opID + "?api-version=2021-04-01"},
		{arm.OperationURL(base, arm.OperationResultPath(sub, opID), "2022-09-01"),
			base + "/subscriptions/" + sub + "/providers/Microsoft.Resources/operationResults/" + opID + "?api-version=2022-09-01"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s\nwant %s", tt.got, tt.want)
		}
	}
}

func TestAsyncOperationStatusJSON(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 500_000_000, time.FixedZone("x", 3600))
	end := start.Add(3 * time.Second)
	id := arm.OperationStatusID(sub, opID)
	tests := []struct {
		name string
		s    arm.AsyncOperationStatus
		want string
	}{
		{"running", arm.AsyncOperationStatus{ID: id, Name: opID, Status: "InProgress",
			StartTime: arm.OptionalTime(start), EndTime: arm.OptionalTime(time.Time{}), PercentComplete: 40},
			`{"id":"` + id + `","name":"` + opID + `","status":"InProgress","startTime":"2026-11-26T11:00:00.5Z","percentComplete":40}`},
		{"succeeded", arm.AsyncOperationStatus{ID: id, Name: opID, Status: "Succeeded",
			StartTime: arm.OptionalTime(start), EndTime: arm.OptionalTime(end), PercentComplete: 100,
			Properties: json.RawMessage(`{"a":1}`)},
			`{"id":"` + id + `","name":"` + opID + `","status":"Succeeded","startTime":"2026-11-26T11:00:00.5Z",` +
				`"endTime":"2026-11-26T11:00:03.5Z","percentComplete":100,"properties":{"a":1}}`},
		{"failed", arm.AsyncOperationStatus{ID: id, Name: opID, Status: "Failed",
			StartTime: arm.OptionalTime(start), EndTime: arm.OptionalTime(end),
			Error: &arm.ErrorDetail{Code: "ScopeLocked", Message: "locked"}},
			`{"id":"` + id + `","name":"` + opID + `","status":"Failed","startTime":"2026-11-26T11:00:00.5Z",` +
				`"endTime":"2026-11-26T11:00:03.5Z","percentComplete":0,"error":{"code":"ScopeLocked","message":"locked"}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.s)
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: %v\ngot  %s\nwant %s", tt.name, err, b, tt.want)
		}
	}
}

func TestWriteAccepted(t *testing.T) {
	w := httptest.NewRecorder()
	arm.WriteAccepted(w, http.StatusAccepted, "https://m/status", "https://m/result", 7, nil)
	h := w.Result().Header
	if w.Code != 202 || h.Get("Azure-AsyncOperation") != "https://m/status" || h.Get("Location") != "https://m/result" ||
		h.Get("Retry-After") != "7" || h.Get("Content-Length") != "0" || w.Body.Len() != 0 {
		t.Errorf("202: %d %v %q", w.Code, h, w.Body)
	}
	w = httptest.NewRecorder()
	arm.WriteAccepted(w, http.StatusCreated, "https://m/status", "", 0, map[string]string{"name": "rg1"})
	h = w.Result().Header
	if w.Code != 201 || h.Get("Location") != "" || h.Get("Retry-After") != "" || w.Body.String() != `{"name":"rg1"}` {
		t.Errorf("201: %d %v %q", w.Code, h, w.Body)
	}
	w = httptest.NewRecorder()
	arm.WriteOperationStatus(w, arm.AsyncOperationStatus{Status: "Succeeded"}, 5)
	if w.Code != 200 || w.Result().Header.Get("Retry-After") != "" {
		t.Errorf("terminal status: %d %v", w.Code, w.Result().Header)
	}
}

// TestSDKPoller checks the shapes against the Go SDK's poller, as a
// generated client would use it for a POST action (edge-arm.md §3.5):
// Azure-AsyncOperation for status, the Location URL for the final result.
func TestSDKPoller(t *testing.T) {
	type result struct{ Name string }
	tests := []struct {
		name       string
		fail       bool
		retryAfter int
	}{
		{"succeeds", false, 1}, // the poller honours Retry-After: one second
		{"fails", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var polls atomic.Int32
			done := func() bool { return polls.Load() > 1 }
			mux := http.NewServeMux()
			var base string
			mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
				arm.WriteAccepted(w, http.StatusAccepted, base+"/status", base+"/result", tt.retryAfter, nil)
			})
			mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
				polls.Add(1)
				s := arm.AsyncOperationStatus{ID: "/x/" + opID, Name: opID, Status: "InProgress",
					StartTime: arm.OptionalTime(time.Now())}
				switch {
				case done() && tt.fail:
					s.Status, s.Error = "Failed", &arm.ErrorDetail{Code: "ScopeLocked", Message: "The scope is locked."}
				case done():
					s.Status, s.PercentComplete = "Succeeded", 100
				}
				arm.WriteOperationStatus(w, s, tt.retryAfter)
			})
			mux.HandleFunc("GET /result", func(w http.ResponseWriter, r *http.Request) {
				switch {
				case !done():
					arm.WriteOperationPending(w, base+"/result", tt.retryAfter)
				case tt.fail:
					arm.WriteError(w, http.StatusConflict, arm.ErrorDetail{Code: "ScopeLocked", Message: "The scope is locked."})
				default:
					arm.WriteOperationResult(w, http.StatusOK, []byte(`{"Name":"rg1"}`))
				}
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			base = srv.URL

			ctx := context.Background()
			pl := runtime.NewPipeline("edgevault-test", "v0", runtime.PipelineOptions{},
				&policy.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}})
			req, err := runtime.NewRequest(ctx, http.MethodPost, srv.URL+"/start")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := pl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			poller, err := runtime.NewPoller[result](resp, pl, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
			if tt.fail {
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.ErrorCode != "ScopeLocked" {
					t.Fatalf("PollUntilDone = %v, want ScopeLocked", err)
				}
				return
			}
			if err != nil || got.Name != "rg1" {
				t.Fatalf("PollUntilDone = %+v, %v", got, err)
			}
		})
	}
}
