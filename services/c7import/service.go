// Package c7import is the Camunda 7 import: it reads a Camunda 7 engine's
// history the way Camunda Optimize does, through the engine's Optimize REST
// API (pkg/c7), and stores it page by page on the FLOWLINE_C7 stream
// (flowline.c7.<source>.<kind>), from where the c7 fold turns it into
// documents. It runs alone (`flowline c7-import`) or in `flowline dev` when
// FLOWLINE_C7_URL is set.
//
// Each entity kind (c7.Kinds: running and completed process, activity and
// task instances, variable updates, identity links, open and completed
// incidents, user operations, decision instances, deployments with their
// definitions) is imported on its own, as Optimize's import services are:
// a lease per kind (pkg/lease, bucket FLOWLINE_C7_LEASE_BUCKET, by default
// one per source) spreads the kinds over the replicas; the kind's holder is
// its single producer, fetching pages after its import index, into a
// bounded queue (FLOWLINE_C7_QUEUE_SIZE) that executors
// (FLOWLINE_C7_CONCURRENCY) store; the index (FLOWLINE_C7_INDEX_BUCKET, key
// <source>.<kind>) moves, conditionally on the revision its holder last
// wrote, only past pages the broker confirmed. A crash loses nothing: the
// next holder fetches again from the stored index, and storing a page twice
// changes nothing downstream (the fold keeps the newest state of each
// entity). Idle kinds back off linearly like Optimize's: interval × empty
// rounds in a row, up to the maximum.
package c7import

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/stream"
)

// Readiness conditions.
const (
	condNATS   = "connected to NATS"
	condEngine = "reading the Camunda 7 engine"
)

// deadLetterService names the import's dead-letter subject
// (flowline.dlq.c7-import).
const deadLetterService = "c7-import"

// Deps are what the import gets from its process.
type Deps = lifecycle.Deps

// Service is the Camunda 7 import. Create it with New and run it with Run;
// its kinds run concurrently, one producer goroutine per owned kind.
type Service struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	ready   *lifecycle.Readiness
	runner  *lease.Runner
}

// New returns the import; it does no I/O. The default lease bucket is one
// of the source's own, so that imports of several engines never share
// leases.
func New(cfg Config, deps Deps) *Service {
	cfg.Lease = cfg.Lease.For(leasePrefix)
	if cfg.Lease.Bucket == config.DefaultLeaseBucket(leasePrefix) {
		cfg.Lease.Bucket += "-" + cfg.Engine.Source
	}
	e := cfg.Engine
	log := deps.Log.With("service", "c7import", "source", e.Source)
	metrics := newMetrics(deps.Registry)
	runner := lease.NewRunner(lease.RunnerConfig{
		Lease: cfg.Lease, Replicas: cfg.Streams.Replicas, Service: "c7-import", Registry: deps.Registry, Errors: metrics.errors,
		Pacing: lease.Pacing{
			IdleStart: e.BackoffInterval.D(), IdleFactor: 1, IdleStep: e.BackoffInterval.D(), IdleMax: e.BackoffMax.D(),
			RetryStart: e.BackoffInterval.D(), RetryMax: e.BackoffMax.D(),
		},
	}, log)
	return &Service{
		cfg: cfg, log: log.With("replica", runner.ReplicaID()),
		metrics: metrics,
		ready:   lifecycle.NewReadiness(condNATS, condEngine),
		runner:  runner,
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "c7-import" }

// Ready implements lifecycle.Service: ready once connected to JetStream and
// while the engine answers.
func (s *Service) Ready() error { return s.ready.Err() }

// Run imports until ctx is cancelled. It returns an error only when the
// import cannot work at all.
func (s *Service) Run(ctx context.Context) error {
	e := s.cfg.Engine
	engine, err := c7.New(e.client())
	if err != nil {
		return fmt.Errorf("c7 import: %w", err)
	}
	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-c7-import", s.log, s.ready.Reporter(condNATS))
	if err != nil {
		return nil // cancelled: Open retries until JetStream answers
	}
	defer conn.Close()
	s.ready.Met(condNATS)

	retry := backoff.New(e.BackoffInterval.D(), e.BackoffMax.D())
	if err := backoff.Retry(ctx, s.log, retry, "reaching the Camunda 7 engine", func(ctx context.Context) error {
		err := engine.Ping(ctx)
		s.reportEngine(err)
		return err
	}); err != nil {
		return nil // cancelled
	}
	retry.Reset()
	var index *indexStore
	if err := backoff.Retry(ctx, s.log, retry, "opening the import index bucket", func(ctx context.Context) error {
		index, err = openIndexStore(ctx, conn.JS, e.IndexBucket, e.Source, s.cfg.Streams.Replicas)
		return err
	}); err != nil {
		return nil // cancelled
	}
	s.log.Info("importing the Camunda 7 engine's history", "engine", config.Redact(e.URL), "name", e.Name,
		"page_size", e.PageSize, "settle", e.Settle, "queue_size", e.QueueSize, "concurrency", e.Concurrency)

	pages := conn.Payloads.Publisher(conn.JS)
	discover := func(context.Context) ([]int32, error) {
		ps := make([]int32, len(c7.Kinds))
		for i := range ps {
			ps[i] = int32(i)
		}
		return ps, nil
	}
	if err := s.runner.Run(ctx, conn.JS, discover, func(p int32) (lease.Round, func()) {
		kind := c7.Kinds[p]
		k := &kindImport{
			kind: kind, source: e.Source, engine: engine, index: index,
			pages: pages, deadLetters: pages, inline: conn.Payloads.InlineLimit(),
			cfg: e, holds: func() bool { return s.runner.Holds(p) },
			metrics: s.metrics, log: s.log.With("kind", kind.Name),
		}
		return func(ctx context.Context) (lease.Outcome, error) {
			o, err := k.round(ctx)
			s.reportEngine(err)
			s.reportKind(kind.Name, err)
			return o, err
		}, k.close
	}); err != nil {
		return fmt.Errorf("c7 import: %w", err)
	}
	return nil
}

// reportEngine keeps the engine's readiness condition: unmet while the
// engine refuses the credentials or does not serve the engine (said at
// ERROR: retrying will not help until an operator acts) or does not answer;
// met when a request succeeds.
func (s *Service) reportEngine(err error) {
	switch {
	case err == nil:
		s.ready.Met(condEngine)
	case errors.Is(err, c7.ErrAuth), errors.Is(err, c7.ErrNotFound):
		s.log.Error("the Camunda 7 engine refuses the import; fix the settings named", "error", err,
			"settings", "FLOWLINE_C7_URL, FLOWLINE_C7_ENGINE, FLOWLINE_C7_USERNAME, FLOWLINE_C7_PASSWORD")
		s.ready.Unmet(condEngine, err.Error())
	case errors.Is(err, c7.ErrUnavailable):
		s.ready.Unmet(condEngine, err.Error())
	}
}

// reportKind keeps a kind's own readiness condition: unmet (and said at
// ERROR) while the kind cannot move on by itself — a full page without an
// importable entity, an answer too large — so that one stuck kind shows
// although the others import; met again once a round of it succeeds.
func (s *Service) reportKind(kind string, err error) {
	cond := "importing " + kind
	switch {
	case err == nil:
		s.ready.Met(cond)
	case errors.Is(err, errNoProgress), errors.Is(err, c7.ErrPageTooLarge):
		s.log.Error("a kind cannot move on", "kind", kind, "error", err)
		s.ready.Unmet(cond, err.Error())
	}
}
