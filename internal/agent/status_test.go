package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/devicewire"
)

func TestStatusShowsNamesNeverValues(t *testing.T) {
	a, f := activatedAgent(t)
	s, _ := a.newSession(time.Second)
	f.answers = []devicewire.HeartbeatResponse{{Status: "Online", SyncID: "sync-9",
		CustomerSecrets: []devicewire.SealedSecret{f.sealCustomer("m1", "ShareKey", "customer-secret-value")}}}
	if _, err := a.cycle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	values := secretValues(t, a)
	if len(values) < 6 {
		t.Fatalf("only %d secret values to look for", len(values))
	}
	for _, format := range []string{"table", "json"} {
		var out bytes.Buffer
		if err := WriteStatus(&out, a.Status(), format); err != nil {
			t.Fatal(err)
		}
		for _, want := range append([]string{"Activated", testResourceID, f.srv.URL, "sync-9", "ShareKey", "Online"},
			devicewire.DeviceSecretNames...) {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s status lacks %q:\n%s", format, want, out.String())
			}
		}
		for _, v := range values {
			if strings.Contains(out.String(), v) {
				t.Errorf("%s status shows a secret value", format)
			}
		}
	}
	var out bytes.Buffer
	WriteStatus(&out, a.Status(), "json")
	var got Status
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.LastSyncAt == nil || got.ActivationState != Activated {
		t.Errorf("json status does not round-trip: %v", err)
	}
	if err := WriteStatus(&out, a.Status(), "yaml"); err == nil {
		t.Error("an unknown format was accepted")
	}
	// Not activated: the state and the names still show.
	out.Reset()
	WriteStatus(&out, initAgent(t).Status(), "table")
	if !strings.Contains(out.String(), NotActivated) || !strings.Contains(out.String(), devicewire.BMCDefaultUserPassword) {
		t.Errorf("unactivated status:\n%s", out.String())
	}
}
