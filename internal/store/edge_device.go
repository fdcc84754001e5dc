package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Edge resources (edge.Store). A device is one edge_devices row: the
// columns that queries select on, and doc, the JSON of the rest. The JSON
// shape is deviceDoc's, private to the store, so the domain type carries no
// tags and a renamed Go field cannot silently lose stored data.

var _ edge.Store = (*Store)(nil)

const deviceColumns = `uid, id, tenant_id, doc, created_at, updated_at, version`

// deviceDoc is the stored form of a device's fields that have no column.
// Times are Unix nanoseconds, 0 for the zero time, as in the columns.
type deviceDoc struct {
	Location                string                  `json:"location"`
	Tags                    map[string]string       `json:"tags"`
	SKU                     string                  `json:"sku"`
	Kind                    string                  `json:"kind"`
	IdentityID              string                  `json:"identityId"`
	IdentityDisabled        bool                    `json:"identityDisabled,omitempty"`
	Status                  string                  `json:"status"`
	SerialNumber            string                  `json:"serialNumber,omitempty"`
	ResourceKey             string                  `json:"resourceKey"`
	Link                    linkDoc                 `json:"link"`
	SyncStatus              string                  `json:"syncStatus"`
	Secrets                 map[string]secretRefDoc `json:"secrets,omitempty"`
	EncryptionKey           string                  `json:"encryptionKey,omitempty"`
	EncryptionKeyThumbprint string                  `json:"encryptionKeyThumbprint,omitempty"`
	GenerateOp              string                  `json:"generateOp,omitempty"`
	GenerateOpAt            int64                   `json:"generateOpAt,omitempty"`
	LastSeen                int64                   `json:"lastSeen,omitempty"`
	CreatedBy               string                  `json:"createdBy"`
	Agent                   *agentDoc               `json:"agent,omitempty"`
}

type agentDoc struct {
	KeyID           string      `json:"keyId,omitempty"`
	DeviceKey       string      `json:"deviceKey,omitempty"`
	ActivatedAt     int64       `json:"activatedAt,omitempty"`
	SyncID          string      `json:"syncId,omitempty"`
	SyncRequestedAt int64       `json:"syncRequestedAt,omitempty"`
	LastSyncID      string      `json:"lastSyncId,omitempty"`
	LastSyncAt      int64       `json:"lastSyncAt,omitempty"`
	RecentPushes    []string    `json:"recentPushes,omitempty"`
	Outbox          []outboxDoc `json:"outbox,omitempty"`
}

type outboxDoc struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Sealed    []byte `json:"sealed"`
	CreatedBy string `json:"createdBy"`
	CreatedAt int64  `json:"createdAt"`
}

func encodeAgent(a edge.AgentState) *agentDoc {
	if a.KeyID == "" && a.DeviceKey == "" && a.SyncID == "" && len(a.Outbox) == 0 && a.LastSyncID == "" {
		return nil
	}
	doc := &agentDoc{KeyID: a.KeyID, DeviceKey: a.DeviceKey, ActivatedAt: nsOrZero(a.ActivatedAt), SyncID: a.SyncID,
		SyncRequestedAt: nsOrZero(a.SyncRequestedAt), LastSyncID: a.LastSyncID, LastSyncAt: nsOrZero(a.LastSyncAt),
		RecentPushes: a.RecentPushes}
	for _, o := range a.Outbox {
		doc.Outbox = append(doc.Outbox, outboxDoc{ID: o.ID, Name: o.Name, Sealed: o.Sealed, CreatedBy: o.CreatedBy, CreatedAt: nsOrZero(o.CreatedAt)})
	}
	return doc
}

func decodeAgent(doc *agentDoc) edge.AgentState {
	if doc == nil {
		return edge.AgentState{}
	}
	a := edge.AgentState{KeyID: doc.KeyID, DeviceKey: doc.DeviceKey, ActivatedAt: fromNSOrZero(doc.ActivatedAt), SyncID: doc.SyncID,
		SyncRequestedAt: fromNSOrZero(doc.SyncRequestedAt), LastSyncID: doc.LastSyncID, LastSyncAt: fromNSOrZero(doc.LastSyncAt),
		RecentPushes: doc.RecentPushes}
	for _, o := range doc.Outbox {
		a.Outbox = append(a.Outbox, edge.CustomerSecret{ID: o.ID, Name: o.Name, Sealed: o.Sealed, CreatedBy: o.CreatedBy, CreatedAt: fromNSOrZero(o.CreatedAt)})
	}
	return a
}

type linkDoc struct {
	VaultID             string       `json:"vaultId,omitempty"`
	VaultURI            string       `json:"vaultUri,omitempty"`
	VaultLock           string       `json:"vaultLock,omitempty"`
	CIKName             string       `json:"cikName,omitempty"`
	CIKVersion          string       `json:"cikVersion,omitempty"`
	CIKSealed           []byte       `json:"cikSealed,omitempty"`
	StorageAccountID    string       `json:"storageAccountId,omitempty"`
	StorageLock         string       `json:"storageLock,omitempty"`
	DiagnosticSettingID string       `json:"diagnosticSettingId,omitempty"`
	PolicyGranted       bool         `json:"policyGranted,omitempty"`
	Provisioned         bool         `json:"provisioned,omitempty"`
	Warnings            []warningDoc `json:"warnings,omitempty"`
}

type warningDoc struct {
	Step    string `json:"step"`
	Message string `json:"message"`
}

type secretRefDoc struct {
	KeyVaultID string `json:"keyVaultId"`
	SyncedAt   int64  `json:"syncedAt,omitempty"`
}

// InsertDevice implements edge.Store: errkind.Conflict when the device's
// group holds its name in any case (the unique key), or its uid is taken.
func (s *Store) InsertDevice(ctx context.Context, d edge.Device) error {
	doc, err := encodeDevice(d)
	if err != nil {
		return err
	}
	group, name := lower(d.ID.ResourceGroupName()), lower(d.Name())
	_, err = s.write.ExecContext(ctx, `INSERT INTO edge_devices (uid, name_key, subscription_id, group_key, sort_key,
		id, tenant_id, doc, created_at, updated_at, version, vault_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.UID, name, d.ID.SubscriptionID(), group, group+"/"+name, d.ID.String(), d.TenantID, doc,
		d.CreatedAt.UnixNano(), d.UpdatedAt.UnixNano(), d.Version, strings.ToLower(d.Link.VaultID))
	return s.wrap(err, "edge resource")
}

// UpdateDevice implements edge.Store: it writes d, d.Version included,
// over the row whose version is still version. The uid, id, name,
// subscription and group never change.
func (s *Store) UpdateDevice(ctx context.Context, d edge.Device, version int64) error {
	doc, err := encodeDevice(d)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE edge_devices SET tenant_id = $1, doc = $2, created_at = $3,
		updated_at = $4, version = $5, vault_key = $6
		WHERE uid = $7 AND version = $8`,
		d.TenantID, doc, d.CreatedAt.UnixNano(), d.UpdatedAt.UnixNano(), d.Version, strings.ToLower(d.Link.VaultID), d.UID, version)
	if err := s.mustAffect(res, err, "edge resource"); errkind.KindOf(err) == errkind.NotFound {
		return edge.ErrChanged
	} else if err != nil {
		return err
	}
	return nil
}

// Device implements edge.Store. The unique key finds the row; the whole id
// is then compared, so an id of another type that happens to share the
// group and name finds nothing.
func (s *Store) Device(ctx context.Context, id resource.ID) (edge.Device, error) {
	d, err := scanDevice(s.read.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM edge_devices
		WHERE subscription_id = $1 AND group_key = $2 AND name_key = $3`,
		id.SubscriptionID(), lower(id.ResourceGroupName()), lower(id.Name())))
	if err == nil && !d.ID.Equal(id) {
		err = sql.ErrNoRows
	}
	if err != nil {
		return edge.Device{}, s.wrap(err, "edge resource")
	}
	return d, nil
}

// DeviceByUID implements edge.Store.
func (s *Store) DeviceByUID(ctx context.Context, uid string) (edge.Device, error) {
	d, err := scanDevice(s.read.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM edge_devices WHERE uid = $1`, uid))
	if err != nil {
		return edge.Device{}, s.wrap(err, "edge resource")
	}
	return d, nil
}

// Devices implements edge.Store: one index range of sort_key within the
// subscription (or the group), so a page reads only its own rows.
func (s *Store) Devices(ctx context.Context, f edge.Filter) ([]edge.Device, error) {
	q := `SELECT ` + deviceColumns + ` FROM edge_devices WHERE subscription_id = $1 AND sort_key > $2`
	args := []any{f.SubscriptionID, lower(f.After)}
	if f.ResourceGroup != "" {
		q += ` AND group_key = $3`
		args = append(args, lower(f.ResourceGroup))
	}
	args = append(args, f.Limit)
	q += ` ORDER BY sort_key LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "edge resources")
	}
	defer rows.Close()
	var out []edge.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, s.wrap(err, "edge resources")
		}
		out = append(out, d)
	}
	return out, s.wrap(rows.Err(), "edge resources")
}

// DeleteDevice implements edge.Store: the device, its activation keys and
// its alerts go in one transaction.
func (s *Store) DeleteDevice(ctx context.Context, uid string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM edge_devices WHERE uid = $1`, uid)
		if err := s.mustAffect(res, err, "edge resource"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM activation_keys WHERE device_uid = $1`, uid); err != nil {
			return s.wrap(err, "activation keys")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE device_uid = $1`, uid); err != nil {
			return s.wrap(err, "alerts")
		}
		return nil
	})
}

func encodeDevice(d edge.Device) (string, error) {
	doc := deviceDoc{
		Location: d.Location, Tags: nonNilTags(d.Tags), SKU: d.SKU, Kind: d.Kind, IdentityID: d.IdentityID, IdentityDisabled: d.IdentityDisabled,
		Status: string(d.Status), SerialNumber: d.SerialNumber, ResourceKey: d.ResourceKey,
		Link: linkDoc{
			VaultID: d.Link.VaultID, VaultURI: d.Link.VaultURI, VaultLock: d.Link.VaultLock,
			CIKName: d.Link.CIKName, CIKVersion: d.Link.CIKVersion, CIKSealed: d.Link.CIKSealed,
			StorageAccountID: d.Link.StorageAccountID, StorageLock: d.Link.StorageLock,
			DiagnosticSettingID: d.Link.DiagnosticSettingID, PolicyGranted: d.Link.PolicyGranted,
			Provisioned: d.Link.Provisioned, Warnings: warningDocs(d.Link.Warnings),
		},
		SyncStatus: string(d.SyncStatus), EncryptionKey: d.EncryptionKey,
		EncryptionKeyThumbprint: d.EncryptionKeyThumbprint, GenerateOp: d.GenerateOp, GenerateOpAt: nsOrZero(d.GenerateOpAt),
		LastSeen: nsOrZero(d.LastSeen), CreatedBy: d.CreatedBy, Agent: encodeAgent(d.Agent),
	}
	if len(d.Secrets) > 0 {
		doc.Secrets = make(map[string]secretRefDoc, len(d.Secrets))
		for name, ref := range d.Secrets {
			doc.Secrets[name] = secretRefDoc{KeyVaultID: ref.KeyVaultID, SyncedAt: nsOrZero(ref.SyncedAt)}
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", errkind.Wrap(errkind.Internal, err, "encode edge resource")
	}
	return string(b), nil
}

// scanDevice reads deviceColumns. Tags are never nil; Secrets and
// Link.Warnings are nil when empty.
func scanDevice(row interface{ Scan(...any) error }) (edge.Device, error) {
	var (
		d                edge.Device
		id, doc          string
		created, updated int64
	)
	if err := row.Scan(&d.UID, &id, &d.TenantID, &doc, &created, &updated, &d.Version); err != nil {
		return edge.Device{}, err
	}
	var err error
	if d.ID, err = resource.Parse(id); err != nil {
		return edge.Device{}, errkind.Wrap(errkind.Internal, err, "stored edge resource id is corrupt")
	}
	var dd deviceDoc
	if err := json.Unmarshal([]byte(doc), &dd); err != nil {
		return edge.Device{}, errkind.Wrap(errkind.Internal, err, "stored edge resource is corrupt")
	}
	d.Location, d.Tags, d.SKU, d.Kind, d.IdentityID = dd.Location, nonNilTags(dd.Tags), dd.SKU, dd.Kind, dd.IdentityID
	d.IdentityDisabled = dd.IdentityDisabled
	d.Status, d.SerialNumber, d.ResourceKey = edge.Status(dd.Status), dd.SerialNumber, dd.ResourceKey
	d.Link = edge.Link{
		VaultID: dd.Link.VaultID, VaultURI: dd.Link.VaultURI, VaultLock: dd.Link.VaultLock,
		CIKName: dd.Link.CIKName, CIKVersion: dd.Link.CIKVersion, CIKSealed: dd.Link.CIKSealed,
		StorageAccountID: dd.Link.StorageAccountID, StorageLock: dd.Link.StorageLock,
		DiagnosticSettingID: dd.Link.DiagnosticSettingID, PolicyGranted: dd.Link.PolicyGranted,
		Provisioned: dd.Link.Provisioned, Warnings: warnings(dd.Link.Warnings),
	}
	d.SyncStatus, d.EncryptionKey, d.EncryptionKeyThumbprint = edge.SyncStatus(dd.SyncStatus), dd.EncryptionKey, dd.EncryptionKeyThumbprint
	d.GenerateOp, d.GenerateOpAt = dd.GenerateOp, fromNSOrZero(dd.GenerateOpAt)
	d.LastSeen, d.CreatedBy = fromNSOrZero(dd.LastSeen), dd.CreatedBy
	d.Agent = decodeAgent(dd.Agent)
	if len(dd.Secrets) > 0 {
		d.Secrets = make(map[string]edge.SecretRef, len(dd.Secrets))
		for name, ref := range dd.Secrets {
			d.Secrets[name] = edge.SecretRef{KeyVaultID: ref.KeyVaultID, SyncedAt: fromNSOrZero(ref.SyncedAt)}
		}
	}
	d.CreatedAt, d.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return d, nil
}

// nsOrZero and fromNSOrZero are ns and fromNS for times inside JSON
// documents, where 0 stands for the zero time.
func nsOrZero(t time.Time) int64 { return ns(t).Int64 }

func fromNSOrZero(v int64) time.Time { return fromNS(sql.NullInt64{Int64: v, Valid: v != 0}) }

func warningDocs(ws []edge.Warning) []warningDoc {
	var out []warningDoc
	for _, w := range ws {
		out = append(out, warningDoc{Step: w.Step, Message: w.Message})
	}
	return out
}

func warnings(ws []warningDoc) []edge.Warning {
	var out []edge.Warning
	for _, w := range ws {
		out = append(out, edge.Warning{Step: w.Step, Message: w.Message})
	}
	return out
}

// DevicesByVault implements edge.Store: the devices whose escrow uses the
// vault id (any case).
func (s *Store) DevicesByVault(ctx context.Context, vaultID string) ([]edge.Device, error) {
	return s.queryDevices(ctx, `SELECT `+deviceColumns+` FROM edge_devices WHERE vault_key = $1 ORDER BY uid`,
		strings.ToLower(vaultID))
}

// ProvisionedDevices implements edge.Store: a page of the devices that
// have a vault, of every subscription, by uid after afterUID (the
// reconcile's walk; the partial index edge_devices_provisioned, migration
// 0016, keeps it off the others).
func (s *Store) ProvisionedDevices(ctx context.Context, afterUID string, limit int) ([]edge.Device, error) {
	return s.queryDevices(ctx, `SELECT `+deviceColumns+` FROM edge_devices WHERE vault_key <> '' AND uid > $1 ORDER BY uid LIMIT $2`,
		afterUID, limit)
}

func (s *Store) queryDevices(ctx context.Context, q string, args ...any) ([]edge.Device, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "edge resources")
	}
	defer rows.Close()
	var out []edge.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, s.wrap(err, "edge resource")
		}
		out = append(out, d)
	}
	return out, s.wrap(rows.Err(), "edge resources")
}
