package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/lifecycle"
)

// Run starts services (downstream first) and waits until all are ready. The
// returned stop cancels them (upstream first) and waits for them to return;
// it runs at cleanup too, and is idempotent.
func Run(t testing.TB, services ...lifecycle.Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lifecycle.RunAll(ctx, Logger(t), 30*time.Second, services...) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("services stopped with error: %v", err)
		}
	}
	t.Cleanup(stop)
	Eventually(t, 60*time.Second, func() error {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("services stopped before becoming ready: %v", err)
		default:
		}
		for _, s := range services {
			if err := s.Ready(); err != nil {
				return err
			}
		}
		return nil
	})
	return stop
}
