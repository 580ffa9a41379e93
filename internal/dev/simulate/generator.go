package simulate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrInvalidConfig: a Generator setting is out of range.
var ErrInvalidConfig = errors.New("simulate: invalid generator config")

// MaxPartition is the highest partition id whose keys fit Zeebe's key
// encoding ((partitionId << 51) + counter in an int64).
const MaxPartition = 4095

// Config configures a Generator. Zero values take the defaults noted.
type Config struct {
	Workload   Workload
	Instances  int // root process instances to start (≥ 1)
	Partitions int // partitions 1..Partitions, instances round-robin (default 1)
	Seed       uint64
	// IncidentRate is the share of job attempts that fail without retries:
	// an incident, later resolved (retries updated), then the job completes.
	IncidentRate float64
	// CancelRate is the share of root instances canceled at a random step.
	CancelRate float64
	// RunningRate is the share of root instances left running (waiting) at
	// a random step: they never end.
	RunningRate float64
	// MultiInstanceItems is the number of items the realistic workload's
	// multi-instance task runs over (default 10).
	MultiInstanceItems int
	// Concurrency is how many root instances run interleaved (default 100).
	Concurrency int
	// ChunkRecords is about how many records Next returns (default 4096;
	// a step is never split, so a chunk may be somewhat larger).
	ChunkRecords int
	// Start is the partitions' clock at the start (default: now).
	Start time.Time
	// Resume continues every partition's positions and key counters after
	// this value, as an engine continues its log (0: from the beginning).
	Resume int64
}

// Stats counts what a Generator produced so far.
type Stats struct {
	Instances      int // root process instances started
	ChildInstances int // instances created by call activities
	Completed      int // root instances completed
	Canceled       int // root instances canceled
	Running        int // root instances left running
	Incidents      int
	Decisions      int // decisions evaluated
	Records        int64
}

// Generator simulates a Zeebe cluster running a workload: it deploys the
// workload's resources (on partition 1, distributed to every partition),
// then starts Instances root instances round-robin across the partitions,
// Concurrency of them at a time, interleaving their steps at random. It is
// deterministic for a seed. Not safe for concurrent use.
type Generator struct {
	cfg      Config
	spec     *spec
	rng      *rand.Rand
	parts    []*Partition
	dep      *deployment
	deployed bool
	pool     []*tree
	started  int
	stats    Stats
	stuck    int // root instances that stopped without waiting for anything (must stay 0)
}

// NewGenerator checks cfg, fills in its defaults and reads the workload's
// resources.
func NewGenerator(cfg Config) (*Generator, error) {
	s, err := workloadSpec(cfg.Workload)
	if err != nil {
		return nil, err
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 1
	}
	if cfg.MultiInstanceItems == 0 {
		cfg.MultiInstanceItems = 10
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 100
	}
	if cfg.ChunkRecords == 0 {
		cfg.ChunkRecords = 4096
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, spec: s, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	for id := 1; id <= cfg.Partitions; id++ {
		p := NewPartition(int32(id), cfg.Start)
		p.ResumeAfter(cfg.Resume, cfg.Resume)
		g.parts = append(g.parts, p)
	}
	if g.dep, err = deploy(s, g.parts[0]); err != nil {
		return nil, err
	}
	return g, nil
}

func (c Config) validate() error {
	switch {
	case c.Instances < 1:
		return fmt.Errorf("%w: instances %d (want ≥ 1)", ErrInvalidConfig, c.Instances)
	case c.Partitions < 1 || c.Partitions > MaxPartition:
		return fmt.Errorf("%w: partitions %d (want 1..%d)", ErrInvalidConfig, c.Partitions, MaxPartition)
	case !isRate(c.IncidentRate):
		return fmt.Errorf("%w: incident rate %v (want 0..1)", ErrInvalidConfig, c.IncidentRate)
	case !isRate(c.CancelRate):
		return fmt.Errorf("%w: cancel rate %v (want 0..1)", ErrInvalidConfig, c.CancelRate)
	case !isRate(c.RunningRate) || c.CancelRate+c.RunningRate > 1:
		return fmt.Errorf("%w: running rate %v (want 0..1, with the cancel rate at most 1)", ErrInvalidConfig, c.RunningRate)
	case c.MultiInstanceItems < 0 || c.MultiInstanceItems > 10_000:
		return fmt.Errorf("%w: multi-instance items %d (want 0..10000)", ErrInvalidConfig, c.MultiInstanceItems)
	case c.Concurrency < 1 || c.ChunkRecords < 1:
		return fmt.Errorf("%w: concurrency %d and chunk records %d must be ≥ 1", ErrInvalidConfig, c.Concurrency, c.ChunkRecords)
	case c.Resume < 0 || c.Resume >= 1<<51:
		return fmt.Errorf("%w: resume %d (want 0..2^51)", ErrInvalidConfig, c.Resume)
	}
	return nil
}

func isRate(r float64) bool { return r >= 0 && r <= 1 }

// Stats returns the counts so far.
func (g *Generator) Stats() Stats { return g.stats }

// Next returns the next chunk of records: about ChunkRecords of them, each
// partition's in position order (partitions one after the other). It
// returns nil once every instance has ended or been left running.
func (g *Generator) Next() []Record {
	if !g.deployed {
		g.deployed = true
		for _, p := range g.parts {
			g.dep.emit(p)
		}
	}
	for g.pending() < g.cfg.ChunkRecords {
		switch {
		case g.started < g.cfg.Instances && len(g.pool) < g.cfg.Concurrency && (len(g.pool) == 0 || g.rng.IntN(4) == 0):
			g.start()
		case len(g.pool) > 0:
			i := g.rng.IntN(len(g.pool))
			if !g.pool[i].step() {
				g.pool[i] = g.pool[len(g.pool)-1]
				g.pool[len(g.pool)-1] = nil
				g.pool = g.pool[:len(g.pool)-1]
			}
		default:
			return g.collect()
		}
	}
	return g.collect()
}

// start creates the next root instance and decides its fate.
func (g *Generator) start() {
	p := g.parts[g.started%len(g.parts)]
	g.started++
	t := g.startTree(p)
	horizon := g.horizon()
	switch r := g.rng.Float64(); {
	case r < g.cfg.CancelRate:
		t.cancelAt = 1 + g.rng.IntN(horizon)
	case r < g.cfg.CancelRate+g.cfg.RunningRate:
		t.stopAt = 1 + g.rng.IntN(horizon)
	}
	if t.root.el.ended {
		g.stats.Completed++
		return
	}
	g.pool = append(g.pool, t)
}

// horizon is about how many steps a root instance of the workload takes.
func (g *Generator) horizon() int {
	if g.cfg.Workload == Realistic {
		return 8 + g.cfg.MultiInstanceItems
	}
	return 12
}

// pending counts the records emitted since the last chunk.
func (g *Generator) pending() int {
	n := 0
	for _, p := range g.parts {
		n += len(p.out)
	}
	return n
}

func (g *Generator) collect() []Record {
	n := g.pending()
	if n == 0 {
		return nil
	}
	out := make([]Record, 0, n)
	for _, p := range g.parts {
		out = append(out, p.Take()...)
	}
	g.stats.Records += int64(n)
	return out
}
