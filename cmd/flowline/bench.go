package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowline/flowline/internal/bench"
	"github.com/flowline/flowline/internal/dev/c7engine"
	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/dev/zeebeexporter"
	"github.com/flowline/flowline/internal/progress"
	"github.com/flowline/flowline/pkg/config"
)

// specBench is bench's config: the version of the fresh local node it
// provisions unless --es-url is given, and the JDK of the Camunda 7 engine
// of --c7, and the JDK that builds the Zeebe exporter of --exporter.
func specBench() []any {
	return []any{esnode.NewConfig(), c7engine.NewConfig(), zeebeexporter.NewConfig()}
}

// benchOptions are `flowline bench`'s flags.
type benchOptions struct {
	instances   int
	partitions  string
	aggregators string
	latency     time.Duration
	latencyRate float64
	profile     time.Duration
	peer        bool
	ceiling     bool
	repeat      int
	warmUp      bool
	settled     bool
	out         string
	markdown    string
	workDir     string
	esURL       string
	smoke       bool
	c7          bool
	c7Instances int
	exporter    bool
	engine      string
	schemas     string
}

func benchFlags() (*flag.FlagSet, *benchOptions) {
	o := &benchOptions{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.instances, "instances", 20000, "process instances of the typical workload per run")
	fs.StringVar(&o.partitions, "partitions", "1,2,4", "partition counts to run (comma-separated); the largest is the main run")
	fs.StringVar(&o.aggregators, "aggregators", "1,2", "aggregator replica counts to run at the largest partition count")
	fs.DurationVar(&o.latency, "latency-for", time.Minute, "how long the latency run sends at half the maximum rate (0: none)")
	fs.Float64Var(&o.latencyRate, "latency-rate", 0, "records/s of the latency run instead of half the maximum rate (0: half the maximum), to compare settings at one load; reported, not judged against the targets")
	fs.DurationVar(&o.profile, "profile-for", 10*time.Second, "CPU profile length of each service in the main run (0: none)")
	fs.BoolVar(&o.peer, "peer", true, "also run the peer (Benthos v4.27.0, built on first use into the cache directory)")
	fs.BoolVar(&o.ceiling, "ceiling", true, "also bulk-load the main run's documents directly (the ceiling)")
	fs.IntVar(&o.repeat, "repeat", 1, "run the main run and the ceiling this many times each and report their medians with the spread (e.g. 3)")
	fs.BoolVar(&o.settled, "settled-indices", true, "start each end-to-end run's clock once its new indices are older than the search engine's search-idle period (30 s), as in a running installation whose indices existed before the load (a shard nobody searches then skips its scheduled refreshes)")
	fs.BoolVar(&o.warmUp, "warm-up", true, "run the main scenario once, unmeasured, before the measured runs when the bench starts a fresh search engine node (a cold JVM costs the first load about twice the engine CPU)")
	fs.StringVar(&o.out, "out", "bench-results/bench.json", "JSON report file")
	fs.StringVar(&o.markdown, "markdown", "", "also write the tables as a Markdown page (docs/benchmarks.md holds the latest full run)")
	fs.StringVar(&o.workDir, "work-dir", "", "workloads, logs and profiles (default: next to --out)")
	fs.StringVar(&o.esURL, "es-url", "", "use this Elasticsearch or OpenSearch (see --engine) instead of a fresh local node")
	fs.StringVar(&o.engine, "engine", "elasticsearch", "search engine: elasticsearch or opensearch (a fresh local node of it unless --es-url)")
	fs.StringVar(&o.schemas, "schemas", "flowline", "schemas to write, comma-separated (flowline, operate): the first is the main run's, each other runs the main scenario again, reported beside it")
	fs.BoolVar(&o.c7, "c7", false, "run the Camunda 7 import benchmark instead: a fresh engine filled with --c7-instances instances (not measured), then imported end to end")
	fs.IntVar(&o.c7Instances, "c7-instances", 20000, "process instances of the Camunda 7 benchmark's model the engine is filled with")
	fs.BoolVar(&o.exporter, "exporter", false, "run the Zeebe exporter benchmark instead: the Maven module in exporter/ (built first; run from the checkout), one instance over --instances typical instances on one partition into a local ingest: records/s and the exporter's CPU per record")
	fs.BoolVar(&o.smoke, "smoke", false, "a run of seconds that checks the harness works: 200 instances, partitions 1,2, aggregators 1,2, 5 s latency, no profiles, no settling (with --c7: 200 instances, no profiles; with --exporter: 200 instances)")
	return fs, o
}

func parseCounts(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, usageError{fmt.Errorf("--%s: %q is not a positive count", flagName, f)}
		}
		out = append(out, n)
	}
	return out, nil
}

// benchConfig turns the flags into the harness's config.
func (o *benchOptions) config() (bench.Config, error) {
	if o.smoke {
		o.instances, o.partitions, o.aggregators, o.latency, o.profile = 200, "1,2", "1,2", 5*time.Second, 0
		o.settled = false // 30 s per run; TestSearchIdleAfter covers the reading
		o.c7Instances = 200
	}
	parts, err := parseCounts("partitions", o.partitions)
	if err != nil {
		return bench.Config{}, err
	}
	aggs, err := parseCounts("aggregators", o.aggregators)
	if err != nil {
		return bench.Config{}, err
	}
	bin, err := os.Executable()
	if err != nil {
		return bench.Config{}, err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return bench.Config{}, err
	}
	local, err := esnode.LoadConfig()
	if err != nil {
		return bench.Config{}, err
	}
	engine, err := c7engine.LoadConfig()
	if err != nil {
		return bench.Config{}, err
	}
	exporter, err := zeebeexporter.LoadConfig()
	if err != nil {
		return bench.Config{}, err
	}
	exporterDir := ""
	if o.exporter {
		if exporterDir, err = zeebeexporter.FindDir("."); err != nil {
			return bench.Config{}, usageError{fmt.Errorf("--exporter: %w", err)}
		}
	}
	engineName := config.Engine(o.engine)
	if engineName == "" {
		engineName = config.EngineElasticsearch // the flag's default
	}
	if o.schemas == "" {
		o.schemas = string(config.SchemaFlowline)
	}
	if engineName != config.EngineElasticsearch && engineName != config.EngineOpenSearch {
		return bench.Config{}, usageError{fmt.Errorf("--engine must be elasticsearch or opensearch, got %q", o.engine)}
	}
	var schemas []config.Schema
	for _, f := range strings.Split(o.schemas, ",") {
		s := config.Schema(strings.TrimSpace(f))
		if s != config.SchemaFlowline && s != config.SchemaOperate {
			return bench.Config{}, usageError{fmt.Errorf("--schemas: %q is not flowline or operate", f)}
		}
		if slices.Contains(schemas, s) {
			return bench.Config{}, usageError{fmt.Errorf("--schemas: %s twice", s)}
		}
		schemas = append(schemas, s)
	}
	work := o.workDir
	if work == "" {
		work = filepath.Join(filepath.Dir(o.out), "work")
	}
	cfg := bench.Config{
		Bin: bin, Instances: o.instances, Partitions: parts, Aggregators: aggs,
		LatencyFor: o.latency, LatencyRate: o.latencyRate, ProfileFor: o.profile, Ceiling: o.ceiling, Repeat: o.repeat, WarmUp: o.warmUp, SettledIndices: o.settled, Peer: o.peer,
		ESURL: o.esURL, ESVersion: local.Version, OpenSearchVersion: local.OpenSearchVersion, Engine: engineName, Schemas: schemas,
		C7: o.c7, C7Instances: o.c7Instances, C7JavaHome: engine.JavaHome,
		Exporter: o.exporter, ExporterDir: exporterDir, ExporterJavaHome: exporter.JavaHome,
		CacheDir: filepath.Join(cache, "flowline"), WorkDir: work,
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// runBench runs `flowline bench`.
func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs, o := benchFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	command := strings.TrimSpace("go run ./cmd/flowline bench " + strings.Join(args, " "))
	return runBenchWith(ctx, cfg, o.out, o.markdown, command, stdout, isTerminal(stdout))
}

// runBenchWith runs the harness, draws its progress on out and writes the
// table there, the JSON report to jsonPath and, if mdPath is set, a
// Markdown page.
func runBenchWith(ctx context.Context, cfg bench.Config, jsonPath, mdPath, command string, out io.Writer, terminal bool) error {
	pl := &benchProgress{line: progress.New(out, terminal)}
	cfg.Progress = pl.show
	rep, err := bench.Run(ctx, cfg)
	pl.line.End()
	if err != nil {
		return err
	}
	if err := writeJSONReport(jsonPath, rep); err != nil {
		return err
	}
	if mdPath != "" {
		var md bytes.Buffer
		rep.WriteMarkdown(&md, command)
		if err := os.WriteFile(mdPath, md.Bytes(), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(out)
	rep.WriteTable(out)
	fmt.Fprintf(out, "\nJSON report: %s; logs and profiles: %s\n", jsonPath, cfg.WorkDir)
	return nil
}

// writeJSONReport writes a harness's report as indented JSON to path,
// creating its directory.
func writeJSONReport(path string, report any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// benchProgress shows the harness's progress on a progress.Line: a line
// per phase, the counts redrawn in place on a terminal; notes on lines of
// their own. Used by the harness's goroutine only.
type benchProgress struct {
	line  *progress.Line
	phase string
}

func (p *benchProgress) show(pr bench.Progress) {
	if pr.Note != "" {
		p.line.End()
		p.line.Note(fmt.Sprintf("%s: %s", pr.Phase, pr.Note))
		return
	}
	if pr.Phase != p.phase {
		p.line.End()
		p.phase = pr.Phase
	}
	el := time.Since(pr.Since)
	done := 0.0
	if pr.Total > 0 {
		done = float64(pr.Done) / float64(pr.Total)
	}
	p.line.Show(fmt.Sprintf("%s: %d/%d %s, %.0f/s, %s elapsed, ETA %s",
		pr.Phase, pr.Done, pr.Total, pr.Unit, progress.Rate(pr.Done, el), el.Round(time.Second), progress.ETA(el, done)))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
