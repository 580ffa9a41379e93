// Package backoff is jittered exponential backoff and a retry loop built on
// it, shared by every service's data path.
package backoff

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Backoff yields growing, jittered delays. Not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// New returns a backoff from min to max, doubling.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next returns the next delay: the nominal delay doubles from Min up to Max,
// and the returned one is jittered into [nominal/2, nominal].
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.Max)
	return d/2 + rand.N(d/2+1)
}

// Reset starts again from Min.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx is done, reporting whether it waited fully.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Retry calls op until it returns nil, or a permanent error (see Permanent),
// or ctx is done. Each failure is logged at WARN with what; the delays come
// from b.
func Retry(ctx context.Context, log *slog.Logger, b *Backoff, what string, op func(context.Context) error) error {
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		var perm permanent
		if errors.As(err, &perm) {
			return perm.err
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		d := b.Next()
		log.WarnContext(ctx, what+" failed, retrying", "error", err, "retry_in", d)
		if !Sleep(ctx, d) {
			return errors.Join(err, ctx.Err())
		}
	}
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: Retry returns it at once.
func Permanent(err error) error { return permanent{err} }
