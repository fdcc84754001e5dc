package agent

import "testing"

// FuzzDecodeState: a damaged or hostile state file is reported, never a
// panic, and its content never appears in the reason.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"format":"edgevault-agent-state","version":1,"sha256":"00","state":{}}`))
	f.Add([]byte(`{`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, reason := decodeState(b)
		if (s == nil) == (reason == "") {
			t.Fatalf("decodeState returned state %v and reason %q", s != nil, reason)
		}
	})
}
