package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/bench"
	"github.com/flowline/flowline/internal/testenv"
)

// TestBenchSmoke runs `flowline bench --smoke` end to end, the services as
// child processes (this test binary acting as flowline), against real
// NATS servers and the real Elasticsearch, with the ceiling and the peer
// (Benthos, built on first use): it keeps the harness working. The figures
// of seconds-long runs mean nothing; the test checks that every part
// measured something consistent.
func TestBenchSmoke(t *testing.T) {
	rep, out, page := runSmoke(t, &benchOptions{smoke: true, peer: true, ceiling: true, repeat: 2}, "flowline bench --smoke --repeat 2")
	m := rep.Main
	if m == nil || m.Partitions != 2 || m.Aggregators != 1 {
		t.Fatalf("main run %+v, want 2 partitions, 1 aggregator (smoke: partitions 1,2)", m)
	}
	if m.Instances != 200 || m.DocsByFamily["list-view"] != 200 || m.Documents <= m.Instances || m.Records < 100*200 {
		t.Errorf("main run: %d instances, %d list-view, %d documents, %d records", m.Instances, m.DocsByFamily["list-view"], m.Documents, m.Records)
	}
	if m.IndexOps < m.Documents {
		t.Errorf("main run: %d index operations for %d documents", m.IndexOps, m.Documents)
	}
	if m.Seconds <= 0 || m.RecordsPerSec <= 0 || m.DocsPerSec <= 0 {
		t.Errorf("main run rates: %+v", m)
	}
	var names []string
	for _, s := range m.Services {
		names = append(names, s.Name)
		if s.PeakRSSMB <= 0 {
			t.Errorf("%s: peak RSS %v", s.Name, s.PeakRSSMB)
		}
	}
	if want := []string{"aggregator", "ingest", "nats", "writer"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}
	var got []bench.Scenario
	for _, s := range rep.Scenarios {
		got = append(got, s.Scenario)
		if s.Records != m.Records && s.Partitions == m.Partitions {
			t.Errorf("%v: %d records, the main run %d", s.Scenario, s.Records, m.Records)
		}
	}
	if want := []bench.Scenario{{Partitions: 1, Aggregators: 1}, {Partitions: 2, Aggregators: 1}, {Partitions: 2, Aggregators: 2}}; !slices.Equal(got, want) {
		t.Errorf("scenarios %v, want %v", got, want)
	}
	if l := rep.Latency; l == nil || l.Samples == 0 || l.P50MS <= 0 || l.P50MS > l.P95MS || l.P95MS > l.P99MS || l.P99MS > l.MaxMS {
		t.Errorf("latency %+v", l)
	}
	if c := rep.Ceiling; c == nil || c.Documents != m.Documents || c.DocsPerSec <= 0 || c.Ratio <= 0 {
		t.Errorf("ceiling %+v (main run %d documents)", c, m.Documents)
	}
	if len(rep.MainRuns) != 2 || len(rep.CeilingRuns) != 2 {
		t.Errorf("--repeat 2: %d main runs and %d ceilings", len(rep.MainRuns), len(rep.CeilingRuns))
	}
	// The search engine's own statistics: the test's node was not started
	// by the harness, so its CPU is not read, but everything else is.
	for i, r := range rep.MainRuns {
		e := r.Engine
		// Every operation's action line alone is over 50 bytes; the
		// engine indexes no more than it was sent (409s it does not count).
		if e.CPUSeconds != -1 || e.IndexOps <= 0 || e.IndexOps > int64(r.IndexOps) || e.BulkRequests <= 0 || e.MeanBulkDocs <= 0 ||
			e.MeanBulkBytes < 50*e.MeanBulkDocs || e.Indexed <= 0 || e.Indexed > e.IndexOps || e.Segments <= 0 || e.ExternalRefreshes <= 0 {
			t.Errorf("main run %d: search engine work %+v", i, e)
		}
	}
	for i, c := range rep.CeilingRuns {
		e := c.Engine
		if e.IndexOps != int64(m.Documents) || e.Indexed != int64(m.Documents) || e.BulkRequests <= 0 || e.MeanBulkDocs <= 0 || e.Segments <= 0 {
			t.Errorf("ceiling %d: search engine work %+v (main run %d documents)", i, e, m.Documents)
		}
	}
	if s := rep.Summary; s == nil || s.DocsPerSec.Runs != 2 || s.DocsPerSec.Min > s.DocsPerSec.Median || s.DocsPerSec.Median > s.DocsPerSec.Max ||
		s.FlowlineMicrosPerRecord.Median <= 0 || len(s.PerProcessMicrosPerRecord) != 4 {
		t.Errorf("summary %+v", s)
	} else {
		var targets, notMeasured []string
		for _, c := range s.Targets {
			targets = append(targets, c.Name)
			if c.NotMeasured != "" {
				notMeasured = append(notMeasured, c.Name)
			}
		}
		// The engine's CPU per operation against the ceiling's, Flowline's
		// CPU, the ceiling ratio, p50, p99 and the peer; no search engine
		// CPU here (the test's node), so its target is not measured.
		if len(targets) != 6 || len(notMeasured) != 1 || !strings.Contains(notMeasured[0], "search engine CPU") {
			t.Errorf("targets %q (not measured: %q)", targets, notMeasured)
		}
	}
	// The peer gets every record, the warm-up's deployments included.
	if p := rep.Peer; p == nil || p.Records != int(m.Records)+m.Partitions || p.RecordsPerSec <= 0 || p.Ratio <= 0 {
		t.Errorf("peer %+v (main run %d records)", p, m.Records)
	}
	for _, want := range []string{"Flowline / ceiling", "Flowline / peer", "Scaling", "p99 ms", "CPU µs / record",
		"Search engine work", "segments at the end", "Over 2 runs", "Targets (the medians", "end-to-end documents/s ÷ ceiling"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
		if !strings.Contains(page, want) {
			t.Errorf("the Markdown page lacks %q", want)
		}
	}
}

// TestBenchC7Smoke runs `flowline bench --c7 --smoke` end to end: a fresh
// Camunda 7 engine filled with 200 instances of the benchmark's model, then
// c7-import, the aggregator (the c7 fold) and the writer as child processes
// (this test binary acting as flowline), against real NATS and the real
// Elasticsearch. It checks that every instance was counted, complete, with
// a positive rate, and that the CPU of every process was measured.
func TestBenchC7Smoke(t *testing.T) {
	rep, out, page := runSmoke(t, &benchOptions{smoke: true, c7: true}, "flowline bench --c7 --smoke")
	if rep.Main != nil || len(rep.Scenarios) > 0 {
		t.Errorf("--c7 ran the Zeebe runs too: %+v", rep.Main)
	}
	c := rep.C7
	if c == nil {
		t.Fatalf("no c7 section in the report:\n%s", out)
	}
	// The model: about 13 activity instances, 12 variable updates and one
	// user task per instance.
	if c.Instances != 200 || c.ActivityInstances < 12*200 || c.VariableUpdates != 12*200 || c.UserTasks != 200 {
		t.Errorf("engine history: %d instances, %d activity instances, %d variable updates, %d user tasks",
			c.Instances, c.ActivityInstances, c.VariableUpdates, c.UserTasks)
	}
	for family, want := range map[string]int{"c7-process-instance": 200, "c7-list-view": 200, "c7-task": 200,
		"c7-flownode-instance": c.ActivityInstances, "c7-variable": c.Variables} {
		if got := c.DocsByFamily[family]; got != want {
			t.Errorf("%s: %d documents, want %d", family, got, want)
		}
	}
	if c.Seconds <= 0 || c.InstancesPerSec <= 0 || c.EntitiesPerSec <= c.InstancesPerSec || c.DocsPerSec <= 0 || c.GenerateSeconds <= 0 {
		t.Errorf("rates: %+v", c)
	}
	if c.IndexOps < c.Documents {
		t.Errorf("%d index operations for %d documents", c.IndexOps, c.Documents)
	}
	var names []string
	for _, s := range c.Services {
		names = append(names, s.Name)
		if s.PeakRSSMB <= 0 || s.CPUSeconds < 0 {
			t.Errorf("%s: CPU %v s, peak RSS %v MB", s.Name, s.CPUSeconds, s.PeakRSSMB)
		}
	}
	// No elasticsearch: the test's node was not started by the harness.
	if want := []string{"engine", "aggregator", "c7-import", "nats", "writer"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}
	if c.CPUSeconds() <= 0 {
		t.Errorf("no CPU measured: %+v", c.Services)
	}
	for _, want := range []string{"Camunda 7 import end to end", "Where the CPU goes", "CPU ms / instance", "Optimize, published"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
		if !strings.Contains(page, want) {
			t.Errorf("the Markdown page lacks %q", want)
		}
	}
}

// TestBenchExporterSmoke runs `flowline bench --exporter --smoke` end to
// end: the exporter module built with Maven, NATS and ingest as child
// processes (this test binary acting as flowline), one exporter instance
// driven by the broker harness over 200 typical instances. It checks that
// every record was sent and accepted, without retries, and that the rate and
// the CPU of the exporter, ingest and NATS were measured.
func TestBenchExporterSmoke(t *testing.T) {
	rep, out, page := runSmoke(t, &benchOptions{smoke: true, exporter: true}, "flowline bench --exporter --smoke")
	if rep.Main != nil || rep.C7 != nil {
		t.Errorf("--exporter ran other benchmarks too")
	}
	e := rep.Exporter
	if e == nil {
		t.Fatalf("no exporter section in the report:\n%s", out)
	}
	if e.Records < 200 || e.Sent != int64(e.Records) || e.Accepted != e.Sent || e.Retries != 0 || e.Duplicates != 0 {
		t.Errorf("records %d, sent %d, accepted by ingest %d, retries %d, duplicates %d", e.Records, e.Sent, e.Accepted, e.Retries, e.Duplicates)
	}
	if min := int64(e.Records / exporterBatch); e.Batches < min {
		t.Errorf("%d requests for %d records in batches of at most %d", e.Batches, e.Records, exporterBatch)
	}
	if e.Seconds <= 0 || e.RecordsPerSec <= 0 || e.ExporterCPUMicrosPerRecord <= 0 || e.ActorCPUMicrosPerRecord <= 0 ||
		e.ActorCPUMicrosPerRecord > e.ExporterCPUMicrosPerRecord {
		t.Errorf("rates: %+v", e)
	}
	var names []string
	for _, s := range e.Services {
		names = append(names, s.Name)
		if s.PeakRSSMB <= 0 || s.CPUSeconds <= 0 {
			t.Errorf("%s: CPU %v s, peak RSS %v MB", s.Name, s.CPUSeconds, s.PeakRSSMB)
		}
	}
	if want := []string{"nats", "ingest"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}
	for _, want := range []string{"Zeebe exporter: one instance", "records/s", "µs per record"} {
		if !strings.Contains(out, want) || !strings.Contains(page, want) {
			t.Errorf("the table or the Markdown page lacks %q", want)
		}
	}
}

// exporterBatch is the exporter's default batch size, the benchmark's.
const exporterBatch = 1000

// runSmoke runs the bench with o (its --smoke settings) end to end against
// the tests' Elasticsearch, the services being this test binary acting as
// flowline, and returns the JSON report as read back, the table and the
// Markdown page.
func runSmoke(t *testing.T, o *benchOptions, command string) (rep bench.Report, table, page string) {
	t.Helper()
	dir := t.TempDir()
	o.esURL, o.out = testenv.ElasticsearchURL(t), filepath.Join(dir, "bench.json")
	cfg, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bin, err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	cfg.ChildEnv = []string{asFlowline + "=1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	md := filepath.Join(dir, "benchmarks.md")
	if err := runBenchWith(ctx, cfg, o.out, md, command, &out, false); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	b, err := os.ReadFile(o.out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String(), string(p)
}
