package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestARMBadInput: malformed requests to the ARM core get ARM's error
// envelope with the right 4xx, and change nothing.
func TestARMBadInput(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	b := srv.boot
	tok := spToken(t, tokenClient(srv.http, b), b.ServicePrincipal.ClientID, b.ServicePrincipal.ClientSecret, b.ManagementAudience)
	sub := "/subscriptions/" + b.SubscriptionID
	rg := sub + "/resourcegroups/bad-input-rg"
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, b.ManagementEndpoint+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Error struct{ Code, Message string }
		}
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 {
			if err := json.Unmarshal(raw, &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
				t.Errorf("%s %s: %d body is not the ARM error envelope: %s", method, path, resp.StatusCode, raw)
			}
		}
		return resp.StatusCode, env.Error.Code
	}
	if st, _ := call("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope","tags":{"keep":"me"}}`); st != 201 {
		t.Fatalf("setup: %d", st)
	}
	manyTags := map[string]string{}
	for i := range 51 {
		manyTags[fmt.Sprint("k", i)] = "v"
	}
	bigTags, _ := json.Marshal(map[string]any{"location": "westeurope", "tags": manyTags})
	longNotes := `{"properties":{"level":"CanNotDelete","notes":"` + strings.Repeat("n", 513) + `"}}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"no api-version", "GET", rg, "", 400, "MissingApiVersionParameter"},
		{"unknown api-version", "GET", rg + "?api-version=2099-01-01", "", 400, "InvalidApiVersionParameter"},
		{"unknown field", "PUT", rg + "?api-version=2021-04-01", `{"location":"westeurope","colour":"red"}`, 400, "InvalidRequestContent"},
		{"wrong type", "PUT", rg + "?api-version=2021-04-01", `{"location":"westeurope","tags":["a"]}`, 400, "InvalidRequestContent"},
		{"not JSON", "PUT", rg + "?api-version=2021-04-01", `{"location":`, 400, "InvalidRequestContent"},
		{"too many tags", "PUT", rg + "?api-version=2021-04-01", string(bigTags), 400, "BadRequest"},
		{"bad tag name", "PATCH", rg + "?api-version=2021-04-01", `{"tags":{"a/b":"c"}}`, 400, "BadRequest"},
		{"bad group name", "PUT", sub + "/resourcegroups/bad.?api-version=2021-04-01", `{"location":"westeurope"}`, 400, "BadRequest"},
		{"no location", "PUT", sub + "/resourcegroups/x?api-version=2021-04-01", `{}`, 400, "BadRequest"},
		{"unknown subscription", "GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2021-04-01", "", 404, "SubscriptionNotFound"},
		{"unknown provider", "POST", sub + "/providers/Microsoft.Nope/register?api-version=2021-04-01", "", 404, "InvalidResourceNamespace"},
		{"bad resource id", "GET", "/subscriptions/" + b.SubscriptionID + "/bogus/x/providers/Microsoft.Authorization/locks?api-version=2020-05-01", "", 404, "NotFound"},
		{"lock notes over 512", "PUT", rg + "/providers/Microsoft.Authorization/locks/l?api-version=2020-05-01", longNotes, 400, "BadRequest"},
		{"lock bad level", "PUT", rg + "/providers/Microsoft.Authorization/locks/l?api-version=2020-05-01", `{"properties":{"level":"Sometimes"}}`, 400, "BadRequest"},
		{"lock on a missing resource", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Authorization/locks/l?api-version=2020-05-01", `{"properties":{"level":"ReadOnly"}}`, 404, "ResourceNotFound"},
		{"lock bad api-version", "GET", rg + "/providers/Microsoft.Authorization/locks?api-version=2021-04-01", "", 400, "InvalidApiVersionParameter"},
		{"assignment unknown principal", "PUT", rg + "/providers/Microsoft.Authorization/roleAssignments/5f1c2a4e-1b2c-4d5e-8f90-0123456789ab?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"00000000-0000-0000-0000-000000000009"}}`, 400, "PrincipalNotFound"},
		{"assignment unknown role", "PUT", rg + "/providers/Microsoft.Authorization/roleAssignments/5f1c2a4e-1b2c-4d5e-8f90-0123456789ab?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000","principalId":"` + b.ServicePrincipal.ObjectID + `"}}`, 400, "RoleDefinitionDoesNotExist"},
		{"assignment name not a GUID", "PUT", rg + "/providers/Microsoft.Authorization/roleAssignments/mine?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"` + b.ServicePrincipal.ObjectID + `"}}`, 400, "InvalidRoleAssignmentId"},
		{"method not allowed", "POST", rg + "?api-version=2021-04-01", "", 405, "MethodNotAllowed"},
		{"precondition", "PUT", rg + "?api-version=2021-04-01", `{"location":"westeurope"}`, 412, "PreconditionFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "precondition" {
				req, _ := http.NewRequest("PUT", b.ManagementEndpoint+tt.path, strings.NewReader(tt.body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("If-None-Match", "*")
				resp, err := srv.http.Do(req)
				if err != nil || resp.StatusCode != tt.status {
					t.Fatalf("If-None-Match: * on an existing group: %v %v", resp.Status, err)
				}
				resp.Body.Close()
				return
			}
			if st, code := call(tt.method, tt.path, tt.body); st != tt.status || code != tt.code {
				t.Errorf("got %d %s, want %d %s", st, code, tt.status, tt.code)
			}
		})
	}
	// Nothing changed: the group is as created, with no lock or assignment.
	st, _ := call("GET", rg+"?api-version=2021-04-01", "")
	var g struct{ Tags map[string]string }
	req, _ := http.NewRequest("GET", b.ManagementEndpoint+rg+"?api-version=2021-04-01", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	if st != 200 || len(g.Tags) != 1 || g.Tags["keep"] != "me" {
		t.Errorf("group changed by bad input: %d %v", st, g.Tags)
	}
	for _, list := range []string{"/providers/Microsoft.Authorization/locks?api-version=2020-05-01",
		"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()"} {
		req, _ := http.NewRequest("GET", b.ManagementEndpoint+rg+list, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l struct{ Value []struct{ ID string } }
		_ = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		for _, v := range l.Value {
			if strings.Contains(strings.ToLower(v.ID), "bad-input-rg/providers") {
				t.Errorf("bad input left %s", v.ID)
			}
		}
	}
}
