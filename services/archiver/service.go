// Package archiver is the archiver service: it moves completed process
// instances, with every document that belongs to them, from the runtime
// indices into dated historical indices that the family aliases also
// cover, without ever deleting what it has not verified in its new place,
// and deletes dated indices after the retention period.
//
// Partitions are shared among archiver replicas with leases (pkg/lease),
// like the aggregator's; each owned partition is archived by its own
// goroutine, which runs batches back to back while there is a backlog and
// backs off while idle. See docs/design/archiver.md.
package archiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// Deps are what the archiver gets from its process.
type Deps = lifecycle.Deps

// Service is the archiver. Run is called once; the other methods are safe
// for concurrent use.
type Service struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	traces  trace.TracerProvider // the Elasticsearch client's spans
	metrics *metrics
	ready   *lifecycle.Readiness

	runner *lease.Runner

	js       jetstream.JetStream // set in Run before partitions start
	es       *search.Client      // set in Run before partitions start
	refusals *search.Refusals    // what the cluster refuses; set in Run with es
	policy   retentionBy         // retention by a lifecycle policy (ILM, ISM), or by the archiver; set in Run
	layout   layout              // what it selects and moves (the schema's indices)
	made     sync.Map            // dated indices known to exist

	sweepMu sync.Mutex
	swept   map[int32]time.Time // when each partition was last swept
}

// Readiness conditions besides lease.ConditionBalanced.
const (
	condNATS = "connected to NATS"
	condES   = "connected to Elasticsearch"
)

// New returns an archiver; it does no I/O. An empty replica id becomes
// lease.DefaultReplicaID(), an empty lease bucket the default one.
func New(cfg Config, deps Deps) *Service {
	cfg.Lease = cfg.Lease.For(leasePrefix)
	// Rounds archive the backlog batch after batch; then a pause of Delay,
	// growing x1.5 up to MaxDelay while idle, and a backoff up to MaxDelay
	// after errors (the batch is redone).
	runner := lease.NewRunner(lease.RunnerConfig{
		Lease: cfg.Lease, Replicas: cfg.Streams.Replicas, Service: "archiver", Registry: deps.Registry,
		Pacing: lease.Pacing{
			AfterProgress: cfg.Delay.D(),
			IdleStart:     cfg.Delay.D(), IdleFactor: 1.5, IdleMax: cfg.MaxDelay.D(),
			RetryStart: cfg.Delay.D(), RetryMax: cfg.MaxDelay.D(),
		},
	}, deps.Log.With("service", "archiver"))
	return &Service{
		layout:  newLayout(cfg.Schema, cfg.Index.Prefix),
		cfg:     cfg,
		log:     deps.Log.With("service", "archiver", "replica", runner.ReplicaID()),
		tracer:  deps.Tracer.Tracer("flowline/archiver"),
		traces:  deps.Tracer,
		metrics: newMetrics(deps.Registry),
		ready:   lifecycle.NewReadiness(condNATS, condES, lease.ConditionBalanced),
		runner:  runner,
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "archiver" }

// Ready implements lifecycle.Service: connected, index templates installed
// and partition leases settled.
func (s *Service) Ready() error {
	s.runner.ReportReadiness(s.ready)
	return s.ready.Err()
}

// Owned lists the partitions this replica archives now.
func (s *Service) Owned() []int32 { return s.runner.Owned() }

// Run archives the partitions this replica owns until ctx is cancelled.
func (s *Service) Run(ctx context.Context) error {
	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-archiver", s.log, s.ready.Reporter(condNATS))
	if err != nil {
		return fmt.Errorf("archiver: %w", err)
	}
	defer conn.Close()
	s.js = conn.JS
	s.ready.Met(condNATS)

	s.refusals = search.NewRefusals(s.log, "FLOWLINE_ES_", s.cfg.ES, s.ready)
	s.es, err = search.NewClient(s.cfg.Search, search.ReportTo(s.refusals), search.TraceWith(s.traces))
	if err != nil {
		return fmt.Errorf("archiver: %w", err)
	}
	// Dated indices are made from the family templates: install them
	// (Elasticsearch may still be starting).
	if err := search.InstallSchema(ctx, s.es, s.cfg.Schema, s.cfg.Index, s.log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("archiver: %w", err)
	}
	if err := backoff.Retry(ctx, s.log, backoff.New(500*time.Millisecond, 15*time.Second), "setting up retention", func(ctx context.Context) error {
		err := s.setUpRetention(ctx)
		if search.Misconfigured(err) {
			return backoff.Permanent(err)
		}
		return err
	}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("archiver: %w", err)
	}
	s.ready.Met(condES)
	s.log.Info("archiver started", "wait_period", s.cfg.WaitPeriod, "rollover", s.cfg.Rollover, "batch_size", s.cfg.BatchSize, "retention", s.cfg.Retention.String(), "retention_by", s.policy.String())

	var wg sync.WaitGroup
	if s.cfg.Retention > 0 && s.policy == byArchiver {
		wg.Go(func() { s.retentionLoop(ctx) })
	}
	defer wg.Wait()

	return s.runner.Run(ctx, s.js, s.discover, func(p int32) (lease.Round, func()) {
		return func(ctx context.Context) (lease.Outcome, error) { return s.runRound(ctx, p) }, nil
	})
}

// discover lists the partitions with anything to archive: those with
// records or documents in the broker, and those with instances in the
// runtime list-view index (documents may have been written by other means).
func (s *Service) discover(ctx context.Context) ([]int32, error) {
	seen := map[int32]bool{}
	for _, src := range []struct{ name, all string }{{stream.RecordsStream, stream.AllRecords}, {stream.DocsStream, stream.AllDocs}} {
		parts, err := stream.Partitions(ctx, s.js, src.name, src.all)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			seen[p] = true
		}
	}
	parts, err := s.indexedPartitions(ctx)
	switch {
	case errors.Is(err, search.ErrPartial): // the streams' partitions still get archived
		s.log.Warn("partitions in the runtime index answered in part; archiving the streams' partitions", "error", err)
	case err != nil:
		return nil, err
	}
	for _, p := range parts {
		seen[p] = true
	}
	out := make([]int32, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	return out, nil
}

// runRound archives partition p's backlog as of now, batch after batch,
// and sweeps the partition when its sweep is due (see sweep.go):
// Progress when it archived anything, Idle when there was nothing to do. A
// failed round counts as an error and is redone. A round fixes the cutoff;
// when there is a backlog it fixes the safe position, refreshes the runtime
// indices once (everything at or below the safe position is written, and
// must be visible to the scans), and pages through the eligible instances
// with search_after. An idle round costs one count, no refresh.
func (s *Service) runRound(ctx context.Context, p int32) (lease.Outcome, error) {
	n, err := s.archiveBacklog(ctx, p)
	if err == nil && s.sweepDue(p) {
		var swept int
		swept, err = s.sweep(ctx, p)
		n += swept
	}
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.metrics.errors.Inc()
		}
		// A dated index known to exist may have been deleted since (by
		// another replica's retention): check them all again next round.
		s.made.Clear()
		return lease.Idle, fmt.Errorf("archiving batch of partition %d: %w", p, err)
	case n > 0:
		return lease.Progress, nil
	}
	return lease.Idle, nil
}

// archiveBacklog is a round's work; it returns how many instances it
// archived.
func (s *Service) archiveBacklog(ctx context.Context, p int32) (int, error) {
	cutoff := time.Now().Add((-s.cfg.WaitPeriod).D())
	backlog, err := s.backlog(ctx, p, cutoff)
	if err != nil {
		return 0, err
	}
	gauge := s.metrics.backlog.WithLabelValues(strconv.Itoa(int(p)))
	if backlog == 0 {
		gauge.Set(0)
		return 0, nil
	}
	safe, err := s.safePosition(ctx, p)
	if err != nil || safe < 0 {
		return 0, err
	}
	if err := search.Refresh(ctx, s.es, s.runtimeIndices()...); err != nil {
		return 0, err
	}
	// Counted again: the first count may still have seen documents moved
	// by the previous round, before this refresh.
	if backlog, err = s.backlog(ctx, p, cutoff); err != nil || backlog == 0 {
		gauge.Set(float64(backlog))
		return 0, err
	}
	gauge.Set(float64(backlog))
	total := 0
	var after []json.Number
	for ctx.Err() == nil {
		start := time.Now()
		batch, last, err := s.selectBatch(ctx, p, cutoff, safe, after)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		n, err := s.archiveBatch(ctx, p, batch)
		total += n
		gauge.Set(float64(max(backlog-int64(total), 0)))
		if err != nil {
			return total, err
		}
		s.metrics.batchSeconds.Observe(time.Since(start).Seconds())
		s.log.Debug("batch archived", "partition", p, "instances", n, "selected", len(batch), "took", time.Since(start))
		if len(batch) < s.cfg.BatchSize {
			break
		}
		after = last
	}
	return total, nil
}

// archiveBatch moves a batch, period by period, and returns how many
// instances were fully archived.
func (s *Service) archiveBatch(ctx context.Context, p int32, batch []instance) (int, error) {
	ctx, span := s.tracer.Start(ctx, "archiver.batch", trace.WithAttributes(
		attribute.Int("flowline.partition", int(p)), attribute.Int("flowline.instances", len(batch))))
	defer span.End()
	archived := 0
	for _, g := range groups(batch) {
		k, err := s.moveGroup(ctx, g)
		archived += k
		s.metrics.instances.Add(float64(k))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			return archived, err
		}
	}
	return archived, nil
}

// runtimeIndices are the runtime indices of the families the archiver
// moves.
func (s *Service) runtimeIndices() []string {
	var out []string
	for _, f := range s.layout.all() {
		out = append(out, f.runtime)
	}
	return out
}

// ensureIndex creates the dated index name (of the period starting at
// suffix) from its family's template unless it is known to exist, with the
// retention policy attached when retention is by ILM. Creating it
// explicitly keeps archiving working where indices are not auto-created.
func (s *Service) ensureIndex(ctx context.Context, name, suffix string) error {
	if _, ok := s.made.Load(name); ok {
		return nil
	}
	settings := map[string]any{}
	if s.policy == byILM {
		end, _ := suffixEnd(suffix, s.cfg.Rollover)
		settings["index.lifecycle.name"] = s.cfg.RetentionILM
		settings["index.lifecycle.origination_date"] = end.UnixMilli()
	}
	if err := search.CreateIndex(ctx, s.es, name, settings); err != nil {
		return err
	}
	if s.policy == byISM {
		if err := s.attachISM(ctx, name); err != nil {
			return err
		}
	}
	s.made.Store(name, true)
	return nil
}
