// Package sensitive holds the redacting type for secret values: passwords,
// client secrets, secret-store values, keys in transit. A sensitive.String
// prints, formats, marshals and logs as [REDACTED]; the only way to the value
// is an explicit Reveal, which makes every disclosure easy to find in review
// (grep for "Reveal()"). The type cannot be compared with ==, so a secret is
// never compared in variable time by accident; use Equal.
//
// This mirrors Tailscale's key types and OpenBao's habit of never letting a
// secret reach a formatter.
package sensitive

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Redacted is what a sensitive value prints as, everywhere.
const Redacted = "[REDACTED]"

// String is a secret string. The zero value is the empty secret.
type String struct {
	_ [0]func() // makes String incomparable: == does not compile
	v string
}

// New wraps a secret value.
func New(v string) String { return String{v: v} }

// Reveal returns the secret value. Call it only at the edge that must
// disclose or use the value (an API response the caller is entitled to, a
// crypto operation), never to log or format it.
func (s String) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s.v == "" }

// Len returns the length of the secret in bytes (its length is not secret
// for our purposes: size limits must be enforceable and reportable).
func (s String) Len() int { return len(s.v) }

// Equal compares two secrets in constant time (for equal lengths).
func (s String) Equal(o String) bool {
	return subtle.ConstantTimeCompare([]byte(s.v), []byte(o.v)) == 1
}

// String implements fmt.Stringer.
func (String) String() string { return Redacted }

// GoString implements fmt.GoStringer, so %#v is redacted too.
func (String) GoString() string { return Redacted }

// Format implements fmt.Formatter: every verb prints [REDACTED].
func (String) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (String) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler: a secret that reaches an encoder by
// mistake is written as [REDACTED]. Wire types that must carry the value
// use a plain string filled from Reveal.
func (String) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler, for the same reason.
func (String) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
