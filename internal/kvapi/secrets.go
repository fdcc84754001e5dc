package kvapi

import (
	"net/http"
	"time"

	"github.com/edgevault/edgevault/internal/akv"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// The handlers of routes.go. Each runs after authentication, throttling,
// the api-version check and the access-policy check, and returns its
// answer for finish to audit and send.

func (h *Handler) setSecret(x *exchange) result {
	var in akv.SecretSetParameters
	if err := x.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return fail(err)
	}
	if in.Value == nil {
		return fail(badRequest("The property 'value' is required."))
	}
	p := secret.Properties{Enabled: true, Tags: tags(in.Tags)}
	if in.ContentType != nil {
		p.ContentType = *in.ContentType
	}
	if a := in.Attributes; a != nil {
		if a.Enabled != nil {
			p.Enabled = *a.Enabled
		}
		p.NotBefore, p.Expires = akv.FromUnix(a.NotBefore), akv.FromUnix(a.Expires)
	}
	s, err := h.cfg.Secrets.Set(x.r.Context(), x.secretVault(), x.params.name, sensitive.New(*in.Value), p)
	if err != nil {
		return fail(err)
	}
	x.concerns(s, true)
	return ok(x.bundle(s, true))
}

func (h *Handler) getSecret(x *exchange) result {
	s, err := h.cfg.Secrets.Get(x.r.Context(), x.secretVault(), x.params.name, x.params.version)
	if err != nil {
		return fail(err)
	}
	x.concerns(s, false)
	return ok(x.bundle(s, true))
}

func (h *Handler) updateSecret(x *exchange) result {
	var in akv.SecretUpdateParameters
	if err := x.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return fail(err)
	}
	u := secret.Update{ContentType: in.ContentType, SetTags: in.Tags != nil, Tags: tags(in.Tags)}
	if a := in.Attributes; a != nil {
		u.Enabled = a.Enabled
		u.NotBefore, u.Expires = timePtr(a.NotBefore), timePtr(a.Expires)
	}
	s, err := h.cfg.Secrets.UpdateProperties(x.r.Context(), x.secretVault(), x.params.name, x.params.version, u)
	if err != nil {
		return fail(err)
	}
	x.concerns(s, true)
	return ok(x.bundle(s, false))
}

func (h *Handler) deleteSecret(x *exchange) result {
	d, err := h.cfg.Secrets.Delete(x.r.Context(), x.secretVault(), x.params.name)
	if err != nil {
		return fail(err)
	}
	x.concerns(d.Secret, false)
	return ok(x.deletedBundle(d))
}

func (h *Handler) getDeleted(x *exchange) result {
	d, err := h.cfg.Secrets.GetDeleted(x.r.Context(), x.secretVault(), x.params.name)
	if err != nil {
		return fail(err)
	}
	x.concerns(d.Secret, false)
	return ok(x.deletedBundle(d))
}

func (h *Handler) purgeSecret(x *exchange) result {
	if err := h.cfg.Secrets.Purge(x.r.Context(), x.secretVault(), x.params.name); err != nil {
		return fail(err)
	}
	return result{status: http.StatusNoContent}
}

func (h *Handler) recoverSecret(x *exchange) result {
	s, err := h.cfg.Secrets.Recover(x.r.Context(), x.secretVault(), x.params.name)
	if err != nil {
		return fail(err)
	}
	x.concerns(s, false)
	return ok(x.bundle(s, false))
}

func (h *Handler) backupSecret(x *exchange) result {
	blob, err := h.cfg.Secrets.Backup(x.r.Context(), x.secretVault(), x.params.name)
	if err != nil {
		return fail(err)
	}
	return ok(akv.BackupSecretResult{Value: akv.EncodeBlob(blob)})
}

func (h *Handler) restoreSecret(x *exchange) result {
	var in akv.SecretRestoreParameters
	if err := x.decode(h.cfg.MaxRestoreBytes, &in); err != nil {
		return fail(err)
	}
	if in.Value == nil {
		return fail(badRequest("The property 'value' is required."))
	}
	blob, err := akv.DecodeBlob(*in.Value)
	if err != nil {
		return fail(badRequest("The backup blob is not base64url."))
	}
	s, err := h.cfg.Secrets.Restore(x.r.Context(), x.secretVault(), blob)
	if err != nil {
		return fail(err)
	}
	x.concerns(s, false)
	return ok(x.bundle(s, false))
}

func (h *Handler) listSecrets(x *exchange) result {
	p, err := h.readPage(x, "")
	if err != nil {
		return fail(err)
	}
	items, next, err := h.cfg.Secrets.List(x.r.Context(), x.secretVault(), p.cursor, p.limit)
	if err != nil {
		return fail(err)
	}
	out := akv.SecretListResult{Value: make([]akv.SecretItem, 0, len(items))}
	for _, s := range items {
		out.Value = append(out.Value, x.item(s, ""))
	}
	if out.NextLink, err = h.nextLink(x, "/secrets", p, next); err != nil {
		return fail(err)
	}
	return ok(out)
}

func (h *Handler) listVersions(x *exchange) result {
	p, err := h.readPage(x, x.params.name)
	if err != nil {
		return fail(err)
	}
	items, next, err := h.cfg.Secrets.ListVersions(x.r.Context(), x.secretVault(), x.params.name, p.cursor, p.limit)
	if err != nil {
		return fail(err)
	}
	out := akv.SecretListResult{Value: make([]akv.SecretItem, 0, len(items))}
	for _, s := range items {
		out.Value = append(out.Value, x.item(s, s.Version))
	}
	if out.NextLink, err = h.nextLink(x, "/secrets/"+x.params.name+"/versions", p, next); err != nil {
		return fail(err)
	}
	return ok(out)
}

func (h *Handler) listDeleted(x *exchange) result {
	p, err := h.readPage(x, "")
	if err != nil {
		return fail(err)
	}
	items, next, err := h.cfg.Secrets.ListDeleted(x.r.Context(), x.secretVault(), p.cursor, p.limit)
	if err != nil {
		return fail(err)
	}
	out := akv.DeletedSecretListResult{Value: make([]akv.DeletedSecretItem, 0, len(items))}
	for _, d := range items {
		out.Value = append(out.Value, akv.DeletedSecretItem{SecretItem: x.item(d.Secret, ""),
			RecoveryID: akv.RecoveryID(x.vaultURL, d.Name), DeletedDate: akv.Unix(d.DeletedAt),
			ScheduledPurgeDate: akv.Unix(d.ScheduledPurgeAt)})
	}
	if out.NextLink, err = h.nextLink(x, "/deletedsecrets", p, next); err != nil {
		return fail(err)
	}
	return ok(out)
}

// attributes are a version's wire attributes; the recovery fields follow
// from the vault.
func (x *exchange) attributes(s secret.Secret) akv.SecretAttributes {
	enabled := s.Enabled
	days := int32(x.vault.Retention)
	if days <= 0 {
		days = secret.DefaultRetentionDays
	}
	return akv.SecretAttributes{Enabled: &enabled, NotBefore: akv.Unix(s.NotBefore), Expires: akv.Unix(s.Expires),
		Created: akv.Unix(s.Created), Updated: akv.Unix(s.Updated), RecoverableDays: &days,
		RecoveryLevel: x.vault.RecoveryLevel()}
}

// bundle is a version's wire form; the value only when asked for.
func (x *exchange) bundle(s secret.Secret, withValue bool) akv.SecretBundle {
	b := akv.SecretBundle{ID: akv.SecretID(x.vaultURL, s.Name, s.Version), ContentType: s.ContentType,
		Attributes: x.attributes(s), Tags: s.Tags}
	if withValue {
		v := s.Value.Reveal() // the response the caller is entitled to
		b.Value = &v
	}
	return b
}

func (x *exchange) deletedBundle(d secret.Deleted) akv.DeletedSecretBundle {
	return akv.DeletedSecretBundle{SecretBundle: x.bundle(d.Secret, false), RecoveryID: akv.RecoveryID(x.vaultURL, d.Name),
		DeletedDate: akv.Unix(d.DeletedAt), ScheduledPurgeDate: akv.Unix(d.ScheduledPurgeAt)}
}

// item is a list entry: the base id, or the versioned id when version is
// set (reference/keyvault-wire.md §1.4).
func (x *exchange) item(s secret.Secret, version string) akv.SecretItem {
	return akv.SecretItem{ID: akv.SecretID(x.vaultURL, s.Name, version), ContentType: s.ContentType,
		Attributes: x.attributes(s), Tags: s.Tags}
}

// tags converts wire tags; a null value becomes "".
func tags(in map[string]*string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

func timePtr(s *int64) *time.Time {
	if s == nil {
		return nil
	}
	t := akv.FromUnix(s)
	return &t
}
