package deviceapi

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// validSecretName: a device secret's name, also its name in the vault.
var validSecretName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)

// push opens the device's secrets with the CIK and writes them to the
// vault as the device's managed identity.
func (h *Handler) push(w http.ResponseWriter, r *http.Request, d edge.Device) {
	started := h.cfg.Now()
	var req devicewire.PushRequest
	if !decode(w, r, maxPushBody, &req) {
		return
	}
	refuse := func(status int, code, message string) {
		h.auditPush(r, d, req.PushID, started, status, message)
		writeError(w, status, code, message)
	}
	if uuid.Validate(req.PushID) != nil {
		refuse(http.StatusBadRequest, "InvalidPushID", "pushId must be a UUID, new for every push.")
		return
	}
	if len(req.Secrets) == 0 || len(req.Secrets) > devicewire.MaxPushSecrets {
		refuse(http.StatusBadRequest, "InvalidRequest", "A push holds 1 to 32 secrets.")
		return
	}
	var names []string
	for _, s := range req.Secrets {
		if !validSecretName.MatchString(s.Name) || slices.Contains(names, s.Name) {
			refuse(http.StatusBadRequest, "InvalidSecretName",
				"Each secret needs a distinct name of 1 to 64 letters and digits, starting with a letter.")
			return
		}
		names = append(names, s.Name)
	}
	if !d.Link.Provisioned || d.Link.CIKName == "" {
		refuse(http.StatusConflict, "KeyVaultNotConfigured", "The edge resource has no key vault configured.")
		return
	}
	cik, err := h.cfg.Activator.CIK(r.Context(), d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer clear(cik)
	// Open every secret before writing any: a push is taken whole or not
	// at all.
	values := make(map[string][]byte, len(req.Secrets))
	defer func() {
		for _, v := range values {
			clear(v)
		}
	}()
	for _, s := range req.Secrets {
		pt, err := devicewire.OpenSecret(cik, d.ID.String(), s.Name, req.PushID, s.Ciphertext)
		if err != nil {
			refuse(http.StatusBadRequest, "SecretDoesNotOpen",
				"The secret '"+s.Name+"' does not open under the channel integrity key with its name and this push id; nothing was stored.")
			return
		}
		if s.Name == devicewire.ChannelIntegrityKey && subtle.ConstantTimeCompare(pt, cik) != 1 {
			refuse(http.StatusBadRequest, "ChannelIntegrityKeyMismatch", "The pushed channel integrity key is not the device's; nothing was stored.")
			return
		}
		values[s.Name] = pt
	}
	d, err = h.cfg.Devices.BeginPush(r.Context(), d.ID, req.PushID)
	if errors.Is(err, edge.ErrReplay) {
		refuse(http.StatusConflict, "PushReplayed", "This push id was already received; a push is never accepted twice.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := edge.PushOutcome{PushID: req.PushID, SyncID: req.SyncID, Stored: map[string]edge.SecretRef{}}
	resp := devicewire.PushResponse{}
	for _, name := range names {
		res := devicewire.PushResult{Name: name}
		var err error
		if name == devicewire.ChannelIntegrityKey {
			err = h.restoreCIK(r, d, values[name], &out)
			if err == nil {
				res.KeyVaultID = "secrets/" + orDefault(out.CIKName, d.Link.CIKName) + "/" + orDefault(out.CIKVersion, d.Link.CIKVersion)
			}
		} else {
			var version string
			version, err = h.cfg.Vault.SetSecretAs(r.Context(), d.IdentityID, d.Link.VaultURI, name, sensitive.New(string(values[name])))
			if err == nil {
				res.KeyVaultID = "secrets/" + name + "/" + version
				out.Stored[name] = edge.SecretRef{KeyVaultID: res.KeyVaultID}
			}
		}
		if err != nil {
			out.Failed = true
			switch errkind.KindOf(err) {
			case errkind.PermissionDenied:
				out.Denied = true
			case errkind.NotFound:
				out.VaultGone = true
			}
			if out.Reason == "" {
				out.Reason = "The key vault did not store the device secret '" + name + "': " + errkind.Message(err)
			}
			res.Error = errkind.Message(err)
			h.cfg.Logger.WarnContext(r.Context(), "device secret not stored", "device", d.ID.String(), "secret", name, "err", err)
		}
		resp.Secrets = append(resp.Secrets, res)
	}
	d, err = h.cfg.Devices.FinishPush(r.Context(), d.ID, out)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	h.auditPush(r, d, req.PushID, started, status, "pushed "+joinNames(names))
	resp.SyncStatus = string(d.SyncStatus)
	_ = httpx.WriteJSON(w, status, resp)
}

// restoreCIK makes sure the vault holds the CIK: if the recorded secret is
// still readable nothing is written; if it is gone (deleted), the CIK is
// written under a fresh name, since a soft-deleted name cannot be reused
// by an identity that holds only get and set.
func (h *Handler) restoreCIK(r *http.Request, d edge.Device, cik []byte, out *edge.PushOutcome) error {
	cur, err := h.cfg.Vault.GetSecretAs(r.Context(), d.IdentityID, d.Link.VaultURI, d.Link.CIKName, d.Link.CIKVersion)
	if err == nil {
		if bytes.Equal([]byte(cur.Reveal()), []byte(base64.StdEncoding.EncodeToString(cik))) {
			return nil
		}
	} else if errkind.KindOf(err) != errkind.NotFound {
		return err
	}
	name := "ase-cik-" + uuid.NewString()
	version, err := h.cfg.Vault.SetSecretAs(r.Context(), d.IdentityID, d.Link.VaultURI, name, sensitive.New(base64.StdEncoding.EncodeToString(cik)))
	if err != nil {
		return err
	}
	out.CIKName, out.CIKVersion = name, version
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

// auditPush records a push, accepted or refused, on the edge resource.
func (h *Handler) auditPush(r *http.Request, d edge.Device, pushID string, started time.Time, status int, outcome string) {
	if h.cfg.Audit == nil {
		return
	}
	result := "Success"
	if status >= 400 {
		result = "Failure"
	}
	if uuid.Validate(pushID) != nil {
		pushID = ""
	}
	err := h.cfg.Audit.Record(r.Context(), audit.Record{
		Time: started.UTC(), ResourceID: d.ID, OperationName: "DeviceSecretsPush", ResultType: audit.ResultType(result),
		ResultSignature: http.StatusText(status), ResultDescription: outcome, DurationMs: h.cfg.Now().Sub(started).Milliseconds(),
		CallerIPAddress: remoteAddr(r), RequestID: w3cRequestID(r),
		Identity:   audit.Identity{IDType: "Device", UPN: "serial:" + d.SerialNumber},
		Properties: audit.Properties{ID: pushID, RequestURI: r.URL.Path, HTTPStatusCode: status, ClientInfo: r.UserAgent()},
	})
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "audit of a push failed", "err", err)
	}
}
