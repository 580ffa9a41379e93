package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/progress"
)

// devWorkloads are the values of `flowline dev --workload`; demo is the
// realistic workload under its old name.
var devWorkloads = map[string]simulate.Workload{
	"typical": simulate.Typical, "realistic": simulate.Realistic, "demo": simulate.Realistic,
}

// demoConfig is the workload `flowline dev` runs once ready: instances
// across 3 partitions, some with incidents (resolved), some canceled, some
// left running so the search has active ones to show. Positions and key
// counters continue from the clock, so a run after an earlier one on the
// same data dir is never taken for duplicates.
func demoConfig(w simulate.Workload, instances int, now time.Time) simulate.Config {
	return simulate.Config{
		Workload: w, Instances: instances, Partitions: 3, Seed: uint64(now.UnixNano()),
		IncidentRate: 0.05, CancelRate: 0.1, RunningRate: 0.2, MultiInstanceItems: 5,
		Start: now.Add(-time.Hour), Resume: clockResume(now),
	}
}

// runDemo pushes the dev workload to ingest at ingestURL (the push API).
func runDemo(ctx context.Context, ingestURL string, w simulate.Workload, instances int, out io.Writer) error {
	gen, err := simulate.NewGenerator(demoConfig(w, instances, time.Now()))
	if err != nil {
		return err
	}
	sink := newIngestSink(ingestURL, "", progress.New(os.Stderr, false))
	sum, err := pump(ctx, gen, sink, 0, 5000, nil, nil) // no progress line among the services' logs
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "demo "+sum.line(string(w), "ingest"))
	return nil
}
