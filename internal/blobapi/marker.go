package blobapi

import (
	"encoding/base64"
	"strings"

	"github.com/edgevault/edgevault/internal/blob"
)

// Markers continue a listing after the last name of a page. A marker is
// base64url (no padding) of "1\n" + scope + "\n" + last name, where scope
// is "" for the container listing and the container's name for a blob
// listing. It grants nothing (the caller is authorized for the whole
// account before it is read) but it is checked: a marker of another
// listing, a version we do not know or a name that could not exist is a
// 400 InvalidQueryParameterValue.

const markerVersion = "1"

// maxMarkerLen bounds an encoded marker: version, scope and a 1024-
// character name of up to 4 bytes each.
const maxMarkerLen = (2+63+1+4*blob.MaxBlobNameLen)*4/3 + 4

// EncodeMarker returns the marker continuing a listing of scope after last.
func EncodeMarker(scope, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(markerVersion + "\n" + scope + "\n" + last))
}

// DecodeMarker returns the last name a marker of scope carries; "" for
// an empty marker (the first page).
func DecodeMarker(scope, marker string) (string, error) {
	if marker == "" {
		return "", nil
	}
	if len(marker) > maxMarkerLen {
		return "", badQuery("marker")
	}
	raw, err := base64.RawURLEncoding.DecodeString(marker)
	if err != nil {
		return "", badQuery("marker")
	}
	parts := strings.SplitN(string(raw), "\n", 3)
	if len(parts) != 3 || parts[0] != markerVersion || parts[1] != scope {
		return "", badQuery("marker")
	}
	last := parts[2]
	valid := blob.ValidBlobName(last)
	if scope == "" {
		valid = blob.ValidContainerName(last)
	}
	if !valid {
		return "", badQuery("marker")
	}
	return last, nil
}
