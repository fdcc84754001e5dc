package portal

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// memorySessions is the SessionStore of a portal without one: sessions
// live as long as the process (the portal's own tests; one process).
type memorySessions struct {
	mu sync.Mutex
	m  map[string]*SessionRecord // by string(IDHash)
}

func newMemorySessions() *memorySessions {
	return &memorySessions{m: map[string]*SessionRecord{}}
}

func (m *memorySessions) CreateSession(_ context.Context, s SessionRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[string(s.IDHash)]; ok {
		return errkind.E(errkind.Conflict, "portal session already exists")
	}
	s.Operations = slices.Clone(s.Operations)
	m.m[string(s.IDHash)] = &s
	return nil
}

func (m *memorySessions) Session(_ context.Context, idHash []byte) (SessionRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[string(idHash)]
	if !ok {
		return SessionRecord{}, errkind.E(errkind.NotFound, "portal session not found")
	}
	c := *s
	c.Operations = slices.Clone(s.Operations) // the caller's copy
	return c, nil
}

func (m *memorySessions) TouchSession(_ context.Context, idHash []byte, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.m[string(idHash)]; ok && s.LastSeen.Before(at) {
		s.LastSeen = at
	}
	return nil
}

func (m *memorySessions) DeleteSession(_ context.Context, idHash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, string(idHash))
	return nil
}

func (m *memorySessions) DeleteExpiredSessions(_ context.Context, seenBy, createdBy time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.m {
		if !s.LastSeen.After(seenBy) || !s.Created.After(createdBy) {
			delete(m.m, k)
		}
	}
	return nil
}

func (m *memorySessions) SetSessionSubscription(_ context.Context, idHash []byte, subscription string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[string(idHash)]
	if !ok {
		return errkind.E(errkind.NotFound, "portal session not found")
	}
	s.Subscription = subscription
	return nil
}

func (m *memorySessions) AddSessionOperation(_ context.Context, idHash []byte, op OperationRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[string(idHash)]
	if !ok {
		return errkind.E(errkind.NotFound, "portal session not found")
	}
	if slices.ContainsFunc(s.Operations, func(o OperationRecord) bool { return o.ID == op.ID }) {
		return errkind.E(errkind.Conflict, "portal session operation already exists")
	}
	s.Operations = append(s.Operations, op)
	return nil
}

func (m *memorySessions) SetKeyShown(_ context.Context, idHash []byte, opID string, shown bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[string(idHash)]
	if !ok {
		return false, nil
	}
	for i := range s.Operations {
		if o := &s.Operations[i]; o.ID == opID && o.KeyShown != shown {
			o.KeyShown = shown
			return true, nil
		}
	}
	return false, nil
}
