package ingest

// The Zeebe import reads the indices of Zeebe's Elasticsearch exporter
// (zeebe-record_*) of an existing installation and stores their records as
// the push API does: through the partition's log, so that dedupe by
// position and the safety of several ingest replicas hold alike. It runs
// inside the ingest service when FLOWLINE_ZEEBE_IMPORT_URL is set, or alone
// (`flowline zeebe-import`, NewImporter).
//
// Partitions are spread over the replicas with leases (pkg/lease, bucket
// FLOWLINE_ZEEBE_IMPORT_LEASE_BUCKET); each owned partition has one worker
// goroutine that runs rounds (see zeebeimport_round.go) and keeps its
// progress in FLOWLINE_ZEEBE_IMPORT_BUCKET. Pacing: after a round with a
// full page the next starts at once; after one that imported less, after
// BACKOFF_START; after rounds without new data the pause grows from
// BACKOFF_START ×BACKOFF_FACTOR up to BACKOFF_MAX, and any new data resets
// it. Failed rounds are redone after a jittered backoff up to BACKOFF_MAX.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// condSource is the readiness condition of a standalone import.
const condSource = "connected to the exporter's Elasticsearch"

// zeebeImporter is the import of one ingest service. Its fields are set
// before run; partition workers run concurrently, one per owned partition.
type zeebeImporter struct {
	s       *Service
	cfg     ZeebeImport
	log     *slog.Logger
	metrics *importMetrics

	src      *zeebeSource
	progress *progressStore
	leases   atomic.Pointer[lease.Manager]
}

func newZeebeImporter(s *Service, cfg ZeebeImport, reg prometheus.Registerer) *zeebeImporter {
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = lease.DefaultReplicaID()
	}
	return &zeebeImporter{
		s: s, cfg: cfg, metrics: newImportMetrics(reg),
		log: s.log.With("component", "zeebe-import", "index_prefix", cfg.IndexPrefix, "replica", cfg.ReplicaID),
	}
}

// NewImporter returns the Zeebe import without the push API (`flowline
// zeebe-import`); it does no I/O. Run it with Run like the ingest service.
func NewImporter(cfg ImportConfig, deps Deps) *Service {
	s := New(cfg.ingestConfig(), deps)
	s.importOnly = true
	s.ready = lifecycle.NewReadiness("connected to NATS", condSource)
	return s
}

// runImportOnly is Run of a service made by NewImporter.
func (s *Service) runImportOnly(ctx context.Context) error {
	conn, err := stream.Connect(ctx, s.cfg.NATS, "flowline-zeebe-import", s.log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("zeebe import: %w", err)
	}
	defer conn.Close()
	if err := stream.EnsureStreams(ctx, conn.JS, s.cfg.Streams); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("zeebe import: %w", err)
	}
	s.js = conn.JS
	s.conn.Store(true)
	s.ready.Met("connected to NATS")
	return s.zimp.run(ctx)
}

// startImport starts the import, if configured, once s is connected to
// JetStream; the returned function cancels it and waits for it to return.
// A failing import is logged; the push API goes on.
func (s *Service) startImport(ctx context.Context) (stop func()) {
	if s.zimp == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.zimp.run(ctx); err != nil {
			s.zimp.log.Error("Zeebe import stopped", "error", err)
		}
	}()
	return func() { cancel(); <-done }
}

// appendImported stores records of partition p (in position order) through
// the partition's log, exactly as the push API stores a request.
func (s *Service) appendImported(ctx context.Context, p int32, records []*recordv1.Record) (appendResult, error) {
	wires, err := encodeRecords(records)
	if err != nil {
		return appendResult{}, fmt.Errorf("partition %d: %w", p, err)
	}
	return s.parts.get(p).append(ctx, s, wires)
}

// run imports until ctx is cancelled. It returns an error only when the
// import cannot work at all (e.g. a lease bucket with a shorter TTL).
func (z *zeebeImporter) run(ctx context.Context) error {
	es, err := search.NewClient(z.cfg.Elasticsearch())
	if err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	z.src = &zeebeSource{es: es, prefix: z.cfg.IndexPrefix, pageSize: z.cfg.PageSize}
	retry := backoff.New(z.cfg.BackoffStart, z.cfg.BackoffMax)
	if err := backoff.Retry(ctx, z.log, retry, "connecting to the exporter's Elasticsearch", func(ctx context.Context) error {
		return search.Ping(ctx, es)
	}); err != nil {
		return nil // cancelled
	}
	retry.Reset()
	if err := backoff.Retry(ctx, z.log, retry, "opening the import progress bucket", func(ctx context.Context) error {
		ps, err := openProgress(ctx, z.s.js, z.cfg.Bucket, z.s.cfg.Streams.Replicas)
		z.progress = ps
		return err
	}); err != nil {
		return nil // cancelled
	}
	z.s.ready.Met(condSource)
	z.log.Info("importing the Zeebe exporter's indices", "page_size", z.cfg.PageSize, "settle", z.cfg.Settle)

	leases := lease.New(z.s.js, lease.Config{
		Bucket: z.cfg.LeaseBucket, ReplicaID: z.cfg.ReplicaID, TTL: z.cfg.LeaseTTL, Replicas: z.s.cfg.Streams.Replicas,
	}, z.log)
	z.leases.Store(leases)
	if err := leases.Run(ctx, z.src.partitions, z.work); err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	return nil
}

// holds reports whether this replica may still store partition p's records.
func (z *zeebeImporter) holds(p int32) bool {
	l := z.leases.Load()
	return l != nil && l.Holds(p)
}

// work imports partition p while this replica holds its lease.
func (z *zeebeImporter) work(ctx context.Context, p int32) {
	log := z.log.With("partition", p)
	log.Info("importing partition")
	defer log.Info("partition given up", "cause", context.Cause(ctx))
	w := &partitionImport{z: z, p: p}
	idle := newPollBackoff(z.cfg.BackoffStart, z.cfg.BackoffFactor, z.cfg.BackoffMax)
	failing := backoff.New(z.cfg.BackoffStart, z.cfg.BackoffMax)
	lag := z.metrics.lag.WithLabelValues(strconv.Itoa(int(p)))
	defer z.metrics.lag.DeleteLabelValues(strconv.Itoa(int(p)))
	for ctx.Err() == nil {
		res, err := w.round(ctx)
		var pause time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil || errors.Is(err, errLeaseGone) {
				return
			}
			w.loaded = false // re-read the progress: a conflict means someone else moved it
			z.metrics.errors.Inc()
			z.metrics.rounds.WithLabelValues("error").Inc()
			pause = failing.Next()
			log.Warn("import round failed; it is redone", "error", err, "retry_in", pause)
		case res.full && res.taken > 0:
			failing.Reset()
			idle.Reset()
			z.metrics.rounds.WithLabelValues("full").Inc()
		case res.taken > 0 || res.held:
			failing.Reset()
			idle.Reset()
			pause = z.cfg.BackoffStart
			z.metrics.rounds.WithLabelValues("partial").Inc()
		default:
			failing.Reset()
			pause = idle.Next()
			z.metrics.rounds.WithLabelValues("idle").Inc()
		}
		switch {
		case err != nil:
		case (res.full || res.held) && res.newest > 0:
			lag.Set(max(0, time.Since(time.UnixMilli(res.newest)).Seconds()))
		case !res.full && !res.held:
			lag.Set(0)
		}
		if pause > 0 && !backoff.Sleep(ctx, pause) {
			return
		}
	}
}
