// Package lifecycle runs services: start downstream first, stop upstream
// first, drain on SIGTERM, and serve each process's admin endpoints
// (/healthz, /readyz, /metrics).
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Service is one Flowline service. Run blocks until ctx is cancelled (then it
// drains: finishes or abandons in-flight work without acking what is not
// done, and returns nil) or until it fails. Ready reports nil once the
// service is connected and caught up, else why not. Ready is called
// concurrently with Run.
type Service interface {
	Name() string
	Run(ctx context.Context) error
	Ready() error
}

// ErrStopped is returned by RunAll when a service stopped by itself.
var ErrStopped = errors.New("service stopped")

// RunAll starts services in order (list downstream services first) and runs
// them until ctx is cancelled or one of them fails. It then stops them in
// reverse order (upstream first), giving each up to drain to return.
func RunAll(ctx context.Context, log *slog.Logger, drain time.Duration, services ...Service) error {
	type running struct {
		svc    Service
		cancel context.CancelFunc
		done   chan error
	}
	failed := make(chan error, len(services))
	var all []running
	for _, s := range services {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r := running{svc: s, cancel: cancel, done: make(chan error, 1)}
		go func() {
			err := s.Run(sctx)
			if err == nil && sctx.Err() == nil {
				err = ErrStopped
			}
			if err != nil {
				failed <- fmt.Errorf("%s: %w", s.Name(), err)
			}
			r.done <- err
		}()
		all = append(all, r)
		log.Info("service started", "service", s.Name())
	}

	var firstErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: signal received")
	case firstErr = <-failed:
		log.Error("stopping: a service failed", "error", firstErr)
	}
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil && !errors.Is(err, context.Canceled) && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", r.svc.Name(), err)
			}
			log.Info("service stopped", "service", r.svc.Name())
		case <-time.After(drain):
			log.Warn("service did not drain in time", "service", r.svc.Name(), "timeout", drain)
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: drain timed out after %s", r.svc.Name(), drain)
			}
		}
	}
	return firstErr
}

// Companion wraps a service that runs beside a process's main service
// without being essential to it (the Zeebe import beside the push API): its
// readiness does not gate the process's, and if it fails, the failure is
// logged at ERROR and the rest of the process goes on.
func Companion(s Service, log *slog.Logger) Service { return companion{s, log} }

type companion struct {
	Service
	log *slog.Logger
}

func (c companion) Ready() error { return nil }

func (c companion) Run(ctx context.Context) error {
	if err := c.Service.Run(ctx); err != nil && ctx.Err() == nil {
		c.log.Error("companion service stopped; the others go on", "service", c.Name(), "error", err)
	}
	<-ctx.Done()
	return nil
}
