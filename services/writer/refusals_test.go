package writer_test

// The writer against conditions of the cluster (real NATS, the shared
// Elasticsearch): documents Elasticsearch refuses for the cluster's sake
// stay pending, are never dead-lettered, fail the writer's readiness with
// the reason, and are all written once the condition is lifted.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

// esDo sends a request with a JSON body (may be empty) to the test's
// Elasticsearch and fails t unless it succeeds.
func esDo(t *testing.T, es *search.Client, method, path, body string) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	if _, err := es.Do(context.Background(), search.Request{Method: method, Path: path, Body: b, What: method + " " + path}); err != nil {
		t.Fatal(err)
	}
}

// TestWriterWaitsOutClusterSideRefusals: a write block (item 403), a closed
// index (item 400 index_closed_exception) and a missing index that may not
// be created (item 404 index_not_found_exception) are conditions of the
// cluster, not of the documents. While one lasts, the writer keeps the
// documents pending (their messages stay in the stream), dead-letters
// nothing, says why at WARN (once, not once per retry) and is not ready,
// naming the condition; once it is lifted every document is written, the
// messages are acked and the writer is ready again.
func TestWriterWaitsOutClusterSideRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string // what readiness and the WARN name
		apply  func(t *testing.T, es *search.Client, env *testenv.Env, index string)
		lift   func(t *testing.T, es *search.Client, env *testenv.Env, index string)
	}{
		{
			name: "WriteBlock", reason: "cluster_block_exception",
			apply: func(t *testing.T, es *search.Client, _ *testenv.Env, index string) {
				esDo(t, es, "PUT", "/"+index+"/_settings", `{"index.blocks.write":true}`)
			},
			lift: func(t *testing.T, es *search.Client, _ *testenv.Env, index string) {
				esDo(t, es, "PUT", "/"+index+"/_settings", `{"index.blocks.write":null}`)
			},
		},
		{
			name: "ClosedIndex", reason: "index_closed_exception",
			apply: func(t *testing.T, es *search.Client, _ *testenv.Env, index string) {
				esDo(t, es, "POST", "/"+index+"/_close", "")
			},
			lift: func(t *testing.T, es *search.Client, _ *testenv.Env, index string) {
				esDo(t, es, "POST", "/"+index+"/_open", "")
			},
		},
		{
			// Automatic index creation is switched off for this test's
			// indices only, so that other tests sharing the node are not
			// affected; the cluster setting is restored at cleanup.
			name: "MissingIndexAutoCreateOff", reason: "index_not_found_exception",
			apply: func(t *testing.T, es *search.Client, env *testenv.Env, index string) {
				t.Cleanup(func() {
					esDo(t, es, "PUT", "/_cluster/settings", `{"persistent":{"action.auto_create_index":null}}`)
				})
				esDo(t, es, "PUT", "/_cluster/settings", fmt.Sprintf(`{"persistent":{"action.auto_create_index":"-%s-*,+*"}}`, env.Prefix))
				esDo(t, es, "DELETE", "/"+index, "")
			},
			lift: func(t *testing.T, es *search.Client, env *testenv.Env, _ string) {
				if err := search.EnsureSchema(context.Background(), es, smallWriterConfig(env.NATS, env.ESConfig, env.Prefix).Index); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.NewEnv(t)
			js := testenv.ConnectStreams(t, env.NATS).JS
			ctx := context.Background()
			logs := &testenv.Buffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			reg := prometheus.NewRegistry()
			w := writer.New(smallWriterConfig(env.NATS, env.ESConfig, env.Prefix), writer.Deps{Log: log, Tracer: noop.NewTracerProvider(), Registry: reg})
			testenv.Run(t, w)
			testenv.Eventually(t, 30*time.Second, w.Ready)

			index := schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance)
			tc.apply(t, env.ES, env, index)

			const msgs, perMsg = 5, 10
			for m := range msgs {
				docs := make([]*recordv1.Document, perMsg)
				for i := range docs {
					key := int64(1000 + m*perMsg + i)
					docs[i] = &recordv1.Document{Family: "flownode-instance", Id: fmt.Sprint(key), Version: key, Source: flowNode(key, "ACTIVE", "")}
				}
				testenv.PublishDocuments(t, js, 1, docs...)
			}

			// Several rounds of retries, readiness failing with the reason.
			testenv.Eventually(t, 60*time.Second, func() error {
				if r := testenv.Metric(t, reg, "flowline_writer_retries_total", nil); r < 4 {
					return fmt.Errorf("%v retry rounds so far", r)
				}
				err := w.Ready()
				if err == nil {
					return fmt.Errorf("writer ready while Elasticsearch refuses its documents")
				}
				if !strings.Contains(err.Error(), tc.reason) {
					return fmt.Errorf("readiness does not name %s: %v", tc.reason, err)
				}
				return nil
			})
			t.Logf("readiness while refused (expected): %v", w.Ready())
			if n, err := procstack.StreamMsgs(ctx, js, stream.DocsStream); err != nil || n != msgs {
				t.Errorf("document stream holds %d messages (%v) while refused, want all %d pending", n, err, msgs)
			}
			if n, err := procstack.StreamMsgs(ctx, js, stream.DLQStream); err != nil || n != 0 {
				t.Errorf("dead-letter stream: %d messages (%v), want none", n, err)
			}
			rounds := testenv.Metric(t, reg, "flowline_writer_retries_total", nil)
			warns := 0
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, tc.reason) {
					warns++
				}
			}
			if warns == 0 || float64(warns) >= rounds {
				t.Errorf("%d WARN lines naming %s for %v retry rounds: want the condition said at WARN, and not on every retry", warns, tc.reason, rounds)
			}

			tc.lift(t, env.ES, env, index)
			resilWaitDrained(t, js, 60*time.Second)
			if err := search.Refresh(ctx, env.ES, index); err != nil {
				t.Fatal(err)
			}
			if n, err := resilCount(ctx, env.ES, index); err != nil || n != msgs*perMsg {
				t.Errorf("index holds %d documents (%v), want %d", n, err, msgs*perMsg)
			}
			testenv.Eventually(t, 10*time.Second, w.Ready)
			if n, err := procstack.StreamMsgs(ctx, js, stream.DLQStream); err != nil || n != 0 {
				t.Errorf("dead-letter stream: %d messages (%v), want none", n, err)
			}
			if d := testenv.Metric(t, reg, "flowline_writer_dead_letters_total", nil); d != 0 {
				t.Errorf("flowline_writer_dead_letters_total = %v, want 0", d)
			}
			if !strings.Contains(logs.String(), "accepts writes again") {
				t.Errorf("no log line says that Elasticsearch accepts writes again:\n%s", logs.String())
			}
		})
	}
}
