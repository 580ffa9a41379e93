package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/progress"
)

// specGenerate is generate's config: the token it sends to ingest unless
// --token-file says.
func specGenerate() []any { return []any{&ingestURLConfig{}, &ingestTokenConfig{}} }

// generateOptions are `flowline generate`'s flags.
type generateOptions struct {
	workload     string
	instances    int
	partitions   int
	rate         float64
	ingest       string
	out          string
	tokenFile    string
	token        string // resolved from tokenFile or the environment
	seed         uint64
	incidentRate float64
	cancelRate   float64
	runningRate  float64
	items        int
	batch        int
	resume       int64
	start        string
	live         bool
}

func generateFlags() (*flag.FlagSet, *generateOptions) {
	o := &generateOptions{}
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.StringVar(&o.workload, "workload", "typical", "typical (10 service tasks, a gateway, 2 timers, 14 variables) or realistic (decision, user task, sub-process, multi-instance, call activity)")
	fs.IntVar(&o.instances, "instances", 100, "root process instances to run")
	fs.IntVar(&o.partitions, "partitions", 3, "partitions 1..P the instances are spread over")
	fs.Float64Var(&o.rate, "rate", 0, "records per second to send at (0: as fast as possible)")
	fs.StringVar(&o.ingest, "ingest", "", "send to ingest at its base URL (http://host:port) or push URL (.../v1/records) (default without --out: FLOWLINE_INGEST_URL)")
	fs.StringVar(&o.out, "out", "", "write NDJSON to this file (gzip when it ends in .gz; - for stdout)")
	tokenFlags(fs, &o.tokenFile)
	fs.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed gives the same workload")
	fs.Float64Var(&o.incidentRate, "incident-rate", 0, "share of job attempts that fail into an incident (resolved later), 0..1")
	fs.Float64Var(&o.cancelRate, "cancel-rate", 0, "share of instances canceled midway, 0..1")
	fs.Float64Var(&o.runningRate, "running-rate", 0, "share of instances left running, 0..1")
	fs.IntVar(&o.items, "items", 10, "items of the realistic workload's multi-instance task")
	fs.IntVar(&o.batch, "batch", 5000, "most records per request to ingest")
	fs.Int64Var(&o.resume, "resume", -1, "continue positions and key counters after this value (-1: from the clock with --ingest, so a rerun is not taken for duplicates; 0 with --out)")
	fs.StringVar(&o.start, "start", "", "clock at the start, RFC 3339 (default: now); with --seed it makes a run reproducible")
	fs.BoolVar(&o.live, "live", false, "stamp each record with the wall clock when it is sent, as a live engine's records carry the time they happened (for end-to-end lag and latency to read true); times inside values (timers, job deadlines, user tasks' creation) keep the simulated clock")
	return fs, o
}

// check validates the flags; errors name the flag.
func (o *generateOptions) check() error {
	bad := func(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }
	switch {
	case o.workload != string(simulate.Typical) && o.workload != string(simulate.Realistic):
		return bad("--workload must be typical or realistic, got %q", o.workload)
	case o.instances < 1:
		return bad("--instances must be at least 1, got %d", o.instances)
	case o.partitions < 1 || o.partitions > simulate.MaxPartition:
		return bad("--partitions must be 1..%d, got %d", simulate.MaxPartition, o.partitions)
	case o.rate < 0:
		return bad("--rate must not be negative, got %v", o.rate)
	case o.ingest != "" && o.out != "":
		return bad("--ingest and --out exclude each other")
	case o.live && o.out != "":
		return bad("--live stamps records when they are sent to ingest; it does not go with --out")
	case o.live && o.start != "":
		return bad("--live and --start exclude each other: --live takes the wall clock")
	case o.incidentRate < 0 || o.incidentRate > 1:
		return bad("--incident-rate must be 0..1, got %v", o.incidentRate)
	case o.cancelRate < 0 || o.cancelRate > 1:
		return bad("--cancel-rate must be 0..1, got %v", o.cancelRate)
	case o.runningRate < 0 || o.runningRate > 1 || o.cancelRate+o.runningRate > 1:
		return bad("--running-rate must be 0..1 and, with --cancel-rate, at most 1; got %v", o.runningRate)
	case o.items < 1 || o.items > 10_000:
		return bad("--items must be 1..10000, got %d", o.items)
	case o.batch < 1:
		return bad("--batch must be at least 1, got %d", o.batch)
	case o.resume < -1 || o.resume >= 1<<51:
		return bad("--resume must be -1..2^51, got %d", o.resume)
	}
	if o.start != "" {
		if _, err := time.Parse(time.RFC3339Nano, o.start); err != nil {
			return bad("--start must be an RFC 3339 time such as 2026-11-23T12:00:00Z, got %q", o.start)
		}
	}
	if o.out == "" { // to ingest: --ingest, else FLOWLINE_INGEST_URL
		var err error
		if o.ingest, err = ingestURL(o.ingest); err != nil {
			return err
		}
	}
	return nil
}

// config is the generator's configuration; the clock gives the start (but
// for --start) and, when resuming from the clock, positions above any
// earlier run's.
func (o *generateOptions) config(now time.Time) simulate.Config {
	start := now
	if o.start != "" {
		start, _ = time.Parse(time.RFC3339Nano, o.start) // checked
	}
	resume := o.resume
	if resume == -1 {
		resume = 0
		if o.ingest != "" {
			resume = clockResume(now)
		}
	}
	return simulate.Config{
		Workload: simulate.Workload(o.workload), Instances: o.instances, Partitions: o.partitions, Seed: o.seed,
		IncidentRate: o.incidentRate, CancelRate: o.cancelRate, RunningRate: o.runningRate,
		MultiInstanceItems: o.items, Start: start, Resume: resume,
	}
}

// clockResume is a resume point that grows with the clock (1000 per
// millisecond), so every run continues after the earlier ones.
func clockResume(now time.Time) int64 { return now.UnixMilli() * 1000 }

// runGenerate runs `flowline generate`.
func runGenerate(ctx context.Context, args []string, stdout io.Writer) error {
	if err := refuseTokenFlag(args); err != nil {
		return err
	}
	fs, o := generateFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	var err error
	if o.token, err = ingestToken(o.tokenFile); err != nil {
		return err
	}
	gen, err := simulate.NewGenerator(o.config(time.Now()))
	if err != nil {
		return usageError{err}
	}
	line := progress.New(os.Stderr, isTerminal(os.Stderr))
	var sink recordSink
	if o.out != "" {
		if sink, err = newFileSink(o.out, stdout); err != nil {
			return err
		}
	} else {
		sink = newIngestSink(o.ingest, o.token, line)
	}
	var stamp func() int64
	if o.live {
		stamp = func() int64 { return time.Now().UnixMilli() }
	}
	sum, err := pump(ctx, gen, sink, o.rate, o.batch, stamp, &pumpProgress{line: line, dest: sink.name(), instances: o.instances})
	line.End()
	if cerr := sink.close(); err == nil {
		err = cerr
	}
	report := stdout
	if o.out == "-" { // stdout holds the records
		report = os.Stderr
	}
	fmt.Fprintln(report, sum.line(o.workload, sink.name()))
	return err
}
