package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// Scenario is one end-to-end configuration.
type Scenario struct {
	Partitions  int `json:"partitions"`
	Aggregators int `json:"aggregators"`
	// Schema is the schema written (FLOWLINE_SCHEMA); "" is Flowline's.
	Schema config.Schema `json:"schema,omitempty"`
}

func (s Scenario) String() string {
	str := fmt.Sprintf("%d partition(s), %d aggregator(s)", s.Partitions, s.Aggregators)
	if s.Schema == config.SchemaOperate {
		str += ", operate schema"
	}
	return str
}

func (s Scenario) prefix() string {
	if s.Schema == config.SchemaOperate {
		return fmt.Sprintf("bench-operate-p%d-a%d", s.Partitions, s.Aggregators)
	}
	return fmt.Sprintf("bench-p%d-a%d", s.Partitions, s.Aggregators)
}

// ServiceUsage is what one process used during a measured run.
type ServiceUsage struct {
	Name          string  `json:"name"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPer1000Rec float64 `json:"cpu_seconds_per_1000_records,omitempty"` // the Zeebe runs
	// CPUMSPerInstance is CPU milliseconds per process instance imported
	// (the Camunda 7 run).
	CPUMSPerInstance float64 `json:"cpu_ms_per_process_instance,omitempty"`
	PeakRSSMB        float64 `json:"peak_rss_mb"` // over the process's life
}

// ScenarioResult is one run at the maximum rate: the workload pushed as
// fast as ingest takes it, timed from the first push until every record
// was aggregated and every document indexed (the consumers drained).
type ScenarioResult struct {
	Scenario
	Records         int64          `json:"records"`
	Instances       int            `json:"process_instances"`
	Documents       int            `json:"documents"`
	IndexOps        int            `json:"index_operations"` // bulk items the writer sent (done or stale): each document's versions
	DocsByFamily    map[string]int `json:"documents_by_family"`
	Seconds         float64        `json:"seconds"`
	RecordsPerSec   float64        `json:"records_per_second"`
	InstancesPerSec float64        `json:"process_instances_per_second"`
	DocsPerSec      float64        `json:"documents_per_second"`
	Services        []ServiceUsage `json:"services"`
	// Engine is what the search engine did during the run.
	Engine   EngineWork `json:"search_engine"`
	Profiles []string   `json:"profiles,omitempty"` // CPU profile files
}

// FlowlineMicrosPerRecord is the CPU of Flowline's own processes (the
// services and NATS, not the search engine) per record, in µs.
func (r ScenarioResult) FlowlineMicrosPerRecord() float64 {
	cpu := 0.0
	for _, s := range r.Services {
		if s.Name != "elasticsearch" {
			cpu += s.CPUSeconds
		}
	}
	if r.Records == 0 {
		return 0
	}
	return cpu / float64(r.Records) * 1e6
}

// runScenario starts a stack for sc, pushes w through it and measures.
// With profileFor > 0 each service is profiled for that long, starting
// shortly after the push. The index set stays for the ceiling; the stack
// is stopped.
func (h *harness) runScenario(ctx context.Context, sc Scenario, w *workload, profileFor time.Duration) (*ScenarioResult, error) {
	dir := filepath.Join(h.cfg.WorkDir, sc.prefix())
	DropIndexSet(ctx, h.es, sc.prefix())
	env := append(slices.Clone(h.cfg.ChildEnv), "FLOWLINE_SEARCH_ENGINE="+string(h.engine))
	if sc.Schema != "" {
		env = append(env, "FLOWLINE_SCHEMA="+string(sc.Schema))
	}
	st, err := procstack.Start(ctx, procstack.Config{Bin: h.cfg.Bin, Env: env, Dir: dir, ESURL: h.esURL, Prefix: sc.prefix(), Aggregators: sc.Aggregators})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc, err)
	}
	defer st.Stop()
	js := st.JS
	created := time.Now() // the writer, ready, has created the indices

	// Warm up: each partition's deployment, so that the aggregators have
	// found every partition (they look for new ones every few seconds)
	// before the clock starts. A running installation knows its partitions.
	var warm atomic.Int64
	if err := w.push(ctx, st.IngestURL(), 0, warmupLines, &warm); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", sc, err)
	}
	if err := waitPartitions(ctx, st, sc.Partitions); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", sc, err)
	}
	if h.cfg.SettledIndices {
		idle := h.searchIdleAfter(ctx, schema.RuntimeIndex(sc.prefix(), schema.ListView))
		h.progress(Progress{Phase: sc.String(), Note: fmt.Sprintf("waiting until the new indices are older than the engine's search-idle period (%s)", idle)})
		if !backoff.Sleep(ctx, time.Until(created.Add(idle+time.Second))) {
			return nil, ctx.Err()
		}
	}

	writerBefore, err := scrapeWriter(ctx, st.Admin["writer"])
	if err != nil {
		return nil, fmt.Errorf("%s: writer metrics: %w", sc, err)
	}
	statsBefore := h.indexStats(ctx, sc.prefix())
	before, esBefore := st.Usage(), h.esUsage()
	start := time.Now()
	var pushed atomic.Int64
	pushDone := make(chan error, 1)
	pctx, cancelPush := context.WithCancel(ctx)
	defer cancelPush()
	go func() { pushDone <- w.push(pctx, st.IngestURL(), warmupLines, -1, &pushed) }()

	var profiles []string
	var pwg sync.WaitGroup
	if profileFor > 0 {
		for name, admin := range st.Admin {
			path := filepath.Join(h.cfg.WorkDir, "profiles", name+".pprof")
			profiles = append(profiles, path)
			pwg.Go(func() {
				if err := fetchProfile(pctx, admin, profileFor, path); err != nil {
					h.warn(fmt.Sprintf("profile of %s: %v", name, err))
				}
			})
		}
		sort.Strings(profiles)
	}

	phase := "flowline " + sc.String()
	pushing := true
	err = procstack.WaitUntil(ctx, 200*time.Millisecond, func() (bool, error) {
		h.progress(Progress{Phase: phase, Done: pushed.Load(), Total: w.records - warm.Load(), Unit: "records pushed", Since: start})
		if pushing {
			select {
			case err := <-pushDone:
				if err != nil {
					return false, err
				}
				pushing = false
			default:
				return false, st.CheckAlive()
			}
		}
		ok, _ := procstack.Drained(ctx, js, stream.RecordsStream, sc.Partitions)
		return ok, nil
	})
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc, err)
	}
	after := st.Usage()
	// The engine's CPU and statistics are read after a refresh that makes
	// every document searchable, as after a ceiling load. The writer's
	// counters are read after the engine's statistics (and before them at
	// the start), so that every operation the engine counted is among
	// those the writer counted.
	if err := search.Refresh(ctx, h.es, sc.prefix()+"-*"); err != nil {
		return nil, fmt.Errorf("%s: %w", sc, err)
	}
	esAfter := h.esUsage()
	statsAfter := h.indexStats(ctx, sc.prefix())
	pwg.Wait()
	writerAfter, err := scrapeWriter(ctx, st.Admin["writer"])
	if err != nil {
		return nil, fmt.Errorf("%s: writer metrics: %w", sc, err)
	}
	sent := writerAfter.minus(writerBefore)

	res := &ScenarioResult{Scenario: sc, Records: pushed.Load(), Instances: w.stats.Instances + w.stats.ChildInstances,
		Seconds: took.Seconds(), DocsByFamily: map[string]int{}, Profiles: profiles, IndexOps: int(writerAfter.ops)}
	esCPU := -1.0 // not read: a node the harness did not start
	if h.esPID > 0 {
		esCPU = (esAfter.CPU - esBefore.CPU).Seconds()
	}
	res.Engine = engineWork(esCPU, sent.ops, sent.requests, sent.bytes, statsAfter.minus(statsBefore))
	instances, instancesIn, err := h.countDocuments(ctx, sc, res)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc, err)
	}
	if instances != res.Instances {
		return nil, fmt.Errorf("%s: %d process instances in %s, want %d: the run lost data (logs in %s)",
			sc, instances, instancesIn, res.Instances, dir)
	}
	if n, err := procstack.DeadLetters(ctx, js); err != nil || n > 0 {
		return nil, fmt.Errorf("%s: %d dead letters (%v): the run lost data (logs in %s)", sc, n, err, dir)
	}
	res.RecordsPerSec = float64(res.Records) / res.Seconds
	res.InstancesPerSec = float64(res.Instances) / res.Seconds
	res.DocsPerSec = float64(res.Documents) / res.Seconds
	names := make([]string, 0, len(after))
	for name := range after {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		res.Services = append(res.Services, usageOf(name, before[name], after[name], res.Records))
	}
	if h.esPID > 0 {
		res.Services = append(res.Services, usageOf("elasticsearch", esBefore, esAfter, res.Records))
	}
	return res, nil
}

// countDocuments counts the documents of sc's index set by family into res
// and returns the process instances among them (and where they are).
func (h *harness) countDocuments(ctx context.Context, sc Scenario, res *ScenarioResult) (instances int, in string, err error) {
	if sc.Schema == config.SchemaOperate {
		for _, ix := range operate.Indices {
			n, err := count(ctx, h.es, ix.Alias(sc.prefix()), nil)
			if err != nil {
				return 0, "", err
			}
			if n > 0 {
				res.DocsByFamily[ix.Family()] = n
				res.Documents += n
			}
		}
		in = operate.ListView.Alias(sc.prefix())
		instances, err = count(ctx, h.es, in, map[string]any{"term": map[string]any{"joinRelation": "processInstance"}})
		return instances, in, err
	}
	for _, f := range schema.Families {
		n, err := count(ctx, h.es, schema.Alias(sc.prefix(), f), nil)
		if err != nil {
			return 0, "", err
		}
		if n > 0 {
			res.DocsByFamily[string(f)] = n
			res.Documents += n
		}
	}
	return res.DocsByFamily[string(schema.ListView)], schema.Alias(sc.prefix(), schema.ListView), nil
}

func usageOf(name string, before, after procstack.Usage, records int64) ServiceUsage {
	cpu := (after.CPU - before.CPU).Seconds()
	return ServiceUsage{Name: name, CPUSeconds: cpu, CPUPer1000Rec: cpu / float64(records) * 1000, PeakRSSMB: after.PeakRSSMB}
}

// writerTotals are a writer's bulk counters: the items it sent that the
// engine answered (indexed, or stale), its bulk requests and their bytes.
type writerTotals struct{ ops, requests, bytes int64 }

func (t writerTotals) minus(before writerTotals) writerTotals {
	return writerTotals{t.ops - before.ops, t.requests - before.requests, t.bytes - before.bytes}
}

// scrapeWriter reads a writer's bulk counters from its admin server.
func scrapeWriter(ctx context.Context, admin string) (writerTotals, error) {
	var t writerTotals
	for _, c := range []struct {
		into   *int64
		name   string
		labels []string
	}{
		{&t.ops, "flowline_writer_items_total", []string{`outcome="done"`, `outcome="stale"`}},
		{&t.requests, "flowline_writer_bulk_requests_total", []string{""}},
		{&t.bytes, "flowline_writer_bulk_bytes_total", []string{""}},
	} {
		v, err := procstack.ScrapeCounter(ctx, admin, c.name, c.labels...)
		if err != nil {
			return t, err
		}
		*c.into = int64(v)
	}
	return t, nil
}

// waitPartitions waits until the aggregators consume every partition and
// everything sent so far is written.
func waitPartitions(ctx context.Context, st *procstack.Stack, partitions int) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return procstack.WaitUntil(wctx, 100*time.Millisecond, func() (bool, error) {
		ok, _ := procstack.Drained(wctx, st.JS, stream.RecordsStream, partitions)
		return ok, st.CheckAlive()
	})
}

// fetchProfile saves a CPU profile of d from a service's admin server.
func fetchProfile(ctx context.Context, admin string, d time.Duration, path string) error {
	return fetchPprof(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, max(1, int(d.Seconds()))), path)
}

// fetchGoroutines saves every goroutine's stack (as text) from a service's
// admin server: where a service that stopped moving waits.
func fetchGoroutines(ctx context.Context, admin, path string) error {
	return fetchPprof(ctx, admin+"/debug/pprof/goroutine?debug=2", path)
}

// fetchPprof saves the answer of a /debug/pprof URL to path.
func fetchPprof(ctx context.Context, url, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("%s: HTTP %d: %s", url, res.StatusCode, strings.TrimSpace(string(b)))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// searchIdleAfter is the engine's index.search.idle.after of index (30 s
// unless an operator changed it), 30 s when it cannot be read.
func (h *harness) searchIdleAfter(ctx context.Context, index string) time.Duration {
	const fallback = 30 * time.Second
	b, err := h.es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + index + "/_settings/index.search.idle.after",
		Query: url.Values{"include_defaults": {"true"}, "flat_settings": {"true"}}, What: "search idle period of " + index})
	if err != nil {
		return fallback
	}
	var res map[string]struct {
		Settings map[string]string `json:"settings"`
		Defaults map[string]string `json:"defaults"`
	}
	if json.Unmarshal(b, &res) != nil {
		return fallback
	}
	for _, ix := range res {
		v := ix.Settings["index.search.idle.after"]
		if v == "" {
			v = ix.Defaults["index.search.idle.after"]
		}
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return fallback
}
