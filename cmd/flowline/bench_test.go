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
	dir := t.TempDir()
	o := &benchOptions{smoke: true, peer: true, ceiling: true, esURL: testenv.ElasticsearchURL(t),
		out: filepath.Join(dir, "bench.json")}
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
	if err := runBenchWith(ctx, cfg, o.out, md, "flowline bench --smoke", &out, false); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())

	b, err := os.ReadFile(o.out)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
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
	// The peer gets every record, the warm-up's deployments included.
	if p := rep.Peer; p == nil || p.Records != int(m.Records)+m.Partitions || p.RecordsPerSec <= 0 || p.Ratio <= 0 {
		t.Errorf("peer %+v (main run %d records)", p, m.Records)
	}
	page, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Flowline / ceiling", "Flowline / peer", "Scaling", "p99 ms", "CPU s / 1000 records"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q", want)
		}
		if !strings.Contains(string(page), want) {
			t.Errorf("the Markdown page lacks %q", want)
		}
	}
}
