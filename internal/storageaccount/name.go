package storageaccount

import (
	"context"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Name limits (reference/edge-arm.md §3.11).
const (
	MinNameLen = 3
	MaxNameLen = 24
)

// ValidName reports whether name is an account name: 3–24 lowercase ASCII
// letters and digits. The name becomes the DNS label of the account's
// endpoints ({name}.blob.{suffix}), and Azure rejects upper case rather
// than folding it.
func ValidName(name string) bool {
	if len(name) < MinNameLen || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func invalidName(name string) error {
	return &errkind.Error{Kind: errkind.Invalid, Err: ErrNameInvalid, Message: invalidNameMessage(name)}
}

// invalidNameMessage is Azure's message for AccountNameInvalid.
func invalidNameMessage(name string) string {
	return truncate(name) + " is not a valid storage account name. Storage account name must be between 3 and 24 " +
		"characters in length and use numbers and lower-case letters only."
}

func nameTaken(name string) error {
	return &errkind.Error{Kind: errkind.Conflict, Err: ErrNameTaken, Message: takenMessage(name)}
}

func takenMessage(name string) string {
	return "The storage account named " + name + " is already taken."
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

// CheckName says whether an account could be created under name: the
// name must be valid and held by no account in any subscription.
func (s *Service) CheckName(ctx context.Context, name string) (Availability, error) {
	if !ValidName(name) {
		return Availability{Reason: ReasonInvalid, Message: invalidNameMessage(name)}, nil
	}
	_, err := s.cfg.Store.AccountByName(ctx, name)
	switch {
	case err == nil:
		return Availability{Reason: ReasonAlreadyExists, Message: takenMessage(name)}, nil
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
