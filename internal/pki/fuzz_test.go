package pki

import (
	"bytes"
	"testing"
)

// FuzzParsePEM feeds arbitrary bytes to the parsers of ca.pem, ca.key,
// server.pem and server.key. Those files live in the data directory, which a
// restore or a careless operator can fill with anything: the parsers must
// fail cleanly, never panic, and a key that parses must round-trip.
func FuzzParsePEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseCertPEM(data)
		key, err := parseKeyPEM(data)
		if err != nil {
			return
		}
		enc, err := encodeKeyPEM(key)
		if err != nil {
			return // a curve PKCS #8 cannot express; SEC 1 input may carry one
		}
		back, err := parseKeyPEM(enc)
		if err != nil || !back.Equal(key) {
			t.Fatalf("key does not round-trip: %v\n%s", err, bytes.TrimSpace(enc))
		}
	})
}
