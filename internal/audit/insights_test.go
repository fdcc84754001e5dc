package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/errkind"
)

func TestLatencyBucket(t *testing.T) {
	tests := []struct {
		ms   int64
		want int
	}{
		{-1, 0}, {0, 0}, {1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {1024, 10}, {1025, 11},
		{1 << 23, 23}, {1<<23 + 1, 23}, {1 << 40, 23},
	}
	for _, tt := range tests {
		if got := audit.LatencyBucket(tt.ms); got != tt.want {
			t.Errorf("LatencyBucket(%d) = %d, want %d", tt.ms, got, tt.want)
		}
		if tt.ms >= 0 && tt.ms <= 1<<23 && audit.BucketBound(tt.want) < tt.ms {
			t.Errorf("bound of bucket %d is %d, below %d", tt.want, audit.BucketBound(tt.want), tt.ms)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h audit.Histogram
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("empty p50 = %d, want 0", got)
	}
	// 90 records of 3 ms, 9 of 100 ms, 1 of 5 s.
	for range 90 {
		h.Add(3)
	}
	for range 9 {
		h.Add(100)
	}
	h.Add(5000)
	for _, tt := range []struct {
		q    float64
		want int64
	}{{0.5, 4}, {0.9, 4}, {0.95, 128}, {0.99, 128}, {1, 8192}} {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	from := at.Truncate(time.Hour)
	hist := func(ms ...int64) audit.Histogram {
		var h audit.Histogram
		for _, m := range ms {
			h.Add(m)
		}
		return h
	}
	rows := []audit.OperationRollup{
		{Time: from, Operation: audit.SecretGet, HTTPStatus: 200, Records: 2, Latency: hist(1, 2)},
		{Time: from, Operation: audit.SecretGet, HTTPStatus: 403, Records: 1, Latency: hist(1)},
		{Time: from.Add(time.Minute), Operation: audit.SecretSet, HTTPStatus: 404, Records: 1, Latency: hist(30)},
		{Time: from.Add(2 * time.Hour), Operation: audit.SecretGet, HTTPStatus: 200, Records: 1, Latency: hist(1)},
	}
	got := audit.Summarize(rows, from, from.Add(time.Hour))
	want := audit.Insights{From: from, To: from.Add(time.Hour), Interval: time.Minute,
		Timeline: []audit.TimelinePoint{{Time: from, Operation: audit.SecretGet, Records: 3},
			{Time: from.Add(time.Minute), Operation: audit.SecretSet, Records: 1},
			{Time: from.Add(2 * time.Hour), Operation: audit.SecretGet, Records: 1}},
		Failures: []audit.StatusCount{{HTTPStatus: 403, Records: 1}, {HTTPStatus: 404, Records: 1}},
		P50Ms:    1, P95Ms: 32, P99Ms: 32, Records: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize per minute (-want +got):\n%s", diff)
	}
	// Beyond MinuteTimelineMax the timeline is per hour.
	got = audit.Summarize(rows, from, from.Add(24*time.Hour))
	wantTimeline := []audit.TimelinePoint{{Time: from, Operation: audit.SecretGet, Records: 3},
		{Time: from, Operation: audit.SecretSet, Records: 1}, {Time: from.Add(2 * time.Hour), Operation: audit.SecretGet, Records: 1}}
	if diff := cmp.Diff(wantTimeline, got.Timeline); diff != "" || got.Interval != time.Hour {
		t.Errorf("Summarize per hour: interval %v (-want +got):\n%s", got.Interval, diff)
	}
}

// TestWriterInsights writes records through the Writer and reads them
// back as insights, on every backend.
func TestWriterInsights(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		w := newWriter(t, audit.Config{Store: openStore(t, b.cfg(t))})
		v, other := vaultID("insights"), vaultID("other")
		for n := range 10 {
			r := record(v, n)
			r.Time = at.Add(time.Duration(n) * 20 * time.Second)
			switch n {
			case 3:
				r.Properties.HTTPStatusCode, r.ResultType = 403, audit.Failure
				r.Identity.ObjectID = "11111111-0000-4000-8000-000000000001"
			case 4, 5:
				r.Properties.HTTPStatusCode, r.ResultType = 404, audit.Failure
			}
			if err := w.Record(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Record(ctx, record(other, 1)); err != nil {
			t.Fatal(err)
		}
		// at is 12:00:00.123: the range widens to whole minutes.
		in, err := w.Insights(ctx, v, at, at.Add(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		minute := at.Truncate(time.Minute)
		want := audit.Insights{From: minute, To: minute.Add(4 * time.Minute), Interval: time.Minute,
			Timeline: []audit.TimelinePoint{{Time: minute, Operation: audit.SecretGet, Records: 3},
				{Time: minute.Add(time.Minute), Operation: audit.SecretGet, Records: 3},
				{Time: minute.Add(2 * time.Minute), Operation: audit.SecretGet, Records: 3},
				{Time: minute.Add(3 * time.Minute), Operation: audit.SecretGet, Records: 1}},
			Failures: []audit.StatusCount{{HTTPStatus: 403, Records: 1}, {HTTPStatus: 404, Records: 2}},
			P50Ms:    4, P95Ms: 16, P99Ms: 16, Records: 10,
			TopCallers: []audit.CallerCount{{ObjectID: "0b7a2c4e-0000-4000-8000-00000000000a", Records: 9},
				{ObjectID: "11111111-0000-4000-8000-000000000001", Records: 1}}}
		if diff := cmp.Diff(want, in); diff != "" {
			t.Errorf("Insights (-want +got):\n%s", diff)
		}
		for _, r := range [][2]time.Time{{at, at}, {at, at.Add(-time.Hour)}, {at, at.Add(32 * 24 * time.Hour)}} {
			if _, err := w.Insights(ctx, v, r[0], r[1]); errkind.KindOf(err) != errkind.Invalid {
				t.Errorf("Insights(%v, %v) error = %v, want Invalid", r[0], r[1], err)
			}
		}
	})
}

// BenchmarkInsightsQuery measures Writer.Insights over a vault holding
// 1,000,000 records spread over 24 hours (about 11.6 per second: 6
// operations, 4 statuses, 50 callers), on SQLite. The records go into the
// store directly in batches of 20,000 (one transaction each), not through
// the writer, to keep the setup short. The target: ≤ 100 ms per query.
func BenchmarkInsightsQuery(b *testing.B) {
	const total, batch = 1_000_000, 20_000
	s := openStore(b, backends()[0].cfg(b))
	w := newWriter(b, audit.Config{Store: s})
	v := vaultID("bench-insights")
	ops := []audit.OperationName{audit.SecretGet, audit.SecretGet, audit.SecretGet, audit.SecretList, audit.SecretSet, audit.SecretDelete}
	statuses := []int{200, 200, 200, 200, 200, 200, 200, 404, 403, 401}
	start := at.Truncate(time.Hour)
	step := 24 * time.Hour / total
	recs := make([]audit.Record, batch)
	setup := time.Now()
	for n := 0; n < total; n += batch {
		for i := range recs {
			k := n + i
			r := record(v, k)
			r.Time = start.Add(time.Duration(k) * step)
			r.OperationName = ops[k%len(ops)]
			r.Properties.HTTPStatusCode = statuses[(k/7)%len(statuses)]
			r.DurationMs = int64(k*7919) % 200
			r.Identity.ObjectID = fmt.Sprintf("0b7a2c4e-0000-4000-8000-%012d", (k*31)%50)
			recs[i] = r
		}
		if err := s.AppendAudit(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("setup: %d records in %v", total, time.Since(setup).Round(time.Millisecond))
	for _, span := range []time.Duration{time.Hour, 24 * time.Hour} {
		b.Run("since="+span.String(), func(b *testing.B) {
			end := start.Add(24 * time.Hour)
			var in audit.Insights
			for b.Loop() {
				var err error
				if in, err = w.Insights(ctx, v, end.Add(-span), end); err != nil {
					b.Fatal(err)
				}
			}
			if span == 24*time.Hour && in.Records != total {
				b.Fatalf("insights count %d records, want %d", in.Records, total)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
