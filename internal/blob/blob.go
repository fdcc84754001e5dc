// Package blob owns the storage side of audit-log delivery: per storage
// account, containers of append-only blobs, the way Azure Monitor writes
// diagnostic logs into a storage account (reference/keyvault-wire.md
// §4.3: container insights-logs-auditevent, hourly PT1H.json JSON-lines
// blobs). The service itself is the only writer; the blob API
// (internal/blobapi) only reads.
//
// Invariants:
//   - A blob only grows: Append adds bytes at its end, in one transaction
//     that also bumps its size, append count, ETag and Last-Modified, so a
//     reader never sees a torn append. Containers appear on first append.
//   - ETag changes with every append: it is derived from Last-Modified in
//     nanoseconds, which the store keeps strictly increasing per blob even
//     when the clock stalls, and from the append count. A blob recreated
//     after PurgeAccountBlobs gets a new ETag as long as the clock moved.
//   - Reads are snapshots: Read returns properties and bytes of one state.
//   - Names follow Azure's rules (ValidContainerName, ValidBlobName), so
//     everything written can be addressed through the REST API.
//   - Listing order is by the bytes of the UTF-8 name, as Azure lists.
//
// Content-MD5 is not kept: Azure computes none for append blobs either
// (it is a property set by a client on Put Blob), and a hash over a blob
// that keeps growing would have to be recomputed on every append.
package blob

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Limits.
const (
	// MaxAppendBytes is the largest single append: Azure's append-block
	// limit (100 MiB in recent versions); we keep 4 MiB, the classic
	// limit, because each append is one database row.
	MaxAppendBytes = 4 << 20
	// MaxBlobNameLen is Azure's limit on a blob name, in characters.
	MaxBlobNameLen = 1024
	// MaxListResults is Azure's largest page for list operations.
	MaxListResults = 5000
)

// Errors.
var (
	ErrContainerNotFound = errkind.E(errkind.NotFound, "The specified container does not exist.")
	ErrBlobNotFound      = errkind.E(errkind.NotFound, "The specified blob does not exist.")
	ErrInvalidName       = errkind.E(errkind.Invalid, "The specified resource name contains invalid characters.")
	ErrTooLarge          = errkind.E(errkind.TooLarge, "The append is larger than the largest block allowed.")
)

// Container is a container of one account.
type Container struct {
	Name     string
	Created  time.Time
	Modified time.Time // the last append to any of its blobs
}

// ETag is the container's entity tag.
func (c Container) ETag() string { return etag(c.Modified, 0) }

// Properties are a blob's properties.
type Properties struct {
	Container string
	Name      string
	Size      int64
	Appends   int64 // committed block count: one per Append
	Created   time.Time
	Modified  time.Time
}

// ETag is the blob's quoted entity tag, Azure-shaped ("0x8DB...").
func (p Properties) ETag() string { return etag(p.Modified, p.Appends) }

func etag(t time.Time, n int64) string {
	return fmt.Sprintf(`"0x%X%04X"`, t.UnixNano(), n&0xFFFF)
}

// Page is where a listing starts and how much it returns.
type Page struct {
	Prefix string // only names starting with Prefix
	After  string // only names after After (a marker's position); "" from the start
	Limit  int    // 1..MaxListResults
}

// Store persists containers and blobs; account is an opaque account key.
type Store interface {
	AppendBlob(ctx context.Context, account, container, name string, data []byte, now time.Time) error
	ListContainers(ctx context.Context, account string, p Page) ([]Container, error)
	ListBlobs(ctx context.Context, account, container string, p Page) ([]Properties, error)
	// ReadBlob returns the blob's properties and the bytes [off, off+n)
	// (clipped to its size) from one snapshot; n < 0 reads none.
	ReadBlob(ctx context.Context, account, container, name string, off, n int64) (Properties, []byte, error)
	PurgeAccountBlobs(ctx context.Context, account string) error
}

// Config configures a Service.
type Config struct {
	Store Store
	Now   func() time.Time // time.Now when nil
}

// Service is the blob domain.
type Service struct{ cfg Config }

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errkind.E(errkind.Invalid, "blob: Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Append appends data to the blob, creating the container and the blob
// when needed. The audit exporter calls it with whole JSON lines.
func (s *Service) Append(ctx context.Context, account, container, name string, data []byte) error {
	switch {
	case account == "" || !ValidContainerName(container) || !ValidBlobName(name):
		return ErrInvalidName
	case len(data) > MaxAppendBytes:
		return ErrTooLarge
	case len(data) == 0:
		return nil
	}
	return s.cfg.Store.AppendBlob(ctx, account, container, name, data, s.cfg.Now().UTC())
}

// Containers lists an account's containers.
func (s *Service) Containers(ctx context.Context, account string, p Page) ([]Container, error) {
	return s.cfg.Store.ListContainers(ctx, account, clampPage(p))
}

// Blobs lists a container's blobs; ErrContainerNotFound when it has none
// and never had.
func (s *Service) Blobs(ctx context.Context, account, container string, p Page) ([]Properties, error) {
	if !ValidContainerName(container) {
		return nil, ErrContainerNotFound
	}
	return s.cfg.Store.ListBlobs(ctx, account, container, clampPage(p))
}

// Read returns a blob's properties and n bytes from off (see Store).
func (s *Service) Read(ctx context.Context, account, container, name string, off, n int64) (Properties, []byte, error) {
	if !ValidContainerName(container) || !ValidBlobName(name) {
		return Properties{}, nil, ErrBlobNotFound
	}
	return s.cfg.Store.ReadBlob(ctx, account, container, name, off, n)
}

// PurgeAccountBlobs deletes every container and blob of an account; the
// storage account's deletion calls it.
func (s *Service) PurgeAccountBlobs(ctx context.Context, accountID string) error {
	return s.cfg.Store.PurgeAccountBlobs(ctx, strings.ToLower(accountID))
}

func clampPage(p Page) Page {
	if p.Limit <= 0 || p.Limit > MaxListResults {
		p.Limit = MaxListResults
	}
	return p
}

// ValidContainerName reports Azure's container naming rules: 3 to 63
// characters, lowercase letters, digits and hyphens, starting and ending
// with a letter or digit, no two hyphens in a row ("$root" and "$logs"
// are Azure's system containers and not used here).
func ValidContainerName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidBlobName reports whether s is a blob name we accept: 1 to 1024
// characters of valid UTF-8, no control characters (which Azure discourages
// and which could not be shown in XML), not ending in "." or "/" (Azure
// rules), and no empty, "." or ".." path segments, which clients would
// normalise away.
func ValidBlobName(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxBlobNameLen {
		return false
	}
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "/") || strings.HasPrefix(s, "/") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r >= 0x80 && r < 0xa0 || r == 0xfffe || r == 0xffff {
			return false
		}
	}
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
