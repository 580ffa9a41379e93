package writer_test

// Resilience of the writer on real NATS (embedded) and a real Elasticsearch
// node of each test's own (internal/dev/esnode; not the shared one: these tests stop
// it or starve it). Helpers are in resilience_helpers_test.go.
//
//	go test ./services/writer/ -run Resilien -count=1 -v

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

const resilDocs = 20_000 // unique ids per test

// resilRun is one resilience test's broker, load and running writer.
type resilRun struct {
	es         *search.Client
	js         jetstream.JetStream
	index      string
	msgs       []resilMsg
	logs       *resilLogs
	reg        *prometheus.Registry
	stopWriter func()
}

// resilSetup starts NATS with Flowline's streams, builds the load (resilDocs
// ids, perMsg documents per message) and runs a writer against node, tuned
// by tune.
func resilSetup(t *testing.T, node *esnode.Node, perMsg int, tune func(*writer.Config)) *resilRun {
	t.Helper()
	es, esCfg := resilClient(t, node.URL())
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	prefix := testenv.IndexPrefix(t)
	plan := resilPlan(resilDocs)
	r := &resilRun{es: es, js: js, index: schema.RuntimeIndex(prefix, schema.FlowNodeInstance), msgs: resilMessages(t, plan, perMsg),
		logs: newResilLogs(), reg: prometheus.NewRegistry()}
	t.Logf("load: %d unique ids, %d documents (updates and stale copies included) in %d messages", resilDocs, len(plan), len(r.msgs))
	cfg := writer.Config{
		Consumer: "writer", AckWait: config.Duration(30 * time.Second),
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(), Search: esCfg,
		Index: config.Index{Prefix: prefix, Shards: 1, RefreshInterval: "1s"},
	}
	tune(&cfg)
	w := writer.New(cfg, writer.Deps{Log: r.logs.logger(testenv.Logger(t)), Tracer: noop.NewTracerProvider(), Registry: r.reg})
	r.stopWriter = testenv.Run(t, w)
	return r
}

// resilCheckOutcome asserts what both tests expect of the writer's log and
// metrics: it noticed trouble (WARN and retries) and gave up on nothing
// (no ERROR, no dead letter).
func resilCheckOutcome(t *testing.T, logs *resilLogs, reg *prometheus.Registry, js jetstream.JetStream) (retries, retryItems float64) {
	t.Helper()
	if n, err := procstack.StreamMsgs(context.Background(), js, stream.DLQStream); err != nil || n != 0 {
		t.Errorf("dead-letter stream: %d messages (%v), want none", n, err)
	}
	warns, errs := logs.snapshot()
	for _, e := range errs {
		t.Errorf("writer logged an ERROR: %s", e)
	}
	total := 0
	for msg, c := range warns {
		total += c
		t.Logf("WARN x%d: %s", c, msg)
	}
	retries = testenv.Metric(t, reg, "flowline_writer_retries_total", nil)
	retryItems = testenv.Metric(t, reg, "flowline_writer_items_total", map[string]string{"outcome": "retry"})
	dead := testenv.Metric(t, reg, "flowline_writer_dead_letters_total", nil)
	t.Logf("writer metrics: retries_total %v, items_total{retry} %v, items_total{done} %v, items_total{stale} %v, dead_letters_total %v, bulk_requests_total %v",
		retries, retryItems,
		testenv.Metric(t, reg, "flowline_writer_items_total", map[string]string{"outcome": "done"}),
		testenv.Metric(t, reg, "flowline_writer_items_total", map[string]string{"outcome": "stale"}),
		dead, testenv.Metric(t, reg, "flowline_writer_bulk_requests_total", nil))
	if dead != 0 {
		t.Errorf("%v documents dead-lettered, want none", dead)
	}
	if total == 0 {
		t.Errorf("the writer logged no WARN: it did not notice Elasticsearch's trouble")
	}
	return retries, retryItems
}

// TestResilienceElasticsearchRestartMidLoad: Elasticsearch is stopped for
// 30 s in the middle of a load (publishing goes on) and started again on
// the same data and port; every document ends up present exactly once at
// its highest version, nothing is lost or dead-lettered, and the writer
// only WARNs while it waits.
func TestResilienceElasticsearchRestartMidLoad(t *testing.T) {
	tStart := time.Now()
	opts := resilNodeOptions(t, nil)
	node := resilStartNode(t, opts)
	r := resilSetup(t, node, 200, func(c *writer.Config) {
		c.Workers, c.FetchMessages, c.BulkMaxDocs, c.BulkMaxBytes, c.FlushInterval = 2, 16, 5000, 8<<20, config.Duration(100*time.Millisecond)
	})
	es, js, index, msgs := r.es, r.js, r.index, r.msgs
	ctx := context.Background()

	// Publish at a steady pace (about 35 s in all), so that publishing
	// goes on while Elasticsearch is down.
	var published atomic.Int64
	pubCtx, cancelPub := context.WithCancel(ctx)
	defer cancelPub()
	pubDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for _, m := range msgs {
			if _, err := js.Publish(pubCtx, m.subject, m.data); err != nil {
				pubDone <- err
				return
			}
			published.Add(1)
			select {
			case <-tick.C:
			case <-pubCtx.Done():
				pubDone <- pubCtx.Err()
				return
			}
		}
		pubDone <- nil
	}()

	testenv.Eventually(t, 60*time.Second, func() error {
		c, err := resilCount(ctx, es, index)
		if err != nil {
			return err
		}
		if c < resilDocs/3 {
			return fmt.Errorf("%d of %d documents indexed", c, resilDocs)
		}
		return nil
	})
	beforeStop, _ := resilCount(ctx, es, index)
	atStop := published.Load()
	t0 := time.Now()
	if err := node.Stop(); err != nil {
		t.Fatalf("stop Elasticsearch: %v", err)
	}
	t.Logf("Elasticsearch stopped with %d documents indexed and %d of %d messages published (stop took %v)",
		beforeStop, atStop, len(msgs), time.Since(t0).Round(time.Millisecond))
	time.Sleep(30 * time.Second)
	atRestart := published.Load()
	if atRestart <= atStop {
		t.Errorf("nothing was published while Elasticsearch was down (%d messages before, %d after)", atStop, atRestart)
	}
	if atStop == int64(len(msgs)) {
		t.Errorf("everything was published before Elasticsearch was stopped")
	}
	t1 := time.Now()
	node = resilStartNode(t, opts)
	t.Logf("Elasticsearch started again at %s (down %v); %d messages published meanwhile",
		node.URL(), time.Since(t0).Round(time.Millisecond), atRestart-atStop)

	select {
	case err := <-pubDone:
		if err != nil {
			t.Fatalf("publishing: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("publishing did not finish")
	}
	resilWaitDrained(t, js, 90*time.Second)
	t.Logf("writer caught up %v after the restart", time.Since(t1).Round(time.Millisecond))
	r.stopWriter()

	resilVerify(t, es, index, resilDocs)
	retries, _ := resilCheckOutcome(t, r.logs, r.reg, js)
	if retries == 0 {
		t.Errorf("flowline_writer_retries_total = 0: no bulk was retried although Elasticsearch was down")
	}
	t.Logf("test took %v", time.Since(tStart).Round(time.Millisecond))
}

// TestResilience429StormIsSurvived: a node with a write thread pool of one
// thread and a queue of one rejects most concurrent bulks (429, at the
// request or item level) while a writer with many workers and small bulks
// pushes a load; everything is written exactly once at its highest version.
func TestResilience429StormIsSurvived(t *testing.T) {
	tStart := time.Now()
	opts := resilNodeOptions(t, map[string]string{
		"thread_pool.write.size":       "1",
		"thread_pool.write.queue_size": "1",
	})
	opts.DataDir = "" // no restart here
	node := resilStartNode(t, opts)
	r := resilSetup(t, node, 50, func(c *writer.Config) {
		c.Workers, c.FetchMessages, c.BulkMaxDocs, c.BulkMaxBytes, c.FlushInterval = 8, 1, 50, 64<<10, config.Duration(50*time.Millisecond)
	})
	es, js, index, msgs := r.es, r.js, r.index, r.msgs
	ctx := context.Background()

	t0 := time.Now()
	for _, m := range msgs {
		if _, err := js.Publish(ctx, m.subject, m.data); err != nil {
			t.Fatal(err)
		}
	}
	resilWaitDrained(t, js, 100*time.Second)
	t.Logf("writer wrote the load in %v", time.Since(t0).Round(time.Millisecond))
	r.stopWriter()

	resilVerify(t, es, index, resilDocs)
	rejected := resilThreadPoolRejected(t, es)
	retries, retryItems := resilCheckOutcome(t, r.logs, r.reg, js)
	t.Logf("Elasticsearch write thread pool rejected %d tasks", rejected)
	if rejected == 0 {
		t.Errorf("the write thread pool rejected nothing: no 429 storm happened")
	}
	if retries == 0 && retryItems == 0 {
		t.Errorf("the writer retried nothing (flowline_writer_retries_total and items_total{outcome=\"retry\"} are 0) although Elasticsearch rejected %d tasks", rejected)
	}
	t.Logf("test took %v", time.Since(tStart).Round(time.Millisecond))
}
