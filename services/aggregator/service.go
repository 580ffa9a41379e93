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
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/stream"
)

// Deps are what the aggregator gets from its process.
type Deps = lifecycle.Deps

// Service is the aggregator. Its partition workers run in their own
// goroutines; the service's fields are set before they start.
type Service struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	metrics *metrics
	ready   *lifecycle.Readiness
	runner  *lease.Runner
	lag     *lagWatch // see lag.go

	mu      sync.Mutex
	workers map[int32]*worker // partitions being worked on by this replica
}

// Readiness conditions besides lease.ConditionBalanced.
const (
	condNATS     = "connected to NATS"
	condCaughtUp = "caught up"
)

// New returns an aggregator; it does no I/O. An empty replica id becomes
// lease.DefaultReplicaID(), an empty lease bucket the default one.
func New(cfg Config, deps Deps) *Service {
	cfg.Lease = cfg.Lease.For(leasePrefix)
	runner := lease.NewRunner(lease.RunnerConfig{
		Lease: cfg.Lease, Replicas: cfg.Streams.Replicas,
		// A worker is one long round; a failed one restarts from its
		// checkpoint after this backoff.
		Pacing: lease.Pacing{RetryStart: 100 * time.Millisecond, RetryMax: 10 * time.Second},
	}, deps.Log.With("service", "aggregator"))
	return &Service{
		cfg:     cfg,
		log:     deps.Log.With("service", "aggregator", "replica", runner.ReplicaID()),
		tracer:  deps.Tracer.Tracer("flowline/aggregator"),
		metrics: newMetrics(deps.Registry),
		ready:   lifecycle.NewReadiness(condNATS, lease.ConditionBalanced, condCaughtUp),
		runner:  runner,
		lag:     newLagWatch(cfg, deps.Registry, deps.Log.With("service", "aggregator")),
		workers: map[int32]*worker{},
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "aggregator" }

// Ready implements lifecycle.Service: ready once connected, holding this
// replica's share of the partitions, and every owned partition has been read
// to its end once.
func (s *Service) Ready() error {
	s.runner.ReportReadiness(s.ready)
	if s.runner.Balanced() {
		s.mu.Lock()
		var behind []int32
		for p, w := range s.workers {
			if !w.caughtUp.Load() {
				behind = append(behind, p)
			}
		}
		s.mu.Unlock()
		if len(behind) == 0 {
			s.ready.Met(condCaughtUp)
		} else {
			slices.Sort(behind)
			s.ready.Unmet(condCaughtUp, fmt.Sprintf("catching up on partitions %v", behind))
		}
	}
	return s.ready.Err()
}

// Owned lists the partitions this replica aggregates now.
func (s *Service) Owned() []int32 { return s.runner.Owned() }

// Run aggregates the partitions this replica owns until ctx is cancelled;
// workers then checkpoint and stop, and the leases are released.
func (s *Service) Run(ctx context.Context) error {
	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-aggregator", s.log, s.ready.Reporter(condNATS))
	if err != nil {
		return fmt.Errorf("aggregator: %w", err)
	}
	defer conn.Close()
	js := conn.JS
	defer s.lag.start(ctx, js)()
	openStore := func(bucket, description string) (jetstream.ObjectStore, error) {
		store, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: bucket, Description: description, Storage: jetstream.FileStorage, Replicas: s.cfg.Streams.Replicas,
		})
		if err != nil {
			return nil, fmt.Errorf("aggregator: bucket %s (%s): %w", bucket, description, err)
		}
		return store, nil
	}
	checkpoints, err := openStore(s.cfg.StateBucket, "aggregator checkpoints, one object per partition")
	if err != nil {
		return err
	}
	defsStore, err := openStore(s.cfg.DefinitionsBucket, "process definitions (XML, names, flow nodes, call activities) for the aggregator")
	if err != nil {
		return err
	}
	defs := newDefinitions(objectDefinitions{defsStore}, s.cfg.DefinitionCache)
	s.ready.Met(condNATS)

	discover := func(ctx context.Context) ([]int32, error) {
		return stream.Partitions(ctx, js, stream.RecordsStream, stream.AllRecords)
	}
	return s.runner.Run(ctx, js, discover, func(p int32) (lease.Round, func()) {
		w := &worker{
			p: p, cfg: s.cfg, js: js, checkpoints: checkpoints, defs: defs, holds: s.runner.Holds,
			metrics: s.metrics, tracer: s.tracer, log: s.log.With("partition", p),
		}
		s.mu.Lock()
		s.workers[p] = w
		s.mu.Unlock()
		round := func(ctx context.Context) (lease.Outcome, error) { return lease.Busy, w.run(ctx) }
		return round, func() {
			s.mu.Lock()
			delete(s.workers, p)
			s.mu.Unlock()
		}
	})
}

// retry calls op until it succeeds or ctx is done, with jittered
// exponential backoff, logging each failure at WARN.
func retry(ctx context.Context, log *slog.Logger, op func(context.Context) error) error {
	return backoff.Retry(ctx, log, backoff.New(100*time.Millisecond, 10*time.Second), "broker operation", op)
}
