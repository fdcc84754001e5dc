package secret

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeBackup fuzzes the payload parser under the envelope, which
// FuzzRestore cannot reach (every mutation of a sealed blob fails
// authentication first). What decodes must be valid and survive a round
// trip through encodeBackup.
func FuzzDecodeBackup(f *testing.F) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f.Add(encodeBackup("name", []backupVersion{{version: "0123456789abcdef0123456789abcdef", value: []byte("v"),
		props:   Properties{ContentType: "c", Enabled: true, Tags: map[string]string{"a": "b"}, Expires: at},
		created: at, updated: at}}))
	f.Add(encodeBackup("x", []backupVersion{
		{version: "00000000000000000000000000000001", created: at, updated: at},
		{version: "00000000000000000000000000000002", value: make([]byte, 300), created: at, updated: at.Add(time.Hour)}}))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, p []byte) {
		name, vs, err := decodeBackup(p)
		if err != nil {
			return
		}
		if !ValidName(name) || len(vs) == 0 || len(vs) > MaxBackupVersions {
			t.Fatalf("accepted an invalid payload: %q, %d versions", name, len(vs))
		}
		name2, vs2, err := decodeBackup(encodeBackup(name, vs))
		if err != nil || name2 != name || !cmp.Equal(vs, vs2, cmp.AllowUnexported(backupVersion{})) {
			t.Fatalf("round trip: %v\n%s", err, cmp.Diff(vs, vs2, cmp.AllowUnexported(backupVersion{})))
		}
	})
}
