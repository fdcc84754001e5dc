package client

import "slices"

// The steps of the generateActivationKey operation of an edge resource, as
// its Azure-AsyncOperation status names them in
// properties.lastCompletedStep while it runs (DESIGN.md §5.1). They are
// restated from the server's activation.Steps, which this package cannot
// import; the end-to-end test of the CLI checks that the two agree.
var (
	// ActivationSteps are a first generation's steps, in order: the
	// operation makes the vault and everything around it, then issues the
	// key. IssueActivationKey is never reported as lastCompletedStep: once
	// it is done the operation has succeeded.
	ActivationSteps = []string{
		"CreateKeyVault", "LockKeyVault", "EnableManagedIdentity", "CreateChannelIntegrityKey",
		"CreateAuditStorageAccount", "CreateDiagnosticSetting", "GrantManagedIdentityAccess",
		"VerifyManagedIdentityAccess", "IssueActivationKey",
	}
	// RegenerateSteps are the steps of a generation for a resource that
	// already has its vault: a new key, the vault untouched.
	RegenerateSteps = []string{"RegenerateActivationKey", "IssueActivationKey"}
	// RecoverSteps are the steps of recoverKeyVault (activation.RecoverSteps):
	// the vault back (or a new one), its lock, the identity, a new audit
	// trail, the identity's access, then the device's push.
	RecoverSteps = []string{
		"RecoverKeyVault", "LockKeyVault", "EnableManagedIdentity", "CreateAuditStorageAccount",
		"CreateDiagnosticSetting", "GrantManagedIdentityAccess", "RequestDeviceSync", "WaitForDeviceSync",
	}
	// ReconfigureSteps are the steps of reconfigureManagedIdentity
	// (activation.ReconfigureSteps).
	ReconfigureSteps = []string{"EnableManagedIdentity", "GrantManagedIdentityAccess", "RequestDeviceSync"}
)

// StepTracker turns the lastCompletedStep values a poller sees into the
// steps completed since it last asked, in order and each once. A poller
// waits a second or more between reads and a step takes milliseconds, so
// most steps are never seen; since the operation runs its steps in order,
// a step seen means every step before it in the same plan is done too, and
// the tracker reports those first. The zero value is ready to use.
type StepTracker struct {
	plan []string // ActivationSteps or RegenerateSteps, once known
	next int      // index in plan of the first step not yet reported
	last string   // the last value observed
}

// NewStepTracker returns a tracker for an operation whose plan is known
// from the request (RecoverSteps, ReconfigureSteps), which a step observed
// cannot tell: those plans share step names with ActivationSteps.
func NewStepTracker(plan []string) *StepTracker { return &StepTracker{plan: plan} }

// Observe records that the operation's lastCompletedStep is step and
// returns the steps to report now: those of the plan up to and including
// step that were not reported yet. A step of no known plan (a newer
// server's) is reported as it is, once.
func (t *StepTracker) Observe(step string) []string {
	if step == "" || step == t.last {
		return nil
	}
	t.last = step
	if t.plan == nil {
		switch {
		case slices.Contains(ActivationSteps, step):
			t.plan = ActivationSteps
		case slices.Contains(RegenerateSteps, step):
			t.plan = RegenerateSteps
		default:
			return []string{step}
		}
	}
	i := slices.Index(t.plan, step)
	if i < 0 {
		return []string{step}
	}
	if i < t.next {
		return nil
	}
	out := slices.Clone(t.plan[t.next : i+1])
	t.next = i + 1
	return out
}

// Known reports whether the plan is known from a step observed.
func (t *StepTracker) Known() bool { return t.plan != nil }

// Finish returns the steps not yet reported of an operation that
// succeeded: the rest of its plan. regenerate chooses the plan when no
// step was observed; it is ignored otherwise.
func (t *StepTracker) Finish(regenerate bool) []string {
	if t.plan == nil {
		t.plan = ActivationSteps
		if regenerate {
			t.plan = RegenerateSteps
		}
	}
	out := slices.Clone(t.plan[t.next:])
	t.next = len(t.plan)
	return out
}
