package cli

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// armEnv is a signed-in CLI against a fake server with ARM routes.
func armEnv(t *testing.T) (*fakeServer, *fakeARM) {
	t.Helper()
	useConfigDir(t)
	fs := newFakeServer(t)
	x := newFakeARM(t, fs)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	return fs, x
}

// TestLROPolling checks the waits and requests of a long-running delete:
// Retry-After of the 202 (3 s) is honoured, the 30 s a status answer asks
// for is capped at pollMax, and polling stops at Succeeded.
func TestLROPolling(t *testing.T) {
	slept := stubSleep(t)
	fs, x := armEnv(t)
	mustRun(t, "", "group", "delete", "-n", "rg-dev", "--yes")
	if want := []time.Duration{3 * time.Second, pollMax}; !slices.Equal(slept.d, want) {
		t.Errorf("slept %v, want %v", slept.d, want)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var polls []string
	for _, r := range x.requests {
		if strings.Contains(r, "operationStatuses") {
			polls = append(polls, r)
		}
	}
	if len(polls) != 2 {
		t.Errorf("polled %d times, want 2: %q", len(polls), x.requests)
	}
	if _, ok := x.groups["rg-dev"]; ok {
		t.Error("group still there")
	}
}

// TestLROLocation checks the Location poller: 202 means running, 204 done.
func TestLROLocation(t *testing.T) {
	slept := stubSleep(t)
	armEnv(t)
	r := mustRun(t, "", "group", "delete", "-n", "loc-rg", "--yes")
	if want := []time.Duration{3 * time.Second, pollMax}; !slices.Equal(slept.d, want) {
		t.Errorf("slept %v, want %v", slept.d, want)
	}
	if !strings.HasSuffix(r.stderr, "Deleted resource group loc-rg.\n") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestLROForeignHost checks that no request, and so no token, goes to a
// status URL or nextLink on another host than the management endpoint.
func TestLROForeignHost(t *testing.T) {
	slept := stubSleep(t)
	fs, x := armEnv(t)
	r := runCLI(t, "", "group", "delete", "-n", "foreign-rg", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "refusing to follow operation status URL") {
		t.Errorf("delete: exit %d, stderr %q", r.code, r.stderr)
	}
	if len(slept.d) != 0 {
		t.Errorf("slept %v before refusing", slept.d)
	}
	fs.mu.Lock()
	x.badNextLink = fs.srv.URLFor("evil.localhost") + "/subscriptions/sub-1/resourcegroups?api-version=" + resourcesAPIVersion
	fs.mu.Unlock()
	r = runCLI(t, "", "group", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "refusing to follow nextLink") {
		t.Errorf("list: exit %d, stderr %q", r.code, r.stderr)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if x.foreignHits != 0 {
		t.Errorf("%d requests reached the foreign host", x.foreignHits)
	}
}

// TestNextLinkLoop checks that a page linking back to itself ends the list.
func TestNextLinkLoop(t *testing.T) {
	fs, x := armEnv(t)
	fs.mu.Lock()
	x.badNextLink = x.base + "/subscriptions/sub-1/resourcegroups?api-version=" + resourcesAPIVersion
	fs.mu.Unlock()
	r := runCLI(t, "", "group", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "nextLink loop") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestLROTerminal checks the progress display on a terminal: a redrawn
// line with a spinner, percent and time waited, cleared at the end, and
// the spinner animated while waiting.
func TestLROTerminal(t *testing.T) {
	slept := stubSleep(t)
	stubTerminal(t, false, true)
	armEnv(t)
	r := mustRun(t, "", "group", "delete", "-n", "rg-dev", "--yes")
	for _, want := range []string{"\r\x1b[2K⠋ Deleting resource group 'rg-dev': Accepted [0s]", "InProgress (50%) [3s]", "\r\x1b[2KDeleted resource group rg-dev.\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%q", want, r.stderr)
		}
	}
	var total time.Duration
	for _, d := range slept.d {
		if d > spinnerFrame {
			t.Errorf("slept %v in one go on a terminal", d)
		}
		total += d
	}
	if total != 3*time.Second+pollMax {
		t.Errorf("slept %v in all", total)
	}
}

// TestLROInterrupted checks that an interrupt while waiting says where
// the operation can still be followed.
func TestLROInterrupted(t *testing.T) {
	armEnv(t)
	old := sleep
	t.Cleanup(func() { sleep = old })
	sleep = func(context.Context, time.Duration) error { return context.Canceled }
	r := runCLI(t, "", "group", "delete", "-n", "rg-dev", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "stopped waiting (context canceled); the operation goes on at the server: https://management.localhost:") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", pollDefault},
		{"3", 3 * time.Second},
		{" 4 ", 4 * time.Second},
		{"0", pollMin},
		{"60", pollMax},
		{"-1", pollDefault},
		{"Wed, 21 Oct 2015 07:28:00 GMT", pollDefault},
		{"1.5", pollDefault},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		if got := retryAfter(h); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestOperationEnded(t *testing.T) {
	tests := []struct {
		st      operationStatus
		done    bool
		wantErr string
	}{
		{operationStatus{Status: "InProgress"}, false, ""},
		{operationStatus{Status: "Deleting"}, false, ""},
		{operationStatus{Status: "succeeded"}, true, ""},
		{operationStatus{Status: "Completed"}, true, ""},
		{operationStatus{Status: "Failed", Error: &errorBody{Code: "Conflict", Message: "no"}}, true, "(Conflict) no"},
		{operationStatus{Status: "Canceled"}, true, "(Canceled) The operation ended with status Canceled."},
		{operationStatus{Status: "Cancelled", Error: &errorBody{Message: "stopped"}}, true, "(Cancelled) stopped"},
		{operationStatus{}, true, "the operation status has no status field"},
	}
	for _, tt := range tests {
		done, err := tt.st.ended()
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if done != tt.done || gotErr != tt.wantErr {
			t.Errorf("%+v: ended() = %v, %q; want %v, %q", tt.st, done, gotErr, tt.done, tt.wantErr)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://management.localhost:8443")
	tests := []struct {
		u    string
		want bool
	}{
		{"https://management.localhost:8443/x", true},
		{"https://MANAGEMENT.localhost:8443/x", true},
		{"https://management.localhost/x", false},
		{"http://management.localhost:8443/x", false},
		{"https://evil.localhost:8443/x", false},
		{"https://management.localhost.evil:8443/x", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.u)
		if got := sameOrigin(u, base); got != tt.want {
			t.Errorf("sameOrigin(%q) = %v, want %v", tt.u, got, tt.want)
		}
	}
	std, _ := url.Parse("https://m.example")
	if u, _ := url.Parse("https://m.example:443/"); !sameOrigin(u, std) {
		t.Error("default port not equal to 443")
	}
}

func TestFollow(t *testing.T) {
	base, _ := url.Parse("https://management.localhost:8443")
	c := &armClient{base: base}
	from := "https://management.localhost:8443/subscriptions/s/resourcegroups?api-version=1"
	tests := []struct{ ref, want, err string }{
		{"/subscriptions/s/op/1", "https://management.localhost:8443/subscriptions/s/op/1", ""},
		{"https://management.localhost:8443/a?b=c", "https://management.localhost:8443/a?b=c", ""},
		{"https://user:pw@management.localhost:8443/a", "", "refusing to follow"},
		{"//evil.localhost:8443/a", "", "refusing to follow"},
		{"https://evil.localhost:8443/a", "", "refusing to follow"},
	}
	for _, tt := range tests {
		got, err := c.follow(from, tt.ref, "nextLink")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("follow(%q): err %v, want %q", tt.ref, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("follow(%q): error shows the password: %v", tt.ref, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("follow(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
}

func TestMatchAssignee(t *testing.T) {
	users := []directoryUser{{ObjectID: aliceObjectID, UserName: "alice"}, {ObjectID: adminObjectID, UserName: "ci"}}
	sps := []servicePrincipal{{ClientID: bootSPID, ObjectID: "sp-obj-1", DisplayName: "ci"}, {ClientID: "c2", ObjectID: "sp-obj-2", DisplayName: "deploy"}}
	tests := []struct {
		x       string
		want    principalRef
		wantErr string
	}{
		{"alice", principalRef{objectID: aliceObjectID, kind: "User", name: "alice"}, ""},
		{"ALICE", principalRef{objectID: aliceObjectID, kind: "User", name: "alice"}, ""},
		{strings.ToUpper(aliceObjectID), principalRef{objectID: aliceObjectID, kind: "User", name: "alice"}, ""},
		{bootSPID, principalRef{objectID: "sp-obj-1", kind: "ServicePrincipal", name: "ci"}, ""},
		{"deploy", principalRef{objectID: "sp-obj-2", kind: "ServicePrincipal", name: "deploy"}, ""},
		{"ci", principalRef{}, `"ci" matches 2 principals`},
		{"nobody", principalRef{}, `no user or service principal matches "nobody"`},
	}
	for _, tt := range tests {
		got, err := matchAssignee(tt.x, users, sps)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("matchAssignee(%q): err %v, want %q", tt.x, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("matchAssignee(%q) = %+v, %v; want %+v", tt.x, got, err, tt.want)
		}
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		ownerRole:                                true,
		strings.ToUpper(ownerRole):               true,
		"8e3af657a8ff443ca75c2fe8c4bcb635":       false,
		"{8e3af657-a8ff-443c-a75c-2fe8c4bcb635}": false,
		"8e3af657-a8ff-443c-a75c-2fe8c4bcb63g":   false,
		"alice":                                  false,
	} {
		if got := isGUID(s); got != want {
			t.Errorf("isGUID(%q) = %v", s, got)
		}
	}
}

func TestScopeOfExtension(t *testing.T) {
	tests := map[string]string{
		"/subscriptions/s/providers/Microsoft.Authorization/locks/l":                                                        "/subscriptions/s",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v/providers/Microsoft.Authorization/locks/l": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v",
		"/providers/Microsoft.Authorization/roleAssignments/x":                                                              "/",
		"locks/l": "",
	}
	for id, want := range tests {
		if got := scopeOfExtension(id); got != want {
			t.Errorf("scopeOfExtension(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestARMRequests checks the requests that role and lock commands send:
// paths, api-versions, filters and bodies the server relies on.
func TestARMRequests(t *testing.T) {
	stubAssignmentNames(t)
	fs, x := armEnv(t)
	mustRun(t, "", "role", "assignment", "list", "--assignee", "alice", "--at-scope", "-o", "json")
	mustRun(t, "", "role", "assignment", "create", "--role", "Owner", "--assignee", "alice", "-g", "rg-dev", "-o", "json")
	mustRun(t, "", "lock", "list", "--resource", prodScope+"/providers/Microsoft.KeyVault/vaults/kv1", "-o", "json")
	fs.mu.Lock()
	defer fs.mu.Unlock()
	want := []string{
		"GET /subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments?%24filter=atScope%28%29+and+principalId+eq+%27" + aliceObjectID + "%27&api-version=2022-04-01",
		"GET /subscriptions/sub-1/resourceGroups/rg-dev/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01",
		"PUT /subscriptions/sub-1/resourceGroups/rg-dev/providers/Microsoft.Authorization/roleAssignments/c0000000-0000-4000-8000-000000000001?api-version=2022-04-01",
		"GET /subscriptions/sub-1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv1/providers/Microsoft.Authorization/locks?api-version=2020-05-01",
	}
	if diff := cmp.Diff(want, x.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	ra := x.assignments[strings.ToLower("/subscriptions/sub-1/resourceGroups/rg-dev"+authzProvider+"/roleAssignments/c0000000-0000-4000-8000-000000000001")]
	if ra.Properties.RoleDefinitionID != "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/"+ownerRole || ra.Properties.PrincipalType != "User" {
		t.Errorf("assignment %+v", ra.Properties)
	}
}

// TestARMNoSecrets checks that no token or secret appears in the output
// of the ARM commands, on success and failure, in both formats.
func TestARMNoSecrets(t *testing.T) {
	stubSleep(t)
	fs, _ := armEnv(t)
	var outs []string
	for _, o := range []string{"table", "json"} {
		for _, args := range [][]string{
			{"group", "list"}, {"group", "delete", "-n", "rg-dev", "--yes"}, {"group", "delete", "-n", "fail-rg", "--yes"},
			{"group", "delete", "-n", "rg-edge", "--yes", "--no-wait"}, {"provider", "register", "-n", "Microsoft.DataBoxEdge"},
			{"role", "assignment", "list"}, {"lock", "list"}, {"group", "show", "-n", "nope"},
		} {
			r := runCLI(t, "", append(args, "-o", o)...)
			outs = append(outs, r.stdout, r.stderr)
		}
	}
	for _, s := range fs.allSecrets() {
		for _, out := range outs {
			if strings.Contains(out, s) {
				t.Errorf("output leaks %q:\n%s", s, out)
			}
		}
	}
}
