// Package aggregator is the aggregator service: per partition, in stream
// order, it folds Zeebe records into entity documents (process instances for
// the list view, flow-node instances) and publishes them on
// flowline.docs.<partitionId> for the writer.
//
// Partitions are discovered from the records stream's subjects: a partition
// never seen before is picked up within DiscoveryInterval. Each partition has
// one durable consumer (<ConsumerPrefix>-<partition>) and one worker; run one
// aggregator replica per set of partitions.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
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

	js    jetstream.JetStream
	store jetstream.ObjectStore

	mu      sync.Mutex
	workers map[int32]*worker
	initial []int32 // partitions found by the first discovery
}

// New returns an aggregator; it does no I/O.
func New(cfg Config, deps Deps) *Service {
	return &Service{
		cfg:     cfg,
		log:     deps.Log.With("service", "aggregator"),
		tracer:  deps.Tracer.Tracer("flowline/aggregator"),
		metrics: newMetrics(deps.Registry),
		ready:   lifecycle.NewReadiness("connected to NATS", "caught up"),
		workers: map[int32]*worker{},
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "aggregator" }

// Ready implements lifecycle.Service: ready once connected and every
// partition present at start has been read to its end once.
func (s *Service) Ready() error {
	s.mu.Lock()
	if s.initial != nil {
		var behind []int32
		for _, p := range s.initial {
			if !s.workers[p].caughtUp.Load() {
				behind = append(behind, p)
			}
		}
		if len(behind) == 0 {
			s.ready.Met("caught up")
		} else {
			s.ready.Unmet("caught up", fmt.Sprintf("catching up on partitions %v", behind))
		}
	}
	s.mu.Unlock()
	return s.ready.Err()
}

// Run aggregates until ctx is cancelled; workers then checkpoint and stop.
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
	s.ready.Met("connected to NATS")

	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(s.cfg.DiscoveryInterval)
	defer tick.Stop()
	for {
		parts, err := s.discover(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("partition discovery failed, retrying", "error", err)
		}
		s.mu.Lock()
		for _, p := range parts {
			if _, ok := s.workers[p]; ok {
				continue
			}
			w := &worker{s: s, p: p}
			s.workers[p] = w
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.supervise(ctx, w)
			}()
			s.log.Info("partition picked up", "partition", p)
		}
		if s.initial == nil && err == nil {
			s.initial = parts
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// discover lists the partitions that have records.
func (s *Service) discover(ctx context.Context) ([]int32, error) {
	st, err := s.js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(stream.AllRecords))
	if err != nil {
		return nil, err
	}
	parts := make([]int32, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		p, err := stream.PartitionOf(subj)
		if err != nil {
			s.log.Warn("ignoring subject without partition", "subject", subj)
			continue
		}
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts, nil
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
