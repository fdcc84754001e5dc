package keyvault

import (
	"context"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Name limits (reference/keyvault-wire.md §3.4).
const (
	MinNameLen = 3
	MaxNameLen = 24
)

// ValidName reports whether name is a vault name: 3–24 ASCII letters,
// digits and hyphens, starting with a letter, ending with a letter or a
// digit, with no two hyphens in a row. The name becomes a DNS label of the
// vault's URI, which is why the rule is stricter than the path pattern
// ^[a-zA-Z0-9-]{3,24}$ (reference/keyvault-wire.md §3.4).
func ValidName(name string) bool {
	if len(name) < MinNameLen || len(name) > MaxNameLen || !isLetter(name[0]) {
		return false
	}
	last := name[len(name)-1]
	if !isLetter(last) && !isDigit(last) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isLetter(c), isDigit(c):
		case c == '-' && name[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func invalidName(name string) error {
	return &errkind.Error{Kind: errkind.Invalid, Err: ErrNameInvalid,
		Message: "The vault name '" + truncate(name) + "' is invalid. A vault's name must be between 3-24 alphanumeric characters. " +
			"The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."}
}

// Reason says why a name is not available, as checkNameAvailability's
// reason field spells it.
type Reason string

const (
	ReasonInvalid       Reason = "AccountNameInvalid"
	ReasonAlreadyExists Reason = "AlreadyExists"
)

// Availability is the answer to checkNameAvailability.
type Availability struct {
	Available bool
	Reason    Reason // empty when available
	Message   string
}

// CheckName says whether a vault could be created under name: the name
// must be valid and held by no vault, live or soft-deleted, in any
// subscription (names are global, like the DNS names they become).
func (s *Service) CheckName(ctx context.Context, name string) (Availability, error) {
	if !ValidName(name) {
		return Availability{Reason: ReasonInvalid, Message: errkind.Message(invalidName(name))}, nil
	}
	_, err := s.cfg.Store.VaultByName(ctx, name)
	switch {
	case err == nil:
		return Availability{Reason: ReasonAlreadyExists,
			Message: "The vault name '" + name + "' is already in use. Vault names are globally unique so it is possible that the name is already taken."}, nil
	case errkind.KindOf(err) == errkind.NotFound:
		return Availability{Available: true}, nil
	}
	return Availability{}, err
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
