package provider

import (
	"context"
	"errors"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
)

// List returns every catalogue provider with its state in a subscription.
func (s *Service) List(ctx context.Context, subscriptionID string) ([]Registration, error) {
	states, err := s.states(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	out := make([]Registration, 0, len(Catalogue))
	for _, p := range Catalogue {
		out = append(out, Registration{Provider: p, State: states[strings.ToLower(p.Namespace)]})
	}
	return out, nil
}

// Get returns one provider's registration.
func (s *Service) Get(ctx context.Context, subscriptionID, namespace string) (Registration, error) {
	p, ok := Lookup(namespace)
	if !ok {
		return Registration{}, ErrUnknownNamespace
	}
	states, err := s.states(ctx, subscriptionID)
	if err != nil {
		return Registration{}, err
	}
	return Registration{Provider: p, State: states[strings.ToLower(p.Namespace)]}, nil
}

// states reads the stored states, completing registrations in progress
// (see the package comment) and filling the defaults.
func (s *Service) states(ctx context.Context, subscriptionID string) (map[string]State, error) {
	stored, err := s.cfg.Store.ProviderStates(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]State, len(Catalogue))
	for _, p := range Catalogue {
		key := strings.ToLower(p.Namespace)
		st, ok := stored[key]
		switch {
		case !ok && p.Default:
			st = Registered
		case !ok:
			st = NotRegistered
		case st == Registering:
			if err := s.cfg.Store.SetProviderState(ctx, subscriptionID, p.Namespace, Registered, s.cfg.Now()); err != nil {
				return nil, err
			}
			st = Registered
		case st == Unregistering:
			if err := s.cfg.Store.SetProviderState(ctx, subscriptionID, p.Namespace, Unregistered, s.cfg.Now()); err != nil {
				return nil, err
			}
			st = Unregistered
		}
		out[key] = st
	}
	return out, nil
}

// Register starts registration; the answer says Registering unless the
// provider was already registered.
func (s *Service) Register(ctx context.Context, subscriptionID, namespace string) (Registration, error) {
	r, err := s.Get(ctx, subscriptionID, namespace)
	if err != nil || r.State == Registered {
		return r, err
	}
	if err := s.cfg.Store.SetProviderState(ctx, subscriptionID, r.Provider.Namespace, Registering, s.cfg.Now()); err != nil {
		return Registration{}, err
	}
	r.State = Registering
	return r, nil
}

// Unregister starts unregistration; it is refused while resources of the
// namespace exist in the subscription.
func (s *Service) Unregister(ctx context.Context, subscriptionID, namespace string) (Registration, error) {
	r, err := s.Get(ctx, subscriptionID, namespace)
	if err != nil {
		return r, err
	}
	if s.cfg.InUse != nil {
		inUse, err := s.cfg.InUse(ctx, subscriptionID, r.Provider.Namespace)
		if err != nil {
			return Registration{}, err
		}
		if inUse {
			return Registration{}, errkind.E(errkind.Conflict,
				"Cannot unregister resource provider '%s' while resources of it exist in the subscription.", r.Provider.Namespace)
		}
	}
	if r.State == NotRegistered || r.State == Unregistered {
		return r, nil
	}
	if err := s.cfg.Store.SetProviderState(ctx, subscriptionID, r.Provider.Namespace, Unregistering, s.cfg.Now()); err != nil {
		return Registration{}, err
	}
	r.State = Unregistering
	return r, nil
}

// RequireRegistered fails with MissingRegistrationError unless namespace is
// registered in the subscription.
func (s *Service) RequireRegistered(ctx context.Context, subscriptionID, namespace string) error {
	r, err := s.Get(ctx, subscriptionID, namespace)
	if err != nil {
		return err
	}
	if r.State != Registered {
		return &MissingRegistrationError{Namespace: r.Provider.Namespace}
	}
	return nil
}

// EnsureRegistered registers namespace when it is not registered and the
// caller may ({ns}/register/action at subscription scope, asked through
// authorize); otherwise it fails with MissingRegistrationError. Service
// flows (activation) use it to do what the SDKs' auto-registration does.
func (s *Service) EnsureRegistered(ctx context.Context, authorize Authorizer, subscriptionID, namespace string) error {
	err := s.RequireRegistered(ctx, subscriptionID, namespace)
	var missing *MissingRegistrationError
	if !asMissing(err, &missing) {
		return err
	}
	if authErr := authorize(ctx, missing.Namespace+"/register/action", subscriptionID); authErr != nil {
		return err
	}
	if err := s.cfg.Store.SetProviderState(ctx, subscriptionID, missing.Namespace, Registered, s.cfg.Now()); err != nil {
		return err
	}
	return nil
}

func asMissing(err error, target **MissingRegistrationError) bool { return errors.As(err, target) }
