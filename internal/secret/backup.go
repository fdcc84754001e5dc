package secret

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/errkind"
)

// A backup blob (format 1) is
//
//	"EVSB" 0x01                 magic and format
//	envelope blob               the payload, sealed by the envelope in scope
//	                            BackupScope(tenant) with AAD
//	                            AAD("secret-backup/v1", tenant)
//
// and the payload is a sequence of fields (strings as uvarint length and
// bytes, integers as varints, times as a presence byte and Unix
// nanoseconds):
//
//	uvarint 1                   payload format
//	string  name                as first created
//	uvarint n                   versions, oldest first, 1..MaxBackupVersions
//	n times: string version, string value, string contentType,
//	         byte enabled, time nbf, time exp, time created, time updated,
//	         uvarint tags (<= MaxTags), tags times (string name, string value)
//
// The envelope authenticates every byte and keeps the values secret; the
// tenant in scope and AAD is what makes a blob restorable only into a
// vault of the tenant it came from. Decoding still checks every length,
// since a future format must not be able to crash an older reader
// (FuzzDecodeBackup; FuzzRestore fuzzes whole blobs).
var backupMagic = []byte("EVSB\x01")

// MaxBackupBytes bounds a backup blob (before base64url), so that every
// blob this package hands out fits a restore request (the data plane's
// 1 MiB body limit, with base64's 4/3 and the JSON around it).
const MaxBackupBytes = 700 << 10

// BackupScope is the envelope scope of a tenant's backup blobs.
func BackupScope(tenantID string) string { return "secret-backup:" + tenantID }

func backupAAD(tenantID string) []byte { return envelope.AAD("secret-backup/v1", tenantID) }

func badBackup() error {
	return wrapf(ErrBadBackup, "Backup blob is malformed, was altered, or was made for another tenant.")
}

// Backup returns an opaque, authenticated and encrypted blob holding every
// version of an active secret, for Restore into any vault of the tenant.
func (s *Service) Backup(ctx context.Context, v Vault, name string) ([]byte, error) {
	if !ValidName(name) {
		return nil, notFound(clip(name, MaxNameLen+1))
	}
	rs, err := s.store.SecretVersions(ctx, v.UID, name, 0, MaxBackupVersions+1)
	if errkind.KindOf(err) == errkind.NotFound {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, err
	}
	if len(rs) > MaxBackupVersions {
		return nil, wrapf(ErrInvalid, "Secret %s has more than %d versions and cannot be backed up.", name, MaxBackupVersions)
	}
	vs := make([]backupVersion, 0, len(rs))
	defer func() {
		for _, b := range vs {
			clear(b.value)
		}
	}()
	for _, r := range rs {
		plain, err := s.sealer.Open(ctx, Scope(v.UID), valueAAD(v.UID, r.Name, r.Version), r.Sealed)
		if err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "the secret value could not be decrypted")
		}
		vs = append(vs, backupVersion{version: r.Version, value: plain, props: r.Props, created: r.Created, updated: r.Updated})
	}
	payload := encodeBackup(rs[0].Name, vs)
	defer clear(payload)
	sealed, err := s.sealer.Seal(ctx, BackupScope(v.TenantID), backupAAD(v.TenantID), payload)
	if err != nil {
		return nil, err
	}
	blob := append(slices.Clip(backupMagic), sealed...)
	if len(blob) > MaxBackupBytes {
		return nil, wrapf(ErrInvalid, "Secret %s is too large to be backed up (%d bytes; at most %d).", name, len(blob), MaxBackupBytes)
	}
	return blob, nil
}

// Restore creates a secret, with every version, from a blob made by Backup
// in a vault of the same tenant, and returns its current version without
// value. Versions keep their ids, dates and properties; values are sealed
// again for this vault. A name in use (active or soft-deleted) is refused.
func (s *Service) Restore(ctx context.Context, v Vault, blob []byte) (Secret, error) {
	sealed, ok := bytes.CutPrefix(blob, backupMagic)
	if !ok || len(blob) > MaxBackupBytes {
		return Secret{}, badBackup()
	}
	plain, err := s.sealer.Open(ctx, BackupScope(v.TenantID), backupAAD(v.TenantID), sealed)
	if errors.Is(err, envelope.ErrDecrypt) {
		return Secret{}, badBackup()
	}
	if err != nil {
		return Secret{}, err
	}
	defer clear(plain)
	name, vs, err := decodeBackup(plain)
	if err != nil {
		return Secret{}, badBackup()
	}
	rs := make([]Record, 0, len(vs))
	for _, b := range vs {
		sealed, err := s.sealer.Seal(ctx, Scope(v.UID), valueAAD(v.UID, name, b.version), b.value)
		clear(b.value)
		if err != nil {
			return Secret{}, err
		}
		rs = append(rs, Record{VaultUID: v.UID, Name: name, Version: b.version, Sealed: sealed,
			Props: b.props, Created: b.created, Updated: b.updated})
	}
	r, err := s.store.RestoreSecret(ctx, v.UID, rs)
	switch {
	case errors.Is(err, ErrDeleted):
		return Secret{}, deletedConflict(name)
	case errors.Is(err, ErrExists):
		return Secret{}, wrapf(ErrExists, "There was a conflict restoring the secret '%s'. "+
			"This can happen if a secret with the same name exists in this key vault, active or deleted.", name)
	case err != nil:
		return Secret{}, err
	}
	return fromRecord(r), nil
}

// backupVersion is one decoded version of a backup.
type backupVersion struct {
	version          string
	value            []byte
	props            Properties
	created, updated time.Time
}

// encodeBackup writes a payload (format 1), tags in sorted order.
func encodeBackup(name string, vs []backupVersion) []byte {
	var buf bytes.Buffer
	w := payloadWriter{&buf}
	w.uvarint(1)
	w.string(name)
	w.uvarint(uint64(len(vs)))
	for _, b := range vs {
		w.string(b.version)
		w.bytes(b.value)
		w.string(b.props.ContentType)
		w.bool(b.props.Enabled)
		w.time(b.props.NotBefore)
		w.time(b.props.Expires)
		w.time(b.created)
		w.time(b.updated)
		w.uvarint(uint64(len(b.props.Tags)))
		for _, k := range slices.Sorted(maps.Keys(b.props.Tags)) {
			w.string(k)
			w.string(b.props.Tags[k])
		}
	}
	return buf.Bytes()
}

// decodeBackup parses and validates a payload. It never panics, and
// accepts only what Backup could have written for a valid secret.
func decodeBackup(p []byte) (string, []backupVersion, error) {
	r := payloadReader{b: p}
	if r.uvarint() != 1 {
		return "", nil, errMalformed
	}
	name := r.string()
	n := r.uvarint()
	if r.err != nil || !ValidName(name) || n == 0 || n > MaxBackupVersions {
		return "", nil, errMalformed
	}
	out := make([]backupVersion, 0, n)
	seen := make(map[string]bool, n)
	for range n {
		var b backupVersion
		b.version = r.string()
		b.value = r.bytes()
		b.props.ContentType = r.string()
		b.props.Enabled = r.bool()
		b.props.NotBefore, b.props.Expires = r.time(), r.time()
		b.created, b.updated = r.time(), r.time()
		nt := r.uvarint()
		if nt > MaxTags {
			return "", nil, errMalformed
		}
		if nt > 0 {
			b.props.Tags = make(map[string]string, nt)
			for range nt {
				k := r.string()
				b.props.Tags[k] = r.string()
			}
		}
		if r.err != nil || !ValidVersion(b.version) || b.version != key(b.version) || seen[b.version] ||
			len(b.value) > MaxValueBytes || checkProperties(b.props) != nil || b.created.IsZero() || b.updated.IsZero() {
			return "", nil, errMalformed
		}
		seen[b.version] = true
		out = append(out, b)
	}
	if r.err != nil || len(r.b) != 0 {
		return "", nil, errMalformed
	}
	return name, out, nil
}

var errMalformed = errors.New("secret: malformed backup payload")

// payloadWriter appends the fields of a backup payload.
type payloadWriter struct{ b *bytes.Buffer }

func (w payloadWriter) uvarint(v uint64) { w.b.Write(binary.AppendUvarint(nil, v)) }
func (w payloadWriter) bytes(p []byte)   { w.uvarint(uint64(len(p))); w.b.Write(p) }
func (w payloadWriter) string(s string)  { w.uvarint(uint64(len(s))); w.b.WriteString(s) }

func (w payloadWriter) bool(v bool) {
	if v {
		w.b.WriteByte(1)
	} else {
		w.b.WriteByte(0)
	}
}

func (w payloadWriter) time(t time.Time) {
	if t.IsZero() {
		w.b.WriteByte(0)
		return
	}
	w.b.WriteByte(1)
	w.b.Write(binary.AppendVarint(nil, t.UnixNano()))
}

// payloadReader reads the fields of a backup payload; the first failure
// sticks in err and every later read returns a zero value.
type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) fail() { r.err, r.b = errMalformed, nil }

func (r *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := slices.Clone(r.b[:n])
	r.b = r.b[n:]
	return out
}

func (r *payloadReader) string() string { return string(r.bytes()) }

func (r *payloadReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *payloadReader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *payloadReader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
		v, n := binary.Varint(r.b)
		if n <= 0 {
			r.fail()
			return time.Time{}
		}
		r.b = r.b[n:]
		return time.Unix(0, v).UTC()
	}
	r.fail()
	return time.Time{}
}
