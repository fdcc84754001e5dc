// Package token issues and validates edgevault's access tokens: JWTs signed
// with RS256 by the server's rotating signing keys and published as a JWKS,
// shaped like Microsoft identity platform v2.0 access tokens so that Azure
// tooling that peeks at claims (tid, oid, appid) finds them.
//
// Validation follows RFC 8725 (JWT best current practices): one fixed
// algorithm, "none" never accepted, the key is chosen by kid from our own key
// set (never taken from the token), issuer, audience and tenant are checked,
// and clock skew is small. Every surface (ARM, Key Vault, Blob, portal)
// validates with the same Validator.
package token

import (
	"time"

	"github.com/edgevault/edgevault/internal/principal"
)

// IDType is the idtyp claim: whether the token was issued to an application
// (client credentials, managed identity) or to a user.
type IDType string

const (
	App  IDType = "app"
	User IDType = "user"
)

// Claims are the claims of an access token, in domain form.
type Claims struct {
	ID        string // uti: unique token id, for audit correlation
	Issuer    string // iss
	Audience  string // aud: the resource the token is for
	TenantID  string // tid
	ObjectID  string // oid: the principal's object id
	AppID     string // appid (and azp): the client application id
	IDType    IDType // idtyp
	Subject   string // sub
	UserName  string // upn, users only
	Name      string // display name
	IssuedAt  time.Time
	NotBefore time.Time
	Expiry    time.Time
}

// PrincipalKind returns the kind of principal the token was issued to.
// Managed identities and service principals both carry idtyp "app"; the
// caller distinguishes them by looking the object id up when it matters.
func (c Claims) PrincipalKind() principal.Kind {
	if c.IDType == User {
		return principal.User
	}
	return principal.ServicePrincipal
}

// wireClaims is the JSON form of Claims. Times are NumericDate (seconds).
type wireClaims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
	AppID     string `json:"appid,omitempty"`
	AZP       string `json:"azp,omitempty"`
	IDType    string `json:"idtyp"`
	Name      string `json:"name,omitempty"`
	ObjectID  string `json:"oid"`
	Subject   string `json:"sub"`
	TenantID  string `json:"tid"`
	UPN       string `json:"upn,omitempty"`
	Preferred string `json:"preferred_username,omitempty"`
	UTI       string `json:"uti"`
	Version   string `json:"ver"`
}

func toWire(c Claims) wireClaims {
	return wireClaims{
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		IssuedAt:  c.IssuedAt.Unix(),
		NotBefore: c.NotBefore.Unix(),
		Expiry:    c.Expiry.Unix(),
		AppID:     c.AppID,
		AZP:       c.AppID,
		IDType:    string(c.IDType),
		Name:      c.Name,
		ObjectID:  c.ObjectID,
		Subject:   c.Subject,
		TenantID:  c.TenantID,
		UPN:       c.UserName,
		Preferred: c.UserName,
		UTI:       c.ID,
		Version:   "2.0",
	}
}

func fromWire(w wireClaims) Claims {
	return Claims{
		ID:        w.UTI,
		Issuer:    w.Issuer,
		Audience:  w.Audience,
		TenantID:  w.TenantID,
		ObjectID:  w.ObjectID,
		AppID:     w.AppID,
		IDType:    IDType(w.IDType),
		Subject:   w.Subject,
		UserName:  w.UPN,
		Name:      w.Name,
		IssuedAt:  time.Unix(w.IssuedAt, 0),
		NotBefore: time.Unix(w.NotBefore, 0),
		Expiry:    time.Unix(w.Expiry, 0),
	}
}
