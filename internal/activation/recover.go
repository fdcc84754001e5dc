package activation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Recovery (DESIGN.md §5.4, edge-arm.md §2.6): "Recover key vault →
// Configure" and "reconfigure managed identity", as long-running
// operations made of the same idempotent, checkpointed steps as the first
// generation.

// Kinds of the recovery operations.
const (
	RecoverKind     = "dataBoxEdgeDevices/recoverKeyVault"
	ReconfigureKind = "dataBoxEdgeDevices/reconfigureManagedIdentity"
)

// Steps of a recovery besides those it shares with a generation.
const (
	StepRecoverVault = "RecoverKeyVault"
	StepRequestSync  = "RequestDeviceSync"
	StepWaitForSync  = "WaitForDeviceSync"
)

// RecoverSteps lists a recovery's steps, in order.
var RecoverSteps = []string{StepRecoverVault, StepLock, StepIdentity, StepStorage, StepDiagnostics, StepAccessPolicy, StepRequestSync, StepWaitForSync}

// ReconfigureSteps lists a reconfiguration's steps, in order.
var ReconfigureSteps = []string{StepIdentity, StepAccessPolicy, StepRequestSync}

// Errors of the recovery operations.
var (
	// ErrNothingToRecover: the vault is there and accessible.
	ErrNothingToRecover = errkind.E(errkind.Conflict, "The key vault of the edge resource is not lost.")
	// ErrVaultNameRequired: the vault was purged; a new name is needed.
	ErrVaultNameRequired = errkind.E(errkind.Invalid, "A new key vault name is required.")
)

// Recovery modes.
const (
	modeRecover = "recover" // the soft-deleted vault, same name
	modeNew     = "new"     // a new vault, new name (the old one is purged)
)

// RecoverResult is a recovery's result body.
type RecoverResult struct {
	KeyVaultID  string `json:"keyVaultId"`
	KeyVaultURI string `json:"keyVaultUri"`
	// Action is "Recovered" (same vault, from soft delete) or "Created" (a
	// new vault replaced a purged one).
	Action             string `json:"action"`
	KeyVaultSyncStatus string `json:"keyVaultSyncStatus"`
	// DevicePushPending is set when the device was offline: it pushes its
	// secrets (the CIK too) when it is back.
	DevicePushPending bool          `json:"devicePushPending"`
	Warnings          []string      `json:"warnings"`
	Steps             []StepOutcome `json:"steps"`
}

// BeginRecover starts recovering the device's key vault: the soft-deleted
// vault under its name within its retention, or, once it is purged, a new
// vault under vaultName; then the lock, a new audit storage account, the
// diagnostic setting, the identity's access, and the device's push.
func (s *Service) BeginRecover(ctx context.Context, caller principal.Principal, id resource.ID, vaultName string) (operation.Operation, error) {
	d, err := s.cfg.Devices.Get(ctx, id)
	if err != nil {
		return operation.Operation{}, err
	}
	if !d.Link.Provisioned {
		return operation.Operation{}, errkind.E(errkind.Conflict,
			"The edge resource '%s' has no key vault yet: generate an activation key, which creates one.", id.Name())
	}
	if err := s.checkBusy(ctx, d); err != nil {
		return operation.Operation{}, err
	}
	group := resource.NewResourceGroup(id.SubscriptionID(), id.ResourceGroupName())
	for _, action := range []string{"Microsoft.KeyVault/vaults/write", "Microsoft.Storage/storageAccounts/write"} {
		if err := s.cfg.RBAC.Authorize(ctx, caller, action, group); err != nil {
			return operation.Operation{}, err
		}
	}
	in := input{DeviceUID: d.UID, Mode: modeNew}
	status, current := keyvault.Purged, ""
	if d.Link.VaultID != "" {
		vid, err := resource.Parse(d.Link.VaultID)
		if err != nil {
			return operation.Operation{}, errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
		}
		current = vid.Name()
		if _, status, err = s.cfg.Vaults.Lookup(ctx, vid); err != nil {
			return operation.Operation{}, err
		}
	}
	switch status {
	case keyvault.Active:
		return operation.Operation{}, errkind.Wrap(errkind.Conflict, ErrNothingToRecover, fmt.Sprintf(
			"The key vault '%s' of edge resource '%s' is active: there is nothing to recover. If the managed identity lost its access, use reconfigureManagedIdentity.",
			current, id.Name()))
	case keyvault.SoftDeleted:
		if vaultName != "" && !strings.EqualFold(vaultName, current) {
			return operation.Operation{}, errkind.E(errkind.Invalid,
				"The key vault '%s' is soft-deleted and is recovered under its own name; omit keyVaultName.", current)
		}
		in.Mode, in.VaultName = modeRecover, current
	default:
		if vaultName == "" {
			return operation.Operation{}, errkind.Wrap(errkind.Invalid, ErrVaultNameRequired, fmt.Sprintf(
				"The key vault '%s' was purged and cannot be recovered; give keyVaultName, the name of a new key vault to create.", current))
		}
		if err := s.cfg.Vaults.CheckNew(ctx, group.Child(keyvault.Namespace, "vaults", vaultName)); err != nil {
			return operation.Operation{}, err
		}
		in.VaultName = vaultName
	}
	authorize := func(ctx context.Context, action, sub string) error {
		return s.cfg.RBAC.Authorize(ctx, caller, action, resource.NewSubscription(sub))
	}
	if err := s.cfg.Providers.EnsureRegistered(ctx, authorize, id.SubscriptionID(), keyvault.Namespace); err != nil {
		return operation.Operation{}, err
	}
	in.StorageName = storageName(in.VaultName, s.random(8))
	in.Warnings = s.auditProviderWarnings(ctx, authorize, id.SubscriptionID())
	return s.claimAndStart(ctx, caller, d, RecoverKind, in, func(l *edge.Link) {
		if in.Mode == modeNew {
			l.VaultID, l.VaultURI, l.VaultLock, l.PolicyGranted = "", "", "", false
		}
		l.StorageAccountID, l.StorageLock, l.DiagnosticSettingID, l.Warnings = "", "", "", nil
	})
}

// BeginReconfigure starts restoring the managed identity's access: enable
// it (or give the device a new identity if it was deleted), grant it get
// and set on secrets, and ask the device to sync.
func (s *Service) BeginReconfigure(ctx context.Context, caller principal.Principal, id resource.ID) (operation.Operation, error) {
	d, err := s.cfg.Devices.Get(ctx, id)
	if err != nil {
		return operation.Operation{}, err
	}
	if !d.Link.Provisioned || d.Link.VaultID == "" {
		return operation.Operation{}, errkind.E(errkind.Conflict,
			"The edge resource '%s' has no key vault: generate an activation key, or recover the key vault.", id.Name())
	}
	if err := s.checkBusy(ctx, d); err != nil {
		return operation.Operation{}, err
	}
	vid, err := resource.Parse(d.Link.VaultID)
	if err != nil {
		return operation.Operation{}, errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	if _, status, err := s.cfg.Vaults.Lookup(ctx, vid); err != nil {
		return operation.Operation{}, err
	} else if status != keyvault.Active {
		return operation.Operation{}, errkind.E(errkind.Conflict,
			"The key vault '%s' is %s: recover it first (recoverKeyVault), which also restores the identity's access.", vid.Name(), strings.ToLower(string(status)))
	}
	if err := s.cfg.RBAC.Authorize(ctx, caller, "Microsoft.KeyVault/vaults/write", vid); err != nil {
		return operation.Operation{}, err
	}
	return s.claimAndStart(ctx, caller, d, ReconfigureKind, input{DeviceUID: d.UID}, nil)
}

// auditProviderWarnings are the warnings of audit-trail providers the
// caller cannot register.
func (s *Service) auditProviderWarnings(ctx context.Context, authorize func(context.Context, string, string) error, sub string) []warning {
	var out []warning
	for _, p := range []struct {
		ns   string
		step string
		typ  alert.Type
	}{{"Microsoft.Storage", StepStorage, alert.StorageAccountMissing}, {"Microsoft.Insights", StepDiagnostics, alert.DiagnosticSettingMissing}} {
		if err := s.cfg.Providers.EnsureRegistered(ctx, authorize, sub, p.ns); err != nil {
			out = append(out, warning{Step: p.step, Alert: p.typ, Code: "MissingSubscriptionRegistration",
				Message: "The subscription is not registered to use namespace '" + p.ns + "', so the audit trail was not set up; register it and recover again."})
		}
	}
	return out
}

// claimAndStart claims the device for a new operation of kind (applying
// reset to its link in the same write) and starts it.
func (s *Service) claimAndStart(ctx context.Context, caller principal.Principal, d edge.Device, kind string, in input, reset func(*edge.Link)) (operation.Operation, error) {
	opID := operation.NewID()
	_, err := s.cfg.Devices.Update(ctx, d.ID, func(cur *edge.Device) error {
		if cur.GenerateOp != d.GenerateOp {
			return busy(cur.GenerateOp)
		}
		cur.GenerateOp, cur.GenerateOpAt = opID, s.now()
		if reset != nil {
			reset(&cur.Link)
		}
		return nil
	})
	if err != nil {
		return operation.Operation{}, err
	}
	return s.cfg.Operations.Start(ctx, operation.StartRequest{ID: opID, Kind: kind, SubscriptionID: d.ID.SubscriptionID(),
		ResourceID: d.ID.String(), PrincipalID: caller.ObjectID, Input: in})
}

// startRunner loads what a recovery operation's run needs.
func (s *Service) startRunner(ctx context.Context, op operation.Operation) (*runner, error) {
	var in input
	if err := op.DecodeInput(&in); err != nil {
		return nil, err
	}
	d, err := s.cfg.Devices.ByUID(ctx, in.DeviceUID)
	if err != nil {
		return nil, err
	}
	if d.GenerateOp != op.ID {
		return nil, busy(d.GenerateOp)
	}
	caller, err := s.cfg.Identities.Principal(ctx, op.PrincipalID)
	if err != nil {
		return nil, err
	}
	return &runner{s: s, op: op, in: in, caller: caller, id: d.ID}, nil
}

// withFailpoints wraps each step with the failpoints of Config.Failpoint.
func (r *runner) withFailpoints(steps []operation.Step) []operation.Step {
	for i := range steps {
		st := steps[i]
		steps[i].Do = func(ctx context.Context) error {
			r.step = st.Name
			r.s.failpoint(st.Name)
			if err := st.Do(ctx); err != nil {
				return err
			}
			r.s.failpoint(st.Name + "/done")
			return nil
		}
	}
	return steps
}

func (s *Service) runRecover(ctx context.Context, op operation.Operation, progress *operation.Progress) (operation.Result, error) {
	r, err := s.startRunner(ctx, op)
	if err != nil {
		return operation.Result{}, err
	}
	steps := r.withFailpoints([]operation.Step{
		{Name: StepRecoverVault, Percent: 20, Do: r.recoverVault},
		{Name: StepLock, Percent: 30, Do: r.lockVault},
		{Name: StepIdentity, Percent: 35, Do: r.reenableIdentity},
		{Name: StepStorage, Percent: 55, Do: r.storage},
		{Name: StepDiagnostics, Percent: 65, Do: r.diagnostics},
		{Name: StepAccessPolicy, Percent: 75, Do: r.accessPolicy},
		{Name: StepRequestSync, Percent: 80, Do: r.requestSync},
		{Name: StepWaitForSync, Percent: 95, Do: r.waitForSync},
	})
	if err := progress.RunSteps(ctx, steps); err != nil {
		return operation.Result{}, err
	}
	d, err := r.device(ctx)
	if err != nil {
		return operation.Result{}, err
	}
	for _, t := range []alert.Type{alert.KeyVaultDeleted, alert.KeyVaultNotConfigured, alert.KeyVaultAccessDenied} {
		if err := s.cfg.Alerts.Resolve(ctx, d.UID, t); err != nil {
			return operation.Result{}, err
		}
	}
	res := RecoverResult{KeyVaultID: d.Link.VaultID, KeyVaultURI: d.Link.VaultURI, Action: "Recovered",
		KeyVaultSyncStatus: string(d.SyncStatus), Warnings: []string{}}
	if r.in.Mode == modeNew {
		res.Action = "Created"
	}
	res.DevicePushPending = d.Activated() && d.Agent.SyncID != ""
	for _, step := range RecoverSteps {
		o := StepOutcome{Name: step, Status: "Succeeded"}
		for _, w := range d.Link.Warnings {
			if w.Step == step {
				o.Status, o.Message = "Warning", w.Message
				res.Warnings = append(res.Warnings, w.Message)
			}
		}
		res.Steps = append(res.Steps, o)
	}
	body, err := json.Marshal(res)
	if err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Status: 200, Body: body}, nil
}

// recoverVault recovers the soft-deleted vault, or creates the new one.
func (r *runner) recoverVault(ctx context.Context) error {
	if r.in.Mode == modeNew {
		return r.vault(ctx)
	}
	d, err := r.device(ctx)
	if err != nil {
		return err
	}
	id, err := resource.Parse(d.Link.VaultID)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "recorded vault id is corrupt")
	}
	v, status, err := r.s.cfg.Vaults.Lookup(ctx, id)
	switch {
	case err != nil:
		return err
	case status == keyvault.Active:
		return nil // recovered already (by this operation before a crash, or by someone)
	case status == keyvault.Purged:
		return errkind.E(errkind.Conflict,
			"The key vault '%s' was purged while it was being recovered; recover again with a new key vault name.", id.Name())
	}
	if _, _, err := r.s.cfg.Vaults.Put(ctx, r.caller, id, keyvault.Spec{Location: v.Location, CreateMode: keyvault.CreateRecover}); err != nil {
		return err
	}
	return r.s.cfg.Audit.RecordServiceWrite(ctx, v, "VaultRecover", r.caller, id.String())
}

// reenableIdentity enables the device's identity, or gives the device a
// new one if its identity was deleted.
func (r *runner) reenableIdentity(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil {
		return err
	}
	mi, err := r.s.cfg.Identities.Principal(ctx, d.IdentityID)
	if errkind.KindOf(err) == errkind.NotFound {
		mi, err = r.s.cfg.Identities.CreateManagedIdentity(ctx, d.TenantID, d.Name())
		if err != nil {
			return err
		}
		_, err = r.s.cfg.Devices.Update(ctx, d.ID, func(cur *edge.Device) error {
			if cur.IdentityID == d.IdentityID {
				cur.IdentityID = mi.ObjectID
			}
			return nil
		})
		return err
	}
	if err != nil {
		return err
	}
	if !mi.Enabled {
		if err := r.s.cfg.Identities.SetManagedIdentityEnabled(ctx, mi.ObjectID, true); err != nil {
			return err
		}
	}
	if !d.IdentityDisabled {
		return nil
	}
	_, err = r.s.cfg.Devices.Update(ctx, d.ID, func(cur *edge.Device) error {
		cur.IdentityDisabled = false
		return nil
	})
	return err
}

// requestSync asks an activated device to push its secrets (the CIK too).
func (r *runner) requestSync(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil || !d.Activated() {
		return err
	}
	_, err = r.s.cfg.Devices.RequestSync(ctx, d.ID)
	return err
}

// SyncWait bounds how long a recovery waits for an online device's push
// before it reports the push pending.
const SyncWait = 2 * time.Minute

// waitForSync waits for the device's push; an offline device (or one
// silent past SyncWait) leaves the push pending, which the device makes
// when it is back.
func (r *runner) waitForSync(ctx context.Context) error {
	d, err := r.device(ctx)
	if err != nil || !d.Activated() || d.Agent.SyncID == "" {
		return err
	}
	if d.Status == edge.Offline || r.s.now().Sub(d.Agent.SyncRequestedAt) > SyncWait {
		return nil
	}
	return operation.Reschedule(500 * time.Millisecond)
}

func (s *Service) runReconfigure(ctx context.Context, op operation.Operation, progress *operation.Progress) (operation.Result, error) {
	r, err := s.startRunner(ctx, op)
	if err != nil {
		return operation.Result{}, err
	}
	steps := r.withFailpoints([]operation.Step{
		{Name: StepIdentity, Percent: 30, Do: r.reenableIdentity},
		{Name: StepAccessPolicy, Percent: 70, Do: r.accessPolicy},
		{Name: StepRequestSync, Percent: 90, Do: r.requestSync},
	})
	if err := progress.RunSteps(ctx, steps); err != nil {
		return operation.Result{}, err
	}
	d, err := r.device(ctx)
	if err != nil {
		return operation.Result{}, err
	}
	if err := errors.Join(s.cfg.Alerts.Resolve(ctx, d.UID, alert.KeyVaultAccessDenied), s.cfg.Alerts.Resolve(ctx, d.UID, alert.SecretsNotRetrieved)); err != nil {
		return operation.Result{}, err
	}
	body, err := json.Marshal(map[string]any{"principalId": d.IdentityID, "keyVaultId": d.Link.VaultID,
		"secretPermissions": []string{"get", "set"}, "keyVaultSyncStatus": d.SyncStatus})
	if err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Status: 200, Body: body}, nil
}
