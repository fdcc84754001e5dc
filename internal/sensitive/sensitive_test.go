package sensitive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const plain = "hunter2-very-secret"

func TestNeverPrinted(t *testing.T) {
	s := New(plain)
	outputs := map[string]string{
		"%v":       fmt.Sprintf("%v", s),
		"%s":       fmt.Sprintf("%s", s),
		"%q":       fmt.Sprintf("%q", s),
		"%x":       fmt.Sprintf("%x", s),
		"%#v":      fmt.Sprintf("%#v", s),
		"%+v":      fmt.Sprintf("%+v", struct{ S String }{s}),
		"Sprint":   fmt.Sprint(s),
		"Println":  fmt.Sprintln(s),
		"String()": s.String(),
	}
	j, err := json.Marshal(struct{ S String }{s})
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "secret", s, "inline", struct{ S String }{s})
	outputs["slog"] = buf.String()
	for name, out := range outputs {
		if strings.Contains(out, plain) {
			t.Errorf("%s leaked the value: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s did not say %s: %s", name, Redacted, out)
		}
	}
}

func TestReveal(t *testing.T) {
	s := New(plain)
	if s.Reveal() != plain {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	if s.Len() != len(plain) || s.IsZero() || !(String{}).IsZero() {
		t.Error("Len/IsZero wrong")
	}
	if !s.Equal(New(plain)) || s.Equal(New(plain+"x")) || s.Equal(String{}) {
		t.Error("Equal wrong")
	}
}
