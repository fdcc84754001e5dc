package activation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// GenerateKind is the kind of the generate-activation-key operation.
const GenerateKind = "dataBoxEdgeDevices/generateActivationKey"

// DefaultKeyLifetime is how long a key stays usable (edge-arm.md §2.1).
const DefaultKeyLifetime = 72 * time.Hour

// Names of what the operation makes. The lock names and the diagnostic
// setting's name are fixed, so a resumed step finds what it made.
const (
	VaultLockName         = "edgevault-keyvault-lock"
	StorageLockName       = "edgevault-audit-storage-lock"
	DiagnosticSettingName = "edgevault-audit"
	// StorageTag is the tag naming the vault on the audit storage account.
	StorageTag = "KeyVaultName"
	// OperationTag names, on a vault the service created, the operation
	// that created it: a step resumed after a crash recognises its vault
	// by it.
	OperationTag = "edgevault-operation"
	// CIKPrefix starts the channel integrity key's secret name.
	CIKPrefix = "ase-cik-"
)

// The steps of a first generation, in order (DESIGN.md §5.1), each
// recorded as the operation's checkpoint once done.
const (
	StepVault         = "CreateKeyVault"
	StepLock          = "LockKeyVault"
	StepIdentity      = "EnableManagedIdentity"
	StepCIK           = "CreateChannelIntegrityKey"
	StepStorage       = "CreateAuditStorageAccount"
	StepDiagnostics   = "CreateDiagnosticSetting"
	StepAccessPolicy  = "GrantManagedIdentityAccess"
	StepVerify        = "VerifyManagedIdentityAccess"
	StepIssue         = "IssueActivationKey"
	stepRegenerateKey = "RegenerateActivationKey"
)

// Steps lists a first generation's steps, in order.
var Steps = []string{StepVault, StepLock, StepIdentity, StepCIK, StepStorage, StepDiagnostics, StepAccessPolicy, StepVerify, StepIssue}

// Devices reads and updates edge resources (edge.Service).
type Devices interface {
	Get(ctx context.Context, id resource.ID) (edge.Device, error)
	ByUID(ctx context.Context, uid string) (edge.Device, error)
	Update(ctx context.Context, id resource.ID, change func(*edge.Device) error) (edge.Device, error)
	QueueCustomerSecret(ctx context.Context, id resource.ID, cs edge.CustomerSecret) (edge.Device, error)
	RequestSync(ctx context.Context, id resource.ID) (string, error)
}

// Vaults manages key vaults (keyvault.Service).
type Vaults interface {
	CheckNew(ctx context.Context, id resource.ID) error
	Get(ctx context.Context, id resource.ID) (keyvault.Vault, error)
	Lookup(ctx context.Context, id resource.ID) (keyvault.Vault, keyvault.Status, error)
	Put(ctx context.Context, caller principal.Principal, id resource.ID, spec keyvault.Spec) (keyvault.Vault, bool, error)
	UpdateAccessPolicies(ctx context.Context, id resource.ID, kind keyvault.PolicyUpdate, given []keyvault.AccessPolicy) (keyvault.Vault, error)
	URI(name string) string
}

// Secrets writes and reads vault secrets as the service (secret.Service).
type Secrets interface {
	Set(ctx context.Context, v secret.Vault, name string, value sensitive.String, p secret.Properties) (secret.Secret, error)
	Get(ctx context.Context, v secret.Vault, name, version string) (secret.Secret, error)
}

// Locks places management locks (lock.Service).
type Locks interface {
	Put(ctx context.Context, caller principal.Principal, scope resource.ID, name string, spec lock.Spec) (lock.Lock, bool, error)
}

// Storage manages storage accounts (storageaccount.Service).
type Storage interface {
	Get(ctx context.Context, id resource.ID) (storageaccount.Account, error)
	Put(ctx context.Context, caller principal.Principal, id resource.ID, spec storageaccount.Spec) (storageaccount.PutResult, error)
}

// Diagnostics manages diagnostic settings (diagnostics.Service).
type Diagnostics interface {
	Put(ctx context.Context, caller principal.Principal, id resource.ID, spec diagnostics.Spec) (diagnostics.Setting, bool, error)
}

// Identities reads principals and enables managed identities
// (identity.Service).
type Identities interface {
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
	SetManagedIdentityEnabled(ctx context.Context, objectID string, enabled bool) error
	CreateManagedIdentity(ctx context.Context, tenantID, displayName string) (principal.Principal, error)
}

// Providers registers resource providers (provider.Service).
type Providers interface {
	EnsureRegistered(ctx context.Context, authorize provider.Authorizer, subscriptionID, namespace string) error
	RequireRegistered(ctx context.Context, subscriptionID, namespace string) error
}

// Authorizer checks RBAC (rbac.Service).
type Authorizer interface {
	Authorize(ctx context.Context, p principal.Principal, action string, scope resource.ID) error
}

// VaultReader reads a secret acting as a principal through the vault's
// data plane: a token for the principal, the access-policy check and the
// audit record, exactly as a client would (the composition root wires the
// Key Vault handler).
type VaultReader interface {
	ReadSecretAs(ctx context.Context, p principal.Principal, vaultURI, name, version string) (sensitive.String, error)
}

// Alerts raises and resolves device alerts (alert.Service).
type Alerts interface {
	Raise(ctx context.Context, deviceUID string, t alert.Type, errorCode, errorMessage string) error
	Resolve(ctx context.Context, deviceUID string, t alert.Type) error
}

// Recorder writes the audit record of a vault write the service makes on
// its own (not through the data plane), such as storing the CIK.
type Recorder interface {
	RecordServiceWrite(ctx context.Context, vault keyvault.Vault, operationName string, caller principal.Principal, requestURI string) error
}

// Sealer encrypts values at rest (envelope.Keyring).
type Sealer interface {
	Seal(ctx context.Context, scope string, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error)
}

// Operations starts long-running operations (operation.Service).
type Operations interface {
	Start(ctx context.Context, req operation.StartRequest) (operation.Operation, error)
	Get(ctx context.Context, subscriptionID, id string) (operation.Operation, error)
	Register(kind string, h operation.Handler)
}

// Config configures a Service.
type Config struct {
	Keys        Store
	Devices     Devices
	Vaults      Vaults
	Secrets     Secrets
	Locks       Locks
	Storage     Storage
	Diagnostics Diagnostics
	Identities  Identities
	Providers   Providers
	RBAC        Authorizer
	Reader      VaultReader
	Alerts      Alerts
	Audit       Recorder
	Operations  Operations
	// Sealer keeps the service's copy of each CIK sealed at rest (the
	// envelope keyring).
	Sealer Sealer
	// DeviceURL is the device API's base URL, which keys carry.
	DeviceURL string
	// CAFingerprint is the SHA-256 of the server CA's DER, which keys carry.
	CAFingerprint [sha256.Size]byte
	// KeyLifetime is how long a key stays usable (DefaultKeyLifetime).
	KeyLifetime time.Duration
	// StorageReadyWait bounds how long one attempt waits for the audit
	// storage account to be provisioned before rescheduling.
	StorageReadyWait time.Duration
	// Failpoint, when set, runs before each step ("<step>"), after the
	// step made something and before it recorded it on the device
	// ("<step>/made"), and after the step, before its checkpoint
	// ("<step>/done"); crash tests use it to end the process there.
	Failpoint func(point string)
	Now       func() time.Time
	Rand      io.Reader
}

// Service issues activation keys.
type Service struct {
	cfg Config
}

// New returns a Service and registers the operation's handler.
func New(cfg Config) (*Service, error) {
	if cfg.Keys == nil || cfg.Devices == nil || cfg.Vaults == nil || cfg.Secrets == nil || cfg.Locks == nil ||
		cfg.Storage == nil || cfg.Diagnostics == nil || cfg.Identities == nil || cfg.Providers == nil ||
		cfg.RBAC == nil || cfg.Reader == nil || cfg.Alerts == nil || cfg.Audit == nil || cfg.Operations == nil || cfg.Sealer == nil {
		return nil, errors.New("activation: every dependency is required")
	}
	if cfg.DeviceURL == "" {
		return nil, errors.New("activation: DeviceURL is required")
	}
	if cfg.KeyLifetime <= 0 {
		cfg.KeyLifetime = DefaultKeyLifetime
	}
	if cfg.StorageReadyWait <= 0 {
		cfg.StorageReadyWait = 20 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Service{cfg: cfg}
	cfg.Operations.Register(GenerateKind, s.run)
	cfg.Operations.Register(RecoverKind, s.runRecover)
	cfg.Operations.Register(ReconfigureKind, s.runReconfigure)
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// input is the operation's input: everything decided when it started, so
// a resumed attempt decides nothing again.
type input struct {
	DeviceUID string `json:"deviceUid"`
	// Mode is a recovery's: "recover" or "new" (recover.go).
	Mode        string `json:"mode,omitempty"`
	VaultName   string `json:"vaultName"`
	StorageName string `json:"storageName"`
	// Warnings are non-blocking problems found when the request arrived
	// (a provider the caller could not register).
	Warnings []warning `json:"warnings,omitempty"`
}

// warning is a non-blocking failure: the key is still issued.
type warning struct {
	Step    string     `json:"step"`
	Alert   alert.Type `json:"alert"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
}

// Result is the operation's result body (the wire shape of
// generateActivationKey's response).
type Result struct {
	ActivationKey   string    `json:"activationKey"`
	ExpiryTimeInUTC time.Time `json:"expiryTimeInUTC"`
	KeyVaultID      string    `json:"keyVaultId"`
	KeyVaultURI     string    `json:"keyVaultUri"`
	KeyID           string    `json:"keyId"`
	Warnings        []string  `json:"warnings"`
	// Regenerated is true when the resource already had its vault: only a
	// new key was made.
	Regenerated bool `json:"regenerated"`
	// Steps are the operation's steps and how each ended.
	Steps []StepOutcome `json:"steps"`
}

// StepOutcome is how one step ended: Succeeded, or Warning (a
// non-blocking failure, with its message).
type StepOutcome struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// ErrVaultNameMismatch: the device already has a vault of another name.
var ErrVaultNameMismatch = errkind.E(errkind.Invalid, "The edge resource already has a key vault.")

// Begin starts generating a key for the device id on behalf of caller. It
// decides, before anything is made, whatever would block the operation:
// the caller's rights over the group, Microsoft.KeyVault's registration,
// and the vault name. One operation runs per device at a time; a second
// request gets ErrBusy naming the running one.
func (s *Service) Begin(ctx context.Context, caller principal.Principal, id resource.ID, vaultName string) (operation.Operation, error) {
	d, err := s.cfg.Devices.Get(ctx, id)
	if err != nil {
		return operation.Operation{}, err
	}
	if err := s.checkBusy(ctx, d); err != nil {
		return operation.Operation{}, err
	}
	group := resource.NewResourceGroup(id.SubscriptionID(), id.ResourceGroupName())
	in := input{DeviceUID: d.UID}
	if d.Link.Provisioned {
		if vaultName != "" && !strings.EqualFold(vaultName, d.Link.VaultID[strings.LastIndexByte(d.Link.VaultID, '/')+1:]) {
			return operation.Operation{}, errkind.Wrap(errkind.Invalid, ErrVaultNameMismatch, fmt.Sprintf(
				"The edge resource '%s' already uses the key vault '%s'; omit keyVaultName to regenerate the activation key, or use the recover key vault operation to move to another vault.",
				id.Name(), d.Link.VaultID[strings.LastIndexByte(d.Link.VaultID, '/')+1:]))
		}
	} else {
		// The caller must be able to make what the operation makes in the
		// group (Owner or Contributor there): ARM's AuthorizationFailed.
		for _, action := range []string{"Microsoft.KeyVault/vaults/write", "Microsoft.Storage/storageAccounts/write"} {
			if err := s.cfg.RBAC.Authorize(ctx, caller, action, group); err != nil {
				return operation.Operation{}, err
			}
		}
		authorize := func(ctx context.Context, action, sub string) error {
			return s.cfg.RBAC.Authorize(ctx, caller, action, resource.NewSubscription(sub))
		}
		if err := s.cfg.Providers.EnsureRegistered(ctx, authorize, id.SubscriptionID(), keyvault.Namespace); err != nil {
			return operation.Operation{}, err // blocking: no key without a vault
		}
		if in.VaultName, err = s.chooseVaultName(ctx, d, vaultName); err != nil {
			return operation.Operation{}, err
		}
		in.StorageName = storageName(in.VaultName, s.random(8))
		// The audit trail's providers are non-blocking (edge-arm.md §2.7).
		for _, p := range []struct {
			ns   string
			step string
			typ  alert.Type
		}{{storageaccount.Namespace, StepStorage, alert.StorageAccountMissing}, {diagnostics.Namespace, StepDiagnostics, alert.DiagnosticSettingMissing}} {
			if err := s.cfg.Providers.EnsureRegistered(ctx, authorize, id.SubscriptionID(), p.ns); err != nil {
				var missing *provider.MissingRegistrationError
				if !errors.As(err, &missing) {
					return operation.Operation{}, err
				}
				in.Warnings = append(in.Warnings, warning{Step: p.step, Alert: p.typ, Code: "MissingSubscriptionRegistration",
					Message: "The subscription is not registered to use namespace '" + p.ns + "', so the audit trail was not set up; register it and use the recover key vault operation."})
			}
		}
	}
	// Claim the device for the operation before it exists, so that its
	// handler, which may start at once on another replica, finds the
	// claim. Until the operation exists, a second request sees a claim
	// naming no operation: busy while the claim is younger than
	// claimGrace, free after (the Start below failed, or the process
	// died in between).
	opID := operation.NewID()
	_, err = s.cfg.Devices.Update(ctx, id, func(cur *edge.Device) error {
		if cur.GenerateOp != d.GenerateOp {
			return busy(cur.GenerateOp)
		}
		cur.GenerateOp, cur.GenerateOpAt = opID, s.now()
		return nil
	})
	if err != nil {
		return operation.Operation{}, err
	}
	return s.cfg.Operations.Start(ctx, operation.StartRequest{ID: opID, Kind: GenerateKind, SubscriptionID: id.SubscriptionID(),
		ResourceID: id.String(), PrincipalID: caller.ObjectID, Input: in})
}

// claimGrace is how long a claim naming no operation yet still holds
// the device: the time between the claim's write and the operation's.
const claimGrace = 30 * time.Second

// checkBusy fails when another generation is running for d, or has just
// claimed d and is being started.
func (s *Service) checkBusy(ctx context.Context, d edge.Device) error {
	if d.GenerateOp == "" {
		return nil
	}
	op, err := s.cfg.Operations.Get(ctx, d.ID.SubscriptionID(), d.GenerateOp)
	if errkind.KindOf(err) == errkind.NotFound {
		if s.now().Sub(d.GenerateOpAt) < claimGrace {
			return busy(d.GenerateOp)
		}
		return nil
	}
	if err == nil && op.Status.Terminal() {
		return nil
	}
	if err != nil {
		return err
	}
	return busy(op.ID)
}

func busy(opID string) error {
	return errkind.Wrap(errkind.Conflict, edge.ErrBusy, fmt.Sprintf(
		"An activation key is already being generated for this edge resource by operation '%s'; wait for it to finish.", opID))
}

// chooseVaultName returns the vault name to create: the caller's, which
// must be free, or a default derived from the device name.
func (s *Service) chooseVaultName(ctx context.Context, d edge.Device, given string) (string, error) {
	group := resource.NewResourceGroup(d.ID.SubscriptionID(), d.ID.ResourceGroupName())
	if given != "" {
		if err := s.cfg.Vaults.CheckNew(ctx, group.Child(keyvault.Namespace, "vaults", given)); err != nil {
			return "", err
		}
		return given, nil
	}
	for range 5 {
		name := defaultVaultName(d.Name(), s.random(6))
		err := s.cfg.Vaults.CheckNew(ctx, group.Child(keyvault.Namespace, "vaults", name))
		if err == nil {
			return name, nil
		}
		if err != nil && errkind.KindOf(err) != errkind.Conflict {
			return "", err
		}
	}
	return "", errkind.E(errkind.Conflict, "No free default key vault name was found for '%s'; give keyVaultName.", d.Name())
}

// defaultVaultName is the device name's letters and digits, cut to fit,
// a hyphen and a random suffix: 3–24 characters, starting with a letter.
func defaultVaultName(device, suffix string) string {
	var b strings.Builder
	b.WriteString("ev")
	for _, c := range strings.ToLower(device) {
		if ('a' <= c && c <= 'z' || '0' <= c && c <= '9') && b.Len() < keyvault.MaxNameLen-len(suffix)-1 {
			b.WriteRune(c)
		}
	}
	return b.String() + "-" + suffix
}

// storageName is the audit storage account's name: lowercase letters and
// digits from the vault name and a random suffix, 3–24 characters.
func storageName(vault, suffix string) string {
	var b strings.Builder
	b.WriteString("evaudit")
	for _, c := range strings.ToLower(vault) {
		if ('a' <= c && c <= 'z' || '0' <= c && c <= '9') && b.Len() < 24-len(suffix) {
			b.WriteRune(c)
		}
	}
	return b.String() + suffix
}

// random returns n lowercase hex digits.
func (s *Service) random(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		panic("activation: reading random bytes: " + err.Error())
	}
	return hex.EncodeToString(b)[:n]
}

// run is the operation's handler.
func (s *Service) run(ctx context.Context, op operation.Operation, progress *operation.Progress) (operation.Result, error) {
	var in input
	if err := op.DecodeInput(&in); err != nil {
		return operation.Result{}, err
	}
	d, err := s.cfg.Devices.ByUID(ctx, in.DeviceUID)
	if err != nil {
		return operation.Result{}, err
	}
	if d.GenerateOp != op.ID {
		return operation.Result{}, busy(d.GenerateOp)
	}
	caller, err := s.cfg.Identities.Principal(ctx, op.PrincipalID)
	if err != nil {
		return operation.Result{}, err
	}
	r := &runner{s: s, op: op, in: in, caller: caller, id: d.ID}
	if d.Link.Provisioned {
		// Regenerate: a new key; the vault is not touched.
		if err := progress.Checkpoint(ctx, stepRegenerateKey, 50); err != nil {
			return operation.Result{}, err
		}
		return r.issue(ctx, d)
	}
	steps := []operation.Step{
		{Name: StepVault, Percent: 15, Do: r.vault},
		{Name: StepLock, Percent: 25, Do: r.lockVault},
		{Name: StepIdentity, Percent: 30, Do: r.reenableIdentity},
		{Name: StepCIK, Percent: 40, Do: r.cik},
		{Name: StepStorage, Percent: 65, Do: r.storage},
		{Name: StepDiagnostics, Percent: 75, Do: r.diagnostics},
		{Name: StepAccessPolicy, Percent: 85, Do: r.accessPolicy},
		{Name: StepVerify, Percent: 95, Do: r.verify},
	}
	for i := range steps {
		st := steps[i]
		steps[i].Do = func(ctx context.Context) error {
			r.step = st.Name
			s.failpoint(st.Name)
			if err := st.Do(ctx); err != nil {
				return err
			}
			s.failpoint(st.Name + "/done")
			return nil
		}
	}
	if err := progress.RunSteps(ctx, steps); err != nil {
		return operation.Result{}, err
	}
	s.failpoint(StepIssue)
	d, err = s.cfg.Devices.Update(ctx, d.ID, func(d *edge.Device) error {
		d.Link.Provisioned = true
		if d.SyncStatus == edge.KeyVaultNotConfigured || d.SyncStatus == "" {
			d.SyncStatus = edge.KeyVaultNotSynced
		}
		return nil
	})
	if err != nil {
		return operation.Result{}, err
	}
	return r.issue(ctx, d)
}

func (s *Service) failpoint(point string) {
	if s.cfg.Failpoint != nil {
		s.cfg.Failpoint(point)
	}
}

// runner runs one attempt of one operation.
type runner struct {
	s      *Service
	op     operation.Operation
	in     input
	caller principal.Principal
	id     resource.ID // the device
	step   string      // the step running
}

func (r *runner) device(ctx context.Context) (edge.Device, error) {
	return r.s.cfg.Devices.Get(ctx, r.id)
}

// record writes what the step made on the device. The failpoint before
// it is the crash window between making something and recording it.
func (r *runner) record(ctx context.Context, change func(*edge.Link)) error {
	r.s.failpoint(r.step + "/made")
	_, err := r.s.cfg.Devices.Update(ctx, r.id, func(d *edge.Device) error {
		change(&d.Link)
		return nil
	})
	return err
}

func (r *runner) vaultID() resource.ID {
	return resource.NewResourceGroup(r.id.SubscriptionID(), r.id.ResourceGroupName()).Child(keyvault.Namespace, "vaults", r.in.VaultName)
}

// vault creates the key vault: standard, access policies, soft delete for
// 90 days, purge protection. A vault already at the id is this
// operation's own only if it was made by this caller after the operation
// began (a crash between creating and recording it); anything else is
// someone else's vault, which the operation does not touch.
func (r *runner) vault(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil || d.Link.VaultID != "" {
		return err
	}
	id := r.vaultID()
	v, err := r.s.cfg.Vaults.Get(ctx, id)
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
		retention, yes, std, family := 90, true, "standard", "A"
		v, _, err = r.s.cfg.Vaults.Put(ctx, r.caller, id, keyvault.Spec{Location: d.Location, Tags: map[string]string{OperationTag: r.op.ID}, Properties: keyvault.Properties{
			TenantID: &d.TenantID, SKUFamily: &family, SKU: &std, Policies: []keyvault.AccessPolicy{},
			SoftDelete: &yes, Retention: &retention, PurgeProtection: &yes,
		}})
		if err != nil {
			return err
		}
		if err := r.s.cfg.Audit.RecordServiceWrite(ctx, v, "VaultPut", r.caller, id.String()); err != nil {
			return err
		}
	case err != nil:
		return err
	case v.Tags[OperationTag] != r.op.ID:
		// Someone else's vault took the name after the request was
		// accepted: not touched.
		return errkind.E(errkind.Conflict, "The key vault '%s' already exists and was not created for this edge resource.", id.Name())
	}
	return r.record(ctx, func(l *edge.Link) {
		l.VaultID, l.VaultURI = v.ID.String(), r.s.cfg.Vaults.URI(v.Name())
	})
}

// lockVault places the service's CanNotDelete lock on the vault.
func (r *runner) lockVault(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil {
		return err
	}
	vault, err := resource.Parse(d.Link.VaultID)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	l, _, err := r.s.cfg.Locks.Put(ctx, r.caller, vault, VaultLockName, lock.Spec{Level: lock.CanNotDelete,
		Notes: "Placed by edgevault: the key vault holds the escrowed secrets of edge resource " + d.Name() + "."})
	if err != nil {
		return err
	}
	return r.record(ctx, func(link *edge.Link) { link.VaultLock = l.ID.String() })
}

// cikName is the CIK's secret name: fixed by the operation's id, so a
// resumed step finds the secret it wrote before a crash.
func (r *runner) cikName() string { return CIKPrefix + r.op.ID }

// cik generates the channel integrity key and stores it in the vault.
func (r *runner) cik(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil || d.Link.CIKName != "" {
		return err
	}
	v, err := r.liveVault(ctx, d)
	if err != nil {
		return err
	}
	sv := secretVault(v)
	name := r.cikName()
	sec, err := r.s.cfg.Secrets.Get(ctx, sv, name, "")
	if errkind.KindOf(err) == errkind.NotFound {
		raw := make([]byte, 32)
		if _, err := io.ReadFull(r.s.cfg.Rand, raw); err != nil {
			return err
		}
		value := sensitive.New(base64.StdEncoding.EncodeToString(raw))
		clear(raw)
		sec, err = r.s.cfg.Secrets.Set(ctx, sv, name, value, secret.Properties{Enabled: true, ContentType: "application/octet-stream",
			Tags: map[string]string{"edgevault-edge-resource": d.Name()}})
		if err != nil {
			return err
		}
		if err := r.s.cfg.Audit.RecordServiceWrite(ctx, v, "SecretSet", r.caller, d.Link.VaultURI+"secrets/"+name); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(sec.Value.Reveal())
	if err != nil || len(raw) != 32 {
		return errkind.E(errkind.Internal, "the channel integrity key in the vault is not 32 bytes of base64")
	}
	sealed, err := r.s.cfg.Sealer.Seal(ctx, cikScope, cikAAD(d.UID), raw)
	clear(raw)
	if err != nil {
		return err
	}
	return r.record(ctx, func(l *edge.Link) { l.CIKName, l.CIKVersion, l.CIKSealed = sec.Name, sec.Version, sealed })
}

// cikScope is the keyring scope of the service's CIK copies.
const cikScope = "edge-cik"

func cikAAD(deviceUID string) []byte { return []byte("edgevault/cik/v1\x00" + deviceUID) }

// CIK returns the device's channel integrity key (32 bytes; clear it after
// use).
func (s *Service) CIK(ctx context.Context, d edge.Device) ([]byte, error) {
	if len(d.Link.CIKSealed) == 0 {
		return nil, errkind.E(errkind.Conflict, "The edge resource has no channel integrity key.")
	}
	return s.cfg.Sealer.Open(ctx, cikScope, cikAAD(d.UID), d.Link.CIKSealed)
}

// liveVault returns the device's vault, which must still exist.
func (r *runner) liveVault(ctx context.Context, d edge.Device) (keyvault.Vault, error) {
	id, err := resource.Parse(d.Link.VaultID)
	if err != nil {
		return keyvault.Vault{}, errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	v, err := r.s.cfg.Vaults.Get(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return keyvault.Vault{}, errkind.E(errkind.Conflict,
			"The key vault '%s' of the edge resource was deleted while the activation key was being generated; recover it and try again.", id.Name())
	}
	return v, err
}

func secretVault(v keyvault.Vault) secret.Vault {
	return secret.Vault{UID: v.UID, TenantID: v.TenantID, RetentionDays: v.Retention, PurgeProtection: v.PurgeProtection}
}

// storage creates the zone-redundant audit storage account, tagged with
// the vault's name, and locks it. Failures other than transient ones are
// warnings: the key is issued all the same.
func (r *runner) storage(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil || d.Link.StorageLock != "" {
		return err
	}
	if w, ok := r.presetWarning(StepStorage); ok {
		return r.warn(ctx, d, w)
	}
	id := resource.NewResourceGroup(r.id.SubscriptionID(), r.id.ResourceGroupName()).Child(storageaccount.Namespace, "storageAccounts", r.in.StorageName)
	acct, err := r.s.cfg.Storage.Get(ctx, id)
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
		_, err = r.s.cfg.Storage.Put(ctx, r.caller, id, storageaccount.Spec{Location: d.Location,
			Tags: map[string]string{StorageTag: r.in.VaultName}, SKU: storageaccount.StandardZRS, Kind: storageaccount.StorageV2})
		if err != nil {
			return r.warnOrRetry(ctx, d, StepStorage, alert.StorageAccountMissing, err)
		}
	case err != nil:
		return err
	case acct.CreatedBy != r.caller.ObjectID || acct.CreatedAt.Before(r.op.StartedAt):
		return r.warn(ctx, d, warning{Step: StepStorage, Alert: alert.StorageAccountMissing, Code: "StorageAccountAlreadyTaken",
			Message: "The audit storage account name '" + id.Name() + "' is taken; create a storage account and link it in the vault's diagnostic setting."})
	}
	if err := r.record(ctx, func(l *edge.Link) { l.StorageAccountID = id.String() }); err != nil {
		return err
	}
	if err := r.waitReady(ctx, id); err != nil {
		return err
	}
	l, _, err := r.s.cfg.Locks.Put(ctx, r.caller, id, StorageLockName, lock.Spec{Level: lock.CanNotDelete,
		Notes: "Placed by edgevault: the storage account keeps the audit logs of key vault " + r.in.VaultName + "."})
	if err != nil {
		return r.warnOrRetry(ctx, d, StepStorage, alert.StorageAccountMissing, err)
	}
	if err := r.record(ctx, func(link *edge.Link) { link.StorageLock = l.ID.String() }); err != nil {
		return err
	}
	return r.s.cfg.Alerts.Resolve(ctx, d.UID, alert.StorageAccountMissing)
}

// waitReady waits, a bounded time, for the account's creation (its own
// operation on the queue) to finish; past that the step runs again later.
func (r *runner) waitReady(ctx context.Context, id resource.ID) error {
	deadline := time.Now().Add(r.s.cfg.StorageReadyWait)
	for {
		acct, err := r.s.cfg.Storage.Get(ctx, id)
		if err != nil {
			return err
		}
		if acct.Ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return operation.Reschedule(time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// diagnostics sends the vault's AuditEvent logs to the storage account.
func (r *runner) diagnostics(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil || d.Link.DiagnosticSettingID != "" {
		return err
	}
	if w, ok := r.presetWarning(StepDiagnostics); ok {
		return r.warn(ctx, d, w)
	}
	if d.Link.StorageLock == "" {
		return r.warn(ctx, d, warning{Step: StepDiagnostics, Alert: alert.DiagnosticSettingMissing, Code: "StorageAccountMissing",
			Message: "No diagnostic setting was added to the key vault because the audit storage account could not be created."})
	}
	vault, err := resource.Parse(d.Link.VaultID)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	id := vault.Child(diagnostics.Namespace, "diagnosticSettings", DiagnosticSettingName)
	st, _, err := r.s.cfg.Diagnostics.Put(ctx, r.caller, id, diagnostics.Spec{StorageAccountID: d.Link.StorageAccountID,
		Logs: []diagnostics.LogSetting{{Category: "AuditEvent", Enabled: true}}})
	if err != nil {
		return r.warnOrRetry(ctx, d, StepDiagnostics, alert.DiagnosticSettingMissing, err)
	}
	if err := r.record(ctx, func(l *edge.Link) { l.DiagnosticSettingID = st.ID.String() }); err != nil {
		return err
	}
	return r.s.cfg.Alerts.Resolve(ctx, d.UID, alert.DiagnosticSettingMissing)
}

// accessPolicy grants the managed identity get and set on secrets.
func (r *runner) accessPolicy(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil {
		return err
	}
	vault, err := resource.Parse(d.Link.VaultID)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	_, err = r.s.cfg.Vaults.UpdateAccessPolicies(ctx, vault, keyvault.PolicyAdd, []keyvault.AccessPolicy{{
		TenantID: d.TenantID, ObjectID: d.IdentityID, Permissions: keyvault.Permissions{Secrets: []string{"get", "set"}},
	}})
	if err != nil {
		return err
	}
	return r.record(ctx, func(l *edge.Link) { l.PolicyGranted = true })
}

// verify reads the CIK back as the managed identity, through the vault's
// data plane: proof that the identity's access works before a key that
// depends on it is issued.
func (r *runner) verify(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil {
		return err
	}
	mi, err := r.s.cfg.Identities.Principal(ctx, d.IdentityID)
	if err != nil {
		return err
	}
	v, err := r.s.cfg.Reader.ReadSecretAs(ctx, mi, d.Link.VaultURI, d.Link.CIKName, d.Link.CIKVersion)
	if err != nil {
		if errkind.KindOf(err) == errkind.Unavailable {
			return err
		}
		return errkind.Wrap(errkind.Conflict, err,
			"The managed identity of the edge resource could not read the channel integrity key from the key vault: "+errkind.Message(err))
	}
	if v.Len() == 0 {
		return errkind.E(errkind.Internal, "the channel integrity key read back empty")
	}
	return nil
}

// presetWarning returns the warning Begin decided for step, if any.
func (r *runner) presetWarning(step string) (warning, bool) {
	i := slices.IndexFunc(r.in.Warnings, func(w warning) bool { return w.Step == step })
	if i < 0 {
		return warning{}, false
	}
	return r.in.Warnings[i], true
}

// warnOrRetry makes err a warning, unless it is transient: then the step
// is retried.
func (r *runner) warnOrRetry(ctx context.Context, d edge.Device, step string, t alert.Type, err error) error {
	if errkind.KindOf(err) == errkind.Unavailable || ctx.Err() != nil {
		return err
	}
	var missing *provider.MissingRegistrationError
	code := "OperationFailed"
	if errors.As(err, &missing) {
		code = "MissingSubscriptionRegistration"
	}
	return r.warn(ctx, d, warning{Step: step, Alert: t, Code: code, Message: errkind.Message(err)})
}

// warn records a non-blocking failure on the device and raises its alert.
func (r *runner) warn(ctx context.Context, d edge.Device, w warning) error {
	if err := r.s.cfg.Alerts.Raise(ctx, d.UID, w.Alert, w.Code, w.Message); err != nil {
		return err
	}
	return r.record(ctx, func(l *edge.Link) {
		if !slices.ContainsFunc(l.Warnings, func(x edge.Warning) bool { return x.Step == w.Step }) {
			l.Warnings = append(l.Warnings, edge.Warning{Step: w.Step, Message: w.Message})
		}
	})
}

// issue makes a new key for d, revoking its earlier unused keys.
func (r *runner) issue(ctx context.Context, d edge.Device) (operation.Result, error) {
	k := activationkey.Key{URL: r.s.cfg.DeviceURL, ResourceID: d.ID.String(), KeyID: uuid.NewString(),
		Expiry: r.s.now().Add(r.s.cfg.KeyLifetime).Truncate(time.Second), CAFingerprint: r.s.cfg.CAFingerprint}
	if _, err := io.ReadFull(r.s.cfg.Rand, k.Secret[:]); err != nil {
		return operation.Result{}, err
	}
	defer clear(k.Secret[:])
	rec := Key{ID: k.KeyID, DeviceUID: d.UID, SecretHash: k.SecretHash(), CreatedBy: r.op.PrincipalID,
		CreatedAt: r.s.now(), ExpiresAt: k.Expiry}
	if err := r.s.cfg.Keys.InsertActivationKey(ctx, rec); err != nil {
		return operation.Result{}, err
	}
	res := Result{ActivationKey: activationkey.Format(k), ExpiryTimeInUTC: k.Expiry, KeyID: k.KeyID,
		KeyVaultID: d.Link.VaultID, KeyVaultURI: d.Link.VaultURI, Warnings: []string{}, Regenerated: r.isRegenerate(d)}
	if res.Regenerated {
		res.Steps = []StepOutcome{{Name: stepRegenerateKey, Status: "Succeeded"}, {Name: StepIssue, Status: "Succeeded"}}
	} else {
		for _, step := range Steps {
			o := StepOutcome{Name: step, Status: "Succeeded"}
			if i := slices.IndexFunc(d.Link.Warnings, func(w edge.Warning) bool { return w.Step == step }); i >= 0 {
				o.Status, o.Message = "Warning", d.Link.Warnings[i].Message
				res.Warnings = append(res.Warnings, o.Message)
			}
			res.Steps = append(res.Steps, o)
		}
	}
	body, err := json.Marshal(res)
	if err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Status: 200, Body: body, Sensitive: true}, nil
}

// isRegenerate reports whether this operation found the device already
// provisioned (its CIK was made by another operation).
func (r *runner) isRegenerate(d edge.Device) bool { return d.Link.CIKName != r.cikName() }
