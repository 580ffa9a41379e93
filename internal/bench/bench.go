// Package bench is `flowline bench`: one command that measures Flowline end
// to end on this machine against the Elasticsearch bulk-load ceiling and a
// peer, with a fresh Elasticsearch and JetStream. Flowline's processes run
// as children of the harness (the flowline binary's subcommands), so that
// each one's CPU and memory are read apart from /proc; the harness itself
// only generates and pushes the workload and watches for the end. With
// Config.C7 it measures the Camunda 7 import instead (c7.go).
//
// A Run is used by one goroutine; Progress callbacks come from it.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/search"
)

// Config is one bench run.
type Config struct {
	// Bin is the flowline binary whose subcommands run the services.
	Bin string
	// ChildEnv is added to every child process's environment.
	ChildEnv []string
	// Instances is the number of process instances of the workload.
	Instances int
	// Partitions lists the partition counts to run (one aggregator each);
	// the largest is the main run.
	Partitions []int
	// Aggregators lists the aggregator replica counts to run at the largest
	// partition count (1 is the main run).
	Aggregators []int
	// LatencyFor is how long the latency run pushes at half the maximum
	// rate (0: no latency run).
	LatencyFor time.Duration
	// LatencyRate is the latency run's rate in records/s (0: half the main
	// run's maximum, the rate the data-availability targets are set at).
	// A fixed rate compares settings at one load, whatever each main run
	// reached; its latency is reported, not judged.
	LatencyRate float64
	// ProfileFor is how long each service of the main run is profiled (0:
	// no profiles).
	ProfileFor time.Duration
	// Ceiling runs the bulk-load ceiling on the main run's documents.
	Ceiling bool
	// Repeat is how many times the main run and the ceiling run (0 or 1:
	// once); the report gives their medians with the spread.
	Repeat int
	// WarmUp runs the main scenario once, unmeasured, before the measured
	// runs, when the harness started a fresh search engine node (its JVM
	// is cold); an existing node (ESURL) is taken as it is.
	WarmUp bool
	// SettledIndices starts each end-to-end run's clock only once its new
	// indices are older than the engine's search-idle period
	// (index.search.idle.after), as in a running installation whose indices
	// existed before the load: a shard nobody searched in that period skips
	// its scheduled refreshes, while a new index refreshes on schedule.
	SettledIndices bool
	// Peer runs Benthos on the main run's records.
	Peer bool
	// C7 runs the Camunda 7 import benchmark instead of the Zeebe runs: a
	// fresh engine (JDK C7JavaHome, empty: c7engine's default) filled with
	// C7Instances instances of c7engine.LoadBPMN, imported end to end.
	C7          bool
	C7Instances int
	C7JavaHome  string
	// Exporter runs the Zeebe exporter benchmark instead: the Maven module
	// in ExporterDir (built with the JDK ExporterJavaHome, empty:
	// zeebeexporter's default), one instance over Instances typical
	// instances on one partition, into a local ingest. No Elasticsearch.
	Exporter         bool
	ExporterDir      string
	ExporterJavaHome string
	// ESURL is an Elasticsearch or OpenSearch to use; empty starts a fresh
	// node of Engine (version ESVersion, OpenSearchVersion) for the run.
	ESURL             string
	ESVersion         string
	OpenSearchVersion string
	// Engine is the search engine: Elasticsearch ("" too) or OpenSearch.
	Engine config.Engine
	// Schemas are the schemas the main scenario runs in (default:
	// Flowline's); the first is the main run's, the others run the main
	// scenario again each, reported beside it.
	Schemas []config.Schema
	// CacheDir holds the Benthos build.
	CacheDir string
	// WorkDir holds workloads, logs and profiles.
	WorkDir string
	// Progress is told what is going on (nil: nothing).
	Progress func(Progress)
}

func (c *Config) repeat() int { return max(1, c.Repeat) }

// Progress is a running phase's state.
type Progress struct {
	Phase       string
	Done, Total int64
	Unit        string
	Since       time.Time
	Note        string // a message instead of counts
}

// Validate checks the config.
func (c *Config) Validate() error {
	switch {
	case c.Bin == "":
		return errors.New("bench: no flowline binary")
	case c.Instances < 1:
		return fmt.Errorf("bench: instances must be at least 1, got %d", c.Instances)
	case len(c.Partitions) == 0 || slices.Min(c.Partitions) < 1:
		return fmt.Errorf("bench: partitions must be at least 1, got %v", c.Partitions)
	case len(c.Aggregators) == 0 || slices.Min(c.Aggregators) < 1:
		return fmt.Errorf("bench: aggregators must be at least 1, got %v", c.Aggregators)
	case c.Repeat < 0:
		return fmt.Errorf("bench: repeat must not be negative, got %d", c.Repeat)
	case c.LatencyRate < 0 || math.IsNaN(c.LatencyRate) || math.IsInf(c.LatencyRate, 0):
		return fmt.Errorf("bench: latency rate must be a positive number of records/s (0: half the maximum), got %v", c.LatencyRate)
	case c.LatencyRate > 0 && c.LatencyFor <= 0:
		return errors.New("bench: a latency rate needs a latency run (--latency-for above 0)")
	case c.Repeat > 1 && (c.C7 || c.Exporter):
		return errors.New("bench: --repeat applies to the main run and the ceiling, not to the Camunda 7 or exporter benchmarks")
	case c.WorkDir == "":
		return errors.New("bench: no work directory")
	case c.C7 && c.C7Instances < 1:
		return fmt.Errorf("bench: c7 instances must be at least 1, got %d", c.C7Instances)
	case c.C7 && c.Exporter:
		return errors.New("bench: the Camunda 7 and the exporter benchmarks run one at a time")
	case c.Exporter && c.ExporterDir == "":
		return errors.New("bench: no exporter module directory")
	}
	return nil
}

// harness is the state of one Run.
type harness struct {
	cfg    Config
	engine config.Engine
	es     *search.Client
	esURL  string
	esPID  int // 0: a search node the harness did not start
}

func (h *harness) progress(p Progress) {
	if h.cfg.Progress != nil {
		h.cfg.Progress(p)
	}
}

func (h *harness) warn(msg string) { h.progress(Progress{Phase: "warning", Note: msg}) }

// esCPUSince is the engine's CPU seconds since before; -1 when the
// harness did not start the node and cannot read its CPU.
func (h *harness) esCPUSince(before procstack.Usage) float64 {
	if h.esPID == 0 {
		return -1
	}
	return (h.esUsage().CPU - before.CPU).Seconds()
}

// indexStats reads the engine's statistics of prefix's index set; a
// failure (a user without the monitor privilege, say) is a warning and
// leaves them empty, not a failed bench.
func (h *harness) indexStats(ctx context.Context, prefix string) indexStats {
	s, err := readIndexStats(ctx, h.es, h.engine, prefix)
	if err != nil {
		h.warn(fmt.Sprintf("search engine statistics of %s: %v", prefix, err))
	}
	return s
}

func (h *harness) esUsage() procstack.Usage {
	if h.esPID == 0 {
		return procstack.Usage{}
	}
	u, _ := procstack.ReadTreeUsage(h.esPID)
	return u
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, esURL: cfg.ESURL, engine: cfg.Engine}
	if h.engine == "" {
		h.engine = config.EngineElasticsearch
	}
	if len(cfg.Schemas) == 0 {
		cfg.Schemas = []config.Schema{config.SchemaFlowline}
	}
	rep := &Report{Started: time.Now().UTC(), Machine: describeMachine()}
	if cfg.Exporter { // exporter -> ingest -> NATS: no Elasticsearch
		e, err := h.runExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: exporter: %w", err)
		}
		rep.Exporter = e
		rep.Finished = time.Now().UTC()
		return rep, nil
	}
	if h.esURL == "" {
		version := cfg.ESVersion
		if h.engine == config.EngineOpenSearch {
			version = cfg.OpenSearchVersion
		}
		h.progress(Progress{Phase: "elasticsearch", Note: "starting a fresh " + string(h.engine) + " node " + version})
		node, err := esnode.Start(ctx, esnode.Options{Engine: string(h.engine), Version: version})
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", h.engine, err)
		}
		defer node.Stop()
		h.esURL, h.esPID = node.URL(), node.PID()
		if version == "" {
			version = map[config.Engine]string{config.EngineElasticsearch: esnode.DefaultVersion, config.EngineOpenSearch: esnode.DefaultOpenSearchVersion}[h.engine]
		}
		rep.Machine.Elasticsearch = string(h.engine) + " " + version
	}
	es, err := search.NewClient(config.Search{Engine: h.engine, ES: config.Elasticsearch{URL: h.esURL}})
	if err != nil {
		return nil, err
	}
	h.es = es

	if cfg.C7 {
		defer DropIndexSet(context.WithoutCancel(ctx), es, c7Prefix)
		c, err := h.runC7(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: c7: %w", err)
		}
		rep.C7 = c
		rep.Finished = time.Now().UTC()
		return rep, nil
	}
	rep.Instances = cfg.Instances
	mainP := slices.Max(cfg.Partitions)
	workloads := map[int]*workload{}
	workloadFor := func(p int) (*workload, error) {
		if w := workloads[p]; w != nil {
			return w, nil
		}
		h.progress(Progress{Phase: "workload", Note: fmt.Sprintf("generating %d typical instances on %d partition(s)", cfg.Instances, p)})
		w, err := makeWorkload(ctx, filepath.Join(cfg.WorkDir, fmt.Sprintf("workload-p%d", p)), cfg.Instances, p)
		if err != nil {
			return nil, fmt.Errorf("bench: workload: %w", err)
		}
		workloads[p] = w
		return w, nil
	}

	// Scenarios: each partition count with one aggregator, then more
	// aggregators at the largest partition count. The main run is
	// (largest, 1), profiled.
	// Every other schema runs the main scenario again, after them. A
	// scenario of Flowline's schema names none (reports as before).
	scenarioSchema := func(s config.Schema) config.Schema {
		if s == config.SchemaFlowline {
			return ""
		}
		return s
	}
	mainSchema := scenarioSchema(cfg.Schemas[0])
	var scenarios []Scenario
	for _, p := range slices.Sorted(slices.Values(cfg.Partitions)) {
		scenarios = append(scenarios, Scenario{Partitions: p, Aggregators: 1, Schema: mainSchema})
	}
	for _, a := range slices.Sorted(slices.Values(cfg.Aggregators)) {
		if a > 1 {
			scenarios = append(scenarios, Scenario{Partitions: mainP, Aggregators: a, Schema: mainSchema})
		}
	}
	mainSc := Scenario{Partitions: mainP, Aggregators: 1, Schema: mainSchema}
	for _, s := range cfg.Schemas[1:] {
		scenarios = append(scenarios, Scenario{Partitions: mainP, Aggregators: 1, Schema: scenarioSchema(s)})
	}
	if mainSchema == config.SchemaOperate && (cfg.LatencyFor > 0 || cfg.Ceiling || cfg.Peer) {
		h.warn("latency, ceiling and peer runs read Flowline's schema: skipped when the main run writes the operate schema (list flowline first in --schemas)")
		cfg.LatencyFor, cfg.Ceiling, cfg.Peer = 0, false, false
	}
	if cfg.WarmUp && h.esPID > 0 {
		// A fresh node's JVM compiles its indexing code during its first
		// large load, at a cost in CPU the node's later loads (the
		// ceiling's) do not pay: measured, the first main run on a fresh
		// node used 1.9 to 2.1 times the engine CPU of the same run
		// repeated. A cluster in production is warm, so the measured runs
		// start on a warm node.
		w, err := workloadFor(mainP)
		if err != nil {
			return nil, err
		}
		h.progress(Progress{Phase: "warm-up", Note: "an unmeasured main run, so that the fresh search engine node is warm"})
		if _, err := h.runScenario(ctx, Scenario{Partitions: mainP, Aggregators: 1, Schema: mainSchema}, w, 0); err != nil {
			return nil, fmt.Errorf("bench: warm-up: %w", err)
		}
		rep.WarmedUp = true
	}
	rep.SettledIndices = cfg.SettledIndices
	for _, sc := range scenarios {
		w, err := workloadFor(sc.Partitions)
		if err != nil {
			return nil, err
		}
		if sc != mainSc {
			res, err := h.runScenario(ctx, sc, w, 0)
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			rep.Scenarios = append(rep.Scenarios, *res)
			DropIndexSet(ctx, es, sc.prefix())
			continue
		}
		// The main run cfg.Repeat times, each followed by a ceiling load of
		// its final documents (interleaved, so that the engine's warming up
		// favours neither), every run profiled alike.
		var ceiling *ceilingRunner
		for range cfg.repeat() {
			res, err := h.runScenario(ctx, sc, w, cfg.ProfileFor)
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			rep.MainRuns = append(rep.MainRuns, *res)
			if !cfg.Ceiling {
				continue
			}
			if ceiling == nil {
				if ceiling, err = h.newCeiling(ctx, sc.prefix()); err != nil {
					return nil, fmt.Errorf("bench: ceiling: %w", err)
				}
				defer ceiling.drop()
			}
			c, err := ceiling.load(ctx, len(rep.CeilingRuns)+1, cfg.repeat())
			if err != nil {
				return nil, fmt.Errorf("bench: ceiling: %w", err)
			}
			rep.CeilingRuns = append(rep.CeilingRuns, *c)
		}
		rep.Main = medianRun(rep.MainRuns, func(r ScenarioResult) float64 { return r.DocsPerSec })
		rep.Scenarios = append(rep.Scenarios, *rep.Main)
	}
	defer DropIndexSet(context.WithoutCancel(ctx), es, mainSc.prefix())

	if len(rep.CeilingRuns) > 0 {
		for i := range rep.CeilingRuns {
			rep.CeilingRuns[i].Ratio = ratio(rep.Main.DocsPerSec, rep.CeilingRuns[i].DocsPerSec)
		}
		rep.Ceiling = medianRun(rep.CeilingRuns, func(r CeilingResult) float64 { return r.DocsPerSec })
	}
	if cfg.LatencyFor > 0 {
		rate := rep.Main.RecordsPerSec / 2
		if cfg.LatencyRate > 0 {
			rate = cfg.LatencyRate
		}
		lat, err := h.runLatency(ctx, mainSc, rate, cfg.LatencyFor)
		if err != nil {
			return nil, fmt.Errorf("bench: latency: %w", err)
		}
		lat.FixedRate = cfg.LatencyRate > 0
		rep.Latency = lat
	}
	if cfg.Peer {
		p, err := h.runPeer(ctx, workloads[mainP], rep.Main)
		if err != nil {
			return nil, fmt.Errorf("bench: peer: %w", err)
		}
		rep.Peer = p
	}
	rep.Summary = summarize(rep)
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// CeilingResult is the bulk-load ceiling on the main run's documents.
type CeilingResult struct {
	Documents   int     `json:"documents"`
	Seconds     float64 `json:"seconds"`
	DocsPerSec  float64 `json:"documents_per_second"`
	Bulk        int     `json:"bulk_documents"`
	Concurrency int     `json:"concurrency"`
	// Engine is what the search engine did during the load.
	Engine EngineWork `json:"search_engine"`
	// Ratio is Flowline's documents/s (the median main run's) ÷ this
	// load's.
	Ratio  float64 `json:"flowline_to_ceiling"`
	Target float64 `json:"target"`
}

// ceilingRunner bulk-loads one set of final documents into a fresh index
// set, once per load.
type ceilingRunner struct {
	h      *harness
	docs   []*recordv1.Document
	prefix string
}

// newCeiling reads the final documents of fromPrefix's index set.
func (h *harness) newCeiling(ctx context.Context, fromPrefix string) (*ceilingRunner, error) {
	h.progress(Progress{Phase: "ceiling", Note: "reading the main run's final documents"})
	docs, err := ReadDocuments(ctx, h.es, fromPrefix)
	if err != nil {
		return nil, err
	}
	return &ceilingRunner{h: h, docs: docs, prefix: "bench-ceiling"}, nil
}

func (c *ceilingRunner) drop() { DropIndexSet(context.Background(), c.h.es, c.prefix) }

// load runs the n-th of total loads. The engine's CPU and statistics are
// read after a refresh that makes the documents searchable, as after the
// main run: the indexing buffer the load left is written into segments
// inside the window, not after it.
func (c *ceilingRunner) load(ctx context.Context, n, total int) (*CeilingResult, error) {
	h := c.h
	c.drop()
	if err := PrepareCeiling(ctx, h.es, c.prefix); err != nil {
		return nil, err
	}
	h.progress(Progress{Phase: "ceiling", Note: fmt.Sprintf("bulk-loading %d documents (%d of %d)", len(c.docs), n, total)})
	statsBefore := h.indexStats(ctx, c.prefix)
	esBefore := h.esUsage()
	load, err := LoadCeiling(ctx, h.es, c.prefix, c.docs, CeilingBulk, CeilingConcurrency)
	if err != nil {
		return nil, err
	}
	if err := search.Refresh(ctx, h.es, c.prefix+"-*"); err != nil {
		return nil, err
	}
	esCPU := h.esCPUSince(esBefore)
	statsAfter := h.indexStats(ctx, c.prefix)
	if err := FinishCeiling(ctx, h.es, c.prefix, len(c.docs)); err != nil {
		return nil, err
	}
	return &CeilingResult{Documents: len(c.docs), Seconds: load.Took.Seconds(), DocsPerSec: ratio(float64(len(c.docs)), load.Took.Seconds()),
		Bulk: CeilingBulk, Concurrency: CeilingConcurrency, Target: TargetCeilingRatio,
		Engine: engineWork(esCPU, int64(len(c.docs)), load.Requests, load.Bytes, statsAfter.minus(statsBefore))}, nil
}

// ratio is a / b, 0 when b is 0 (JSON has no infinity).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// PeerRun is the peer's result next to Flowline's.
type PeerRun struct {
	PeerResult
	Name   string  `json:"name"`
	Ratio  float64 `json:"flowline_to_peer"` // Flowline records/s ÷ peer records/s
	Target float64 `json:"target"`
}

func (h *harness) runPeer(ctx context.Context, w *workload, main *ScenarioResult) (*PeerRun, error) {
	h.progress(Progress{Phase: "peer", Note: "building Benthos v4.27.0 (first run only)"})
	bin, err := BuildBenthos(ctx, h.cfg.CacheDir, func(s string) { h.progress(Progress{Phase: "peer", Note: s}) })
	if err != nil {
		return nil, err
	}
	lines, err := w.readLines()
	if err != nil {
		return nil, err
	}
	natsDir := filepath.Join(h.cfg.WorkDir, "peer")
	st, err := procstack.StartNATS(ctx, procstack.Config{Bin: h.cfg.Bin, Env: h.cfg.ChildEnv, Dir: natsDir})
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	index := "bench-peer-records"
	drop := func() {
		_ = search.DeleteIndices(context.Background(), h.es, index)
	}
	drop() // left over from a run that was cut short
	defer drop()
	h.progress(Progress{Phase: "peer", Note: fmt.Sprintf("Benthos: %d records, nats_jetstream -> elasticsearch", w.records)})
	res, err := RunPeer(ctx, PeerConfig{Bin: bin, NATSURL: st.NATSURL, ESURL: h.esURL, Index: index, Lines: lines, WorkDir: natsDir})
	if err != nil {
		return nil, err
	}
	runtime.GC() // the lines are garbage now
	return &PeerRun{PeerResult: res, Name: "Benthos v4.27.0", Ratio: main.RecordsPerSec / res.RecordsPerSec, Target: TargetPeerRatio}, nil
}
