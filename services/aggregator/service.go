// Package aggregator is the aggregator service: per partition, in stream
// order, it folds Zeebe records into entity documents (process instances for
// the list view, flow-node instances) and publishes them on
// flowline.docs.<partitionId> for the writer.
//
// Partitions are discovered from the records stream's subjects: a partition
// never seen before is picked up within a quarter of LeaseTTL. Each partition
// has one durable consumer (<ConsumerPrefix>-<partition>) and one worker at a
// time across all replicas: replicas share the partitions through leases
// (pkg/lease), so users scale by adding replicas, up to one per partition.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/stream"
)

// Deps are what the aggregator needs from its process.
type Deps struct {
	Log      *slog.Logger
	Tracer   trace.TracerProvider
	Registry prometheus.Registerer
}

// Service is the aggregator. Its partition workers run in their own
// goroutines; the service's fields are set before they start.
type Service struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	metrics *metrics
	ready   *lifecycle.Readiness

	js     jetstream.JetStream
	store  jetstream.ObjectStore
	defs   *definitions
	leases atomic.Pointer[lease.Manager] // set once connected

	mu      sync.Mutex
	workers map[int32]*worker // partitions being worked on by this replica
}

// New returns an aggregator; it does no I/O. An empty ReplicaID becomes
// lease.DefaultReplicaID().
func New(cfg Config, deps Deps) *Service {
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = lease.DefaultReplicaID()
	}
	return &Service{
		cfg:     cfg,
		log:     deps.Log.With("service", "aggregator", "replica", cfg.ReplicaID),
		tracer:  deps.Tracer.Tracer("flowline/aggregator"),
		metrics: newMetrics(deps.Registry),
		ready:   lifecycle.NewReadiness("connected to NATS", "partitions balanced", "caught up"),
		workers: map[int32]*worker{},
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "aggregator" }

// Ready implements lifecycle.Service: ready once connected, holding this
// replica's share of the partitions, and every owned partition has been read
// to its end once.
func (s *Service) Ready() error {
	if l := s.leases.Load(); l != nil && l.Settled() {
		s.ready.Met("partitions balanced")
		s.mu.Lock()
		var behind []int32
		for p, w := range s.workers {
			if !w.caughtUp.Load() {
				behind = append(behind, p)
			}
		}
		s.mu.Unlock()
		if len(behind) == 0 {
			s.ready.Met("caught up")
		} else {
			slices.Sort(behind)
			s.ready.Unmet("caught up", fmt.Sprintf("catching up on partitions %v", behind))
		}
	}
	return s.ready.Err()
}

// Owned lists the partitions this replica aggregates now.
func (s *Service) Owned() []int32 {
	if l := s.leases.Load(); l != nil {
		return l.Owned()
	}
	return nil
}

// Run aggregates the partitions this replica owns until ctx is cancelled;
// workers then checkpoint and stop, and the leases are released.
func (s *Service) Run(ctx context.Context) error {
	conn, err := stream.Connect(ctx, s.cfg.NATS, "flowline-aggregator", s.log)
	if err != nil {
		return fmt.Errorf("aggregator: %w", err)
	}
	defer conn.Close()
	s.js = conn.JS
	if err := stream.EnsureStreams(ctx, s.js, s.cfg.Streams); err != nil {
		return fmt.Errorf("aggregator: %w", err)
	}
	s.store, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      s.cfg.StateBucket,
		Description: "aggregator checkpoints, one object per partition",
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Streams.Replicas,
	})
	if err != nil {
		return fmt.Errorf("aggregator: state bucket %s: %w", s.cfg.StateBucket, err)
	}
	defsStore, err := s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      s.cfg.DefinitionsBucket,
		Description: "process definitions (XML, names, flow nodes, call activities) for the aggregator",
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Streams.Replicas,
	})
	if err != nil {
		return fmt.Errorf("aggregator: definitions bucket %s: %w", s.cfg.DefinitionsBucket, err)
	}
	s.defs = newDefinitions(objectDefinitions{defsStore}, s.cfg.DefinitionCache)
	s.ready.Met("connected to NATS")

	leases := lease.New(s.js, lease.Config{
		Bucket: s.cfg.LeaseBucket, ReplicaID: s.cfg.ReplicaID, TTL: s.cfg.LeaseTTL, Replicas: s.cfg.Streams.Replicas,
	}, s.log)
	s.leases.Store(leases)
	return leases.Run(ctx, s.discover, s.work)
}

// work aggregates partition p while this replica owns it.
func (s *Service) work(ctx context.Context, p int32) {
	w := &worker{s: s, p: p}
	s.mu.Lock()
	s.workers[p] = w
	s.mu.Unlock()
	s.log.Info("partition acquired", "partition", p)
	s.supervise(ctx, w)
	s.mu.Lock()
	delete(s.workers, p)
	s.mu.Unlock()
	s.log.Info("partition given up", "partition", p, "cause", context.Cause(ctx))
}

// holds reports whether this replica may still act for partition p (its
// lease is valid): checked before a checkpoint, which must never come from
// a replica that lost the partition.
func (s *Service) holds(p int32) bool {
	l := s.leases.Load()
	return l != nil && l.Holds(p)
}

// discover lists the partitions that have records.
func (s *Service) discover(ctx context.Context) ([]int32, error) {
	return stream.Partitions(ctx, s.js, stream.RecordsStream, stream.AllRecords)
}

// supervise runs a partition worker, restarting it from its checkpoint with
// backoff after a failure, until ctx is cancelled.
func (s *Service) supervise(ctx context.Context, w *worker) {
	b := backoff.New(100*time.Millisecond, 10*time.Second)
	for {
		err := w.run(ctx)
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Warn("partition stopped without a final checkpoint; it resumes from the previous one", "partition", w.p, "error", err)
			}
			return
		}
		d := b.Next()
		s.log.Warn("partition worker failed, restarting from its checkpoint", "partition", w.p, "error", err, "retry_in", d)
		if !backoff.Sleep(ctx, d) {
			return
		}
	}
}

// retry calls op until it succeeds or ctx is done, with jittered
// exponential backoff, logging each failure at WARN.
func (s *Service) retry(ctx context.Context, op func(context.Context) error) error {
	return backoff.Retry(ctx, s.log, backoff.New(100*time.Millisecond, 10*time.Second), "broker operation", op)
}
