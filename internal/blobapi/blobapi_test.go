package blobapi

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/rbac"
)

type rawResp struct {
	status int
	header http.Header
	body   string
}

// do sends one request to account's host; tok "" sends none.
func (f *fixture) do(method, account, path, tok string, header map[string]string) rawResp {
	f.t.Helper()
	req, err := http.NewRequest(method, "https://"+account+".blob.localhost:"+f.port+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("x-ms-version", "2026-12-06")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{resp.StatusCode, resp.Header, string(b)}
}

// TestRequests checks statuses, error codes and headers of requests the
// SDK would not send: bad input, bad credentials, forged markers, ranges.
func TestRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data := "0123456789abcdef\n"
	if err := f.blobs.Append(ctx, f.account.Key(), auditContainer, "a/b.json", []byte(data)); err != nil {
		t.Fatal(err)
	}
	reader := f.token(f.principal(rbac.Reader), f.audience)
	nobody := f.token(f.principal(""), f.audience)
	vaultTok := f.token(f.principal(rbac.Reader), "https://vault.localhost:"+f.port)
	other := f.newAccount("othertenant", "11111111-2222-3333-4444-555555555555")
	_ = other
	blobURL := "/" + auditContainer + "/a%2Fb.json"
	for _, tt := range []struct {
		name, method, account, path, tok string
		header                           map[string]string
		status                           int
		code                             string
		check                            func(t *testing.T, r rawResp)
	}{
		{name: "no token", path: blobURL, status: 401, code: "NoAuthenticationInformation", check: func(t *testing.T, r rawResp) {
			want := "Bearer authorization_uri=https://login.localhost:" + f.port + "/" + f.tenant +
				"/oauth2/authorize resource_id=" + f.audience
			if got := r.header.Get("WWW-Authenticate"); got != want {
				t.Errorf("challenge = %q, want %q", got, want)
			}
		}},
		{name: "vault audience", path: blobURL, tok: vaultTok, status: 401, code: "InvalidAuthenticationInfo"},
		{name: "garbage token", path: blobURL, tok: "abc.def.ghi", status: 401, code: "InvalidAuthenticationInfo"},
		{name: "other tenant's account", account: "othertenant", path: "/?comp=list", tok: reader, status: 401, code: "InvalidAuthenticationInfo"},
		{name: "unknown account", account: "nosuch", path: "/?comp=list", tok: reader, status: 404, code: "ResourceNotFound"},
		{name: "no role", path: blobURL, tok: nobody, status: 403, code: "AuthorizationPermissionMismatch"},
		{name: "no role, missing blob: no probing", path: "/" + auditContainer + "/nope", tok: nobody, status: 403, code: "AuthorizationPermissionMismatch"},
		{name: "no version", path: blobURL, tok: reader, header: map[string]string{"x-ms-version": ""}, status: 400, code: "MissingRequiredHeader"},
		{name: "bad version", path: blobURL, tok: reader, header: map[string]string{"x-ms-version": "2015-02-21"}, status: 400, code: "InvalidHeaderValue"},
		{name: "PUT", method: "PUT", path: blobURL, tok: reader, status: 405, code: "UnsupportedHttpVerb"},
		{name: "DELETE", method: "DELETE", path: "/" + auditContainer + "?restype=container", tok: reader, status: 405, code: "UnsupportedHttpVerb"},
		{name: "POST", method: "POST", path: "/?restype=service&comp=properties", tok: reader, status: 405, code: "UnsupportedHttpVerb"},
		{name: "bad container name", path: "/UPPER/x", tok: reader, status: 400, code: "InvalidUri"},
		{name: "dot-dot blob", path: "/" + auditContainer + "/a/../b", tok: reader, status: 400, code: "InvalidUri"},
		{name: "invalid UTF-8", path: "/" + auditContainer + "/a%C0%80", tok: reader, status: 400, code: "InvalidUri"},
		{name: "service properties", path: "/?restype=service&comp=properties", tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "forged marker", path: "/" + auditContainer + "?restype=container&comp=list&marker=AAAA", tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "marker of another listing", path: "/" + auditContainer + "?restype=container&comp=list&marker=" + EncodeMarker("other-logs", "x"), tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "container marker for blobs", path: "/" + auditContainer + "?restype=container&comp=list&marker=" + EncodeMarker("", "abc"), tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "maxresults 0", path: "/?comp=list&maxresults=0", tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "maxresults 5001", path: "/?comp=list&maxresults=5001", tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "delimiter", path: "/" + auditContainer + "?restype=container&comp=list&delimiter=/", tok: reader, status: 400, code: "InvalidQueryParameterValue"},
		{name: "range", path: blobURL, tok: reader, header: map[string]string{"Range": "bytes=2-5"}, status: 206, check: func(t *testing.T, r rawResp) {
			if r.body != "2345" || r.header.Get("Content-Range") != "bytes 2-5/17" {
				t.Errorf("range = %q %q", r.body, r.header.Get("Content-Range"))
			}
		}},
		{name: "x-ms-range wins", path: blobURL, tok: reader, header: map[string]string{"Range": "bytes=2-5", "x-ms-range": "bytes=-3"}, status: 206, check: func(t *testing.T, r rawResp) {
			if r.body != "ef\n" || r.header.Get("Content-Range") != "bytes 14-16/17" {
				t.Errorf("suffix range = %q %q", r.body, r.header.Get("Content-Range"))
			}
		}},
		{name: "open range past end clipped", path: blobURL, tok: reader, header: map[string]string{"x-ms-range": "bytes=15-100"}, status: 206},
		{name: "unsatisfiable range", path: blobURL, tok: reader, header: map[string]string{"x-ms-range": "bytes=17-"}, status: 416, code: "InvalidRange", check: func(t *testing.T, r rawResp) {
			if r.header.Get("Content-Range") != "bytes */17" {
				t.Errorf("Content-Range = %q", r.header.Get("Content-Range"))
			}
		}},
		{name: "malformed range", path: blobURL, tok: reader, header: map[string]string{"x-ms-range": "bytes=5-2"}, status: 400, code: "InvalidHeaderValue"},
		{name: "two ranges", path: blobURL, tok: reader, header: map[string]string{"Range": "bytes=0-1,3-4"}, status: 400, code: "InvalidHeaderValue"},
		{name: "HEAD error has no body", method: "HEAD", path: "/" + auditContainer + "/nope", tok: reader, status: 404, code: "BlobNotFound"},
		{name: "If-None-Match", path: blobURL, tok: reader, header: map[string]string{"If-None-Match": "*"}, status: 304, code: "ConditionNotMet"},
		{name: "If-Match mismatch", path: blobURL, tok: reader, header: map[string]string{"If-Match": `"0x1"`}, status: 412, code: "ConditionNotMet"},
		{name: "whole blob", path: blobURL, tok: reader, status: 200, check: func(t *testing.T, r rawResp) {
			if r.body != data || r.header.Get("x-ms-blob-type") != "AppendBlob" || r.header.Get("x-ms-version") != "2026-12-06" ||
				r.header.Get("x-ms-request-id") == "" || r.header.Get("ETag") == "" || r.header.Get("Last-Modified") == "" {
				t.Errorf("GET = %q %v", r.body, r.header)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method, account := tt.method, tt.account
			if method == "" {
				method = http.MethodGet
			}
			if account == "" {
				account = "auditlogs"
			}
			r := f.do(method, account, tt.path, tt.tok, tt.header)
			if r.status != tt.status || r.header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("%s %s = %d %q, want %d %q\n%s", method, tt.path, r.status, r.header.Get("x-ms-error-code"), tt.status, tt.code, r.body)
			}
			if tt.code != "" && r.header.Get("x-ms-request-id") == "" {
				t.Error("error without x-ms-request-id")
			}
			if tt.code != "" && method != http.MethodHead && r.status != 304 {
				var e storageError
				if err := xml.Unmarshal([]byte(r.body), &e); err != nil || e.Code != tt.code ||
					!strings.Contains(e.Message, "RequestId:"+r.header.Get("x-ms-request-id")) {
					t.Errorf("error body = %q (%v)", r.body, err)
				}
			}
			if method == http.MethodHead && r.body != "" {
				t.Errorf("HEAD body = %q", r.body)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestRoutesHaveActions: route authorization is data, and every route
// names an RBAC action that Reader holds and a principal without a role
// does not (SPIRE-style deny by default).
func TestRoutesHaveActions(t *testing.T) {
	reader, _ := rbac.DefinitionByID(rbac.Reader)
	for _, rt := range routes {
		if rt.action == "" || rt.handle == nil || len(rt.methods) == 0 {
			t.Errorf("route %s has no action, handler or method", rt.op)
		}
		if !reader.Allows(rt.action) {
			t.Errorf("route %s: Reader does not hold %s", rt.op, rt.action)
		}
		for _, m := range rt.methods {
			if m != http.MethodGet && m != http.MethodHead {
				t.Errorf("route %s allows %s: the API is read-only", rt.op, m)
			}
		}
	}
}

// TestErrorTable renders every row: a known status and a code.
func TestErrorTable(t *testing.T) {
	for _, row := range errorTable {
		err := row.sentinel
		if err == nil {
			continue
		}
		status, code, msg, _ := lookupError(err)
		if status != row.status || code != row.code || msg == "" {
			t.Errorf("%v renders as %d %s %q, want %d %s", err, status, code, msg, row.status, row.code)
		}
	}
}

// TestLargeDownload: a blob larger than one read window streams whole
// and by ranges across window and chunk boundaries.
func TestLargeDownload(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []byte
	for i := range 3 {
		part := bytes.Repeat([]byte{byte('a' + i)}, 2<<20+i)
		want = append(want, part...)
		if err := f.blobs.Append(ctx, f.account.Key(), auditContainer, "big.json", part); err != nil {
			t.Fatal(err)
		}
	}
	tok := f.token(f.principal(rbac.Reader), f.audience)
	r := f.do(http.MethodGet, "auditlogs", "/"+auditContainer+"/big.json", tok, nil)
	if r.status != 200 || r.body != string(want) {
		t.Fatalf("whole download: %d, %d bytes of %d", r.status, len(r.body), len(want))
	}
	for _, rng := range [][2]int{{readWindow - 5, readWindow + 5}, {1, len(want) - 2}, {2<<20 - 1, 2 << 20}} {
		r := f.do(http.MethodGet, "auditlogs", "/"+auditContainer+"/big.json", tok,
			map[string]string{"x-ms-range": fmt.Sprintf("bytes=%d-%d", rng[0], rng[1])})
		if r.status != 206 || r.body != string(want[rng[0]:rng[1]+1]) {
			t.Errorf("range %v: %d, %d bytes", rng, r.status, len(r.body))
		}
	}
}
