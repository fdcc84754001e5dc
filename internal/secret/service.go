package secret

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// Config holds a Service's dependencies.
type Config struct {
	Store  Store  // required
	Sealer Sealer // required: the envelope keyring
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the sweeper's failures; slog.Default when nil. It
	// never receives a secret value.
	Logger *slog.Logger
}

// Service manages the secrets of vaults. It is safe for concurrent use.
// Every method takes the vault the caller has already found (and whose
// access policy it has checked): the service uses its UID, tenant,
// retention and purge protection.
type Service struct {
	store  Store
	sealer Sealer
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("secret: Store and Sealer are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: cfg.Store, sealer: cfg.Sealer, now: cfg.Now, log: cfg.Logger}, nil
}

// Scope is the envelope scope of a vault's values.
func Scope(vaultUID string) string { return "vault:" + vaultUID }

// valueAAD binds a sealed value to its vault, secret and version.
func valueAAD(vaultUID, name, version string) []byte {
	return envelope.AAD("secret", vaultUID, key(name), key(version))
}

// Set stores value as the new current version of the secret name, creating
// the secret if needed, with properties p (set p.Enabled yourself: Azure's
// default is true).
func (s *Service) Set(ctx context.Context, v Vault, name string, value sensitive.String, p Properties) (Secret, error) {
	if err := checkName(name); err != nil {
		return Secret{}, err
	}
	if err := checkValue(value); err != nil {
		return Secret{}, err
	}
	if err := checkProperties(p); err != nil {
		return Secret{}, err
	}
	version := newVersion()
	sealed, err := s.sealer.Seal(ctx, Scope(v.UID), valueAAD(v.UID, name, version), []byte(value.Reveal()))
	if err != nil {
		return Secret{}, err
	}
	now := s.now().UTC()
	r, err := s.store.InsertSecretVersion(ctx, Record{VaultUID: v.UID, Name: name, Version: version, Sealed: sealed,
		Props: cloneProps(p), Created: now, Updated: now})
	if errors.Is(err, ErrDeleted) {
		return Secret{}, deletedConflict(name)
	}
	if err != nil {
		return Secret{}, err
	}
	out := fromRecord(r)
	out.Value = value
	return out, nil
}

// Get returns a version of a secret with its value; version "" means the
// current one. A disabled version's value is refused with ErrDisabled.
func (s *Service) Get(ctx context.Context, v Vault, name, version string) (Secret, error) {
	r, err := s.version(ctx, v, name, version)
	if err != nil {
		return Secret{}, err
	}
	if !r.Props.Enabled {
		return Secret{}, wrapf(ErrDisabled, "Operation get is not allowed on a disabled secret.")
	}
	plain, err := s.sealer.Open(ctx, Scope(v.UID), valueAAD(v.UID, r.Name, r.Version), r.Sealed)
	if err != nil {
		// A value that does not open is a broken invariant (tampered row,
		// lost key), never the caller's fault; the cause names no value.
		return Secret{}, errkind.Wrap(errkind.Internal, err, "the secret value could not be decrypted")
	}
	out := fromRecord(r)
	out.Value = sensitive.New(string(plain))
	clear(plain)
	return out, nil
}

// version finds a version of an active secret, as a NotFound naming the
// secret when there is none.
func (s *Service) version(ctx context.Context, v Vault, name, version string) (Record, error) {
	if !ValidName(name) || (version != "" && !ValidVersion(version)) {
		return Record{}, notFound(clip(name, MaxNameLen+1))
	}
	r, err := s.store.SecretVersion(ctx, v.UID, name, key(version), false)
	if errkind.KindOf(err) == errkind.NotFound {
		return Record{}, notFound(name)
	}
	return r, err
}

// Update describes a change of a version's properties: nil fields (and
// Tags when SetTags is false) stay as they are.
type Update struct {
	ContentType        *string
	Enabled            *bool
	NotBefore, Expires *time.Time
	SetTags            bool
	Tags               map[string]string // replaces all tags when SetTags
}

// UpdateProperties changes the properties of a version (version "" means
// the current one) and returns it without its value. The value itself
// never changes: Set makes a new version instead.
func (s *Service) UpdateProperties(ctx context.Context, v Vault, name, version string, u Update) (Secret, error) {
	r, err := s.version(ctx, v, name, version)
	if err != nil {
		return Secret{}, err
	}
	p := r.Props
	if u.ContentType != nil {
		p.ContentType = *u.ContentType
	}
	if u.Enabled != nil {
		p.Enabled = *u.Enabled
	}
	if u.NotBefore != nil {
		p.NotBefore = *u.NotBefore
	}
	if u.Expires != nil {
		p.Expires = *u.Expires
	}
	if u.SetTags {
		p.Tags = maps.Clone(u.Tags)
	}
	if err := checkProperties(p); err != nil {
		return Secret{}, err
	}
	r.Props, r.Updated = p, s.now().UTC()
	r, err = s.store.UpdateSecretVersion(ctx, r)
	if errkind.KindOf(err) == errkind.NotFound {
		return Secret{}, notFound(name) // deleted meanwhile
	}
	if err != nil {
		return Secret{}, err
	}
	return fromRecord(r), nil
}

// Delete soft-deletes a secret, all its versions, for the vault's
// retention, and returns its current version without value.
func (s *Service) Delete(ctx context.Context, v Vault, name string) (Deleted, error) {
	if !ValidName(name) {
		return Deleted{}, notFound(clip(name, MaxNameLen+1))
	}
	now := s.now().UTC()
	r, err := s.store.DeleteSecret(ctx, v.UID, name, now, now.Add(retention(v)))
	if errkind.KindOf(err) == errkind.NotFound {
		return Deleted{}, notFound(name)
	}
	if err != nil {
		return Deleted{}, err
	}
	return fromDeleted(r), nil
}

// retention is how long a deleted secret of v stays recoverable.
func retention(v Vault) time.Duration {
	days := v.RetentionDays
	if days <= 0 {
		days = DefaultRetentionDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// List returns up to limit of the vault's active secrets, each as its
// current version without value, ordered by name, starting after cursor
// ("" for the first page). next is the cursor of the following page, ""
// when this is the last.
func (s *Service) List(ctx context.Context, v Vault, cursor string, limit int) (items []Secret, next string, err error) {
	limit = clampLimit(limit)
	rs, err := s.store.Secrets(ctx, v.UID, false, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	rs, next = page(rs, limit, func(r Record) string { return key(r.Name) })
	items = make([]Secret, 0, len(rs))
	for _, r := range rs {
		items = append(items, fromRecord(r))
	}
	return items, next, nil
}

// ListDeleted is List for the vault's soft-deleted secrets.
func (s *Service) ListDeleted(ctx context.Context, v Vault, cursor string, limit int) (items []Deleted, next string, err error) {
	limit = clampLimit(limit)
	rs, err := s.store.Secrets(ctx, v.UID, true, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	rs, next = page(rs, limit, func(r Record) string { return key(r.Name) })
	items = make([]Deleted, 0, len(rs))
	for _, r := range rs {
		items = append(items, fromDeleted(r))
	}
	return items, next, nil
}

// ListVersions returns up to limit versions of an active secret, oldest
// first, without values, starting after cursor; see List.
func (s *Service) ListVersions(ctx context.Context, v Vault, name, cursor string, limit int) (items []Secret, next string, err error) {
	if !ValidName(name) {
		return nil, "", notFound(clip(name, MaxNameLen+1))
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil || after < 0 {
			return nil, "", errkind.E(errkind.Invalid, "The page cursor is invalid.")
		}
	}
	limit = clampLimit(limit)
	rs, err := s.store.SecretVersions(ctx, v.UID, name, after, limit+1)
	if errkind.KindOf(err) == errkind.NotFound {
		return nil, "", notFound(name)
	}
	if err != nil {
		return nil, "", err
	}
	rs, next = page(rs, limit, func(r Record) string { return strconv.FormatInt(r.Seq, 10) })
	items = make([]Secret, 0, len(rs))
	for _, r := range rs {
		items = append(items, fromRecord(r))
	}
	return items, next, nil
}

// MaxPageSize bounds the limit of the list methods.
const MaxPageSize = 1000

func clampLimit(n int) int { return min(max(n, 1), MaxPageSize) }

// page trims a result fetched with limit+1 rows to limit and returns the
// cursor of the next page when there is one.
func page(rs []Record, limit int, cursor func(Record) string) ([]Record, string) {
	if len(rs) <= limit {
		return rs, ""
	}
	rs = rs[:limit]
	return rs, cursor(rs[limit-1])
}

func cloneProps(p Properties) Properties {
	p.Tags = maps.Clone(p.Tags)
	return p
}

func fromRecord(r Record) Secret {
	return Secret{Name: r.Name, Version: r.Version, Properties: cloneProps(r.Props), Created: r.Created, Updated: r.Updated}
}

func fromDeleted(r Record) Deleted {
	return Deleted{Secret: fromRecord(r), DeletedAt: r.DeletedAt, ScheduledPurgeAt: r.PurgeAt}
}
