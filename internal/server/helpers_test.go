package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/token"
)

func itoa(i int) string { return strconv.Itoa(i) }

func sensitiveString(s string) sensitive.String { return sensitive.New(s) }

// issueAt signs a token with the server's real key as if issued at t.
func (s *Server) issueAt(t *testing.T, at time.Time, c token.Claims) string {
	t.Helper()
	ts, err := token.New(token.Config{Store: s.store, Sealer: s.keyring, AuthorityHost: s.endpoints.AuthorityHost(),
		Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	p := principal.Principal{ObjectID: c.ObjectID, TenantID: c.TenantID, Kind: principal.ServicePrincipal, ClientID: c.AppID}
	raw, _, err := ts.Issue(context.Background(), token.Subject{Principal: p, AppID: c.AppID}, c.Audience)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// algNone re-signs a token's payload with "alg":"none".
func algNone(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %d parts", len(parts))
	}
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}

// foreignSigned signs plausible claims with a key the server never had.
func foreignSigned(t *testing.T, authority string, c token.Claims) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "foreign"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{
		"iss": authority + c.TenantID + "/v2.0", "aud": c.Audience, "tid": c.TenantID, "oid": c.ObjectID,
		"appid": c.AppID, "idtyp": "app", "iat": now, "nbf": now, "exp": now + 3600, "sub": c.ObjectID,
	})
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}
