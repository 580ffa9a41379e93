package backoff

import "time"

// Poll is the pause between polls of a source that had nothing new: Start
// after the first empty poll, then ×Factor plus Step per further empty poll
// up to Max, and Start again after Reset (Factor 1 and Step = Start is
// Optimize's linear backoff: Start × the number of empty polls). Unlike Backoff it is not jittered: it
// paces polling, not retries against an overloaded peer. Not safe for
// concurrent use.
type Poll struct {
	Start, Max time.Duration
	Factor     float64
	Step       time.Duration
	cur        time.Duration
}

// NewPoll returns a poll pause from start, growing by factor up to max.
func NewPoll(start time.Duration, factor float64, max time.Duration) *Poll {
	return &Poll{Start: start, Factor: factor, Max: max}
}

// Next returns the pause after this empty poll and grows the next one.
func (b *Poll) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Start
	}
	d := b.cur
	b.cur = min(time.Duration(float64(b.cur)*b.Factor)+b.Step, b.Max)
	return d
}

// Reset starts again from Start (new data arrived).
func (b *Poll) Reset() { b.cur = 0 }
