// Package zeebeimport is the Zeebe import: it reads the indices of Zeebe's
// Elasticsearch exporter (zeebe-record_*) of an existing installation and
// stores their records on the records stream through pkg/recordlog, as the
// push API does, so that dedupe by position and the safety of several
// replicas hold alike. It runs alone (`flowline zeebe-import`) or beside the
// push API in the ingest process when FLOWLINE_ZEEBE_IMPORT_URL is set
// (cmd/flowline wires that; services never import each other).
//
// Partitions are spread over the replicas with leases (pkg/lease, bucket
// FLOWLINE_ZEEBE_IMPORT_LEASE_BUCKET); each owned partition runs rounds
// (see round.go) and keeps its progress in FLOWLINE_ZEEBE_IMPORT_BUCKET.
// Pacing: after a round with a full page the next starts at once; after one
// that imported less, after BACKOFF_START; after rounds without new data the
// pause grows from BACKOFF_START ×BACKOFF_FACTOR up to BACKOFF_MAX, and any
// new data resets it. Failed rounds are redone after a jittered backoff up
// to BACKOFF_MAX.
package zeebeimport

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/bufpool"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/recordlog"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// Readiness conditions.
const (
	condNATS   = "connected to NATS"
	condSource = "connected to the exporter's Elasticsearch"
)

// Deps are what the import gets from its process.
type Deps = lifecycle.Deps

// Service is the Zeebe import. Create it with New and run it with Run; its
// partitions' rounds run concurrently, one goroutine per owned partition.
type Service struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	traces  trace.TracerProvider // the Elasticsearch client's spans
	metrics *metrics
	ready   *lifecycle.Readiness
	runner  *lease.Runner
}

// New returns the import; it does no I/O.
func New(cfg Config, deps Deps) *Service {
	cfg.Lease = cfg.Lease.For(leasePrefix)
	src := cfg.Source
	runner := lease.NewRunner(lease.RunnerConfig{
		Lease: cfg.Lease, Replicas: cfg.Streams.Replicas, Service: "zeebe-import", Registry: deps.Registry,
		Pacing: lease.Pacing{
			AfterProgress: src.BackoffStart.D(),
			IdleStart:     src.BackoffStart.D(), IdleFactor: src.BackoffFactor, IdleMax: src.BackoffMax.D(),
			RetryStart: src.BackoffStart.D(), RetryMax: src.BackoffMax.D(),
		},
	}, deps.Log.With("service", "zeebeimport", "index_prefix", src.IndexPrefix))
	log := deps.Log.With("service", "zeebeimport", "index_prefix", src.IndexPrefix, "replica", runner.ReplicaID())
	return &Service{
		cfg: cfg, log: log,
		tracer:  deps.Tracer.Tracer("flowline/zeebeimport"),
		traces:  deps.Tracer,
		metrics: newMetrics(deps.Registry),
		ready:   lifecycle.NewReadiness(condNATS, condSource),
		runner:  runner,
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "zeebe-import" }

// Ready implements lifecycle.Service: ready once connected to JetStream and
// to the exporter's Elasticsearch.
func (s *Service) Ready() error { return s.ready.Err() }

// Run imports until ctx is cancelled. It returns an error only when the
// import cannot work at all (e.g. a lease bucket with a shorter TTL).
func (s *Service) Run(ctx context.Context) error {
	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-zeebe-import", s.log, s.ready.Reporter(condNATS))
	if err != nil {
		return nil // cancelled: Open retries until JetStream answers
	}
	defer conn.Close()
	retry := backoff.New(s.cfg.Source.BackoffStart.D(), s.cfg.Source.BackoffMax.D())
	s.ready.Met(condNATS)

	es, err := search.NewClient(s.cfg.Source.Search(), search.ReportTo(search.NewRefusals(s.log, "FLOWLINE_ZEEBE_IMPORT_", s.cfg.Source.Elasticsearch(), s.ready)), search.TraceWith(s.traces))
	if err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	src := &zeebeSource{es: es, prefix: s.cfg.Source.IndexPrefix, pageSize: s.cfg.Source.PageSize}
	retry.Reset()
	if err := backoff.Retry(ctx, s.log, retry, "connecting to the exporter's Elasticsearch", func(ctx context.Context) error {
		err := search.Ping(ctx, es)
		if search.Misconfigured(err) {
			return backoff.Permanent(err)
		}
		return err
	}); err != nil {
		if ctx.Err() == nil {
			return fmt.Errorf("zeebe import: %w", err) // retrying cannot fix it
		}
		return nil // cancelled
	}
	retry.Reset()
	var progress *progressStore
	if err := backoff.Retry(ctx, s.log, retry, "opening the import progress bucket", func(ctx context.Context) error {
		progress, err = openProgress(ctx, conn.JS, s.cfg.Source.Bucket, s.cfg.Streams.Replicas)
		return err
	}); err != nil {
		return nil // cancelled
	}
	s.ready.Met(condSource)
	s.log.Info("importing the Zeebe exporter's indices", "page_size", s.cfg.Source.PageSize, "settle", s.cfg.Source.SettleTime(), "gap_watch", s.cfg.Source.GapWatch)

	var bufs bufpool.Pool
	records := recordlog.New(conn.JS, s.cfg.RecordStore, conn.Payloads, &bufs, s.metrics.publish)
	discover := cappedPartitions(s.cfg.RecordStore, s.log, src.partitions)
	if err := s.runner.Run(ctx, conn.JS, discover, func(p int32) (lease.Round, func()) {
		w := &partitionImport{
			p: p, src: src, progress: progress, records: records, limits: s.cfg.RecordStore,
			deadLetters: conn.Payloads.Publisher(conn.JS), holds: s.runner.Holds,
			metrics: s.metrics, tracer: s.tracer, log: s.log.With("partition", p),
			settle: s.cfg.Source.SettleTime(), gapWatch: s.cfg.Source.GapWatch.D(), eventsOnly: s.cfg.EventsOnly,
		}
		return w.paced, w.close
	}); err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	return nil
}
