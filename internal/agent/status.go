package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is what the appliance reports about itself: names of secrets,
// never their values.
type Status struct {
	Serial             string                 `json:"serial"`
	ActivationState    string                 `json:"activationState"`
	ResourceID         string                 `json:"resourceId,omitempty"`
	KeyID              string                 `json:"activationKeyId,omitempty"`
	DeviceAPIURL       string                 `json:"deviceApiUrl,omitempty"`
	VaultURI           string                 `json:"vaultUri,omitempty"`
	CIKName            string                 `json:"channelIntegrityKeyName,omitempty"`
	ActivatedAt        *time.Time             `json:"activatedAt,omitempty"`
	DeviceStatus       string                 `json:"deviceStatus,omitempty"`
	KeyVaultSyncStatus string                 `json:"keyVaultSyncStatus,omitempty"`
	LastSyncAt         *time.Time             `json:"lastSyncAt,omitempty"`
	LastSyncID         string                 `json:"lastSyncId,omitempty"`
	Secrets            []string               `json:"secrets"`
	CustomerSecrets    []CustomerSecretStatus `json:"customerSecrets"`
}

// CustomerSecretStatus names a received customer secret.
type CustomerSecretStatus struct {
	Name       string    `json:"name"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// Status reports the appliance's state.
func (a *Agent) Status() Status { return statusOf(a.State()) }

func statusOf(st *State) Status {
	s := Status{Serial: st.Serial, ActivationState: st.ActivationState(), DeviceStatus: st.DeviceStatus,
		KeyVaultSyncStatus: st.KeyVaultSyncStatus, LastSyncID: st.LastSyncID,
		Secrets: st.SecretNames(), CustomerSecrets: []CustomerSecretStatus{}}
	if !st.LastSyncAt.IsZero() {
		t := st.LastSyncAt.UTC()
		s.LastSyncAt = &t
	}
	if act := st.Activation; act != nil {
		t := act.ActivatedAt.UTC()
		s.ResourceID, s.KeyID, s.DeviceAPIURL, s.VaultURI, s.CIKName, s.ActivatedAt =
			act.ResourceID, act.KeyID, act.DeviceAPIURL, act.VaultURI, act.CIKName, &t
	} else if p := st.Pending; p != nil {
		s.ResourceID, s.KeyID = p.ResourceID, p.KeyID
	}
	for _, c := range st.CustomerSecrets {
		s.CustomerSecrets = append(s.CustomerSecrets, CustomerSecretStatus{Name: c.Name, ReceivedAt: c.ReceivedAt.UTC()})
	}
	return s
}

// WriteStatus writes s as "table" (for people) or "json".
func WriteStatus(w io.Writer, s Status, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	case "", "table":
	default:
		return fmt.Errorf("unknown output format %q (want table or json)", format)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Serial", s.Serial)
	row("Activation", s.ActivationState)
	row("Resource", s.ResourceID)
	row("Device API", s.DeviceAPIURL)
	row("Key vault", s.VaultURI)
	row("Device status", or(s.DeviceStatus, "not reported yet"))
	row("Key vault sync", s.KeyVaultSyncStatus)
	last := "never"
	if s.LastSyncAt != nil {
		last = s.LastSyncAt.Format(time.RFC3339)
		if s.LastSyncID != "" {
			last += " (sync " + s.LastSyncID + ")"
		}
	}
	row("Last sync", last)
	row("Secrets", strings.Join(s.Secrets, ", "))
	names := make([]string, len(s.CustomerSecrets))
	for i, c := range s.CustomerSecrets {
		names[i] = c.Name
	}
	row("Customer secrets", or(strings.Join(names, ", "), "none"))
	return tw.Flush()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
