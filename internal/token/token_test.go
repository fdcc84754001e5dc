package token

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/edgevault/edgevault/internal/principal"
)

const (
	authority = "https://login.localhost:8443/"
	audience  = "https://management.localhost:8443"
)

// memStore is an in-memory Store; the SQL implementation is covered by the
// store conformance suite.
type memStore struct {
	mu   sync.Mutex
	keys []StoredKey
}

func (m *memStore) SigningKeys(context.Context) ([]StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys), nil
}

func (m *memStore) InsertSigningKey(_ context.Context, k StoredKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.keys {
		if m.keys[i].RetiredAt.IsZero() {
			m.keys[i].RetiredAt = k.CreatedAt
		}
	}
	m.keys = append(m.keys, k)
	return nil
}

func (m *memStore) DeleteSigningKeysRetiredBefore(_ context.Context, t time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.keys)
	m.keys = slices.DeleteFunc(m.keys, func(k StoredKey) bool { return !k.RetiredAt.IsZero() && k.RetiredAt.Before(t) })
	return n - len(m.keys), nil
}

// xorSealer is a reversible stand-in for the envelope keyring that still
// binds the AAD, so a mix-up of kid and key fails loudly.
type xorSealer struct{}

func (xorSealer) Seal(_ context.Context, scope string, aad, pt []byte) ([]byte, error) {
	mac := hmac.New(sha256.New, []byte(scope))
	mac.Write(aad)
	return append(mac.Sum(nil), pt...), nil
}

func (x xorSealer) Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error) {
	want, _ := x.Seal(ctx, scope, aad, nil)
	if len(blob) < len(want) || !hmac.Equal(blob[:len(want)], want) {
		return nil, errors.New("bad aad")
	}
	return slices.Clone(blob[len(want):]), nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t testing.TB, st Store, clk *clock) *Service {
	t.Helper()
	s, err := New(Config{Store: st, Sealer: xorSealer{}, AuthorityHost: authority, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	tenant = principal.NewID()
	app    = principal.Principal{ObjectID: principal.NewID(), TenantID: tenant, Kind: principal.ServicePrincipal, ClientID: principal.NewID(), DisplayName: "ci", Enabled: true}
	user   = principal.Principal{ObjectID: principal.NewID(), TenantID: tenant, Kind: principal.User, UserName: "admin@edgevault", DisplayName: "Admin", Enabled: true}
)

func TestIssueValidate(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newService(t, &memStore{}, clk)
	for _, p := range []principal.Principal{app, user} {
		raw, issued, err := s.Issue(ctx, Subject{Principal: p, AppID: p.ClientID}, audience)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Validate(ctx, raw, Expect{Audience: audience, TenantID: tenant})
		if err != nil {
			t.Fatalf("%s: %v", p.Kind, err)
		}
		if got != issued || got.ObjectID != p.ObjectID || got.Issuer != authority+tenant+"/v2.0" {
			t.Errorf("claims = %+v, issued %+v", got, issued)
		}
		if got.Expiry.Sub(got.IssuedAt) != DefaultLifetime {
			t.Errorf("lifetime = %v", got.Expiry.Sub(got.IssuedAt))
		}
		if (p.Kind == principal.User) != (got.IDType == User) || got.PrincipalKind() != p.Kind {
			t.Errorf("idtyp = %q for %s", got.IDType, p.Kind)
		}
	}
}

// TestValidateRejects is the RFC 8725 checklist.
func TestValidateRejects(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	st := &memStore{}
	s := newService(t, st, clk)
	good, _, err := s.Issue(ctx, Subject{Principal: app, AppID: app.ClientID}, audience)
	if err != nil {
		t.Fatal(err)
	}
	active := s.keys.cur.Load().active
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])

	tests := []struct {
		name string
		raw  string
		want Expect
		err  error
	}{
		{"empty", "", Expect{Audience: audience}, ErrMalformed},
		{"garbage", "not-a-jwt", Expect{Audience: audience}, ErrMalformed},
		{"oversize", strings.Repeat("a", MaxTokenSize+1), Expect{Audience: audience}, ErrMalformed},
		{"other audience", good, Expect{Audience: "https://vault.localhost:8443"}, ErrAudience},
		{"no audience expected", good, Expect{}, ErrAudience},
		{"other tenant", good, Expect{Audience: audience, TenantID: principal.NewID()}, ErrTenant},
		{"alg none", unsigned(parts[1]), Expect{Audience: audience}, ErrMalformed},
		{"HS256 with the public key as secret", hmacSigned(t, active, payload), Expect{Audience: audience}, ErrMalformed},
		{"unknown key", signWith(t, otherKey, "attacker", payload), Expect{Audience: audience}, ErrUnknownKey},
		{"our kid, another key", signWith(t, otherKey, active.id, payload), Expect{Audience: audience}, ErrSignature},
		{"tampered payload", parts[0] + "." + tamper(payload) + "." + parts[2], Expect{Audience: audience}, ErrSignature},
		{"forged issuer", signWith(t, active.private, active.id, withClaim(payload, "iss", "https://evil/"+tenant+"/v2.0")), Expect{Audience: audience}, ErrIssuer},
		{"missing oid", signWith(t, active.private, active.id, withClaim(payload, "oid", "")), Expect{Audience: audience}, ErrMalformed},
		{"bad idtyp", signWith(t, active.private, active.id, withClaim(payload, "idtyp", "device")), Expect{Audience: audience}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Validate(ctx, tt.raw, tt.want)
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		clk := &clock{t: time.Unix(1_800_000_000, 0)}
		s := newService(t, &memStore{}, clk)
		raw, _, _ := s.Issue(ctx, Subject{Principal: app}, audience)
		clk.Advance(DefaultLifetime + DefaultSkew - time.Second)
		if _, err := s.Validate(ctx, raw, Expect{Audience: audience}); err != nil {
			t.Fatalf("within skew: %v", err)
		}
		clk.Advance(time.Second)
		if _, err := s.Validate(ctx, raw, Expect{Audience: audience}); !errors.Is(err, ErrExpired) {
			t.Fatalf("expired token: %v", err)
		}
	})
	t.Run("not yet valid", func(t *testing.T) {
		clk := &clock{t: time.Unix(1_800_000_000, 0)}
		s := newService(t, &memStore{}, clk)
		raw, _, _ := s.Issue(ctx, Subject{Principal: app}, audience)
		clk.Advance(-DefaultSkew - time.Second)
		if _, err := s.Validate(ctx, raw, Expect{Audience: audience}); !errors.Is(err, ErrNotYet) {
			t.Fatalf("future token: %v", err)
		}
	})
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	st := &memStore{}
	a := newService(t, st, clk)
	b := newService(t, st, clk) // a second replica on the same store
	old, _, _ := a.Issue(ctx, Subject{Principal: app}, audience)

	rot, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rot.PreviousKeyID == "" || rot.PreviousKeyID == rot.KeyID {
		t.Fatalf("rotation = %+v", rot)
	}
	fresh, _, _ := a.Issue(ctx, Subject{Principal: app}, audience)
	if kidOf(t, fresh) != rot.KeyID {
		t.Errorf("new token signed by %s, want %s", kidOf(t, fresh), rot.KeyID)
	}
	// Replica b has not reloaded yet: the unknown kid makes it reload.
	for name, raw := range map[string]string{"old": old, "fresh": fresh} {
		if _, err := b.Validate(ctx, raw, Expect{Audience: audience}); err != nil {
			t.Errorf("replica b, %s token: %v", name, err)
		}
	}
	jwks, _ := a.JWKS(ctx)
	if len(jwks.Keys) != 2 {
		t.Errorf("JWKS has %d keys during overlap, want 2", len(jwks.Keys))
	}
	for _, k := range jwks.Keys {
		if !k.IsPublic() || k.Algorithm != "RS256" || k.Use != "sig" {
			t.Errorf("published key %s: public=%v alg=%s use=%s", k.KeyID, k.IsPublic(), k.Algorithm, k.Use)
		}
	}
	// After the retention the old key is no longer published.
	clk.Advance(rot.PreviousRetiresAt.Sub(clk.Now()) + time.Second)
	if _, err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	jwks, _ = a.JWKS(ctx)
	for _, k := range jwks.Keys {
		if k.KeyID == rot.PreviousKeyID {
			t.Error("retired key still published after its retention")
		}
	}
}

func TestJWKSHasNoPrivateMaterial(t *testing.T) {
	s := newService(t, &memStore{}, &clock{t: time.Now()})
	jwks, _ := s.JWKS(context.Background())
	b, _ := json.Marshal(jwks)
	for _, field := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
		if strings.Contains(string(b), field) {
			t.Errorf("JWKS contains private field %s", field)
		}
	}
}

func FuzzValidate(f *testing.F) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newService(f, &memStore{}, clk)
	good, _, _ := s.Issue(context.Background(), Subject{Principal: app}, audience)
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJ9.")
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := s.Validate(context.Background(), raw, Expect{Audience: audience})
		if err == nil && raw != good {
			// Only our own signature can pass; a mutation that still
			// validates must carry the very same claims.
			want, _ := s.Validate(context.Background(), good, Expect{Audience: audience})
			if c != want {
				t.Fatalf("mutated token validated with other claims: %+v", c)
			}
		}
	})
}

// BenchmarkValidate measures the common case: a client presenting the
// access token it has been reusing (signature verified once, claims checked
// on every call). The verification that fills the cache happens before the
// timer; BenchmarkValidateCold is its cost. A surface's authentication adds
// a principal lookup (internal/server's BenchmarkManagementAuth).
func BenchmarkValidate(b *testing.B) {
	s := newService(b, &memStore{}, &clock{t: time.Now()})
	ctx := context.Background()
	raw, _, err := s.Issue(ctx, Subject{Principal: app}, audience)
	if err != nil {
		b.Fatal(err)
	}
	want := Expect{Audience: audience}
	if _, err := s.Validate(ctx, raw, want); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Validate(ctx, raw, want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCold measures a token seen for the first time: parse,
// RS256 verification, claim decoding and checks, and the cache insertion.
// Every iteration presents a token the cache has not seen: the tokens are
// distinct (unique uti), and the cache is emptied, with the timer stopped,
// before the set is presented again.
func BenchmarkValidateCold(b *testing.B) {
	s := newService(b, &memStore{}, &clock{t: time.Now()})
	ctx := context.Background()
	toks := make([]string, 2000)
	for i := range toks {
		var err error
		if toks[i], _, err = s.Issue(ctx, Subject{Principal: app}, audience); err != nil {
			b.Fatal(err)
		}
	}
	want := Expect{Audience: audience}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(toks) {
			b.StopTimer()
			s.verified = newVerifiedCache(10_000)
			i = 0
			b.StartTimer()
		}
		if _, err := s.Validate(ctx, toks[i], want); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRS256Verify is the floor under BenchmarkValidateCold: hashing
// the signing input and crypto/rsa's PKCS #1 v1.5 verification of one
// token's signature, with no JOSE parsing or claim decoding. crypto/rsa
// rebuilds the modulus's Montgomery form from the *rsa.PublicKey on every
// call, so this includes that set-up as well as the exponentiation.
func BenchmarkRS256Verify(b *testing.B) {
	s := newService(b, &memStore{}, &clock{t: time.Now()})
	raw, _, err := s.Issue(context.Background(), Subject{Principal: app}, audience)
	if err != nil {
		b.Fatal(err)
	}
	dot := strings.LastIndexByte(raw, '.')
	input := []byte(raw[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := s.keys.cur.Load().active.public
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	s := newService(b, &memStore{}, &clock{t: time.Now()})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Issue(ctx, Subject{Principal: app}, audience); err != nil {
			b.Fatal(err)
		}
	}
}

func kidOf(t *testing.T, raw string) string {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{Algorithm})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func unsigned(payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "."
}

func hmacSigned(t *testing.T, k *signingKey, payload []byte) string {
	pub, _ := json.Marshal(jose.JSONWebKey{Key: k.public})
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: pub, KeyID: k.id}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

func signWith(t *testing.T, key *rsa.PrivateKey, kid string, payload []byte) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

func withClaim(payload []byte, name, value string) []byte {
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	m[name] = value
	b, _ := json.Marshal(m)
	return b
}

func tamper(payload []byte) string {
	return base64.RawURLEncoding.EncodeToString(withClaim(payload, "oid", principal.NewID()))
}
