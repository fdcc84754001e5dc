// Package activationkey is the text format of an activation key
// (DESIGN.md §5.2), shared by the server that issues keys and the agent
// that uses them.
//
// A key is the prefix "evak1_" and the unpadded base64url of a small JSON
// document: format version, device-API URL, resource id, key id, expiry,
// the SHA-256 fingerprint of the server's CA, and 256 random bits. The
// prefix lets secret scanners find leaked keys; the fingerprint lets the
// agent trust the server before it has any certificate.
//
// Invariants:
//   - Parse accepts exactly what Format produces: one version, no unknown
//     members, every member present and well-formed; anything else is an
//     error that never quotes the secret.
//   - A Key's String method does not reveal the secret; only Format does.
package activationkey

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Prefix starts every key of format version 1.
const Prefix = "evak1_"

// MaxLen bounds a key's text: a longer input is refused before decoding.
const MaxLen = 2048

// SecretSize is the number of random bytes in a key.
const SecretSize = 32

// Key is a decoded activation key.
type Key struct {
	// URL is the device API's base URL, e.g. https://device.localhost:8443/.
	URL        string
	ResourceID string
	KeyID      string // GUID
	Expiry     time.Time
	// CAFingerprint is the SHA-256 of the server CA certificate's DER.
	CAFingerprint [sha256.Size]byte
	Secret        [SecretSize]byte
}

// doc is the JSON inside a key.
type doc struct {
	V   int    `json:"v"`
	URL string `json:"url"`
	RID string `json:"rid"`
	KID string `json:"kid"`
	Exp int64  `json:"exp"` // Unix seconds
	CA  string `json:"ca"`  // hex SHA-256
	S   string `json:"s"`   // base64url secret
}

// ErrMalformed is the cause of every Parse error.
var ErrMalformed = errors.New("activation key is malformed")

// Format returns the key's text. The text is a credential: handle it like
// a password.
func Format(k Key) string {
	b, _ := json.Marshal(doc{V: 1, URL: k.URL, RID: k.ResourceID, KID: k.KeyID, Exp: k.Expiry.Unix(),
		CA: hex.EncodeToString(k.CAFingerprint[:]), S: base64.RawURLEncoding.EncodeToString(k.Secret[:])})
	return Prefix + base64.RawURLEncoding.EncodeToString(b)
}

// String describes the key without its secret.
func (k Key) String() string {
	return fmt.Sprintf("activation key %s for %s (expires %s)", k.KeyID, k.ResourceID, k.Expiry.UTC().Format(time.RFC3339))
}

// SecretHash is the SHA-256 of the key's secret, what the server stores.
func (k Key) SecretHash() []byte {
	h := sha256.Sum256(k.Secret[:])
	return h[:]
}

// MatchesCA reports whether der is the CA certificate the key names.
func (k Key) MatchesCA(der []byte) bool {
	h := sha256.Sum256(der)
	return subtle.ConstantTimeCompare(h[:], k.CAFingerprint[:]) == 1
}

// Parse decodes a key's text. Surrounding white space is ignored (keys are
// pasted); nothing else is forgiven.
func Parse(text string) (Key, error) {
	text = strings.TrimSpace(text)
	if len(text) > MaxLen {
		return Key{}, fmt.Errorf("%w: longer than %d characters", ErrMalformed, MaxLen)
	}
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return Key{}, fmt.Errorf("%w: it does not start with %q", ErrMalformed, Prefix)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return Key{}, fmt.Errorf("%w: not base64url after the prefix", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var d doc
	if err := dec.Decode(&d); err != nil || dec.More() {
		return Key{}, fmt.Errorf("%w: not the expected JSON document", ErrMalformed)
	}
	if d.V != 1 {
		return Key{}, fmt.Errorf("%w: unsupported format version %d", ErrMalformed, d.V)
	}
	var k Key
	u, err := url.Parse(d.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Key{}, fmt.Errorf("%w: the device API URL is not an https URL", ErrMalformed)
	}
	k.URL = d.URL
	if d.RID == "" || !strings.HasPrefix(d.RID, "/subscriptions/") || len(d.RID) > 1024 {
		return Key{}, fmt.Errorf("%w: no resource id", ErrMalformed)
	}
	k.ResourceID = d.RID
	if !isGUID(d.KID) {
		return Key{}, fmt.Errorf("%w: the key id is not a GUID", ErrMalformed)
	}
	k.KeyID = d.KID
	if d.Exp <= 0 {
		return Key{}, fmt.Errorf("%w: no expiry", ErrMalformed)
	}
	k.Expiry = time.Unix(d.Exp, 0).UTC()
	ca, err := hex.DecodeString(d.CA)
	if err != nil || len(ca) != sha256.Size || d.CA != strings.ToLower(d.CA) {
		return Key{}, fmt.Errorf("%w: the CA fingerprint is not 64 lowercase hex digits", ErrMalformed)
	}
	copy(k.CAFingerprint[:], ca)
	s, err := base64.RawURLEncoding.Strict().DecodeString(d.S)
	if err != nil || len(s) != SecretSize {
		return Key{}, fmt.Errorf("%w: the secret is not %d bytes of base64url", ErrMalformed, SecretSize)
	}
	copy(k.Secret[:], s)
	return k, nil
}

// isGUID reports whether s is a lowercase 8-4-4-4-12 hex GUID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// encode is the key body's encoding.
func encode(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
