package audit

import (
	"cmp"
	"context"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Insights summarise a vault's trail over a time range, in the spirit of
// Azure's Key Vault Insights workbook (reference/keyvault-wire.md §4.4):
// operations over time, failures by status, latency percentiles and the
// busiest callers.
//
// They are computed from rollups, not from the records: the store keeps,
// in the transaction that appends a batch of records, one row per
// (resource, minute, operation, HTTP status) with a count and a latency
// histogram, and one row per (resource, hour, caller) with a count. A
// query sums the rows of its range, so its cost follows the length of the
// range, not the number of records.

// HistogramBuckets is the number of latency buckets of a rollup.
const HistogramBuckets = 24

// Histogram counts records by latency on a log-2 scale: bucket i holds
// the records with DurationMs <= 2^i (bucket 0: <= 1 ms), the last one
// also those above 2^(HistogramBuckets-1) ms.
type Histogram [HistogramBuckets]int64

// LatencyBucket returns the histogram bucket of a duration in ms.
func LatencyBucket(ms int64) int {
	if ms <= 1 {
		return 0
	}
	// The smallest i with 2^i >= ms.
	return min(bits.Len64(uint64(ms-1)), HistogramBuckets-1)
}

// BucketBound returns the upper bound, in ms, of histogram bucket i.
func BucketBound(i int) int64 { return 1 << i }

// Add counts one record of ms milliseconds.
func (h *Histogram) Add(ms int64) { h[LatencyBucket(ms)]++ }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Quantile returns the upper bound of the bucket holding the q-quantile
// (0 < q <= 1) of the counted records: a bound, not an exact value, so
// p50 of 3 ms reads 4. 0 when h is empty.
func (h *Histogram) Quantile(q float64) int64 {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(total))), 1)
	var seen int64
	for i, n := range h {
		if seen += n; seen >= rank {
			return BucketBound(i)
		}
	}
	return BucketBound(HistogramBuckets - 1)
}

// OperationRollup counts the records of one resource, interval, operation
// and HTTP status.
type OperationRollup struct {
	Time       time.Time // start of the interval
	Operation  OperationName
	HTTPStatus int
	Records    int64
	Latency    Histogram
}

// CallerCount is the number of records of one caller object id.
type CallerCount struct {
	ObjectID string
	Records  int64
}

// RollupStore reads the rollups. The SQL store implements it; a Store
// without it answers Insights with Unavailable.
type RollupStore interface {
	// AuditRollups returns id's operation rollups of the minutes in
	// [from, to), summed per interval (a whole number of minutes dividing
	// an hour or a day): Time is the start of the interval, and the
	// store sums the rows where they are.
	AuditRollups(ctx context.Context, id resource.ID, from, to time.Time, interval time.Duration) ([]OperationRollup, error)
	// AuditTopCallers returns up to n callers of id with the most records
	// in the hours from <= hour < to, most first, then by object id.
	AuditTopCallers(ctx context.Context, id resource.ID, from, to time.Time, n int) ([]CallerCount, error)
}

// Insights is a summary of a resource's records in [From, To).
type Insights struct {
	// From and To are the range summarised: the request's, widened to
	// whole minutes (rollups are per minute).
	From, To time.Time
	// Interval is the width of a Timeline point: a minute for ranges up
	// to MinuteTimelineMax, an hour beyond.
	Interval time.Duration
	// Timeline counts records per interval and operation, in time then
	// operation order; intervals without records are absent.
	Timeline []TimelinePoint
	// Failures counts records answered with HTTP status >= 400, per
	// status, in status order.
	Failures []StatusCount
	// P50Ms, P95Ms and P99Ms are latency percentiles, as the upper bound
	// of their histogram bucket (see Histogram.Quantile).
	P50Ms, P95Ms, P99Ms int64
	// TopCallers are the TopCallers callers with the most records, counted
	// over the whole hours that overlap the range (caller rollups are per
	// hour).
	TopCallers []CallerCount
	// Records is the number of records in the range.
	Records int64
}

// TimelinePoint is the count of one operation in one interval.
type TimelinePoint struct {
	Time      time.Time
	Operation OperationName
	Records   int64
}

// StatusCount is the count of records answered with one HTTP status.
type StatusCount struct {
	HTTPStatus int
	Records    int64
}

// Insights limits.
const (
	// MinuteTimelineMax is the longest range whose timeline is per minute.
	MinuteTimelineMax = 6 * time.Hour
	// MaxInsightsRange is the longest range Insights summarises.
	MaxInsightsRange = 31 * 24 * time.Hour
	// TopCallers is the number of callers Insights reports.
	TopCallers = 10
)

// Insights summarises id's records with from <= Time < to.
func (w *Writer) Insights(ctx context.Context, id resource.ID, from, to time.Time) (Insights, error) {
	rs, ok := w.store.(RollupStore)
	if !ok {
		return Insights{}, errkind.E(errkind.Unavailable, "audit: insights are not available on this store")
	}
	if !from.Before(to) {
		return Insights{}, errkind.E(errkind.Invalid, "audit: the time range is empty")
	}
	from, to = from.UTC().Truncate(time.Minute), to.UTC()
	if t := to.Truncate(time.Minute); !t.Equal(to) {
		to = t.Add(time.Minute)
	}
	if to.Sub(from) > MaxInsightsRange {
		return Insights{}, errkind.E(errkind.Invalid, "audit: the time range is longer than %d days", MaxInsightsRange/(24*time.Hour))
	}
	interval := timelineInterval(from, to)
	rows, err := rs.AuditRollups(ctx, id, from, to, interval)
	if err != nil {
		return Insights{}, err
	}
	callers, err := rs.AuditTopCallers(ctx, id, from.Truncate(time.Hour), to, TopCallers)
	if err != nil {
		return Insights{}, err
	}
	in := Summarize(rows, from, to)
	in.TopCallers = callers
	return in, nil
}

// Summarize merges rollup rows of [from, to) into Insights (without
// TopCallers).
func Summarize(rows []OperationRollup, from, to time.Time) Insights {
	in := Insights{From: from, To: to, Interval: timelineInterval(from, to)}
	type point struct {
		t  int64
		op OperationName
	}
	var (
		timeline = map[point]int64{}
		failures = map[int]int64{}
		latency  Histogram
	)
	for i := range rows {
		r := &rows[i]
		in.Records += r.Records
		timeline[point{r.Time.Truncate(in.Interval).Unix(), r.Operation}] += r.Records
		if r.HTTPStatus >= 400 {
			failures[r.HTTPStatus] += r.Records
		}
		latency.Merge(&r.Latency)
	}
	for p, n := range timeline {
		in.Timeline = append(in.Timeline, TimelinePoint{Time: time.Unix(p.t, 0).UTC(), Operation: p.op, Records: n})
	}
	slices.SortFunc(in.Timeline, func(a, b TimelinePoint) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(string(a.Operation), string(b.Operation)))
	})
	for s, n := range failures {
		in.Failures = append(in.Failures, StatusCount{HTTPStatus: s, Records: n})
	}
	slices.SortFunc(in.Failures, func(a, b StatusCount) int { return cmp.Compare(a.HTTPStatus, b.HTTPStatus) })
	in.P50Ms, in.P95Ms, in.P99Ms = latency.Quantile(0.50), latency.Quantile(0.95), latency.Quantile(0.99)
	return in
}

// timelineInterval is the width of a timeline point for [from, to).
func timelineInterval(from, to time.Time) time.Duration {
	if to.Sub(from) > MinuteTimelineMax {
		return time.Hour
	}
	return time.Minute
}
