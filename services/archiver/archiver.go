// Package archiver is the archiver service. It will move completed process
// instances, with everything that belongs to them, into dated historical
// indices; for now it connects to NATS and Elasticsearch and reports ready.
package archiver

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// Config is the archiver's configuration.
type Config struct {
	NATS  config.NATS          `envconfig:"NATS"`
	ES    config.Elasticsearch `envconfig:"ES"`
	Index config.Index         `envconfig:"INDEX"`
}

// Validate implements config.Validator.
func (c Config) Validate() error { return config.ValidateAll(c.NATS, c.ES, c.Index) }

// Deps are what the archiver needs from its process.
type Deps struct {
	Log      *slog.Logger
	Tracer   trace.TracerProvider
	Registry prometheus.Registerer
}

// Service is the archiver.
type Service struct {
	cfg   Config
	log   *slog.Logger
	ready *lifecycle.Readiness
}

// New returns an archiver; it does no I/O.
func New(cfg Config, deps Deps) *Service {
	return &Service{
		cfg:   cfg,
		log:   deps.Log.With("service", "archiver"),
		ready: lifecycle.NewReadiness("connected to NATS", "connected to Elasticsearch"),
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "archiver" }

// Ready implements lifecycle.Service.
func (s *Service) Ready() error { return s.ready.Err() }

// Run connects and waits until ctx is cancelled.
func (s *Service) Run(ctx context.Context) error {
	conn, err := stream.Connect(ctx, s.cfg.NATS, "flowline-archiver", s.log)
	if err != nil {
		return fmt.Errorf("archiver: %w", err)
	}
	defer conn.Close()
	s.ready.Met("connected to NATS")
	es, err := search.NewClient(s.cfg.ES)
	if err != nil {
		return fmt.Errorf("archiver: %w", err)
	}
	err = backoff.Retry(ctx, s.log, backoff.New(500*time.Millisecond, 15*time.Second), "reaching Elasticsearch",
		func(ctx context.Context) error { return search.Ping(ctx, es) })
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("archiver: %w", err)
	}
	s.ready.Met("connected to Elasticsearch")
	<-ctx.Done()
	return nil
}
