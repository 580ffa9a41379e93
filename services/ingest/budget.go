package ingest

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// errBusy: the requests in flight hold the whole byte budget; the client
// should retry after a while (429 with Retry-After).
var errBusy = errors.New("in-flight request bytes at the limit")

// budget bounds the memory of the requests in flight
// (FLOWLINE_INGEST_MAX_INFLIGHT_BYTES): each request takes room for a
// buffer before allocating it, so memory grows only with the bytes clients
// actually send, never with what a Content-Length claims. Safe for
// concurrent use; one per Service.
type budget struct {
	limit int64
	used  atomic.Int64
	gauge prometheus.Gauge // the bytes held, for the metric
}

// take reserves n bytes if they fit under the limit.
func (b *budget) take(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.gauge.Add(float64(n))
			return true
		}
	}
}

// force reserves n bytes whatever the limit: for memory a request already
// holds (an arena that grew while encoding its records).
func (b *budget) force(n int64) {
	b.used.Add(n)
	b.gauge.Add(float64(n))
}

// give returns n bytes.
func (b *budget) give(n int64) {
	b.used.Add(-n)
	b.gauge.Sub(float64(n))
}

// hold is what one request holds of the budget; owned by the request's
// goroutine.
type hold struct {
	b *budget
	n int64
}

// take reserves n more bytes, or fails with errBusy.
func (h *hold) take(n int64) error {
	if n <= 0 {
		return nil
	}
	if !h.b.take(n) {
		return errBusy
	}
	h.n += n
	return nil
}

// force reserves n more bytes whatever the limit.
func (h *hold) force(n int64) {
	if n > 0 {
		h.b.force(n)
		h.n += n
	}
}

// give returns n of the held bytes.
func (h *hold) give(n int64) {
	n = min(n, h.n)
	if n > 0 {
		h.b.give(n)
		h.n -= n
	}
}

// release returns everything the request holds.
func (h *hold) release() { h.give(h.n) }
