package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// Config is one `flowline faults` run.
type Config struct {
	// Bin is the flowline binary whose subcommands run NATS and the
	// services.
	Bin string
	// ChildEnv is added to every child process's environment.
	ChildEnv []string
	// Rounds is the number of faults, one per round (0 with Soak).
	Rounds int
	// Seed draws the workload and the faults: a seed reproduces a run's
	// plan.
	Seed uint64
	// Records is about how many records the workload has (whole
	// generator chunks; more with Soak, as the soak needs).
	Records int64
	// Partitions is the workload's partition count.
	Partitions int
	// Soak, when set, runs no faults: the workload is pushed at half the
	// maximum rate (measured first) for this long, and every process's
	// memory is sampled for a trend.
	Soak time.Duration
	// LeaseTTL is the aggregators' and archiver's lease TTL.
	LeaseTTL time.Duration
	// ESVersion is the Elasticsearch version of the fresh node (empty:
	// esnode's default).
	ESVersion string
	// WorkDir holds the workload, the logs and the node's data; it must be
	// searchable by others when running as root (the node runs as nobody).
	WorkDir string
	// Progress is told what is going on (nil: nothing).
	Progress func(string)
}

// Validate checks the config.
func (c *Config) Validate() error {
	switch {
	case c.Bin == "":
		return errors.New("faults: no flowline binary")
	case c.Soak == 0 && c.Rounds < 1:
		return fmt.Errorf("faults: --rounds must be at least 1, got %d", c.Rounds)
	case c.Soak < 0:
		return fmt.Errorf("faults: --soak must not be negative, got %s", c.Soak)
	case c.Soak > 0 && c.Soak < time.Minute:
		return fmt.Errorf("faults: --soak must be at least 1m to show a memory trend, got %s", c.Soak)
	case c.Records < 1000:
		return fmt.Errorf("faults: --records must be at least 1000, got %d", c.Records)
	case c.Partitions < 1:
		return fmt.Errorf("faults: partitions must be at least 1, got %d", c.Partitions)
	case c.LeaseTTL < time.Second:
		return fmt.Errorf("faults: the lease TTL must be at least 1s, got %s", c.LeaseTTL)
	case c.WorkDir == "":
		return errors.New("faults: no work directory")
	}
	return nil
}

// The shape both runs have: the recommended production shape, on one
// machine.
const (
	natsNodes   = 3
	ingests     = 2
	aggregators = 2
	writers     = 2
	archivers   = 1
)

// Index prefixes of the two runs.
const (
	referencePrefix = "faults-reference"
	runPrefix       = "faults-run"
)

// harness is one Run's state; used by one goroutine except where noted.
type harness struct {
	cfg    Config
	node   *esnode.Node
	nodeOp esnode.Options
	proxy  *Proxy
	es     *search.Client
	// probeBody is a record ingest took already (the workload's first),
	// for probing whether ingest answers.
	probeBody []byte

	mu   sync.Mutex
	down map[string]bool // processes killed or paused by the harness now
}

// setFaulty marks a process as killed or paused by the harness (or back);
// safe for concurrent use.
func (h *harness) setFaulty(name string, down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down == nil {
		h.down = map[string]bool{}
	}
	h.down[name] = down
}

// faulty reports whether the harness has name killed or paused now; safe
// for concurrent use.
func (h *harness) faulty(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down[name]
}

func (h *harness) progress(format string, args ...any) {
	if h.cfg.Progress != nil {
		h.cfg.Progress(fmt.Sprintf(format, args...))
	}
}

// Run runs the harness: a reference run of the workload through a clean
// stack, then the faulted (or soak) run of the same workload, then the
// comparison. The report says what differs; Verdict is "pass" only when
// nothing does.
func Run(ctx context.Context, cfg Config) (_ *Report, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg}
	rep := &Report{Started: time.Now().UTC(), Seed: cfg.Seed, Partitions: cfg.Partitions, LeaseTTL: cfg.LeaseTTL.String()}

	dataDir := filepath.Join(cfg.WorkDir, "elasticsearch")
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	port, err := procstack.StablePort() // the node restarts on it
	if err != nil {
		return nil, err
	}
	h.nodeOp = esnode.Options{Version: cfg.ESVersion, DataDir: dataDir, HTTPPort: port}
	h.progress("starting a fresh Elasticsearch")
	if h.node, err = esnode.Start(ctx, h.nodeOp); err != nil {
		return nil, fmt.Errorf("faults: elasticsearch: %w", err)
	}
	defer func() {
		if h.node != nil {
			_ = h.node.Stop()
		}
	}()
	if h.proxy, err = StartProxy(h.node.URL()); err != nil {
		return nil, err
	}
	defer h.proxy.Close()
	if h.es, err = search.NewClient(config.Search{Engine: config.EngineElasticsearch, ES: config.Elasticsearch{URL: h.node.URL()}}); err != nil {
		return nil, err
	}

	records := cfg.Records
	var soakRate float64
	if cfg.Soak > 0 {
		if soakRate, records, err = h.calibrate(ctx); err != nil {
			return nil, fmt.Errorf("faults: calibrating the soak: %w", err)
		}
		rep.Soak = &Soak{Seconds: cfg.Soak.Seconds(), Rate: soakRate, MaxRate: 2 * soakRate, Partitions: cfg.Partitions}
	}
	h.progress("generating the workload: %d records on %d partitions (seed %d)", records, cfg.Partitions, cfg.Seed)
	w, err := makeWorkload(ctx, filepath.Join(cfg.WorkDir, "workload"), cfg.Seed, records, cfg.Partitions, runningRate(cfg.Soak > 0))
	if err != nil {
		return nil, fmt.Errorf("faults: workload: %w", err)
	}
	rep.Records, rep.Instances = w.records, w.stats.Instances+w.stats.ChildInstances
	if h.probeBody, err = w.firstLine(); err != nil {
		return nil, err
	}

	ref, refDLQ, err := h.reference(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("faults: reference run: %w", err)
	}
	rep.Reference = ref
	n, err := search.Count(ctx, h.es, schema.Alias(referencePrefix, schema.ListView), nil)
	if err != nil {
		return nil, fmt.Errorf("faults: reference run: %w", err)
	}
	rep.ReferenceInstances = int(n)

	run, runDLQ, err := h.faulted(ctx, w, rep, soakRate)
	if err != nil {
		return nil, fmt.Errorf("faults: run: %w", err)
	}
	rep.Run = run
	rep.DeadLetters = compareDeadLetters(refDLQ, runDLQ)
	rep.verdict()
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// settleTimeout bounds how long the harness waits for the archiver's
// sweeps to converge once both runs are drained.
const settleTimeout = 3 * time.Minute

// settledComparison compares the runs until they agree or settleTimeout
// passes: the archiver moves late documents of archived instances at its
// next sweep, so a difference in where a document lives may still be on
// its way.
func (h *harness) settledComparison(ctx context.Context) (Comparison, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		if err := search.Refresh(ctx, h.es, referencePrefix+"-*", runPrefix+"-*"); err != nil {
			return Comparison{}, err
		}
		c, err := compareRuns(ctx, h.es, referencePrefix, runPrefix)
		if err != nil || !c.Failed() || time.Now().After(deadline) {
			return c, err
		}
		h.progress("the runs differ (%d lost, %d extra, %d archive); waiting for the archiver's sweep", c.Lost, c.Extra, c.ArchiveDifferent)
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(10 * time.Second):
		}
	}
}
