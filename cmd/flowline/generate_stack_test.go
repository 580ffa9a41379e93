package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/writer"
)

// asFlowline makes the test binary act as the flowline binary: the bench
// smoke test runs it as the services' child processes.
const asFlowline = "FLOWLINE_TEST_AS_FLOWLINE"

func TestMain(m *testing.M) {
	if os.Getenv(asFlowline) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	testenv.Main(m)
}

// TestGenerateThroughTheStack: a realistic workload with incidents,
// cancellations and instances left running goes through `flowline generate
// --ingest` into the real ingest, aggregator and writer (embedded NATS, real
// Elasticsearch); every instance, incident, decision and user task of the
// generated records arrives as a document, and nothing is dead-lettered.
func TestGenerateThroughTheStack(t *testing.T) {
	ns := testenv.NATS(t)
	es, esCfg := testenv.Elasticsearch(t)
	prefix := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, prefix)
	natsCfg, streams := testenv.NATSConfig(ns), testenv.Streams()
	log, reg, tp := testenv.Logger(t), prometheus.NewRegistry(), noop.NewTracerProvider()
	in := ingest.New(ingest.Config{
		Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 20, MaxRecords: 10_000, // 1 MiB: the 5000-record batches are halved
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 500, BatchBytes: 512 << 10}, NATS: natsCfg, Streams: streams,
	}, ingest.Deps{Log: log, Tracer: tp, Registry: reg})
	agg := aggregator.New(aggregator.Config{
		ConsumerPrefix: "aggregator", AggregatorState: config.AggregatorState{StateBucket: "flowline-aggregator"}, DefinitionsBucket: "flowline-definitions",
		DefinitionCache: 100, Lease: config.Lease{Bucket: "flowline-aggregator-leases", TTL: 2 * time.Second},
		CheckpointInterval: 200 * time.Millisecond, CheckpointMessages: 100, FetchBatch: 16, AckWait: 30 * time.Second,
		NATS: natsCfg, Streams: streams,
	}, aggregator.Deps{Log: log, Tracer: tp, Registry: prometheus.NewRegistry()})
	wr := writer.New(writer.Config{
		Consumer: "writer", Workers: 2, FetchMessages: 64, BulkMaxDocs: 1000, BulkMaxBytes: 1 << 20,
		FlushInterval: 100 * time.Millisecond, AckWait: 30 * time.Second, NATS: natsCfg, Streams: streams, ES: esCfg,
		Index: config.Index{Prefix: prefix, Shards: 1, Replicas: 0, RefreshInterval: "1s"},
	}, writer.Deps{Log: log, Tracer: tp, Registry: reg})
	testenv.Run(t, wr, agg, in)

	args := []string{"--workload", "realistic", "--instances", "40", "--partitions", "3", "--items", "4", "--seed", "11",
		"--start", "2026-11-23T12:00:00Z", "--resume", "0", "--incident-rate", "0.1", "--cancel-rate", "0.2", "--running-rate", "0.15"}
	file := filepath.Join(t.TempDir(), "expected.ndjson")
	var out, errOut bytes.Buffer
	if code := run(append([]string{"generate", "--out", file}, args...), &out, &errOut); code != 0 {
		t.Fatalf("generate --out: exit %d: %s", code, errOut.String())
	}
	want := readGenerated(t, file)
	out.Reset()
	if code := run(append([]string{"generate", "--ingest", "http://" + in.Addr()}, args...), &out, &errOut); code != 0 {
		t.Fatalf("generate --ingest: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%d accepted, 0 duplicates", want.records)) {
		t.Fatalf("ingest did not accept the %d records: %s", want.records, out.String())
	}

	active := count(want.instances, "ELEMENT_ACTIVATED")
	checks := []struct {
		family schema.Family
		query  string
		want   int
	}{
		{schema.ListView, "", len(want.instances)},
		{schema.ListView, "state:COMPLETED", count(want.instances, "ELEMENT_COMPLETED")},
		{schema.ListView, "state:CANCELED", count(want.instances, "ELEMENT_TERMINATED")},
		{schema.ListView, "state:ACTIVE", active},
		{schema.FlowNodeInstance, "", len(want.flowNodes)},
		{schema.Incident, "", len(want.incidents)},
		{schema.Incident, "state:RESOLVED", count(want.incidents, "RESOLVED")},
		{schema.DecisionInstance, "", want.decisions},
		{schema.Task, "", len(want.tasks)},
		{schema.Task, "state:COMPLETED", count(want.tasks, "COMPLETED")},
		{schema.Task, "state:CANCELED", count(want.tasks, "CANCELED")},
	}
	if len(want.instances) <= 40 || active == 0 || len(want.incidents) == 0 || want.decisions == 0 || len(want.tasks) == 0 ||
		count(want.instances, "ELEMENT_TERMINATED") == 0 {
		t.Fatalf("the workload lacks something to check: %d instances (%d active), %d incidents, %d decisions, %d user tasks",
			len(want.instances), active, len(want.incidents), want.decisions, len(want.tasks))
	}
	t.Logf("generated %d records: %d instances (%d active), %d flow nodes, %d incidents, %d decisions, %d user tasks",
		want.records, len(want.instances), active, len(want.flowNodes), len(want.incidents), want.decisions, len(want.tasks))
	testenv.Eventually(t, 90*time.Second, func() error {
		for _, c := range checks {
			got, err := countDocs(es, schema.Alias(prefix, c.family), c.query)
			if err != nil {
				return err
			}
			if got != c.want {
				return fmt.Errorf("%s %q: %d documents, want %d", c.family, c.query, got, c.want)
			}
		}
		return nil
	})

	js := testenv.Connect(t, ns).JS
	info, err := js.Stream(context.Background(), stream.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := info.Info(context.Background()); err != nil || st.State.Msgs != 0 {
		t.Fatalf("dead letters: %v (err %v)", st.State.Msgs, err)
	}
}

// countDocs counts the documents of alias matching a query string ("" for
// all), after a refresh.
func countDocs(es *elasticsearch.Client, alias, query string) (int, error) {
	ctx := context.Background()
	if err := search.Refresh(ctx, es, alias); err != nil {
		return 0, err
	}
	opts := []func(*esapi.CountRequest){es.Count.WithContext(ctx), es.Count.WithIndex(alias)}
	if query != "" {
		opts = append(opts, es.Count.WithQuery(query))
	}
	res, err := es.Count(opts...)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.IsError() {
		return 0, fmt.Errorf("count %s: %s", alias, res.String())
	}
	var body struct {
		Count int `json:"count"`
	}
	return body.Count, json.NewDecoder(res.Body).Decode(&body)
}
