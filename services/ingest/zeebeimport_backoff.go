package ingest

import "time"

// pollBackoff is the importer's idle pause: Start after the first round
// without new data, then ×Factor per further idle round up to Max, and Start
// again after Reset. Unlike pkg/backoff it is not jittered: it paces polling
// of a source, not retries against an overloaded one. One per partition
// worker; not safe for concurrent use.
type pollBackoff struct {
	start, max time.Duration
	factor     float64
	cur        time.Duration
}

func newPollBackoff(start time.Duration, factor float64, max time.Duration) *pollBackoff {
	return &pollBackoff{start: start, factor: factor, max: max}
}

// Next returns the pause for this idle round and grows the next one.
func (b *pollBackoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.start
	}
	d := b.cur
	b.cur = min(time.Duration(float64(b.cur)*b.factor), b.max)
	return d
}

// Reset starts again from start (new data arrived).
func (b *pollBackoff) Reset() { b.cur = 0 }
