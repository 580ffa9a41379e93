package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/faults"
	"github.com/flowline/flowline/internal/progress"
)

func specFaults() []any { return []any{esnode.NewConfig()} }

// faultsOptions are `flowline faults`'s flags.
type faultsOptions struct {
	rounds   int
	seed     uint64
	records  int64
	out      string
	soak     time.Duration
	leaseTTL time.Duration
	workDir  string
}

func faultsFlags() (*flag.FlagSet, *faultsOptions) {
	o := &faultsOptions{}
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	fs.IntVar(&o.rounds, "rounds", 10, "rounds, one fault each (kill -9 of a service replica or a NATS node, a service paused past its lease TTL, Elasticsearch stopped for 30 s, Elasticsearch answering 429)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the workload and of the faults' plan: the same seed reproduces a run's plan")
	fs.Int64Var(&o.records, "records", 100_000, "records of the realistic workload over 4 partitions (incidents, call activities, user tasks, cancellations)")
	fs.StringVar(&o.out, "out", "faults-results/faults.json", "JSON report file")
	fs.DurationVar(&o.soak, "soak", 0, "run no faults: push at half the maximum rate (measured first) for this long, e.g. 30m, sampling every process's memory every 10 s for a trend")
	fs.DurationVar(&o.leaseTTL, "lease-ttl", 10*time.Second, "lease TTL of the aggregators and the archiver (FLOWLINE_AGGREGATOR_LEASE_TTL, FLOWLINE_ARCHIVER_LEASE_TTL)")
	fs.StringVar(&o.workDir, "work-dir", "", "workload, logs and the Elasticsearch node's data (default: next to --out)")
	return fs, o
}

func (o *faultsOptions) config() (faults.Config, error) {
	bin, err := os.Executable()
	if err != nil {
		return faults.Config{}, err
	}
	local, err := esnode.LoadConfig()
	if err != nil {
		return faults.Config{}, err
	}
	work := o.workDir
	if work == "" {
		work = filepath.Join(filepath.Dir(o.out), "work")
	}
	if work, err = filepath.Abs(work); err != nil {
		return faults.Config{}, err
	}
	rounds := o.rounds
	if o.soak > 0 {
		rounds = 0
	}
	cfg := faults.Config{Bin: bin, Rounds: rounds, Seed: o.seed, Records: o.records, Partitions: 4, Soak: o.soak,
		LeaseTTL: o.leaseTTL, ESVersion: local.Version, WorkDir: work}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// errFaultsFailed: the run found differences (the report says which).
var errFaultsFailed = errors.New("the faulted run differs from the reference (see the verdict above)")

// runFaults runs `flowline faults`.
func runFaults(ctx context.Context, args []string, stdout io.Writer) error {
	fs, o := faultsFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return runFaultsWith(ctx, cfg, o.out, stdout, isTerminal(stdout))
}

// runFaultsWith runs the harness, shows its progress on out, writes the
// tables and the verdict there and the JSON report to jsonPath; it fails
// with errFaultsFailed when the verdict is fail.
func runFaultsWith(ctx context.Context, cfg faults.Config, jsonPath string, out io.Writer, terminal bool) error {
	line := progress.New(out, terminal)
	start := time.Now()
	cfg.Progress = func(msg string) { line.Note(fmt.Sprintf("[%s] %s", time.Since(start).Round(time.Second), msg)) }
	rep, err := faults.Run(ctx, cfg)
	line.End()
	if err != nil {
		return err
	}
	if err := writeJSONReport(jsonPath, rep); err != nil {
		return err
	}
	fmt.Fprintln(out)
	rep.WriteText(out)
	fmt.Fprintf(out, "\nJSON report: %s; logs: %s\n", jsonPath, cfg.WorkDir)
	if rep.Verdict != "pass" {
		return errFaultsFailed
	}
	return nil
}
