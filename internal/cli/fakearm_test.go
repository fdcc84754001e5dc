package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fixed ids of the fake ARM server's directory and assignments.
const (
	adminObjectID  = "a0000000-0000-4000-8000-000000000001"
	aliceObjectID  = "a0000000-0000-4000-8000-000000000002"
	orphanObjectID = "d0000000-0000-4000-8000-00000000dead"
	ownerRole      = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	contribRole    = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	readerRole     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	uaaRole        = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	subScope       = "/subscriptions/sub-1"
	prodScope      = "/subscriptions/sub-1/resourceGroups/rg-prod"
)

// fakeARM adds the ARM routes the group, provider, role and lock commands
// call to a fakeServer: resource groups with long-running deletes,
// providers, role definitions and assignments at any scope, and locks.
// Its state is guarded by the fakeServer's mutex (held by auth).
type fakeARM struct {
	f    *fakeServer
	base string // https://management.localhost:port

	groups      map[string]resourceGroup // by lower-case name
	ops         map[string]*fakeOp
	providers   map[string]*providerInfo  // by lower-case namespace
	pending     map[string]int            // namespace → GETs until a registration settles
	assignments map[string]roleAssignment // by lower-case id
	locks       map[string]managementLock // by lower-case id
	pageSize    int
	badNextLink string // when set, the first page of groups links here
	requests    []string
	foreignHits int
}

// fakeOp is a long-running delete: the statuses its status URL returns
// in turn (the last one repeats), and, for a Location-only operation, how
// many 202s its Location URL answers before 204.
type fakeOp struct {
	statuses []operationStatus
	polls    int
	location int
	group    string
}

// newFakeARM registers the ARM routes on f and seeds them.
func newFakeARM(t *testing.T, f *fakeServer) *fakeARM {
	t.Helper()
	x := &fakeARM{
		f: f, base: f.srv.URLFor("management.localhost"),
		groups: map[string]resourceGroup{}, ops: map[string]*fakeOp{}, providers: map[string]*providerInfo{},
		pending: map[string]int{}, assignments: map[string]roleAssignment{}, locks: map[string]managementLock{},
		pageSize: 2,
	}
	for _, g := range []struct{ name, loc string }{{"rg-prod", "westeurope"}, {"rg-dev", "northeurope"}, {"rg-edge", "westeurope"}, {"fail-rg", "westeurope"}, {"foreign-rg", "westeurope"}, {"loc-rg", "westeurope"}, {"sync-rg", "westeurope"}} {
		x.putGroupState(g.name, g.loc, map[string]string{"env": "test"})
	}
	for _, p := range []providerInfo{
		{Namespace: "Microsoft.KeyVault", RegistrationState: stateRegistered},
		{Namespace: "Microsoft.DataBoxEdge", RegistrationState: stateNotReg},
		{Namespace: "Microsoft.Storage", RegistrationState: stateRegistered},
	} {
		p.ID = subScope + "/providers/" + p.Namespace
		p.RegistrationPolicy = "RegistrationRequired"
		p.ResourceTypes = []providerResourceType{{ResourceType: "things", Locations: []string{"westeurope"}, APIVersions: []string{"2023-01-01"}}}
		x.providers[strings.ToLower(p.Namespace)] = &p
	}
	x.addAssignment(subScope, "00000000-0000-4000-8000-0000000000a1", ownerRole, adminObjectID, "User")
	x.addAssignment(prodScope, "00000000-0000-4000-8000-0000000000a2", contribRole, "obj-0", "ServicePrincipal")
	x.addAssignment(subScope, "00000000-0000-4000-8000-0000000000a3", readerRole, orphanObjectID, "User")
	x.addLock(subScope, "sub-read-only", "ReadOnly", "")
	x.addLock(prodScope, "no-delete", "CanNotDelete", "production data")
	f.mux.HandleFunc("management.localhost/subscriptions/", f.auth(x.serve))
	f.mux.HandleFunc("GET management.localhost/edgevault/admin/users", f.auth(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []directoryUser{
			{ObjectID: adminObjectID, UserName: adminUser, DisplayName: "Administrator"},
			{ObjectID: aliceObjectID, UserName: "alice", DisplayName: "Alice"},
		}})
	}))
	f.mux.HandleFunc("evil.localhost/", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		x.foreignHits++
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"status": "Succeeded"})
	})
	return x
}

func (x *fakeARM) putGroupState(name, loc string, tags map[string]string) resourceGroup {
	g := resourceGroup{ID: subScope + "/resourceGroups/" + name, Name: name, Type: "Microsoft.Resources/resourceGroups", Location: loc, Tags: tags}
	g.Properties.ProvisioningState = "Succeeded"
	x.groups[strings.ToLower(name)] = g
	return g
}

func (x *fakeARM) addAssignment(scope, name, role, principal, kind string) roleAssignment {
	ra := roleAssignment{ID: scope + authzProvider + "/roleAssignments/" + name, Name: name, Type: "Microsoft.Authorization/roleAssignments",
		Properties: roleAssignmentProperties{RoleDefinitionID: subScope + authzProvider + "/roleDefinitions/" + role,
			PrincipalID: principal, PrincipalType: kind, Scope: scope, CreatedOn: fakeTime.Format(time.RFC3339)}}
	x.assignments[strings.ToLower(ra.ID)] = ra
	return ra
}

func (x *fakeARM) addLock(scope, name, level, notes string) managementLock {
	l := managementLock{ID: scope + authzProvider + "/locks/" + name, Name: name, Type: "Microsoft.Authorization/locks",
		Properties: lockProperties{Level: level, Notes: notes}}
	x.locks[strings.ToLower(l.ID)] = l
	return l
}

// serve dispatches every ARM request under /subscriptions/.
func (x *fakeARM) serve(w http.ResponseWriter, r *http.Request) {
	x.requests = append(x.requests, r.Method+" "+r.URL.RequestURI())
	p := r.URL.Path
	if i := strings.Index(strings.ToLower(p), strings.ToLower(authzProvider)+"/"); i >= 0 {
		typ, name, _ := strings.Cut(p[i+len(authzProvider)+1:], "/")
		scope := p[:i]
		switch {
		case typ == "roleAssignments" && x.version(w, r, authzAPIVersion):
			x.serveAssignments(w, r, scope, name)
		case typ == "roleDefinitions" && x.version(w, r, authzAPIVersion):
			x.serveDefinitions(w)
		case typ == "locks" && x.version(w, r, locksAPIVersion):
			x.serveLocks(w, r, scope, name)
		case typ != "roleAssignments" && typ != "roleDefinitions" && typ != "locks":
			armError(w, 404, "NotFound", "no such route")
		}
		return
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) < 3 || segs[1] != "sub-1" {
		armError(w, 404, "SubscriptionNotFound", "The subscription could not be found.")
		return
	}
	if !x.version(w, r, resourcesAPIVersion) {
		return
	}
	switch {
	case segs[2] == "resourcegroups" && len(segs) == 3 && r.Method == http.MethodGet:
		x.listGroups(w, r)
	case segs[2] == "resourcegroups" && len(segs) == 4:
		x.serveGroup(w, r, segs[3])
	case segs[2] == "providers" && len(segs) == 3 && r.Method == http.MethodGet:
		x.listProviders(w)
	case segs[2] == "providers" && len(segs) == 6 && segs[3] == "Microsoft.Resources":
		x.serveOperation(w, segs[4], segs[5])
	case segs[2] == "providers" && len(segs) >= 4:
		x.serveProvider(w, r, segs[3:])
	default:
		armError(w, 404, "NotFound", "no such route")
	}
}

// version checks the api-version query parameter.
func (x *fakeARM) version(w http.ResponseWriter, r *http.Request, want string) bool {
	if got := r.URL.Query().Get("api-version"); got != want {
		armError(w, 400, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid; want '%s'.", got, want))
		return false
	}
	return true
}

func (x *fakeARM) listGroups(w http.ResponseWriter, r *http.Request) {
	names := slices.Sorted(maps.Keys(x.groups))
	start, _ := strconv.Atoi(r.URL.Query().Get("$skipToken"))
	end := min(start+x.pageSize, len(names))
	out := map[string]any{"value": []resourceGroup{}}
	var page []resourceGroup
	for _, n := range names[start:end] {
		page = append(page, x.groups[n])
	}
	if page != nil {
		out["value"] = page
	}
	if end < len(names) {
		out["nextLink"] = fmt.Sprintf("%s/subscriptions/sub-1/resourcegroups?api-version=%s&$skipToken=%d", x.base, resourcesAPIVersion, end)
		if x.badNextLink != "" {
			out["nextLink"] = x.badNextLink
		}
	}
	writeJSON(w, 200, out)
}

func (x *fakeARM) serveGroup(w http.ResponseWriter, r *http.Request, name string) {
	g, ok := x.groups[strings.ToLower(name)]
	switch r.Method {
	case http.MethodPut:
		var body struct {
			Location string            `json:"location"`
			Tags     map[string]string `json:"tags"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Location == "" {
			armError(w, 400, "InvalidRequestContent", "location is required.")
			return
		}
		status := http.StatusCreated
		if ok {
			status = http.StatusOK
		}
		writeJSON(w, status, x.putGroupState(name, body.Location, body.Tags))
		return
	case http.MethodGet, http.MethodDelete:
	default:
		armError(w, 405, "MethodNotAllowed", "method not allowed")
		return
	}
	if !ok {
		armError(w, 404, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", name))
		return
	}
	if r.Method == http.MethodGet {
		writeJSON(w, 200, g)
		return
	}
	x.deleteGroup(w, g)
}

// deleteGroup starts a long-running delete, shaped by the group's name.
func (x *fakeARM) deleteGroup(w http.ResponseWriter, g resourceGroup) {
	pct := func(f float64) *float64 { return &f }
	id := fmt.Sprintf("op-%d", len(x.ops)+1)
	op := &fakeOp{group: strings.ToLower(g.Name), statuses: []operationStatus{
		{Status: "InProgress", PercentComplete: pct(50)}, {Status: "Succeeded", PercentComplete: pct(100)},
	}}
	opBase := x.base + "/subscriptions/sub-1/providers/Microsoft.Resources/"
	statusURL := opBase + "operationStatuses/" + id + "?api-version=" + resourcesAPIVersion
	switch {
	case strings.HasPrefix(g.Name, "sync-"):
		delete(x.groups, op.group)
		w.WriteHeader(http.StatusOK)
		return
	case strings.HasPrefix(g.Name, "fail-"):
		op.statuses[1] = operationStatus{Status: "Failed", Error: &errorBody{Code: "ScopeLocked",
			Message: "The scope '" + g.ID + "' cannot perform delete operation because following scope(s) are locked: '" + g.ID + "'."}}
	case strings.HasPrefix(g.Name, "foreign-"):
		statusURL = strings.Replace(statusURL, "management.localhost", "evil.localhost", 1)
	case strings.HasPrefix(g.Name, "loc-"):
		statusURL, op.location = "", 1
	}
	x.ops[id] = op
	if statusURL != "" {
		w.Header().Set("Azure-AsyncOperation", statusURL)
	}
	w.Header().Set("Location", opBase+"operationResults/"+id+"?api-version="+resourcesAPIVersion)
	w.Header().Set("Retry-After", "3")
	w.WriteHeader(http.StatusAccepted)
}

// serveOperation answers an operation's status URL (operationStatuses)
// or Location URL (operationResults).
func (x *fakeARM) serveOperation(w http.ResponseWriter, kind, id string) {
	op, ok := x.ops[id]
	if !ok {
		armError(w, 404, "NotFound", "no such operation")
		return
	}
	w.Header().Set("Retry-After", "30") // more than the CLI waits
	if kind == "operationResults" {
		if op.location > 0 {
			op.location--
			w.WriteHeader(http.StatusAccepted)
			return
		}
		delete(x.groups, op.group)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	st := op.statuses[min(op.polls, len(op.statuses)-1)]
	op.polls++
	st.ID, st.Name = "/subscriptions/sub-1/providers/Microsoft.Resources/operationStatuses/"+id, id
	if st.Status == "Succeeded" {
		delete(x.groups, op.group)
	}
	writeJSON(w, 200, st)
}

func (x *fakeARM) listProviders(w http.ResponseWriter) {
	var out []providerInfo
	for _, k := range slices.Sorted(maps.Keys(x.providers)) {
		out = append(out, *x.providers[k])
	}
	writeJSON(w, 200, map[string]any{"value": out})
}

// serveProvider answers GET providers/{ns} and POST .../register and
// .../unregister; a registration settles after two GETs.
func (x *fakeARM) serveProvider(w http.ResponseWriter, r *http.Request, segs []string) {
	key := strings.ToLower(segs[0])
	p, ok := x.providers[key]
	if !ok {
		armError(w, 404, "InvalidResourceNamespace", fmt.Sprintf("The resource namespace '%s' is invalid.", segs[0]))
		return
	}
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		if x.pending[key] > 0 {
			if x.pending[key]--; x.pending[key] == 0 {
				p.RegistrationState = map[string]string{stateRegistering: stateRegistered, stateUnregInProg: stateUnregistered}[p.RegistrationState]
			}
		}
	case len(segs) == 2 && r.Method == http.MethodPost && segs[1] == "register":
		if p.RegistrationState != stateRegistered {
			p.RegistrationState, x.pending[key] = stateRegistering, 2
		}
	case len(segs) == 2 && r.Method == http.MethodPost && segs[1] == "unregister":
		p.RegistrationState, x.pending[key] = stateUnregInProg, 2
	default:
		armError(w, 404, "NotFound", "no such route")
		return
	}
	writeJSON(w, 200, p)
}

func (x *fakeARM) serveDefinitions(w http.ResponseWriter) {
	var defs []map[string]any
	for _, d := range []struct{ guid, name string }{{ownerRole, "Owner"}, {contribRole, "Contributor"}, {readerRole, "Reader"}, {uaaRole, "User Access Administrator"}} {
		defs = append(defs, map[string]any{"id": "/providers/Microsoft.Authorization/roleDefinitions/" + d.guid, "name": d.guid,
			"type": "Microsoft.Authorization/roleDefinitions", "properties": map[string]string{"roleName": d.name, "type": "BuiltInRole"}})
	}
	writeJSON(w, 200, map[string]any{"value": defs})
}

// related reports whether one scope contains the other (ARM lists what is
// at, above and below a scope).
func related(a, b string) bool {
	a, b = strings.ToLower(a)+"/", strings.ToLower(b)+"/"
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

func (x *fakeARM) serveAssignments(w http.ResponseWriter, r *http.Request, scope, name string) {
	switch {
	case name == "" && r.Method == http.MethodGet:
		filter := r.URL.Query().Get("$filter")
		out := []roleAssignment{}
		for _, k := range slices.Sorted(maps.Keys(x.assignments)) {
			ra := x.assignments[k]
			if !related(scope, ra.Properties.Scope) ||
				strings.Contains(filter, "atScope()") && len(ra.Properties.Scope) > len(scope) || // below the scope
				strings.Contains(filter, "principalId eq ") && !strings.Contains(filter, "'"+ra.Properties.PrincipalID+"'") {
				continue
			}
			out = append(out, ra)
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case name != "" && r.Method == http.MethodPut:
		var body struct{ Properties roleAssignmentProperties }
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Properties.PrincipalID == "" ||
			!strings.HasPrefix(body.Properties.RoleDefinitionID, subScope+authzProvider+"/roleDefinitions/") ||
			(body.Properties.PrincipalType != "User" && body.Properties.PrincipalType != "ServicePrincipal") {
			armError(w, 400, "InvalidRequestContent", "bad role assignment")
			return
		}
		role := lastSegment(body.Properties.RoleDefinitionID)
		for _, ra := range x.assignments {
			if ra.Properties.PrincipalID == body.Properties.PrincipalID && strings.EqualFold(ra.Properties.Scope, scope) && lastSegment(ra.Properties.RoleDefinitionID) == role {
				armError(w, 409, "RoleAssignmentExists", "The role assignment already exists.")
				return
			}
		}
		writeJSON(w, 201, x.addAssignment(scope, name, role, body.Properties.PrincipalID, body.Properties.PrincipalType))
	case name != "" && r.Method == http.MethodDelete:
		id := strings.ToLower(scope + authzProvider + "/roleAssignments/" + name)
		ra, ok := x.assignments[id]
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		delete(x.assignments, id)
		writeJSON(w, 200, ra)
	default:
		armError(w, 405, "MethodNotAllowed", "method not allowed")
	}
}

func (x *fakeARM) serveLocks(w http.ResponseWriter, r *http.Request, scope, name string) {
	switch {
	case name == "" && r.Method == http.MethodGet:
		out := []managementLock{}
		for _, k := range slices.Sorted(maps.Keys(x.locks)) {
			if l := x.locks[k]; related(scope, scopeOfExtension(l.ID)) {
				out = append(out, l)
			}
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case name != "" && r.Method == http.MethodPut:
		var body struct{ Properties lockProperties }
		if json.NewDecoder(r.Body).Decode(&body) != nil || (body.Properties.Level != "CanNotDelete" && body.Properties.Level != "ReadOnly") {
			armError(w, 400, "InvalidRequestContent", "bad lock")
			return
		}
		writeJSON(w, 201, x.addLock(scope, name, body.Properties.Level, body.Properties.Notes))
	case name != "" && r.Method == http.MethodDelete:
		id := strings.ToLower(scope + authzProvider + "/locks/" + name)
		if _, ok := x.locks[id]; !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		delete(x.locks, id)
		w.WriteHeader(http.StatusOK)
	default:
		armError(w, 405, "MethodNotAllowed", "method not allowed")
	}
}

// sleeps records the waits of the CLI instead of sleeping.
type sleeps struct{ d []time.Duration }

// stubSleep replaces sleep for the test and returns what it records.
func stubSleep(t *testing.T) *sleeps {
	s := &sleeps{}
	old := sleep
	t.Cleanup(func() { sleep = old })
	sleep = func(ctx context.Context, d time.Duration) error {
		s.d = append(s.d, d)
		return ctx.Err()
	}
	return s
}

// stubTerminal makes the CLI see a terminal on stdin and/or stderr.
func stubTerminal(t *testing.T, stdin, stderr bool) {
	old := isTerminal
	t.Cleanup(func() { isTerminal = old })
	isTerminal = func(v any) bool {
		switch v.(type) {
		case *strings.Reader:
			return stdin
		case *bytes.Buffer:
			return stderr
		}
		return false
	}
}

// stubAssignmentNames makes new role assignment names predictable.
func stubAssignmentNames(t *testing.T) {
	old := newAssignmentName
	t.Cleanup(func() { newAssignmentName = old })
	n := 0
	newAssignmentName = func() string {
		n++
		return fmt.Sprintf("c0000000-0000-4000-8000-%012d", n)
	}
}
