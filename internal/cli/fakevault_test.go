package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fakeVaultData is one vault's secrets.
type fakeVaultData struct {
	secrets map[string]*fakeSecret // by lower-case name
}

// fakeSecret is a secret with its versions, oldest first.
type fakeSecret struct {
	name      string
	versions  []*fakeVersion
	deletedAt int64 // Unix seconds; 0 while active
}

// fakeVersion is one version of a secret.
type fakeVersion struct {
	version, value, contentType string
	tags                        map[string]string
	disabled                    bool
	nbf, exp                    *int64
	created                     int64
}

func (s *fakeSecret) latest() *fakeVersion { return s.versions[len(s.versions)-1] }

// seedSecrets fills kv-prod: five secrets (three pages of two), one with
// three versions, one disabled, one multi-line, and one deleted.
func (k *fakeKV) seedSecrets() {
	d := k.data["kv-prod"]
	exp := fakeTime.AddDate(1, 0, 0).Unix()
	k.addSecret(d, "api-key", fakeVersion{value: "api-key-value-7Hq", contentType: "text/plain", tags: map[string]string{"env": "prod"}, exp: &exp})
	for i := 1; i <= 3; i++ {
		k.addSecret(d, "db-password", fakeVersion{value: fmt.Sprintf("db-pass-v%d-Xz%d", i, i)})
	}
	k.addSecret(d, "disabled-one", fakeVersion{value: "disabled-value-Q3", disabled: true})
	k.addSecret(d, "ssh-key", fakeVersion{value: "-----BEGIN KEY-----\nline-two-K8\n-----END KEY-----", contentType: "application/x-pem-file"})
	k.addSecret(d, "old-token", fakeVersion{value: "old-token-value-P9"}).deletedAt = fakeTime.Add(-time.Hour).Unix()
}

// addSecret adds a version to a secret, creating the secret if need be.
func (k *fakeKV) addSecret(d *fakeVaultData, name string, v fakeVersion) *fakeSecret {
	k.seq++
	v.version = fmt.Sprintf("%032x", k.seq)
	v.created = fakeTime.Unix() + int64(k.seq)
	s := d.secrets[strings.ToLower(name)]
	if s == nil {
		s = &fakeSecret{name: name}
		d.secrets[strings.ToLower(name)] = s
	}
	s.versions = append(s.versions, &v)
	k.values = append(k.values, v.value)
	return s
}

// kvError writes a Key Vault error (reference/keyvault-wire.md §1.6).
func kvError(w http.ResponseWriter, status int, code, inner, msg string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// challenge answers 401 with the Key Vault challenge for resource (§2.1).
func (k *fakeKV) challenge(w http.ResponseWriter, resource string) {
	w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.localhost:`+k.port+`/tenant-1", resource="`+resource+`"`)
	kvError(w, 401, "Unauthorized", "", "AKV10000: Request is missing a Bearer or PoP token.")
}

// dataPlane serves the secrets API of every vault, routed by host.
// "kv-locked" always challenges for another audience.
func (k *fakeKV) dataPlane(w http.ResponseWriter, r *http.Request) {
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	k.record(r)
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	vault, ok := strings.CutSuffix(host, ".vault.localhost")
	if !ok || strings.Contains(vault, ".") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("x-ms-request-id", "kv-req-9")
	if vault == "kv-locked" {
		k.challenge(w, "https://other.localhost:"+k.port)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !k.f.access[tok] {
		k.challenge(w, "https://vault.localhost:"+k.port)
		return
	}
	if v := r.URL.Query().Get("api-version"); v != vaultAPIVersion {
		kvError(w, 400, "BadParameter", "", fmt.Sprintf("The specified version (%s) is not recognized.", v))
		return
	}
	d, ok := k.data[vault]
	if !ok || k.vaults[vault] == nil {
		kvError(w, 404, "VaultNotFound", "", fmt.Sprintf("Vault %s was not found.", vault))
		return
	}
	k.route(w, r, vault, d, strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/"))
}

// route dispatches a data-plane request by method and path segments.
func (k *fakeKV) route(w http.ResponseWriter, r *http.Request, vault string, d *fakeVaultData, segs []string) {
	n := len(segs)
	name := ""
	if n > 1 {
		name = segs[1]
	}
	switch m := r.Method; {
	case segs[0] == "secrets" && n == 1 && m == http.MethodGet:
		k.listSecrets(w, r, vault, d, "")
	case segs[0] == "secrets" && n == 2 && name == "restore" && m == http.MethodPost:
		k.restore(w, vault, d)
	case segs[0] == "secrets" && n == 2 && m == http.MethodPut:
		k.setSecret(w, vault, d, name)
	case segs[0] == "secrets" && n == 2 && m == http.MethodDelete:
		if s := k.active(w, d, name); s != nil {
			s.deletedAt = fakeTime.Unix()
			writeJSON(w, 200, k.deletedBundle(vault, s, true))
		}
	case segs[0] == "secrets" && n == 3 && segs[2] == "versions" && m == http.MethodGet:
		if k.active(w, d, name) != nil {
			k.listSecrets(w, r, vault, d, name)
		}
	case segs[0] == "secrets" && n == 3 && segs[2] == "backup" && m == http.MethodPost:
		k.backup(w, d, name)
	case segs[0] == "secrets" && n == 3 && m == http.MethodGet:
		k.getSecret(w, vault, d, name, segs[2])
	case segs[0] == "deletedsecrets" && n == 1 && m == http.MethodGet:
		k.listDeletedSecrets(w, r, vault, d)
	case segs[0] == "deletedsecrets" && n == 2 && m == http.MethodDelete:
		if s := k.deletedSecret(w, d, name); s != nil {
			delete(d.secrets, strings.ToLower(name))
			w.WriteHeader(http.StatusNoContent)
		}
	case segs[0] == "deletedsecrets" && n == 3 && segs[2] == "recover" && m == http.MethodPost:
		if s := k.deletedSecret(w, d, name); s != nil {
			s.deletedAt = 0
			writeJSON(w, 200, k.bundle(vault, s, s.latest(), true))
		}
	default:
		kvError(w, 400, "BadParameter", "", "The request URI is not supported.")
	}
}

func (k *fakeKV) secretBase(vault, name string) string {
	return "https://" + vault + ".vault.localhost:" + k.port + "/secrets/" + name
}

// bundle renders a SecretBundle; with value, as GET, SET, RECOVER and
// RESTORE answer (the CLI must drop it everywhere but show).
func (k *fakeKV) bundle(vault string, s *fakeSecret, v *fakeVersion, withValue bool) map[string]any {
	attrs := map[string]any{"enabled": !v.disabled, "created": v.created, "updated": v.created,
		"recoverableDays": 90, "recoveryLevel": "Recoverable+Purgeable"}
	if v.nbf != nil {
		attrs["nbf"] = *v.nbf
	}
	if v.exp != nil {
		attrs["exp"] = *v.exp
	}
	m := map[string]any{"id": k.secretBase(vault, s.name) + "/" + v.version, "attributes": attrs}
	if withValue {
		m["value"] = v.value
	}
	if v.contentType != "" {
		m["contentType"] = v.contentType
	}
	if v.tags != nil {
		m["tags"] = v.tags
	}
	return m
}

func (k *fakeKV) deletedBundle(vault string, s *fakeSecret, withValue bool) map[string]any {
	m := k.bundle(vault, s, s.latest(), withValue)
	m["recoveryId"] = "https://" + vault + ".vault.localhost:" + k.port + "/deletedsecrets/" + s.name
	m["deletedDate"] = s.deletedAt
	m["scheduledPurgeDate"] = s.deletedAt + 90*24*3600
	return m
}

// active returns the secret unless it is missing or deleted (404).
func (k *fakeKV) active(w http.ResponseWriter, d *fakeVaultData, name string) *fakeSecret {
	s := d.secrets[strings.ToLower(name)]
	if s == nil || s.deletedAt != 0 {
		kvError(w, 404, "SecretNotFound", "", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.", name))
		return nil
	}
	return s
}

func (k *fakeKV) deletedSecret(w http.ResponseWriter, d *fakeVaultData, name string) *fakeSecret {
	s := d.secrets[strings.ToLower(name)]
	if s == nil || s.deletedAt == 0 {
		kvError(w, 404, "SecretNotFound", "", "Deleted Secret not found: "+name)
		return nil
	}
	return s
}

// dataPage writes one page of items with an absolute nextLink on the
// vault host that carries api-version, as Key Vault does (§1.4).
func (k *fakeKV) dataPage(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	start, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	start = min(start, len(items))
	end := min(start+k.pageSize, len(items))
	out := map[string]any{"value": append([]map[string]any{}, items[start:end]...), "nextLink": nil}
	if end < len(items) {
		out["nextLink"] = fmt.Sprintf("https://%s%s?api-version=%s&$skiptoken=%d&maxresults=%d", r.Host, r.URL.Path, vaultAPIVersion, end, k.pageSize)
		if start == 0 && k.nextLink != "" {
			out["nextLink"] = k.nextLink
		}
	}
	writeJSON(w, 200, out)
}

// listSecrets lists the active secrets (one item each, base id, latest
// attributes), or the versions of one.
func (k *fakeKV) listSecrets(w http.ResponseWriter, r *http.Request, vault string, d *fakeVaultData, of string) {
	var items []map[string]any
	if of != "" {
		s := d.secrets[strings.ToLower(of)]
		for _, v := range s.versions {
			items = append(items, k.bundle(vault, s, v, false))
		}
		k.dataPage(w, r, items)
		return
	}
	for _, key := range slices.Sorted(maps.Keys(d.secrets)) {
		if s := d.secrets[key]; s.deletedAt == 0 {
			item := k.bundle(vault, s, s.latest(), false)
			item["id"] = k.secretBase(vault, s.name)
			items = append(items, item)
		}
	}
	k.dataPage(w, r, items)
}

func (k *fakeKV) listDeletedSecrets(w http.ResponseWriter, r *http.Request, vault string, d *fakeVaultData) {
	var items []map[string]any
	for _, key := range slices.Sorted(maps.Keys(d.secrets)) {
		if s := d.secrets[key]; s.deletedAt != 0 {
			item := k.deletedBundle(vault, s, false)
			item["id"] = k.secretBase(vault, s.name)
			items = append(items, item)
		}
	}
	k.dataPage(w, r, items)
}

func (k *fakeKV) getSecret(w http.ResponseWriter, vault string, d *fakeVaultData, name, version string) {
	s := k.active(w, d, name)
	if s == nil {
		return
	}
	v := s.latest()
	if version != "" {
		i := slices.IndexFunc(s.versions, func(v *fakeVersion) bool { return v.version == version })
		if i < 0 {
			kvError(w, 404, "SecretNotFound", "", fmt.Sprintf("A secret with (name/id) %s/%s was not found in this key vault.", name, version))
			return
		}
		v = s.versions[i]
	}
	if v.disabled {
		kvError(w, 403, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
		return
	}
	writeJSON(w, 200, k.bundle(vault, s, v, true))
}

func (k *fakeKV) setSecret(w http.ResponseWriter, vault string, d *fakeVaultData, name string) {
	var in struct {
		Value       *string           `json:"value"`
		ContentType string            `json:"contentType"`
		Tags        map[string]string `json:"tags"`
		Attributes  secretAttributes  `json:"attributes"`
	}
	if json.Unmarshal([]byte(k.body), &in) != nil || in.Value == nil {
		kvError(w, 400, "BadParameter", "", "Property value is required.")
		return
	}
	if s := d.secrets[strings.ToLower(name)]; s != nil && s.deletedAt != 0 {
		kvError(w, 409, "Conflict", "ObjectIsDeletedButRecoverable", fmt.Sprintf("Secret %s is currently in a deleted but recoverable state, "+
			"and its name cannot be reused; in this state, the secret can only be recovered or purged.", name))
		return
	}
	v := fakeVersion{value: *in.Value, contentType: in.ContentType, tags: in.Tags, nbf: in.Attributes.NotBefore, exp: in.Attributes.Expires,
		disabled: in.Attributes.Enabled != nil && !*in.Attributes.Enabled}
	s := k.addSecret(d, name, v)
	writeJSON(w, 200, k.bundle(vault, s, s.latest(), true))
}

func (k *fakeKV) backup(w http.ResponseWriter, d *fakeVaultData, name string) {
	s := k.active(w, d, name)
	if s == nil {
		return
	}
	k.seq++
	blob := base64.RawURLEncoding.EncodeToString(append([]byte{0x29, 0xfa}, fmt.Sprintf("AzureKeyVaultSecretBackupV1.microsoft.com.%d", k.seq)...))
	cp := *s
	k.backups[blob] = &cp
	writeJSON(w, 200, map[string]string{"value": blob})
}

func (k *fakeKV) restore(w http.ResponseWriter, vault string, d *fakeVaultData) {
	var in struct{ Value string }
	if json.Unmarshal([]byte(k.body), &in) != nil || k.backups[in.Value] == nil {
		kvError(w, 400, "BadParameter", "", "Backup blob contains invalid or corrupt version.")
		return
	}
	s := *k.backups[in.Value]
	if d.secrets[strings.ToLower(s.name)] != nil {
		kvError(w, 409, "Conflict", "", fmt.Sprintf("There was a conflict restoring the secret '%s'. This can happen if a secret with the same name exists or is deleted.", s.name))
		return
	}
	d.secrets[strings.ToLower(s.name)] = &s
	writeJSON(w, 200, k.bundle(vault, &s, s.latest(), true))
}
