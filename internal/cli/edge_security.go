package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/spf13/cobra"
)

// `edgevault edge security show` gathers what protects an edge
// resource's secrets from the public ARM routes, as an operator would
// with az: the extended information names the vault and the channel
// integrity key; the vault, its locks and diagnostic settings, the audit
// storage account (tagged KeyVaultName=<vault>) and its locks are read
// one by one. A piece that is missing shows as "not configured"; one that
// cannot be read shows why, and the rest is still shown.

// notConfigured is what a missing piece prints as.
const notConfigured = "not configured"

// edgeExtendedInfo is getExtendedInformation's answer.
type edgeExtendedInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		EncryptionKeyThumbprint    string `json:"encryptionKeyThumbprint,omitempty"`
		EncryptionKey              string `json:"encryptionKey,omitempty"`
		ResourceKey                string `json:"resourceKey,omitempty"`
		ClientSecretStoreID        string `json:"clientSecretStoreId,omitempty"`
		ClientSecretStoreURL       string `json:"clientSecretStoreUrl,omitempty"`
		ChannelIntegrityKeyName    string `json:"channelIntegrityKeyName,omitempty"`
		ChannelIntegrityKeyVersion string `json:"channelIntegrityKeyVersion,omitempty"`
		KeyVaultSyncStatus         string `json:"keyVaultSyncStatus,omitempty"`
		DeviceSecrets              map[string]struct {
			KeyVaultID string `json:"keyVaultId,omitempty"`
		} `json:"deviceSecrets,omitempty"`
		ClusterWitnessType string `json:"clusterWitnessType,omitempty"`
	} `json:"properties"`
}

func (x edgeExtendedInfo) record() record {
	p := x.Properties
	return record{
		{"name", x.Name}, {"key vault id", orNotConfigured(p.ClientSecretStoreID)}, {"key vault url", p.ClientSecretStoreURL},
		{"cik name", p.ChannelIntegrityKeyName}, {"cik version", p.ChannelIntegrityKeyVersion},
		{"sync status", p.KeyVaultSyncStatus}, {"device secrets", strings.Join(slices.Sorted(maps.Keys(p.DeviceSecrets)), ", ")},
		{"encryption key thumbprint", p.EncryptionKeyThumbprint}, {"resource key", p.ResourceKey},
		{"cluster witness", p.ClusterWitnessType}, {"id", x.ID},
	}
}

func orNotConfigured(s string) string {
	if s == "" {
		return notConfigured
	}
	return s
}

// getExtendedInfo reads the extended information of the resource f names.
func (c *armClient) getExtendedInfo(ctx context.Context, f *edgeFlags) (edgeExtendedInfo, error) {
	var x edgeExtendedInfo
	p, err := f.path(c)
	if err != nil {
		return x, err
	}
	_, err = c.do(ctx, http.MethodPost, c.url(p+"/getExtendedInformation", edgeAPIVersion, nil), nil, &x)
	return x, err
}

func newEdgeExtendedInfoShowCmd(a *app) *cobra.Command {
	var f edgeFlags
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource-group RG",
		Short: "Show an edge resource's extended information: its vault, CIK and sync status",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := f.open("")
			if err != nil {
				return err
			}
			x, err := c.getExtendedInfo(cmd.Context(), &f)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), x, x.record())
		},
	}
	f.add(cmd)
	return cmd
}

// edgeSecurity is the security view of an edge resource (-o json).
// Pointers and slices are nil when the piece is not configured.
type edgeSecurity struct {
	Resource            string              `json:"resource"`
	KeyVault            *securityVault      `json:"keyVault"`
	ManagedIdentity     securityIdentity    `json:"managedIdentity"`
	AccessPolicies      []accessPolicy      `json:"accessPolicies"`
	KeyVaultLocks       []managementLock    `json:"keyVaultLocks"`
	DiagnosticSettings  []diagnosticSetting `json:"diagnosticSettings"`
	AuditStorageAccount *securityStorage    `json:"auditStorageAccount"`
	AuditStorageLocks   []managementLock    `json:"auditStorageLocks"`
	ChannelIntegrityKey *securityCIK        `json:"channelIntegrityKey"`
	KeyVaultSyncStatus  string              `json:"keyVaultSyncStatus"`
	// Unavailable says what could not be read, and why.
	Unavailable []string `json:"unavailable,omitempty"`
}

type securityVault struct {
	Name                      string `json:"name"`
	ID                        string `json:"id"`
	URI                       string `json:"vaultUri"`
	SoftDeleteRetentionInDays *int   `json:"softDeleteRetentionInDays"`
	PurgeProtection           bool   `json:"purgeProtection"`
}

// securityIdentity is the managed identity. The API has no enabled state
// for a system-assigned identity: it exists while its resource does.
type securityIdentity struct {
	Type              string   `json:"type"`
	PrincipalID       string   `json:"principalId"`
	SecretPermissions []string `json:"secretPermissions"`
}

type securityStorage struct {
	Name string            `json:"name"`
	ID   string            `json:"id"`
	SKU  string            `json:"sku"`
	Kind string            `json:"kind"`
	Tags map[string]string `json:"tags"`
}

type securityCIK struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// storageVaultTag is the tag naming its vault on the audit storage account.
const storageVaultTag = "KeyVaultName"

func newEdgeSecurityShowCmd(a *app) *cobra.Command {
	var f edgeFlags
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource-group RG",
		Short: "Show the vault, identity, access policies, locks, audit trail and CIK of an edge resource",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, u, err := f.open("")
			if err != nil {
				return err
			}
			var d edgeDevice
			if _, err := c.do(cmd.Context(), http.MethodGet, u, nil, &d); err != nil {
				return err
			}
			x, err := c.getExtendedInfo(cmd.Context(), &f)
			if err != nil {
				return err
			}
			s := c.gatherSecurity(cmd.Context(), d, x)
			return a.print(cmd.OutOrStdout(), s, s.view())
		},
	}
	f.add(cmd)
	return cmd
}

// gatherSecurity reads the pieces of the security view. Only a failure
// other than 404 is recorded in Unavailable; 404 is "not configured".
func (c *armClient) gatherSecurity(ctx context.Context, d edgeDevice, x edgeExtendedInfo) edgeSecurity {
	s := edgeSecurity{Resource: d.ID, KeyVaultSyncStatus: x.Properties.KeyVaultSyncStatus,
		ManagedIdentity: securityIdentity{Type: identityText(d.Identity.Type), PrincipalID: d.Identity.PrincipalID}}
	if p := x.Properties; p.ChannelIntegrityKeyName != "" {
		s.ChannelIntegrityKey = &securityCIK{Name: p.ChannelIntegrityKeyName, Version: p.ChannelIntegrityKeyVersion}
	}
	get := func(what, u string, out any) bool {
		_, err := c.do(ctx, http.MethodGet, u, nil, out)
		if err != nil && !client.IsNotFound(err) {
			s.Unavailable = append(s.Unavailable, what+": "+err.Error())
		}
		return err == nil
	}
	vaultID, err := resource.Parse(x.Properties.ClientSecretStoreID)
	if x.Properties.ClientSecretStoreID == "" || err != nil {
		return s
	}
	var v vault
	if !get("key vault", c.url(vaultID.String(), keyVaultAPIVersion, nil), &v) {
		return s
	}
	vp := v.Properties
	s.KeyVault = &securityVault{Name: v.Name, ID: v.ID, URI: vp.VaultURI, SoftDeleteRetentionInDays: vp.SoftDeleteRetentionInDays,
		PurgeProtection: vp.EnablePurgeProtection != nil && *vp.EnablePurgeProtection}
	s.AccessPolicies = vp.AccessPolicies
	for _, p := range vp.AccessPolicies {
		if strings.EqualFold(p.ObjectID, d.Identity.PrincipalID) {
			s.ManagedIdentity.SecretPermissions = append(s.ManagedIdentity.SecretPermissions, p.Permissions.Secrets...)
		}
	}
	s.KeyVaultLocks = gatherList[managementLock](ctx, c, &s, "key vault locks", c.url(lockPath(vaultID.String(), ""), locksAPIVersion, nil))
	s.DiagnosticSettings = gatherList[diagnosticSetting](ctx, c, &s, "diagnostic settings", c.url(diagPath(vaultID, ""), diagnosticsAPIVersion, nil))

	// The audit storage account: the one in the group tagged with the
	// vault's name, else the one a diagnostic setting sends to.
	group := resource.NewResourceGroup(vaultID.SubscriptionID(), vaultID.ResourceGroupName())
	accounts := gatherList[storageAccount](ctx, c, &s, "storage accounts",
		c.url(group.String()+"/providers/"+storageNS+"/storageAccounts", storageAPIVersion, nil))
	var acct storageAccount
	if i := slices.IndexFunc(accounts, func(a storageAccount) bool { return strings.EqualFold(a.Tags[storageVaultTag], v.Name) }); i >= 0 {
		acct = accounts[i]
	}
	for _, ds := range s.DiagnosticSettings {
		if id := ds.Properties.StorageAccountID; acct.ID == "" && id != "" {
			get("audit storage account", c.url(id, storageAPIVersion, nil), &acct)
		}
	}
	if acct.ID == "" {
		return s
	}
	s.AuditStorageAccount = &securityStorage{Name: acct.Name, ID: acct.ID, SKU: acct.SKU.Name, Kind: acct.Kind, Tags: acct.Tags}
	s.AuditStorageLocks = gatherList[managementLock](ctx, c, &s, "audit storage account locks", c.url(lockPath(acct.ID, ""), locksAPIVersion, nil))
	return s
}

// gatherList is listAll for the security view: a failure other than 404
// is recorded in s.Unavailable, and the list is then empty.
func gatherList[T any](ctx context.Context, c *armClient, s *edgeSecurity, what, u string) []T {
	items, err := listAll[T](ctx, c, u)
	if err != nil && !client.IsNotFound(err) {
		s.Unavailable = append(s.Unavailable, what+": "+err.Error())
	}
	return items
}

// view draws the security view as titled sections.
func (s edgeSecurity) view() renderer {
	out := sections{}
	vaultRec := record{{"vault", notConfigured}}
	if v := s.KeyVault; v != nil {
		purge := "disabled"
		if v.PurgeProtection {
			purge = "enabled"
		}
		vaultRec = record{
			{"name", v.Name}, {"uri", v.URI}, {"soft delete", orNotConfigured(daysText(v.SoftDeleteRetentionInDays))},
			{"purge protection", purge}, {"locks", locksText(s.KeyVaultLocks)},
			{"diagnostic settings", diagText(s.DiagnosticSettings)},
		}
	}
	out = append(out, titled{"Key vault", vaultRec})

	perms := notConfigured
	switch {
	case s.KeyVault != nil && len(s.ManagedIdentity.SecretPermissions) == 0:
		perms = "none (no access policy)"
	case s.KeyVault != nil:
		perms = strings.Join(s.ManagedIdentity.SecretPermissions, ", ")
	}
	out = append(out, titled{"Managed identity", record{
		{"type", orNotConfigured(s.ManagedIdentity.Type)}, {"principal id", s.ManagedIdentity.PrincipalID},
		{"secret permissions", perms},
	}})

	if len(s.AccessPolicies) == 0 {
		out = append(out, titled{"Access policies", record{{"policies", notConfigured}}})
	} else {
		out = append(out, titled{"Access policies", policyTable(s.AccessPolicies)})
	}

	storeRec := record{{"account", notConfigured}}
	if a := s.AuditStorageAccount; a != nil {
		tag := notConfigured
		if v, ok := a.Tags[storageVaultTag]; ok {
			tag = storageVaultTag + "=" + v
		}
		storeRec = record{{"name", a.Name}, {"sku", a.SKU}, {"kind", a.Kind}, {"tag", tag}, {"locks", locksText(s.AuditStorageLocks)}}
	}
	out = append(out, titled{"Audit storage account", storeRec})

	cikRec := record{{"cik", notConfigured}, {"sync status", s.KeyVaultSyncStatus}}
	if k := s.ChannelIntegrityKey; k != nil {
		cikRec = record{{"name", k.Name}, {"version", k.Version}, {"sync status", s.KeyVaultSyncStatus}}
	}
	out = append(out, titled{"Channel integrity key", cikRec})

	if len(s.Unavailable) > 0 {
		t := table{headers: []string{"NOT READ"}}
		for _, u := range s.Unavailable {
			t.rows = append(t.rows, []string{u})
		}
		out = append(out, titled{"Unavailable", t})
	}
	return out
}

// locksText lists locks as "name (Level)".
func locksText(locks []managementLock) string {
	if len(locks) == 0 {
		return notConfigured
	}
	parts := make([]string, len(locks))
	for i, l := range locks {
		parts[i] = l.Name + " (" + l.Properties.Level + ")"
	}
	return strings.Join(parts, ", ")
}

// diagText lists diagnostic settings as "name: categories -> account".
func diagText(ds []diagnosticSetting) string {
	if len(ds) == 0 {
		return notConfigured
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Name + ": " + orNone(enabledText(d.Properties.Logs))
		if id := d.Properties.StorageAccountID; id != "" {
			parts[i] += " -> " + lastSegment(id)
		}
	}
	return strings.Join(parts, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "no logs"
	}
	return s
}

// titled draws a title line, then its body indented by two spaces.
type titled struct {
	title string
	body  renderer
}

func (t titled) render(w io.Writer) error {
	var b bytes.Buffer
	if err := t.body.render(&b); err != nil {
		return err
	}
	fmt.Fprintln(w, t.title+":")
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			fmt.Fprint(w, "  "+line)
		}
	}
	return nil
}
