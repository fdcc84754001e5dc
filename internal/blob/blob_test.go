package blob

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidNames(t *testing.T) {
	for _, tt := range []struct {
		name      string
		container bool
		blob      bool
	}{
		{"insights-logs-auditevent", true, true},
		{"ab", false, true},
		{"a-b", true, true},
		{"a--b", false, true},
		{"-ab", false, true},
		{"Abc", false, true},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), false, true},
		{"resourceId=/SUBSCRIPTIONS/X/y=2026/m=11/d=27/h=00/m=00/PT1H.json", false, true},
		{"a/../b", false, false},
		{"a//b", false, false},
		{"/a", false, false},
		{"a/", false, false},
		{"a.", false, false},
		{"a\x00b", false, false},
		{"\xc0\x80", false, false},
		{"é", false, true},
		{strings.Repeat("é", MaxBlobNameLen), false, true},
		{strings.Repeat("é", MaxBlobNameLen+1), false, false},
	} {
		if got := ValidContainerName(tt.name); got != tt.container {
			t.Errorf("ValidContainerName(%q) = %v", tt.name, got)
		}
		if got := ValidBlobName(tt.name); got != tt.blob {
			t.Errorf("ValidBlobName(%q) = %v", tt.name, got)
		}
	}
}

// recordingStore records appends; everything else is unused.
type recordingStore struct {
	Store
	appends int
	at      time.Time
}

func (r *recordingStore) AppendBlob(_ context.Context, _, _, _ string, _ []byte, now time.Time) error {
	r.appends++
	r.at = now
	return nil
}

func TestAppendValidates(t *testing.T) {
	st := &recordingStore{}
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.FixedZone("x", 3600))
	s, err := New(Config{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		account, container, name string
		size                     int
		want                     error
	}{
		{"a", "insights-logs-auditevent", "PT1H.json", 10, nil},
		{"", "insights-logs-auditevent", "PT1H.json", 10, ErrInvalidName},
		{"a", "Bad", "PT1H.json", 10, ErrInvalidName},
		{"a", "insights-logs-auditevent", "a/../b", 10, ErrInvalidName},
		{"a", "insights-logs-auditevent", "PT1H.json", MaxAppendBytes + 1, ErrTooLarge},
	} {
		if err := s.Append(ctx, tt.account, tt.container, tt.name, make([]byte, tt.size)); !errors.Is(err, tt.want) {
			t.Errorf("Append(%q, %q, %q, %d bytes) = %v, want %v", tt.account, tt.container, tt.name, tt.size, err, tt.want)
		}
	}
	if st.appends != 1 || st.at.Location() != time.UTC {
		t.Errorf("store saw %d appends at %v", st.appends, st.at)
	}
	if err := s.Append(ctx, "a", "abc", "x", nil); err != nil || st.appends != 1 {
		t.Errorf("empty append = %v, store calls %d", err, st.appends)
	}
}
