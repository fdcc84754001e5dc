package server

import (
	"context"

	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/blobapi"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// newBlobHandler builds the blob service (which the audit exporter appends
// to, and which storage account deletion purges) and the read API of the
// {account}.blob hosts.
func (s *Server) newBlobHandler() (*blobapi.Handler, error) {
	blobs, err := blob.New(blob.Config{Store: s.store})
	if err != nil {
		return nil, err
	}
	s.blobs = blobs
	return blobapi.New(blobapi.Config{
		Accounts: storageAccounts{s.arm.storage}, Blobs: blobs, Tokens: s.tokens, Authorizer: s.arm.rbac, Principals: s.identity,
		AuthorityHost: s.endpoints.AuthorityHost(), Audience: s.endpoints.StorageAudience(), Logger: s.log,
	})
}

// Blobs returns the blob service: the audit exporter's sink.
func (s *Server) Blobs() *blob.Service { return s.blobs }

// storageAccounts adapts the storage account service to the blob API.
type storageAccounts struct{ s *storageaccount.Service }

func (a storageAccounts) ByName(ctx context.Context, name string) (blobapi.Account, error) {
	acct, err := a.s.ByName(ctx, name)
	if err != nil {
		return blobapi.Account{}, err
	}
	return blobapi.Account{ID: acct.ID, TenantID: acct.TenantID, SubscriptionID: acct.SubscriptionID()}, nil
}

// purgeBlobs is the storage account service's BlobPurger. It is built
// before the blob service exists and reads s.blobs when an account is
// deleted, which is only after the server serves.
func (s *Server) purgeBlobs(ctx context.Context, accountID string) error {
	if s.blobs == nil {
		return nil
	}
	return s.blobs.PurgeAccountBlobs(ctx, accountID)
}
