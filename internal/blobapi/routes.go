package blobapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/errkind"
)

// RBAC actions of the routes: the names Azure gives these operations
// (Microsoft.Storage resource provider operations).
const (
	ActionContainerRead = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
	ActionBlobRead      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
)

// level is what a path addresses.
type level int

const (
	serviceLevel   level = iota // "/"
	containerLevel              // "/{container}"
	blobLevel                   // "/{container}/{blob}"
)

// route is one read operation: where it lives (level, restype and comp
// query values), the RBAC action it needs (checked before anything is
// looked up) and its handler.
type route struct {
	level   level
	methods []string
	restype string
	comp    string
	action  string
	op      string // Azure's operation name, for logs and docs
	handle  func(*Handler, *exchange) error
}

var routes = []route{
	{level: serviceLevel, methods: []string{http.MethodGet}, comp: "list", action: ActionContainerRead, op: "ListContainers", handle: (*Handler).listContainers},
	{level: containerLevel, methods: []string{http.MethodGet}, restype: "container", comp: "list", action: ActionBlobRead, op: "ListBlobs", handle: (*Handler).listBlobs},
	{level: containerLevel, methods: []string{http.MethodGet, http.MethodHead}, restype: "container", action: ActionContainerRead, op: "GetContainerProperties", handle: (*Handler).containerProperties},
	{level: blobLevel, methods: []string{http.MethodGet, http.MethodHead}, action: ActionBlobRead, op: "GetBlob", handle: (*Handler).getBlob},
}

// match finds the route of a request. Methods that would write are
// refused whatever the path: nothing outside the service writes blobs.
func match(x *exchange) (*route, error) {
	if m := x.r.Method; m != http.MethodGet && m != http.MethodHead {
		return nil, errReadOnly
	}
	c, b, err := ParsePath(x.r.URL.EscapedPath())
	if err != nil {
		return nil, err
	}
	x.container, x.blob = c, b
	lv := serviceLevel
	switch {
	case b != "":
		lv = blobLevel
	case c != "":
		lv = containerLevel
	}
	q := x.r.URL.Query()
	restype, comp := q.Get("restype"), q.Get("comp")
	for i := range routes {
		rt := &routes[i]
		if rt.level == lv && rt.restype == restype && rt.comp == comp {
			for _, m := range rt.methods {
				if m == x.r.Method {
					return rt, nil
				}
			}
			return nil, errReadOnly
		}
	}
	switch {
	case comp != "":
		return nil, badQuery("comp")
	case restype != "":
		return nil, badQuery("restype")
	}
	return nil, errNoRoute
}

// maxPathLen bounds the escaped path: a 63-character container and a
// 1024-character blob name, every byte percent-escaped, with slashes.
const maxPathLen = 2 + 63 + 3*4*blob.MaxBlobNameLen

// ParsePath splits the escaped URL path of a blob request into the
// container and the blob name ("" and "" for the service root). The blob
// name is everything after the container's "/", unescaped: azblob sends
// "/" inside a name as %2F (url.PathEscape), other clients send it
// literally, and both mean the same blob, as in Azure. A malformed path,
// an invalid container name or blob name is an error, never a panic.
func ParsePath(escaped string) (containerName, blobName string, err error) {
	if len(escaped) > maxPathLen {
		return "", "", errBadPath
	}
	rest, ok := strings.CutPrefix(escaped, "/")
	if !ok {
		return "", "", errBadPath
	}
	if rest == "" {
		return "", "", nil
	}
	c, b, hasBlob := strings.Cut(rest, "/")
	if !blob.ValidContainerName(c) {
		return "", "", badName("container", c)
	}
	if !hasBlob {
		return c, "", nil
	}
	name, err := url.PathUnescape(b)
	if err != nil || !blob.ValidBlobName(name) {
		return "", "", badName("blob", b)
	}
	return c, name, nil
}

// badName is a 400 InvalidUri naming what is wrong (clipped, since it
// is the caller's own input echoed back).
func badName(what, name string) error {
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	return &errkind.Error{Kind: errkind.Invalid, Err: errBadPath,
		Message: "The specified " + what + " name is not valid: " + strings.ToValidUTF8(name, "?") + "."}
}
