package lease

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
)

// TestRunnerPacing drives one partition's rounds through a script of
// outcomes and checks the pause after each: none after Busy, AfterProgress
// after Progress, a growing idle pause reset by work, a jittered growing
// backoff after failures reset by success, and an end at ErrNotHeld.
func TestRunnerPacing(t *testing.T) {
	ms := time.Millisecond
	pacing := Pacing{AfterProgress: 5 * ms, IdleStart: 10 * ms, IdleFactor: 2, IdleMax: 30 * ms, RetryStart: 100 * ms, RetryMax: time.Second}
	boom := errors.New("boom")
	type step struct {
		outcome Outcome
		err     error
		min     time.Duration // pause after this round: min..max (0..0: none)
		max     time.Duration
	}
	script := []step{
		{Busy, nil, 0, 0},
		{Progress, nil, 5 * ms, 5 * ms},
		{Idle, nil, 10 * ms, 10 * ms},
		{Idle, nil, 20 * ms, 20 * ms},
		{Idle, nil, 30 * ms, 30 * ms},
		{Idle, nil, 30 * ms, 30 * ms}, // capped
		{Idle, boom, 50 * ms, 100 * ms},
		{Idle, boom, 100 * ms, 200 * ms}, // doubling, jittered
		{Busy, nil, 0, 0},
		{Idle, nil, 10 * ms, 10 * ms},   // work reset the idle pause
		{Idle, boom, 50 * ms, 100 * ms}, // success reset the backoff
		{Idle, ErrNotHeld, 0, 0},
	}
	r := NewRunner(RunnerConfig{Lease: config.Lease{Bucket: "b", TTL: config.Duration(time.Second)}, Pacing: pacing}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if r.ReplicaID() == "" {
		t.Error("no default replica id")
	}
	var pauses []time.Duration
	r.sleep = func(_ context.Context, d time.Duration) bool { pauses = append(pauses, d); return true }
	rounds := 0
	r.work(context.Background(), 7, func(context.Context) (Outcome, error) {
		s := script[rounds]
		rounds++
		return s.outcome, s.err
	})
	if rounds != len(script) {
		t.Fatalf("%d rounds ran, want %d (ErrNotHeld ends the partition's work)", rounds, len(script))
	}
	i := 0
	for n, s := range script {
		if s.max == 0 {
			continue
		}
		if i >= len(pauses) {
			t.Fatalf("round %d: no pause, want %v..%v (pauses %v)", n, s.min, s.max, pauses)
		}
		if p := pauses[i]; p < s.min || p > s.max {
			t.Errorf("round %d: pause %v, want %v..%v", n, p, s.min, s.max)
		}
		i++
	}
	if i != len(pauses) {
		t.Errorf("pauses %v: %d more than the script's", pauses, len(pauses)-i)
	}
}

// TestRunnerStopsOnCancel: a cancelled context ends the work after the
// round in progress, without another round or pause.
func TestRunnerStopsOnCancel(t *testing.T) {
	r := NewRunner(RunnerConfig{Lease: config.Lease{Bucket: "b", TTL: config.Duration(time.Second), ReplicaID: "me"},
		Pacing: Pacing{RetryStart: time.Millisecond, RetryMax: time.Millisecond}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if r.ReplicaID() != "me" {
		t.Errorf("replica id %q", r.ReplicaID())
	}
	r.sleep = func(context.Context, time.Duration) bool { t.Error("paused after cancellation"); return false }
	ctx, cancel := context.WithCancel(context.Background())
	rounds := 0
	r.work(ctx, 1, func(context.Context) (Outcome, error) {
		rounds++
		cancel()
		return Idle, errors.New("interrupted")
	})
	if rounds != 1 {
		t.Errorf("%d rounds, want 1", rounds)
	}
	if r.Holds(1) || r.Balanced() || r.Owned() != nil {
		t.Error("a runner that never ran holds nothing")
	}
}

// TestRunnerGivesUpAPartitionThatCannotProgress: a round failing with
// ErrGiveUp (wrapped) ends the partition's work at once, without the retry
// pause a failed round gets, and is logged at ERROR with its cause; the
// manager then releases the lease.
func TestRunnerGivesUpAPartitionThatCannotProgress(t *testing.T) {
	var logged strings.Builder
	r := NewRunner(RunnerConfig{Lease: config.Lease{Bucket: "b", TTL: config.Duration(time.Second), ReplicaID: "me"},
		Pacing: Pacing{RetryStart: time.Millisecond, RetryMax: time.Millisecond}}, slog.New(slog.NewTextHandler(&logged, nil)))
	r.sleep = func(context.Context, time.Duration) bool { t.Error("paused after giving up"); return true }
	rounds := 0
	r.work(context.Background(), 4, func(context.Context) (Outcome, error) {
		rounds++
		return Busy, fmt.Errorf("documents not confirmed within 1s: %w", ErrGiveUp)
	})
	if rounds != 1 {
		t.Errorf("%d rounds, want 1", rounds)
	}
	if out := logged.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "documents not confirmed within 1s") {
		t.Errorf("give-up not logged at ERROR with its cause:\n%s", out)
	}
}

// TestRunnerMetricsReportHeldPartitions: the lease metrics name every
// partition the replica holds, under its service, and none once it stops;
// they say how many partitions there are; failed rounds are counted.
func TestRunnerMetricsReportHeldPartitions(t *testing.T) {
	s := testenv.NATS(t)
	c := testenv.Connect(t, s)
	reg := prometheus.NewRegistry()
	errs := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_errors_total"})
	r := NewRunner(RunnerConfig{Lease: config.Lease{Bucket: "metrics-leases", TTL: config.Duration(2 * time.Second), ReplicaID: "me"},
		Service: "aggregator", Registry: reg, Errors: errs, Pacing: Pacing{RetryStart: time.Millisecond, RetryMax: time.Millisecond}}, testenv.Logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var failed atomic.Int32
	go func() {
		done <- r.Run(ctx, c.JS, fixed(3), func(p int32) (Round, func()) {
			return func(ctx context.Context) (Outcome, error) {
				if p == 1 && failed.Add(1) <= 2 { // partition 1 fails twice
					return Idle, errors.New("failed round")
				}
				<-ctx.Done()
				return Idle, ctx.Err()
			}, nil
		})
	}()
	var total float64
	owned := func() (float64, []string, error) {
		families, err := reg.Gather()
		if err != nil {
			return 0, nil, err
		}
		var count float64
		var parts []string
		for _, f := range families {
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["service"] != "aggregator" {
					return 0, nil, fmt.Errorf("%s without service=aggregator: %v", f.GetName(), labels)
				}
				switch f.GetName() {
				case "flowline_lease_partitions_owned":
					count = m.GetGauge().GetValue()
				case "flowline_lease_partition_owned":
					parts = append(parts, labels["partition"])
				case "flowline_lease_partitions":
					total = m.GetGauge().GetValue()
				}
			}
		}
		slices.Sort(parts)
		return count, parts, nil
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		n, parts, err := owned()
		if err != nil || n != 3 || !slices.Equal(parts, []string{"0", "1", "2"}) || total != 3 {
			return fmt.Errorf("owned %v partitions %v of %v (%v), want 3: 0 1 2 of 3", n, parts, total, err)
		}
		var m dto.Metric
		if err := errs.Write(&m); err != nil || m.GetCounter().GetValue() != 2 {
			got := m.GetCounter().GetValue()
			return fmt.Errorf("errors counted %v, want 2", got)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, parts, err := owned(); err != nil || n != 0 || len(parts) != 0 {
		t.Fatalf("after stop: owned %v partitions %v (%v), want none", n, parts, err)
	}
}

// TestRunnerMetricsTolerateASecondReplicaOnOneRegistry: replicas of one
// service built in one process share a registry without a panic.
func TestRunnerMetricsTolerateASecondReplicaOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, id := range []string{"a", "b"} {
		NewRunner(RunnerConfig{Lease: config.Lease{Bucket: "b", TTL: config.Duration(time.Second), ReplicaID: id}, Service: "aggregator", Registry: reg}, testenv.Logger(t))
	}
	NewRunner(RunnerConfig{Lease: config.Lease{Bucket: "c", TTL: config.Duration(time.Second), ReplicaID: "a"}, Service: "archiver", Registry: reg}, testenv.Logger(t))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" {
					services[l.GetValue()] = true
				}
			}
		}
	}
	if !services["aggregator"] || !services["archiver"] {
		t.Fatalf("services reported: %v, want aggregator and archiver", services)
	}
}
