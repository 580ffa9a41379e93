package lease

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
)

// ErrNotHeld is returned by partition work that found, before a side
// effect, that this replica no longer holds the partition's lease (see
// Runner.Holds): the runner stops that partition's work instead of
// retrying it.
var ErrNotHeld = errors.New("partition lease not held")

// ErrGiveUp is returned (wrapped) by partition work that cannot make
// progress here, for example because the broker never confirms its
// publishes: the runner logs it at ERROR and stops that partition's work,
// which releases the lease, so that another replica (or this one, at a
// later balancing round, with fresh state) takes the partition over instead
// of this worker holding it while stuck.
var ErrGiveUp = errors.New("partition work cannot make progress; giving the partition up")

// Outcome is how a partition round went; it paces the next round.
type Outcome int

const (
	// Idle: the round found nothing to do. The pause grows with every idle
	// round in a row (Pacing.IdleStart ×IdleFactor +IdleStep up to IdleMax).
	Idle Outcome = iota
	// Progress: the round did work and is caught up; pause
	// Pacing.AfterProgress.
	Progress
	// Busy: more work is waiting; the next round starts at once.
	Busy
)

// Round is one round of a partition's work. It returns when the round is
// done, or when ctx is cancelled (the lease ends or the service stops):
// then it must stop its side effects promptly; it may finish a checkpoint
// first. A long-running worker can be one Round that returns only on
// cancellation or failure.
type Round func(ctx context.Context) (Outcome, error)

// Pacing paces a partition's rounds.
type Pacing struct {
	AfterProgress time.Duration // pause after a Progress round
	IdleStart     time.Duration // pause after the first Idle round in a row
	IdleFactor    float64       // growth of the pause per further Idle round (≥ 1)
	IdleStep      time.Duration // added to the pause per further Idle round
	IdleMax       time.Duration // longest pause while idle
	RetryStart    time.Duration // jittered backoff after a failed round, doubling from RetryStart
	RetryMax      time.Duration // up to RetryMax
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Lease    config.Lease // bucket, TTL and replica id (empty: DefaultReplicaID())
	Replicas int          // JetStream replicas of the lease bucket
	Pacing   Pacing
	// Service names the service in the lease metrics (e.g. "aggregator").
	Service string
	// Registry, when set, gets the lease metrics of this runner:
	// flowline_lease_partitions{service},
	// flowline_lease_partitions_owned{service} and
	// flowline_lease_partition_owned{service,partition}.
	Registry prometheus.Registerer
	// Errors, when set, counts the rounds that failed (the service's
	// flowline_<service>_errors_total): redone after a backoff, or given
	// up (ErrGiveUp).
	Errors prometheus.Counter
}

// Runner is the skeleton every lease-partitioned service shares: it holds
// this replica's share of the partitions through a Manager and runs each
// owned partition's rounds in its own goroutine with the service's pacing,
// retrying failed rounds with backoff, until the lease ends. Create it with
// NewRunner in the service's New, call Run once from the service's Run;
// Holds, Owned, Balanced and ReplicaID are safe from any goroutine.
type Runner struct {
	cfg     RunnerConfig
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) bool // backoff.Sleep; tests record pauses
	manager atomic.Pointer[Manager]                         // set once Run has a connection
}

// NewRunner returns a runner; it does no I/O. An empty replica id becomes
// DefaultReplicaID(). With cfg.Registry it registers the lease metrics
// there (the first runner of a service on a registry).
func NewRunner(cfg RunnerConfig, log *slog.Logger) *Runner {
	if cfg.Lease.ReplicaID == "" {
		cfg.Lease.ReplicaID = DefaultReplicaID()
	}
	r := &Runner{cfg: cfg, log: log, sleep: backoff.Sleep}
	if cfg.Registry != nil {
		// A second runner of the same service on one registry (tests that
		// run replicas in one process) is not reported: its metrics would
		// collide with the first's.
		err := cfg.Registry.Register(&collector{r: r, count: partitionsOwnedDesc(cfg.Service), each: partitionOwnedDesc(cfg.Service), total: partitionsDesc(cfg.Service)})
		if are := (prometheus.AlreadyRegisteredError{}); err != nil && !errors.As(err, &are) {
			log.Warn("lease metrics not registered", "error", err)
		}
	}
	return r
}

// ReplicaID is this replica's id among the service's replicas.
func (r *Runner) ReplicaID() string { return r.cfg.Lease.ReplicaID }

// Run holds leases through js and works the owned partitions until ctx is
// cancelled; then every partition's work is cancelled and awaited, and the
// leases are released. discover lists the partitions that exist (see
// Manager.Run). open is called when this replica acquires partition p and
// returns its round and, optionally, a function called after the last
// round. Run returns an error only when leasing cannot work at all.
func (r *Runner) Run(ctx context.Context, js jetstream.JetStream, discover func(context.Context) ([]int32, error),
	open func(p int32) (round Round, closed func())) error {
	l := r.cfg.Lease
	m := New(js, Config{Bucket: l.Bucket, ReplicaID: l.ReplicaID, TTL: l.TTL.D(), Replicas: r.cfg.Replicas}, r.log)
	r.manager.Store(m)
	return m.Run(ctx, discover, func(ctx context.Context, p int32) {
		round, closed := open(p)
		if closed != nil {
			defer closed()
		}
		r.work(ctx, p, round)
	})
}

// work runs partition p's rounds while ctx lasts.
func (r *Runner) work(ctx context.Context, p int32, round Round) {
	log := r.log.With("partition", p)
	log.Info("partition acquired")
	defer func() { log.Info("partition given up", "cause", context.Cause(ctx)) }()
	pc := r.cfg.Pacing
	idle := backoff.NewPoll(pc.IdleStart, max(pc.IdleFactor, 1), pc.IdleMax)
	idle.Step = pc.IdleStep
	failing := backoff.New(pc.RetryStart, pc.RetryMax)
	for ctx.Err() == nil {
		outcome, err := round(ctx)
		var pause time.Duration
		switch {
		case errors.Is(err, ErrNotHeld):
			return
		case errors.Is(err, ErrGiveUp) && ctx.Err() == nil:
			r.countError()
			log.Error("partition work cannot make progress; releasing the partition", "error", err)
			return
		case ctx.Err() != nil:
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("partition work stopped with an error; the next owner redoes it", "error", err)
			}
			return
		case err != nil:
			r.countError()
			pause = failing.Next()
			log.Warn("partition round failed; it is redone", "error", err, "retry_in", pause)
		case outcome == Busy:
			failing.Reset()
			idle.Reset()
		case outcome == Progress:
			failing.Reset()
			idle.Reset()
			pause = pc.AfterProgress
		default:
			failing.Reset()
			pause = idle.Next()
		}
		if pause > 0 && !r.sleep(ctx, pause) {
			return
		}
	}
}

func (r *Runner) countError() {
	if r.cfg.Errors != nil {
		r.cfg.Errors.Inc()
	}
}

// Partitions is how many partitions the service's replicas share, as this
// replica last discovered them (0 before it did).
func (r *Runner) Partitions() int {
	if m := r.manager.Load(); m != nil {
		return m.Partitions()
	}
	return 0
}

// Holds reports whether this replica may still act for partition p (its
// lease is valid): check it right before a side effect that only the
// owner may have, such as a checkpoint.
func (r *Runner) Holds(p int32) bool {
	m := r.manager.Load()
	return m != nil && m.Holds(p)
}

// Owned lists the partitions this replica works on now.
func (r *Runner) Owned() []int32 {
	if m := r.manager.Load(); m != nil {
		return m.Owned()
	}
	return nil
}

// Balanced reports whether this replica holds its share of the partitions
// (Manager.Settled); false before Run has connected.
func (r *Runner) Balanced() bool {
	m := r.manager.Load()
	return m != nil && m.Settled()
}

// ConditionBalanced is the readiness condition a Runner reports.
const ConditionBalanced = "partitions balanced"

// ReportReadiness marks ConditionBalanced on ready: unmet until the lease
// manager has settled (this replica took its share once), met from then on;
// later rebalancing does not make the service unready.
// Services call it from their Ready.
func (r *Runner) ReportReadiness(ready *lifecycle.Readiness) {
	switch {
	case r.Balanced():
		ready.Met(ConditionBalanced)
	case r.manager.Load() != nil:
		ready.Unmet(ConditionBalanced, "partition leases are being balanced")
	}
}
