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
	"strings"
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
	stalls  map[int32]stall   // partitions given up for want of progress
}

// stall is a partition this replica gave up because it could not make
// progress: readiness fails until this replica checkpoints it again, or
// has not owned it for a lease TTL (another replica took it over).
type stall struct {
	at     time.Time
	reason string
}

// Readiness conditions besides lease.ConditionBalanced.
const (
	condNATS     = "connected to NATS"
	condCaughtUp = "caught up"
	condProgress = "partitions progressing"
)

// New returns an aggregator; it does no I/O. An empty replica id becomes
// lease.DefaultReplicaID(), an empty lease bucket the default one.
func New(cfg Config, deps Deps) *Service {
	cfg.Lease = cfg.Lease.For(leasePrefix)
	metrics := newMetrics(deps.Registry)
	runner := lease.NewRunner(lease.RunnerConfig{
		Lease: cfg.Lease, Replicas: cfg.Streams.Replicas, Service: "aggregator", Registry: deps.Registry, Errors: metrics.errors,
		// A worker is one long round; a failed one restarts from its
		// checkpoint after this backoff.
		Pacing: lease.Pacing{RetryStart: 100 * time.Millisecond, RetryMax: 10 * time.Second},
	}, deps.Log.With("service", "aggregator"))
	return &Service{
		cfg:     cfg,
		log:     deps.Log.With("service", "aggregator", "replica", runner.ReplicaID()),
		tracer:  deps.Tracer.Tracer("flowline/aggregator"),
		metrics: metrics,
		ready:   lifecycle.NewReadiness(condNATS, lease.ConditionBalanced, condCaughtUp, condProgress),
		runner:  runner,
		lag:     newLagWatch(cfg, deps.Registry, deps.Log.With("service", "aggregator")),
		workers: map[int32]*worker{},
		stalls:  map[int32]stall{},
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "aggregator" }

// Ready implements lifecycle.Service: ready once connected, holding this
// replica's share of the partitions, every owned partition has been read
// to its end once, and no partition was given up for want of progress
// (see stall).
func (s *Service) Ready() error {
	s.runner.ReportReadiness(s.ready)
	s.reportStalls()
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

// reportStalls marks condProgress.
func (s *Service) reportStalls() {
	owned := map[int32]bool{}
	for _, p := range s.runner.Owned() {
		owned[p] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl := s.cfg.Lease.TTL.D()
	if ttl <= 0 {
		ttl = lease.DefaultTTL
	}
	var stuck []string
	for p, st := range s.stalls {
		if !owned[p] && time.Since(st.at) > ttl {
			delete(s.stalls, p)
			continue
		}
		stuck = append(stuck, fmt.Sprintf("partition %d given up at %s: %s", p, st.at.UTC().Format(time.RFC3339), st.reason))
	}
	if len(stuck) == 0 {
		s.ready.Met(condProgress)
		return
	}
	slices.Sort(stuck)
	s.ready.Unmet(condProgress, strings.Join(stuck, "; "))
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
	// An ack that never comes (lost with a server that died) fails an
	// asynchronous publish after AttemptTimeout; confirm publishes it again
	// with the same message id, within PublishTimeout.
	js, err := jetstream.New(conn.NC, jetstream.WithPublishAsyncTimeout(s.cfg.AttemptTimeout()))
	if err != nil {
		return fmt.Errorf("aggregator: jetstream: %w", err)
	}
	defer s.lag.start(ctx, js)()
	var b *buckets
	err = backoff.Retry(ctx, s.log, backoff.New(100*time.Millisecond, 10*time.Second), "opening the aggregator's buckets", func(ctx context.Context) error {
		b, err = openBuckets(ctx, js, s.cfg, conn.Payloads, s.log)
		return err
	})
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	s.ready.Met(condNATS)

	discover := func(ctx context.Context) ([]int32, error) {
		return stream.Partitions(ctx, js, stream.RecordsStream, stream.AllRecords)
	}
	return s.runner.Run(ctx, js, discover, func(p int32) (lease.Round, func()) {
		w := &worker{
			p: p, cfg: s.cfg, js: js, payloads: b.payloads, checkpoints: b.checkpoints, defs: b.defs, holds: s.runner.Holds,
			progressed: s.progressed, metrics: s.metrics, tracer: s.tracer, log: s.log.With("partition", p),
		}
		s.mu.Lock()
		s.workers[p] = w
		s.mu.Unlock()
		round := func(ctx context.Context) (lease.Outcome, error) {
			err := w.run(ctx)
			if errors.Is(err, lease.ErrGiveUp) && ctx.Err() == nil {
				s.mu.Lock()
				s.stalls[p] = stall{at: time.Now(), reason: err.Error()}
				s.mu.Unlock()
				s.metrics.givenUp.Inc()
			}
			return lease.Busy, err
		}
		return round, func() {
			s.mu.Lock()
			delete(s.workers, p)
			s.mu.Unlock()
		}
	})
}

// buckets are the JetStream buckets the workers share.
type buckets struct {
	checkpoints *checkpoints
	payloads    *stream.Payloads
	defs        *definitions
}

// openBuckets creates or binds the state bucket (snapshots and pointers),
// and the definitions; payloads is the connection's payload bucket.
func openBuckets(ctx context.Context, js jetstream.JetStream, cfg Config, payloads *stream.Payloads, log *slog.Logger) (*buckets, error) {
	openStore := func(bucket, description string) (jetstream.ObjectStore, error) {
		store, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: bucket, Description: description, Storage: jetstream.FileStorage, Replicas: cfg.Streams.Replicas,
		})
		if err != nil {
			return nil, fmt.Errorf("aggregator: bucket %s (%s): %w", bucket, description, err)
		}
		return store, nil
	}
	snapshots, err := openStore(cfg.StateBucket, "aggregator checkpoint snapshots, referenced by the pointers in the key-value bucket of the same name")
	if err != nil {
		return nil, err
	}
	pointers, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: cfg.StateBucket, Description: "aggregator checkpoints: per partition, the snapshot object it is at (written on the revision read, as a fence)",
		History: 1, Storage: jetstream.FileStorage, Replicas: cfg.Streams.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("aggregator: key-value bucket %s: %w", cfg.StateBucket, err)
	}
	defsStore, err := openStore(cfg.DefinitionsBucket, "process definitions (XML, names, flow nodes, call activities) for the aggregator")
	if err != nil {
		return nil, err
	}
	return &buckets{
		checkpoints: &checkpoints{objects: snapshots, pointers: pointers, log: log},
		payloads:    payloads,
		defs:        newDefinitions(objectDefinitions{defsStore}, cfg.DefinitionCache),
	}, nil
}

// progressed notes that partition p made progress (checkpointed).
func (s *Service) progressed(p int32) {
	s.mu.Lock()
	delete(s.stalls, p)
	s.mu.Unlock()
}

// retry calls op until it succeeds or ctx is done, with jittered
// exponential backoff, logging each failure at WARN.
func retry(ctx context.Context, log *slog.Logger, op func(context.Context) error) error {
	return backoff.Retry(ctx, log, backoff.New(100*time.Millisecond, 10*time.Second), "broker operation", op)
}
