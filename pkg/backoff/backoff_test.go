package backoff

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestNextGrowsWithinJitterAndCaps(t *testing.T) {
	b := New(100*time.Millisecond, 800*time.Millisecond)
	nominal := []time.Duration{100, 200, 400, 800, 800, 800}
	for i, n := range nominal {
		n *= time.Millisecond
		d := b.Next()
		if d < n/2 || d > n {
			t.Fatalf("step %d: %v outside [%v, %v]", i, d, n/2, n)
		}
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
}

func TestRetry(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	calls := 0
	err := Retry(context.Background(), log, New(time.Millisecond, time.Millisecond), "op", func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("transient")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}

	sentinel := errors.New("bad input")
	calls = 0
	err = Retry(context.Background(), log, New(time.Millisecond, time.Millisecond), "op", func(context.Context) error {
		calls++
		return Permanent(sentinel)
	})
	if !errors.Is(err, sentinel) || calls != 1 {
		t.Fatalf("permanent: err=%v calls=%d", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Retry(ctx, log, New(time.Millisecond, time.Millisecond), "op", func(context.Context) error { return errors.New("down") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err=%v", err)
	}
}
