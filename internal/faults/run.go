package faults

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/deadletter"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// Archiver settings of both runs: every instance that ended is due at
// once (the workload's clock lies in the past), and late documents of
// archived instances are swept up soon.
const (
	sweepInterval = 10 * time.Second
	roundTimeout  = 3 * time.Minute // a round's recovery, before it counts as not recovered
	// drainStall is how long a stack may make no progress towards drained
	// (open messages, archiver backlog) before the harness gives up on
	// it; drainLimit bounds the whole wait (a soak's reference run takes
	// its maximum rate's records and archives them after).
	drainStall = 10 * time.Minute
	drainLimit = 3 * time.Hour
)

// startStack starts the production shape on prefix: a three-node NATS
// cluster with three replicas of every stream and bucket, ingest ×2,
// aggregator ×2, writer ×2 and archiver ×1, writing through the proxy.
func (h *harness) startStack(ctx context.Context, prefix string) (*procstack.Stack, error) {
	if err := search.DeleteIndices(ctx, h.es, prefix+"-*"); err != nil {
		return nil, err
	}
	env := append(slices.Clone(h.cfg.ChildEnv),
		"FLOWLINE_SEARCH_ENGINE=elasticsearch",
		"FLOWLINE_ARCHIVER_WAIT_PERIOD=1s",
		"FLOWLINE_ARCHIVER_SWEEP_INTERVAL="+sweepInterval.String(),
		"FLOWLINE_ARCHIVER_MAX_DELAY=5s",
		"FLOWLINE_AGGREGATOR_LEASE_TTL="+h.cfg.LeaseTTL.String(),
		"FLOWLINE_ARCHIVER_LEASE_TTL="+h.cfg.LeaseTTL.String())
	return procstack.Start(ctx, procstack.Config{Bin: h.cfg.Bin, Env: env, Dir: filepath.Join(h.cfg.WorkDir, prefix),
		ESURL: h.proxy.URL(), Prefix: prefix, NATSNodes: natsNodes,
		Ingests: ingests, Aggregators: aggregators, Writers: writers, Archivers: archivers})
}

// RunSummary is one run's throughput and outcome.
type RunSummary struct {
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_second"`
	Requests      int64   `json:"requests"`
	Resends       int64   `json:"resends"`
	DeadLetters   int     `json:"dead_letters"`
}

// reference pushes w as fast as ingest takes it through a clean stack and
// waits until everything is written and archived; it returns the run's
// summary and dead letters.
func (h *harness) reference(ctx context.Context, w *workload) (RunSummary, []string, error) {
	h.progress("reference run: starting a clean stack")
	st, err := h.startStack(ctx, referencePrefix)
	if err != nil {
		return RunSummary{}, nil, err
	}
	defer st.Stop()
	h.progress("reference run: pushing %d records as fast as ingest takes them", w.records)
	stats := &pushStats{}
	start := time.Now()
	if err := (&pusher{urls: st.IngestURLs, stats: stats}).push(ctx, w, 0); err != nil {
		return RunSummary{}, nil, err
	}
	if err := h.settle(ctx, st, "reference run"); err != nil {
		return RunSummary{}, nil, err
	}
	took := time.Since(start)
	dlq, err := deadLetters(ctx, st)
	if err != nil {
		return RunSummary{}, nil, err
	}
	return RunSummary{Seconds: took.Seconds(), RecordsPerSec: float64(w.records) / took.Seconds(),
		Requests: stats.requests.Load(), Resends: stats.resends.Load(), DeadLetters: len(dlq)}, dlq, nil
}

func deadLetters(ctx context.Context, st *procstack.Stack) ([]string, error) {
	keys, err := deadLetterKeys(ctx, st.JS)
	if errors.Is(err, deadletter.ErrNoDLQ) {
		return nil, nil
	}
	return keys, err
}

// settle waits until the stack has written everything it was given and
// the archiver has moved every instance due, then for two sweeps more.
func (h *harness) settle(ctx context.Context, st *procstack.Stack, what string) error {
	wctx, cancel := context.WithTimeout(ctx, drainLimit)
	defer cancel()
	err := procstack.WaitProgress(wctx, 250*time.Millisecond, drainStall, func() (procstack.Remaining, error) {
		if err := st.CheckAlive(); err != nil {
			return procstack.Remaining{}, err
		}
		ok, open, status := procstack.DrainState(wctx, st.JS, stream.RecordsStream, h.cfg.Partitions)
		if !ok {
			return procstack.Remaining{Phase: "messages open", Left: open, Status: status}, nil
		}
		backlog, err := archiverBacklog(wctx, st)
		if err != nil {
			return procstack.Remaining{Phase: "archiver backlog", Left: -1, Status: fmt.Sprintf("archiver backlog unreadable: %v", err)}, nil
		}
		return procstack.Remaining{Done: backlog == 0, Phase: "archiver backlog", Left: int64(backlog), Status: fmt.Sprintf("archiver backlog %v", backlog)}, nil
	})
	if err != nil {
		return fmt.Errorf("%s did not drain: %w (logs in %s)", what, err, st.Dir)
	}
	h.progress("%s: drained; waiting two archiver sweeps", what)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2*sweepInterval + time.Second):
	}
	return nil
}

// archiverBacklog sums the archivers' backlog gauges; an archiver that
// exports none yet (just started, no sweep done) is an error, not an empty
// backlog.
func archiverBacklog(ctx context.Context, st *procstack.Stack) (float64, error) {
	total := 0.0
	for name, admin := range st.Admin {
		if !strings.HasPrefix(name, "archiver") {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, procstack.APITimeout) // an admin server that never answers must not stop the wait
		samples, err := procstack.Scrape(sctx, http.DefaultClient, admin, "flowline_archiver_backlog")
		cancel()
		if err != nil {
			return 0, err
		}
		if len(samples) == 0 {
			return 0, fmt.Errorf("%s exports no backlog yet", name)
		}
		for _, s := range samples {
			total += s.Value
		}
	}
	return total, nil
}

// faulted runs w through a fresh stack at a fixed rate while the rounds
// strike (or, in soak mode, at soakRate with no faults), then waits until
// it is drained and archived and compares it with the reference.
func (h *harness) faulted(ctx context.Context, w *workload, rep *Report, soakRate float64) (RunSummary, []string, error) {
	h.progress("faulted run: starting the stack")
	st, err := h.startStack(ctx, runPrefix)
	if err != nil {
		return RunSummary{}, nil, err
	}
	defer st.Stop()
	var services, aggAdmins, aggNames []string
	for _, p := range st.Procs[len(st.NATS):] {
		services = append(services, p.Name)
		if strings.HasPrefix(p.Name, "aggregator") {
			aggNames, aggAdmins = append(aggNames, p.Name), append(aggAdmins, st.Admin[p.Name])
		}
	}
	var natsNames []string
	for _, p := range st.NATS {
		natsNames = append(natsNames, p.Name)
	}
	plans := MakePlans(h.cfg.Seed, h.cfg.Rounds, Topology{Services: services, NATS: natsNames, LeaseTTL: h.cfg.LeaseTTL})
	rate := soakRate
	if h.cfg.Soak == 0 {
		// The load spans every round: the rounds' expected length, with a
		// margin for slow recoveries.
		var planned time.Duration
		for _, p := range plans {
			planned += expectedRound(p, h.cfg.LeaseTTL)
		}
		rate = float64(w.records) / (planned.Seconds() * 1.5)
	}
	rep.Rate = rate
	// A stack that never takes the workload (ingest or NATS not coming
	// back) ends the run with an error rather than a hang.
	pushDeadline := 3*time.Duration(float64(w.records)/rate*float64(time.Second)) + roundTimeout

	// The owners are sampled from the start to the end of the run.
	owners := newOwnerWatch(aggNames, aggAdmins, h.cfg.Partitions, h.cfg.LeaseTTL+rebalanceTime(h.cfg.LeaseTTL), h.faulty)
	octx, stopOwners := context.WithCancel(ctx)
	var owg sync.WaitGroup
	owg.Go(func() { owners.run(octx) })
	defer func() { stopOwners(); owg.Wait() }()

	stats := &pushStats{}
	pctx, stopPush := context.WithTimeout(ctx, pushDeadline)
	defer stopPush()
	pushDone := make(chan error, 1)
	var pushed atomic.Bool // the whole workload is in
	start := time.Now()
	h.progress("faulted run: pushing %d records at %.0f records/s", w.records, rate)
	go func() {
		err := (&pusher{urls: st.IngestURLs, stats: stats}).push(pctx, w, rate)
		pushed.Store(err == nil)
		pushDone <- err
	}()

	var soak *soakWatch
	if h.cfg.Soak > 0 {
		soak = newSoakWatch(st)
		if err := soak.run(ctx, h.cfg.Soak, pushDone); err != nil {
			return RunSummary{}, nil, err
		}
	} else {
		for _, p := range plans {
			r := h.round(ctx, st, owners, p, start, pushed.Load)
			rep.Rounds = append(rep.Rounds, r)
			if n := stats.requests.Load(); n > 0 {
				h.progress("pushed %d of %d records in %d requests (mean %.0f ms, %d re-sent)", stats.pushed.Load(), w.records, n,
					float64(stats.waitedNS.Load())/float64(n)/1e6, stats.resends.Load())
			}
			h.progress("round %d/%d: %s, recovered in %.1f s%s", p.Round, len(plans), p, r.RecoverySeconds, map[bool]string{false: " — NOT RECOVERED: " + r.Note, true: ""}[r.Recovered])
		}
	}
	h.progress("faulted run: waiting for the rest of the workload")
	select {
	case err := <-pushDone:
		if err != nil {
			return RunSummary{}, nil, fmt.Errorf("push (%d of %d records in after %s): %w", stats.pushed.Load(), w.records, time.Since(start).Round(time.Second), err)
		}
	case <-ctx.Done():
		return RunSummary{}, nil, ctx.Err()
	}
	if err := h.settle(ctx, st, "faulted run"); err != nil {
		return RunSummary{}, nil, err
	}
	took := time.Since(start)
	stopOwners()
	owg.Wait()
	rep.Ownership = owners.report()
	h.progress("comparing every document of every alias with the reference")
	if rep.Comparison, err = h.settledComparison(ctx); err != nil {
		return RunSummary{}, nil, fmt.Errorf("compare: %w", err)
	}
	if soak != nil {
		soak.finish(rep.Soak)
	}
	dlq, err := deadLetters(ctx, st)
	if err != nil {
		return RunSummary{}, nil, err
	}
	return RunSummary{Seconds: took.Seconds(), RecordsPerSec: float64(w.records) / took.Seconds(),
		Requests: stats.requests.Load(), Resends: stats.resends.Load(), DeadLetters: len(dlq)}, dlq, nil
}

// rebalanceTime is how long after a lease expires another replica may
// take before it owns the partition: a balancing tick (TTL/4), the claim
// and the sampling interval.
func rebalanceTime(ttl time.Duration) time.Duration { return ttl/4 + time.Second + 2*ownerSample }

// RoundResult is one round's fault and how the stack recovered.
type RoundResult struct {
	Plan
	At          float64 `json:"at_seconds"` // since the load started
	HoldSeconds float64 `json:"hold_seconds"`
	LagAtStrike uint64  `json:"lag_at_strike"` // messages open when it struck
	// AfterLoad: the whole workload was pushed before the fault struck
	// (the rounds took longer than planned): it struck an idle stack.
	AfterLoad bool `json:"after_load,omitempty"`
	// Missed says why the fault found nothing to act on (no bulk came
	// while bulks were refused).
	Missed string `json:"missed,omitempty"`
	// RecoverySeconds: from the end of the fault (the process restarted
	// or continued, the node back, the 429s over) until every process was
	// ready and nothing was left open.
	RecoverySeconds float64 `json:"recovery_seconds"`
	// Measure and MeasureSeconds: the kind's own recovery figure (see
	// Report.Recovery).
	Measure        string  `json:"measure,omitempty"`
	MeasureSeconds float64 `json:"measure_seconds,omitempty"`
	Recovered      bool    `json:"recovered"`
	Note           string  `json:"note,omitempty"`
}

// round waits for p's moment, strikes, ends the fault and waits for the
// stack to recover.
func (h *harness) round(ctx context.Context, st *procstack.Stack, owners *ownerWatch, p Plan, loadStart time.Time, allPushed func() bool) RoundResult {
	r := RoundResult{Plan: p}
	sleep(ctx, p.Strike)
	r.AfterLoad = allPushed()
	// Strike while there is lag: wait (up to 2 s) for something open.
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, err := procstack.Pending(ctx, st.JS, stream.RecordsStream)
		if err == nil && b.Open() > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			r.LagAtStrike = b.Open()
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	struck := time.Now()
	r.At = struck.Sub(loadStart).Seconds()
	ended, measure, err := h.inject(ctx, st, owners, p, struck)
	r.HoldSeconds = time.Since(struck).Seconds()
	if err != nil {
		r.Note = err.Error()
		return r
	}
	r.Measure, r.Missed = measure.name, measure.missed
	// Recovered: every process up and ready, everything stored before the
	// fault ended written, and the kind's own figure taken.
	rctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	var caught *catchUp
	var markErr error
	err = procstack.WaitUntil(rctx, 100*time.Millisecond, func() (bool, error) {
		if measure.done != nil && r.MeasureSeconds == 0 {
			if at, ok := measure.done(rctx); ok {
				r.MeasureSeconds = max(at.Sub(measure.from).Seconds(), 0.001)
			}
		}
		if err := st.CheckAlive(); err != nil {
			return false, err
		}
		if caught == nil {
			caught, markErr = markCatchUp(rctx, st, h.cfg.Partitions)
			return false, nil
		}
		_, ok := caught.poll(rctx)
		return ok && (measure.done == nil || r.MeasureSeconds > 0), nil
	})
	if err != nil {
		status := fmt.Sprintf("the records stream: %v", markErr)
		if caught != nil {
			status = fmt.Sprintf("records up to sequence %d, documents up to %d", caught.records, caught.docs)
		}
		r.Note = fmt.Sprintf("not recovered within %s (waiting for %s): %v", roundTimeout, status, err)
		return r
	}
	at, _ := caught.poll(ctx)
	r.RecoverySeconds = at.Sub(ended).Seconds()
	r.Recovered = true
	return r
}

// measure is a fault kind's own recovery figure: from from until done
// first reports true.
type measure struct {
	name string
	from time.Time
	done func(ctx context.Context) (time.Time, bool)
	// missed says why the fault found nothing to strike (a warning).
	missed string
}

// inject does p's fault and ends it: it returns when the fault is over
// (the process restarted and ready, the node back, the 429s over).
func (h *harness) inject(ctx context.Context, st *procstack.Stack, owners *ownerWatch, p Plan, struck time.Time) (time.Time, measure, error) {
	switch p.Kind {
	case KillService, PauseService:
		proc := st.Proc(p.Target)
		h.setFaulty(p.Target, true)
		defer h.setFaulty(p.Target, false)
		var m measure
		if strings.HasPrefix(p.Target, "aggregator") {
			m = measure{name: "partitions owned again", from: struck, done: func(context.Context) (time.Time, bool) {
				return owners.ownedAfter(struck)
			}}
		}
		if p.Kind == KillService {
			proc.Kill()
			sleep(ctx, p.Hold)
			if err := proc.Restart(); err != nil {
				return time.Time{}, m, err
			}
			if err := st.WaitReady(ctx, p.Target, roundTimeout); err != nil {
				return time.Time{}, m, err
			}
			return time.Now(), m, nil
		}
		if err := proc.Pause(); err != nil {
			return time.Time{}, m, err
		}
		sleep(ctx, p.Hold)
		if err := proc.Resume(); err != nil {
			return time.Time{}, m, err
		}
		return time.Now(), m, nil
	case KillNATS:
		proc := st.Proc(p.Target)
		proc.Kill()
		probe := newIngestProbe(st.IngestURLs, h.probeBody, struck)
		probe.start(ctx)
		m := measure{name: "ingest answers 202", from: struck, done: func(context.Context) (time.Time, bool) { return probe.answered() }}
		sleep(ctx, p.Hold)
		if err := proc.Restart(); err != nil {
			return time.Time{}, m, err
		}
		return time.Now(), m, nil
	case StopSearch:
		if h.node == nil {
			return time.Time{}, measure{}, errors.New("elasticsearch is not running (an earlier restart failed)")
		}
		if err := h.node.Stop(); err != nil {
			return time.Time{}, measure{}, err
		}
		h.node = nil
		sleep(ctx, p.Hold)
		node, err := esnode.Start(ctx, h.nodeOp)
		if err != nil {
			return time.Time{}, measure{}, fmt.Errorf("restart elasticsearch: %w", err)
		}
		h.node = node
		back := time.Now()
		return back, measure{name: "caught up after the node is back", from: back, done: h.caughtUpSince(ctx, st)}, nil
	case RejectBulks:
		before := h.proxy.Rejected()
		h.proxy.RejectBulksFor(p.Hold)
		sleep(ctx, p.Hold)
		over := time.Now()
		m := measure{name: "caught up after the 429s", from: over, done: h.caughtUpSince(ctx, st)}
		if h.proxy.Rejected() == before {
			m.missed = "no bulk came while the proxy refused them"
		}
		return over, m, nil
	}
	return time.Time{}, measure{}, fmt.Errorf("unknown fault %q", p.Kind)
}

// caughtUpSince marks the pipeline now and reports when it has caught up
// with the mark.
func (h *harness) caughtUpSince(ctx context.Context, st *procstack.Stack) func(context.Context) (time.Time, bool) {
	c, err := markCatchUp(ctx, st, h.cfg.Partitions)
	return func(ctx context.Context) (time.Time, bool) {
		if err != nil { // the stream was not readable at the mark: take it now
			if c, err = markCatchUp(ctx, st, h.cfg.Partitions); err != nil {
				return time.Time{}, false
			}
		}
		return c.poll(ctx)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// median returns the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// round1 rounds to 0.1.
func round1(x float64) float64 { return math.Round(x*10) / 10 }
