package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/stream"
)

// logLines returns the records of a JSON log at level.
func logLines(t *testing.T, buf *testenv.Buffer, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if line == "" || json.Unmarshal([]byte(line), &r) != nil || r["level"] != level {
			continue
		}
		out = append(out, r)
	}
	return out
}

// TestStalledPartitionIsReportedLongBeforeItsRecordsAgeOutAndASkipIsCounted:
// records are deleted at the records stream's max age whether aggregated
// or not. A partition whose consumer does not move (a stalled worker) shows
// a growing flowline_aggregator_lag_seconds and an ERROR once past the
// alert fraction of the max age; when its record message ages out
// unaggregated, an ERROR and flowline_aggregator_skipped_messages_total say
// so. A partition that is aggregated ages out without either.
func TestStalledPartitionIsReportedLongBeforeItsRecordsAgeOutAndASkipIsCounted(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.Connect(t, ns).JS
	ctx := context.Background()
	streams := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(4 * time.Second), DLQMaxAge: config.Duration(time.Hour)}
	if err := stream.EnsureStreams(ctx, js, streams); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ConsumerPrefix: "aggregator", Streams: streams,
		AggregatorLag: config.AggregatorLag{LagAlert: 0.25, LagInterval: config.Duration(100 * time.Millisecond)}}

	// Partitions 1 (stalled) and 2 (aggregated), each with a consumer as
	// a worker creates it.
	for _, p := range []int32{1, 2} {
		if _, err := js.Publish(ctx, stream.RecordsSubject(p), []byte("records")); err != nil {
			t.Fatal(err)
		}
		c, err := js.CreateConsumer(ctx, stream.RecordsStream, jetstream.ConsumerConfig{
			Durable: (&worker{p: p, cfg: cfg}).consumerName(), FilterSubject: stream.RecordsSubject(p), AckPolicy: jetstream.AckAllPolicy,
		})
		if err != nil {
			t.Fatal(err)
		}
		if p == 2 {
			msg, err := c.Next()
			if err != nil {
				t.Fatal(err)
			}
			if err := msg.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	var logs testenv.Buffer
	reg := prometheus.NewRegistry()
	l := newLagWatch(cfg, reg, slog.New(slog.NewJSONHandler(&logs, nil)))
	stop := l.start(ctx, js)
	defer stop()
	lag := func(p string) float64 {
		return testenv.Metric(t, reg, "flowline_aggregator_lag_seconds", map[string]string{"partition": p})
	}
	skipped := func(p string) float64 {
		return testenv.Metric(t, reg, "flowline_aggregator_skipped_messages_total", map[string]string{"partition": p})
	}

	// Past a quarter of the max age (1s): ERROR naming partition 1, well
	// before its record ages out.
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, r := range logLines(t, &logs, "ERROR") {
			if r["partition"] == 1.0 && strings.Contains(r["msg"].(string), "falling behind") {
				return nil
			}
		}
		return fmt.Errorf("no ERROR about partition 1 falling behind; lag %vs", lag("1"))
	})
	if got := lag("1"); got < 1 || got >= 4 {
		t.Errorf("partition 1 lag %vs at the alert, want between 1s and the 4s max age", got)
	}
	if got := lag("2"); got != 0 {
		t.Errorf("aggregated partition 2 lag %vs, want 0", got)
	}
	behind := func(p string) float64 {
		return testenv.Metric(t, reg, "flowline_aggregator_messages_behind", map[string]string{"partition": p})
	}
	if b1, b2 := behind("1"), behind("2"); b1 != 1 || b2 != 0 {
		t.Errorf("messages behind: partition 1 %v, partition 2 %v; want 1 and 0", b1, b2)
	}
	if got := skipped("1"); got != 0 {
		t.Errorf("a skip counted before anything aged out: %v", got)
	}

	// The record message ages out unaggregated: counted once, and the lag
	// is back to 0 (nothing left to aggregate). The window is wide: a CI
	// machine under the whole suite's load (the race detector included)
	// once took longer than 20 s to expire the message and measure again.
	testenv.Eventually(t, time.Minute, func() error {
		if got := skipped("1"); got != 1 {
			return fmt.Errorf("skipped messages of partition 1 = %v", got)
		}
		return nil
	})
	skips := 0
	for _, r := range logLines(t, &logs, "ERROR") {
		if strings.Contains(r["msg"].(string), "was deleted") {
			skips++
			if r["partition"] != 1.0 {
				t.Errorf("skip logged for partition %v", r["partition"])
			}
		}
	}
	if skips != 1 {
		t.Errorf("%d ERRORs about a deleted message, want 1:\n%s", skips, logs.String())
	}
	// Partition 2's message ages out too (its subject is gone from the
	// stream, so it is simply no longer measured): no skip counted.
	testenv.Eventually(t, time.Minute, func() error {
		if _, err := js.Stream(ctx, stream.RecordsStream); err != nil {
			return err
		}
		st, _ := js.Stream(ctx, stream.RecordsStream)
		if n := st.CachedInfo().State.Msgs; n != 0 {
			return fmt.Errorf("%d messages left", n)
		}
		return nil
	})
	stop()
	if got := skipped("2"); got != 0 {
		t.Errorf("aggregated partition 2 counted %v skips", got)
	}
	if got := lag("1"); got != 0 {
		t.Errorf("partition 1 lag %vs once nothing is left, want 0", got)
	}
}

// TestAggregatorExportsEachPartitionsLag: the service runs the watch; a
// partition it has aggregated reports a lag of 0.
func TestAggregatorExportsEachPartitionsLag(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	if _, err := js.Publish(context.Background(), stream.RecordsSubject(5), []byte("not protobuf")); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := workerConfig(ns)
	cfg.CheckpointMessages = 50
	cfg.AggregatorLag = config.AggregatorLag{LagInterval: config.Duration(100 * time.Millisecond)}
	testenv.Run(t, New(cfg, testenv.DepsOn(t, reg)))
	testenv.Eventually(t, 10*time.Second, func() error {
		mfs, err := reg.Gather()
		if err != nil {
			return err
		}
		for _, mf := range mfs {
			if mf.GetName() != "flowline_aggregator_lag_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == "5" && m.GetGauge().GetValue() == 0 {
					return nil
				}
			}
		}
		return errors.New("no lag of 0 for partition 5")
	})
}
