package bench

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestConfigValidate(t *testing.T) {
	ok := Config{Bin: "flowline", Instances: 1, Partitions: []int{1}, Aggregators: []int{1}, WorkDir: "w"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"no binary":       func(c *Config) { c.Bin = "" },
		"no instances":    func(c *Config) { c.Instances = 0 },
		"zero partitions": func(c *Config) { c.Partitions = []int{2, 0} },
		"no aggregators":  func(c *Config) { c.Aggregators = nil },
		"no work dir":     func(c *Config) { c.WorkDir = "" },
		"c7 no instances": func(c *Config) { c.C7, c.C7Instances = true, 0 },
		"negative repeat": func(c *Config) { c.Repeat = -1 },
		"negative rate":   func(c *Config) { c.LatencyRate = -5 },
		"NaN rate":        func(c *Config) { c.LatencyRate = math.NaN() },
		"rate, no run":    func(c *Config) { c.LatencyRate, c.LatencyFor = 50_000, 0 },
	} {
		c := ok
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestCompletions: a completion counts once, when first
// seen, and only if it was sent.
func TestCompletions(t *testing.T) {
	c := &completions{pending: map[int64]time.Time{}}
	t0 := time.Now()
	c.sent(1, t0)
	c.sent(2, t0)
	c.seen(1, t0.Add(300*time.Millisecond))
	c.seen(1, t0.Add(900*time.Millisecond)) // seen again: ignored
	c.seen(3, t0.Add(time.Second))          // never sent: ignored
	if len(c.samples) != 1 || c.samples[0] != 300*time.Millisecond {
		t.Errorf("samples %v, want [300ms]", c.samples)
	}
	if c.left() != 1 || len(c.keys(10)) != 1 {
		t.Errorf("left %d, want 1", c.left())
	}
}

// The main scenario of each schema is reported side by side, and only the
// main schema's runs are in the scaling table.
func TestReportSchemasSideBySide(t *testing.T) {
	mk := func(s config.Schema, parts int, docs int, engineCPU float64) ScenarioResult {
		return ScenarioResult{Scenario: Scenario{Partitions: parts, Aggregators: 1, Schema: s}, Seconds: 2, RecordsPerSec: 1000,
			Documents: docs, IndexOps: docs + 1, Services: []ServiceUsage{{Name: "writer", CPUSeconds: 0.5}, {Name: "elasticsearch", CPUSeconds: engineCPU}}}
	}
	main := mk(config.SchemaFlowline, 4, 100, 3)
	r := &Report{Main: &main, Scenarios: []ScenarioResult{mk(config.SchemaFlowline, 1, 100, 1), main, mk(config.SchemaOperate, 4, 170, 4.5)}}
	var b strings.Builder
	r.WriteTable(&b)
	out := b.String()
	_, schemas, ok := strings.Cut(out, "Schemas side by side")
	if !ok {
		t.Fatalf("no schemas table:\n%s", out)
	}
	for _, want := range []string{"flowline", "operate", "170", "4.5"} {
		if !strings.Contains(schemas, want) {
			t.Errorf("schemas table lacks %q:\n%s", want, schemas)
		}
	}
	scaling, _, _ := strings.Cut(out[strings.Index(out, "Scaling"):], "Schemas side by side")
	if n := strings.Count(scaling, "\n"); n != 4 { // title, header, two flowline rows
		t.Errorf("scaling table has %d lines, want 4 (the operate run belongs to the schemas table):\n%s", n, scaling)
	}
}

// TestStackOnANATSCluster: the stack's services run against a three-node
// JetStream cluster (separate `flowline nats` processes), their streams
// replicated three times, and a workload comes through whole, also with a
// NATS node killed before it is pushed.
func TestStackOnANATSCluster(t *testing.T) {
	bin := testenv.Flowline(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	es, esCfg := testenv.Elasticsearch(t)
	prefix := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, prefix)
	st, err := procstack.Start(ctx, procstack.Config{Bin: bin, Dir: dir, ESURL: esCfg.ES.URL, Prefix: prefix, Aggregators: 1, NATSNodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	if n := strings.Count(st.NATSURL, ",") + 1; n != 3 {
		t.Fatalf("NATS URL %q names %d servers, want 3", st.NATSURL, n)
	}
	info, err := st.JS.Stream(ctx, stream.RecordsStream)
	if err != nil {
		t.Fatal(err)
	}
	si, err := info.Info(ctx)
	if err != nil || si.Config.Replicas != 3 {
		t.Fatalf("records stream: %+v, %v; want 3 replicas", si, err)
	}
	w, err := makeWorkload(ctx, filepath.Join(dir, "workload"), 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	st.Procs[1].Stop(10 * time.Second) // nats-2: the cluster keeps its quorum
	var pushed atomic.Int64
	if err := w.push(ctx, st.IngestURL(), 0, -1, &pushed); err != nil {
		t.Fatal(err)
	}
	err = procstack.WaitUntil(ctx, 200*time.Millisecond, func() (bool, error) {
		n, err := count(ctx, es, schema.Alias(prefix, schema.ListView), nil)
		return err == nil && n == w.stats.Instances+w.stats.ChildInstances, nil
	})
	if err != nil {
		n, _ := count(ctx, es, schema.Alias(prefix, schema.ListView), nil)
		t.Fatalf("%d process instances indexed, want %d: %v", n, w.stats.Instances+w.stats.ChildInstances, err)
	}
}

// TestSearchIdleAfter reads the engine's search-idle period of an index:
// its default, and an operator's setting.
func TestSearchIdleAfter(t *testing.T) {
	es, _ := testenv.Elasticsearch(t)
	ctx := context.Background()
	prefix := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, prefix)
	h := &harness{es: es}
	for _, tc := range []struct {
		name, index string
		settings    map[string]any
		want        time.Duration
	}{
		{"the engine's default", prefix + "-default", nil, 30 * time.Second},
		{"set on the index", prefix + "-set", map[string]any{"index.search.idle.after": "7s"}, 7 * time.Second},
	} {
		if err := search.CreateIndex(ctx, es, tc.index, tc.settings); err != nil {
			t.Fatal(err)
		}
		if got := h.searchIdleAfter(ctx, tc.index); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
