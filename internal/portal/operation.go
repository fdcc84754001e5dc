package portal

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/client"
)

// The progress of a long-running operation the user started here. The
// page reads the operation's status as the user; a small script
// (static/portal.js) polls the JSON twin of the page and reloads it once
// the operation has ended; without script, the page refreshes itself.

// stepText says what each step did, as the CLI's check-mark lines do.
var stepText = map[string]string{
	"CreateKeyVault":              "Key vault created (soft delete 90 days, purge protection)",
	"LockKeyVault":                "CanNotDelete lock put on the key vault",
	"EnableManagedIdentity":       "Managed identity enabled",
	"CreateChannelIntegrityKey":   "Channel integrity key stored in the key vault",
	"CreateAuditStorageAccount":   "Audit storage account created and locked",
	"CreateDiagnosticSetting":     "Vault audit events sent to the storage account",
	"GrantManagedIdentityAccess":  "Managed identity granted secrets get and set",
	"VerifyManagedIdentityAccess": "Managed identity read the channel integrity key",
	"RegenerateActivationKey":     "Key vault already set up; left untouched",
	"RecoverKeyVault":             "Key vault recovered (or a new one created)",
	"RequestDeviceSync":           "Device asked to push its secrets again",
	"WaitForDeviceSync":           "Device secrets back in the key vault",
	"IssueActivationKey":          "Activation key issued",
}

// opHeadings title the progress page of each kind of operation.
var opHeadings = map[string]string{
	"generate": "Generate activation key", "sync": "Sync device secrets",
	"delete": "Delete edge resource", "recover": "Recover key vault",
	"reconfigure": "Reconfigure managed identity",
}

// step is one completed step as shown.
type step struct {
	Name    string `json:"name"`
	Text    string `json:"text"`
	Warning string `json:"warning,omitempty"`
}

func newStep(name string) step {
	t, ok := stepText[name]
	if !ok {
		t = name
	}
	return step{Name: name, Text: t}
}

// completedSteps are the steps done when lastCompletedStep is last: the
// operation runs its plan in order, so every step before it is done too.
func completedSteps(kind, last string) []step {
	if last == "" {
		return []step{}
	}
	plans := [][]string{client.ActivationSteps, client.RegenerateSteps}
	switch kind { // these share step names with ActivationSteps
	case "recover":
		plans = [][]string{client.RecoverSteps}
	case "reconfigure":
		plans = [][]string{client.ReconfigureSteps}
	}
	for _, plan := range plans {
		if i := slices.Index(plan, last); i >= 0 {
			out := make([]step, 0, i+1)
			for _, s := range plan[:i+1] {
				out = append(out, newStep(s))
			}
			return out
		}
	}
	return []step{newStep(last)}
}

// progress is the operation's state as the page and its JSON show it.
type progress struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Done   bool   `json:"done"`
	Steps  []step `json:"steps"`
	Error  string `json:"error,omitempty"`
}

// readProgress reads the operation's status as the user.
func (h *Handler) readProgress(r *http.Request, op *operation) (progress, arm.AsyncOperationStatus, error) {
	var st arm.AsyncOperationStatus
	a, err := h.management(r.Context(), r, http.MethodGet, op.statusURL, nil, http.StatusOK)
	if err != nil {
		return progress{}, st, err
	}
	if err := a.decode(&st); err != nil {
		return progress{}, st, err
	}
	p := progress{ID: op.id, Kind: op.kind, Status: st.Status, Done: st.Terminal(), Steps: []step{}}
	if !p.Done && len(st.Properties) > 0 {
		var props struct {
			LastCompletedStep string `json:"lastCompletedStep"`
		}
		if json.Unmarshal(st.Properties, &props) == nil {
			p.Steps = completedSteps(op.kind, props.LastCompletedStep)
		}
	}
	if st.Error != nil {
		p.Error = st.Error.Message
	}
	return p, st, nil
}

// stepsResult is the part of an operation's result that lists how each
// step ended.
type stepsResult struct {
	Warnings []string `json:"warnings"`
	Steps    []struct {
		Name, Status, Message string
	} `json:"steps"`
}

// steps are the result's steps as shown; a step that failed without
// blocking carries its reason.
func (r stepsResult) steps() []step {
	out := make([]step, 0, len(r.Steps))
	for _, s := range r.Steps {
		st := newStep(s.Name)
		if s.Status != "Succeeded" {
			st.Warning = s.Message
		}
		out = append(out, st)
	}
	return out
}

// activationResult is generateActivationKey's result.
type activationResult struct {
	stepsResult
	ActivationKey   string    `json:"activationKey"`
	ExpiryTimeInUTC time.Time `json:"expiryTimeInUTC"`
	KeyVaultID      string    `json:"keyVaultId"`
	KeyVaultURI     string    `json:"keyVaultUri"`
}

// operationStatus is the progress page's JSON twin, polled by portal.js.
func (h *Handler) operationStatus(w http.ResponseWriter, r *http.Request) {
	op, ok := sessionOf(r.Context()).operation(r.PathValue("id"))
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not found"}` + "\n"))
		return
	}
	p, _, err := h.readProgress(r, op)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"error":"unavailable"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

// operationPage shows the operation's progress, then its outcome: the
// activation key, shown once, or the sync's notification.
func (h *Handler) operationPage(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r.Context())
	op, ok := ss.operation(r.PathValue("id"))
	if !ok {
		h.fail(w, r, http.StatusNotFound, "Not found", "This portal session did not start that operation.")
		return
	}
	p, st, err := h.readProgress(r, op)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	data := map[string]any{"Op": p, "Heading": opHeadings[op.kind], "Group": op.group, "Name": op.name, "Resource": resourceURL(op.group, op.name)}
	if p.Done && st.Status == "Succeeded" && op.kind == "recover" {
		var res stepsResult
		if a, err := h.management(r.Context(), r, http.MethodGet, op.resultURL, nil, http.StatusOK); err == nil && a.decode(&res) == nil {
			p.Steps = res.steps()
			data["Op"], data["Warnings"] = p, res.Warnings
		}
	}
	if !p.Done || st.Status != "Succeeded" || op.kind != "generate" {
		h.render(w, r, http.StatusOK, "operation", data)
		return
	}
	// The key is shown once: the first page load after success claims it,
	// in one conditional write to the session store, so that of two loads
	// on two replicas only one shows it. A key already shown when the
	// session was read needs no write.
	claimed := false
	if !op.keyShown {
		if claimed, err = ss.setKeyShown(r.Context(), op, true); err != nil {
			h.internal(w, r, err)
			return
		}
	}
	if !claimed {
		data["KeyShown"] = true
		h.render(w, r, http.StatusOK, "operation", data)
		return
	}
	var res activationResult
	a, err := h.management(r.Context(), r, http.MethodGet, op.resultURL, nil, http.StatusOK)
	if err == nil {
		err = a.decode(&res)
	}
	if err != nil {
		// Not shown after all: release the claim so that a reload may try
		// again, even if the browser has gone (WithoutCancel). Should the
		// release fail, the key stays unshown for good and the user
		// generates another.
		if _, rerr := ss.setKeyShown(context.WithoutCancel(r.Context()), op, false); rerr != nil {
			h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "portal: release the activation key's claim",
				slog.String("operation", op.id), slog.String("error", rerr.Error()))
		}
		h.apiFailure(w, r, err)
		return
	}
	p.Steps = res.steps()
	data["Op"], data["Result"] = p, res
	h.render(w, r, http.StatusOK, "operation", data)
}
