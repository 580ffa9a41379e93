// Package c7fold is the Camunda 7 fold, the aggregator's sibling for
// Camunda 7 history: it folds the pages the Camunda 7 import stored on
// FLOWLINE_C7 into documents of the c7-* families (pkg/schema c7.go) and
// publishes them on flowline.docs.c7.<source>, which the writers index
// like every other document.
//
// Each source (one engine) is folded in order by one replica at a time
// (a lease per source; the sources are discovered from the stream's
// subjects) through a durable consumer c7fold-<source>. What is known of
// each process instance is kept in the state bucket (FLOWLINE_C7_FOLD_
// STATE_BUCKET, key <source>.<instance id>): the most advanced version of
// every entity of the instance, merged so that any arrival order
// converges (state.go). A batch of pages is folded, every instance it
// touched stored (conditionally on its revision: a replica that lost the
// lease is refused), the documents it touched rendered with that revision
// as their version and published, and only then are the pages acked; a
// crash anywhere repeats the batch, which changes nothing but versions.
package c7fold

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/stream"
)

const condNATS = "connected to NATS"

// Backoff of failed rounds and of opening the state bucket.
const retryStart, retryMax = 500 * time.Millisecond, 30 * time.Second

// Deps are what the fold gets from its process.
type Deps = lifecycle.Deps

// Service is the Camunda 7 fold. Create it with New and run it with Run;
// each owned source is folded on its own goroutine.
type Service struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	ready   *lifecycle.Readiness
	runner  *lease.Runner

	mu      sync.Mutex
	sources map[int32]string // lease partition -> source, as discovered
}

// New returns the fold; it does no I/O.
func New(cfg Config, deps Deps) *Service {
	cfg.Lease = cfg.Lease.For(leasePrefix)
	log := deps.Log.With("service", "c7fold")
	metrics := newMetrics(deps.Registry)
	runner := lease.NewRunner(lease.RunnerConfig{
		Lease: cfg.Lease, Replicas: cfg.Streams.Replicas, Service: "c7-fold", Registry: deps.Registry, Errors: metrics.errors,
		// A round waits up to a second for pages itself.
		Pacing: lease.Pacing{IdleStart: 100 * time.Millisecond, IdleFactor: 1, IdleMax: 100 * time.Millisecond, RetryStart: retryStart, RetryMax: retryMax},
	}, log)
	return &Service{
		cfg: cfg, log: log.With("replica", runner.ReplicaID()), metrics: metrics,
		ready: lifecycle.NewReadiness(condNATS), runner: runner, sources: map[int32]string{},
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "c7-fold" }

// Ready implements lifecycle.Service: ready once connected to JetStream.
func (s *Service) Ready() error { return s.ready.Err() }

// Run folds until ctx is cancelled; it returns an error only when the fold
// cannot work at all.
func (s *Service) Run(ctx context.Context) error {
	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-c7-fold", s.log, s.ready.Reporter(condNATS))
	if err != nil {
		return nil // cancelled
	}
	defer conn.Close()
	var kv jetstream.KeyValue
	if err := backoff.Retry(ctx, s.log, backoff.New(retryStart, retryMax), "opening the c7 state bucket", func(ctx context.Context) error {
		kv, err = openStateBucket(ctx, conn.JS, s.cfg.StateBucket, s.cfg.Streams.Replicas)
		return err
	}); err != nil {
		return nil // cancelled
	}
	s.ready.Met(condNATS)
	if err := s.runner.Run(ctx, conn.JS, func(ctx context.Context) ([]int32, error) { return s.discover(ctx, conn.JS) },
		func(p int32) (lease.Round, func()) {
			s.mu.Lock()
			source := s.sources[p]
			s.mu.Unlock()
			w := &worker{
				source: source, cfg: s.cfg, js: conn.JS, payloads: conn.Payloads, kv: kv,
				holds: func() bool { return s.runner.Holds(p) }, metrics: s.metrics,
				log: s.log.With("source", source),
			}
			return w.round, nil
		}); err != nil {
		return fmt.Errorf("c7 fold: %w", err)
	}
	return nil
}

// discover lists the sources with pages on FLOWLINE_C7 as lease
// partitions: a hash of the source's name (lease keys are numbers). Two
// sources whose names hash alike are an error naming both.
func (s *Service) discover(ctx context.Context, js jetstream.JetStream) ([]int32, error) {
	st, err := js.Stream(ctx, stream.C7Stream)
	if err != nil {
		return nil, fmt.Errorf("c7 fold: %w", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(stream.AllC7))
	if err != nil {
		return nil, fmt.Errorf("c7 fold: %w", err)
	}
	found := map[int32]string{}
	for subject := range info.State.Subjects {
		source, ok := stream.C7SourceOf(subject)
		if !ok {
			continue
		}
		p := sourcePartition(source)
		if other, ok := found[p]; ok && other != source {
			return nil, fmt.Errorf("c7 fold: sources %q and %q share lease %d; rename one (FLOWLINE_C7_SOURCE)", other, source, p)
		}
		found[p] = source
	}
	s.mu.Lock()
	for p, source := range found {
		s.sources[p] = source
	}
	s.mu.Unlock()
	out := make([]int32, 0, len(found))
	for p := range found {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// sourcePartition is the lease partition of a source: a 31-bit hash of its
// name.
func sourcePartition(source string) int32 {
	h := fnv.New32a()
	h.Write([]byte(source))
	return int32(h.Sum32() & 0x7fffffff)
}
