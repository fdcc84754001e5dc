package server

import (
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resourcegroup"
)

// armServices are the domain services behind the management host.
type armServices struct {
	rbac       *rbac.Service
	locks      *lock.Service
	providers  *provider.Service
	groups     *resourcegroup.Service
	operations *operation.Service
}

// newARMServices builds the ARM core's services over the store.
func (s *Server) newARMServices() error {
	var err error
	a := &s.arm
	if a.rbac, err = rbac.New(rbac.Config{Store: s.store, Principals: s.identity}); err != nil {
		return err
	}
	if a.locks, err = lock.New(lock.Config{Store: s.store}); err != nil {
		return err
	}
	a.providers = provider.New(provider.Config{Store: s.store})
	a.groups = resourcegroup.New(resourcegroup.Config{Store: s.store, Locks: a.locks})
	return nil
}
