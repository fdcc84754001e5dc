// Package errkind is the project's small, append-only vocabulary of error
// kinds, in the style of Upspin's errors.Kind. Domain code returns errors that
// carry a Kind; each transport (ARM, Key Vault, OAuth2, ...) owns one table
// that maps kinds and sentinels to its own status codes and wire codes.
// Domain code never knows an HTTP status.
//
// New kinds are only ever appended: their values are not persisted, but the
// order is the documentation of when each was introduced.
package errkind

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

const (
	Other              Kind = iota // unclassified; transports answer 500
	Invalid                        // malformed or semantically invalid input
	NotFound                       // the named thing does not exist (or is not visible)
	Conflict                       // the thing exists, or its state forbids the change
	Locked                         // a management lock forbids the change
	PermissionDenied               // authenticated, but not allowed
	Unauthenticated                // no, bad or expired credentials
	PreconditionFailed             // an ETag or other precondition did not hold
	TooLarge                       // input over a size limit
	Unavailable                    // a dependency (database, disk) is unavailable; retry later
	Internal                       // a broken invariant; never the caller's fault
)

var names = [...]string{
	Other:              "other",
	Invalid:            "invalid",
	NotFound:           "not found",
	Conflict:           "conflict",
	Locked:             "locked",
	PermissionDenied:   "permission denied",
	Unauthenticated:    "unauthenticated",
	PreconditionFailed: "precondition failed",
	TooLarge:           "too large",
	Unavailable:        "unavailable",
	Internal:           "internal",
}

func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is an error with a Kind and a message that is safe to show the
// caller. Err, when set, is the underlying cause: it is logged at the edge,
// never shown.
type Error struct {
	Kind    Kind
	Message string // safe for the client: never contains secret values
	Err     error  // cause; may be nil
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	default:
		return e.Message + ": " + e.Err.Error()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// E returns a new *Error of kind k with a message formatted from format and
// args. The message is shown to clients: never format secret values into it.
func E(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of kind k with a safe message and a cause that is
// logged but not shown.
func Wrap(k Kind, err error, message string) error {
	return &Error{Kind: k, Message: message, Err: err}
}

// KindOf returns the Kind of the outermost *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// Message returns the client-safe message of the outermost *Error in err's
// chain, or "" when there is none.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
