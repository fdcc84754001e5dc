package arm

import (
	"net/http"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Versions is the set of api-versions one provider (or one of ARM's own
// endpoints) declares, newest first.
type Versions []string

// api-versions of the endpoints this server implements. The Go SDK module
// versions used in tests pin the first of each list.
var (
	// ResourcesVersions covers Microsoft.Resources: resource groups,
	// providers, operation results (armresources pins 2021-04-01).
	ResourcesVersions = Versions{"2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01",
		"2022-09-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-06-01", "2019-10-01", "2019-08-01",
		"2019-07-01", "2019-05-10", "2019-05-01", "2019-03-01", "2018-05-01", "2018-02-01", "2017-05-10", "2016-09-01"}
	// SubscriptionsVersions covers GET /subscriptions.
	SubscriptionsVersions = Versions{"2022-12-01", "2021-01-01", "2020-01-01", "2019-11-01", "2019-06-01",
		"2018-06-01", "2016-06-01", "2015-01-01"}
	// LocksVersions covers Microsoft.Authorization/locks.
	LocksVersions = Versions{"2020-05-01", "2017-04-01", "2016-09-01"}
	// RoleVersions covers role assignments and role definitions.
	RoleVersions = Versions{"2022-04-01", "2022-01-01-preview", "2020-10-01-preview", "2020-04-01-preview",
		"2018-09-01-preview", "2018-01-01-preview", "2015-07-01"}
)

// AnyVersion accepts every well-formed api-version: the operation-status
// routes are polled with whatever api-version started the operation, of
// whichever provider.
var AnyVersion = Versions{"*"}

// Errors of the api-version check, with ARM's codes.
var (
	ErrMissingAPIVersion = &Error{Status: http.StatusBadRequest, Code: "MissingApiVersionParameter",
		Message: "The api-version query parameter (?api-version=) is required for all requests."}
)

// Error is an error that already knows its ARM status and code: wire-level
// failures (api-version, body shape) that the domain never sees.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []ErrorDetail
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Detail renders the error body.
func (e *Error) Detail() ErrorDetail {
	return ErrorDetail{Code: e.Code, Message: e.Message, Target: e.Target, Details: e.Details}
}

// Kind lets errkind-based tables see these as client errors.
func (e *Error) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound:
		return errkind.E(errkind.NotFound, "%s", e.Message)
	case e.Status >= 500:
		return errkind.E(errkind.Unavailable, "%s", e.Message)
	}
	return errkind.E(errkind.Invalid, "%s", e.Message)
}

// Check reads the api-version query parameter and checks it
// against vs. ARM's own endpoints answer an unknown version with
// InvalidApiVersionParameter (reference/edge-arm.md §3.4).
func (vs Versions) Check(r *http.Request) (string, error) {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return "", ErrMissingAPIVersion
	}
	if len(vs) == 1 && vs[0] == "*" && wellFormed(v) {
		return v, nil
	}
	if !slices.Contains(vs, v) {
		return "", &Error{Status: http.StatusBadRequest, Code: "InvalidApiVersionParameter",
			Message: "The api-version '" + truncate(v) + "' is invalid. The supported versions are '" +
				strings.Join(vs, ",") + "'. Please use one of the supported api-versions."}
	}
	return v, nil
}

// CheckProvider is Check for a resource provider's type: an unknown version
// is NoRegisteredProviderFound, as ARM answers when no registration of the
// provider serves the version.
func (vs Versions) CheckProvider(r *http.Request, location, resourceType string) (string, error) {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return "", ErrMissingAPIVersion
	}
	if !slices.Contains(vs, v) {
		return "", &Error{Status: http.StatusBadRequest, Code: "NoRegisteredProviderFound",
			Message: "No registered resource provider found for location '" + truncate(location) + "' and API version '" +
				truncate(v) + "' for type '" + resourceType + "'. The supported api-versions are '" +
				strings.Join(vs, ", ") + "'."}
	}
	return v, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// wellFormed reports whether v looks like an api-version: YYYY-MM-DD,
// optionally followed by a suffix such as -preview (edge-arm.md §3.1).
func wellFormed(v string) bool {
	if len(v) < 10 || len(v) > 40 {
		return false
	}
	for i, c := range []byte(v[:10]) {
		if (i == 4 || i == 7) != (c == '-') || (c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return len(v) == 10 || v[10] == '-'
}
