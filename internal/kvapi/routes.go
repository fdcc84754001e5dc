package kvapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/keyvault"
)

// route is one data-plane operation: where it lives, the secret
// permission it needs (checked before the handler looks anything up) and
// its audit operationName (reference/keyvault-wire.md §1.3, §4.2).
type route struct {
	method  string
	pattern string // segments: literals match case-insensitively; {name}, {version}
	perm    keyvault.SecretPermission
	op      string
	handle  func(*Handler, *exchange) result

	segs  []string
	named bool // the pattern has {name}
}

// routeParams are a matched route's path parameters.
type routeParams struct{ name, version string }

// routes is the table. Order matters only where two patterns match one
// path: the first wins ("versions" before "{version}"). A {version}
// segment may be empty, which is how the SDKs ask for the current version
// (GET and PATCH /secrets/{name}/ with the trailing slash).
var routes = compileRoutes([]route{
	{method: http.MethodGet, pattern: "secrets", perm: keyvault.SecretList, op: "SecretList", handle: (*Handler).listSecrets},
	{method: http.MethodPost, pattern: "secrets/restore", perm: keyvault.SecretRestore, op: "SecretRestore", handle: (*Handler).restoreSecret},
	{method: http.MethodPut, pattern: "secrets/{name}", perm: keyvault.SecretSet, op: "SecretSet", handle: (*Handler).setSecret},
	{method: http.MethodDelete, pattern: "secrets/{name}", perm: keyvault.SecretDelete, op: "SecretDelete", handle: (*Handler).deleteSecret},
	{method: http.MethodGet, pattern: "secrets/{name}", perm: keyvault.SecretGet, op: "SecretGet", handle: (*Handler).getSecret},
	{method: http.MethodPatch, pattern: "secrets/{name}", perm: keyvault.SecretSet, op: "SecretUpdate", handle: (*Handler).updateSecret},
	{method: http.MethodGet, pattern: "secrets/{name}/versions", perm: keyvault.SecretList, op: "SecretListVersions", handle: (*Handler).listVersions},
	{method: http.MethodPost, pattern: "secrets/{name}/backup", perm: keyvault.SecretBackup, op: "SecretBackup", handle: (*Handler).backupSecret},
	{method: http.MethodGet, pattern: "secrets/{name}/{version}", perm: keyvault.SecretGet, op: "SecretGet", handle: (*Handler).getSecret},
	{method: http.MethodPatch, pattern: "secrets/{name}/{version}", perm: keyvault.SecretSet, op: "SecretUpdate", handle: (*Handler).updateSecret},
	{method: http.MethodGet, pattern: "deletedsecrets", perm: keyvault.SecretList, op: "SecretListDeleted", handle: (*Handler).listDeleted},
	{method: http.MethodGet, pattern: "deletedsecrets/{name}", perm: keyvault.SecretGet, op: "SecretGetDeleted", handle: (*Handler).getDeleted},
	{method: http.MethodDelete, pattern: "deletedsecrets/{name}", perm: keyvault.SecretPurge, op: "SecretPurge", handle: (*Handler).purgeSecret},
	{method: http.MethodPost, pattern: "deletedsecrets/{name}/recover", perm: keyvault.SecretRecover, op: "SecretRecover", handle: (*Handler).recoverSecret},
})

func compileRoutes(rts []route) []route {
	for i := range rts {
		rts[i].segs = strings.Split(rts[i].pattern, "/")
		rts[i].named = strings.Contains(rts[i].pattern, "{name}")
	}
	return rts
}

// maxSegments bounds the path a request may have; no route has more than 3.
const maxSegments = 8

// match finds the route of a request. methodOK reports, when no route
// matched, whether some route matches the path with another method (405
// rather than 404).
func match(method string, u *url.URL) (rt *route, p routeParams, methodOK bool) {
	segs, ok := splitPath(u)
	if !ok {
		return nil, routeParams{}, false
	}
	try := func(segs []string) (*route, routeParams, bool) {
		pathOK := false
		for i := range routes {
			p, ok := routes[i].matchPath(segs)
			if !ok {
				continue
			}
			if routes[i].method == method {
				return &routes[i], p, true
			}
			pathOK = true
		}
		return nil, routeParams{}, pathOK
	}
	rt, p, methodOK = try(segs)
	if rt == nil && len(segs) > 1 && segs[len(segs)-1] == "" {
		// A trailing slash on any other route is tolerated.
		var again bool
		rt, p, again = try(segs[:len(segs)-1])
		methodOK = methodOK || again
	}
	return rt, p, methodOK
}

func (rt *route) matchPath(segs []string) (routeParams, bool) {
	if len(segs) != len(rt.segs) {
		return routeParams{}, false
	}
	var p routeParams
	for i, want := range rt.segs {
		got := segs[i]
		switch want {
		case "{name}":
			if got == "" {
				return routeParams{}, false
			}
			p.name = got
		case "{version}":
			p.version = got // "" is the current version
		default:
			if !strings.EqualFold(got, want) {
				return routeParams{}, false
			}
		}
	}
	return p, true
}

// splitPath splits the escaped path into unescaped segments, so that an
// encoded "/" stays inside its segment.
func splitPath(u *url.URL) ([]string, bool) {
	path, ok := strings.CutPrefix(u.EscapedPath(), "/")
	if !ok || path == "" {
		return nil, false
	}
	segs := strings.SplitN(path, "/", maxSegments+1)
	if len(segs) > maxSegments {
		return nil, false
	}
	for i, s := range segs {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}
