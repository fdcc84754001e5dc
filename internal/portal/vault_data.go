package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/akv"
)

// The vault data plane as the vault page reads it: the list of a vault's
// secrets (names and attributes, never values). A value is read only by
// vaultSecret (api.go), after the person asked.

// onVaultHost reports whether u is an https URL on a vault host under the
// server's vault suffix ({vault}.vault.S:P).
func (h *Handler) onVaultHost(u *url.URL) bool {
	return u.Scheme == "https" && strings.HasSuffix(strings.ToLower(u.Host), "."+strings.ToLower(h.cfg.VaultHost))
}

// vaultSecrets lists the secrets of the vault at vaultURI (the vault's
// properties.vaultUri, from the management API) as the user, following
// nextLink on the same host up to maxListPages pages.
func (h *Handler) vaultSecrets(r *http.Request, vaultURI string) ([]secretRow, error) {
	u, err := url.Parse(vaultURI)
	if err != nil || !h.onVaultHost(u) {
		return nil, fmt.Errorf("portal: %q is not a vault on the vault host", vaultURI)
	}
	host := u.Host
	u = &url.URL{Scheme: "https", Host: host, Path: "/secrets", RawQuery: "api-version=" + vaultAPIVersion}
	var rows []secretRow
	for range maxListPages {
		a, err := h.call(r.Context(), r, Vault, http.MethodGet, u, nil, []int{http.StatusOK})
		if err != nil {
			return nil, err
		}
		var page akv.SecretListResult
		if err := a.decode(&page); err != nil {
			return nil, err
		}
		for _, it := range page.Value {
			rows = append(rows, secretRow{Name: path.Base(it.ID), ID: it.ID, ContentType: it.ContentType,
				Enabled: it.Attributes.Enabled == nil || *it.Attributes.Enabled, Updated: unixTime(it.Attributes.Updated)})
		}
		if page.NextLink == nil || *page.NextLink == "" {
			break
		}
		next, err := url.Parse(*page.NextLink)
		if err != nil || !strings.EqualFold(next.Host, host) || !h.onVaultHost(next) {
			return nil, fmt.Errorf("portal: the vault's nextLink %q leaves the vault", *page.NextLink)
		}
		u = next
	}
	return rows, nil
}

// unixTime is a data-plane time (seconds since the epoch); zero when absent.
func unixTime(s *int64) time.Time {
	if s == nil {
		return time.Time{}
	}
	return time.Unix(*s, 0).UTC()
}
