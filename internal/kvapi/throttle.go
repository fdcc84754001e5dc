package kvapi

import (
	"sync"
	"time"
)

// limiter is a token bucket per vault: a vault may burst up to its
// capacity, and earns capacity/window tokens per second. A refused request
// takes no token, as Azure does not count rejected requests
// (reference/keyvault-wire.md §5). The state is per process; with several
// replicas each enforces the limit on its own share of the traffic.
type limiter struct {
	capacity float64
	rate     float64 // tokens per second
	window   time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns the limiter for t, or nil (no limit) when
// t.Requests is negative.
func newLimiter(t Throttle) *limiter {
	if t.Requests < 0 {
		return nil
	}
	if t.Requests == 0 {
		t.Requests = DefaultThrottleRequests
	}
	if t.Window <= 0 {
		t.Window = DefaultThrottleWindow
	}
	return &limiter{capacity: float64(t.Requests), rate: float64(t.Requests) / t.Window.Seconds(), window: t.Window,
		buckets: make(map[string]*bucket)}
}

// allow takes a token from key's bucket, or says how long until one is
// available.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.capacity, last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.capacity, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
}

// sweep forgets, once per window, the buckets that have refilled: they
// are indistinguishable from new ones. It keeps memory bounded by the
// vaults active within a window.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.capacity {
			delete(l.buckets, k)
		}
	}
}
