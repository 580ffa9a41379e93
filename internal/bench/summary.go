package bench

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// The targets `flowline bench` checks (README, "Benchmark it"). The
// ceiling and the workload stay as they are, so that the ratios compare
// with earlier runs.
const (
	// TargetEnginePerOpRatio: the search engine's CPU per index operation
	// end to end, at most this many times the ceiling's.
	TargetEnginePerOpRatio = 1.3
	// TargetFlowlineMicrosPerRecord: the CPU of ingest, aggregator, writer
	// and NATS together per record, at most.
	TargetFlowlineMicrosPerRecord = 4.5
	// TargetCeilingRatio: end-to-end documents/s, at least this share of
	// the ceiling's.
	TargetCeilingRatio = 0.5
	// TargetLatencyP50MS and TargetLatencyP99MS: data availability at half
	// the maximum rate, at most.
	TargetLatencyP50MS = 500
	TargetLatencyP99MS = 1000
	// TargetPeerRatio: Flowline's records/s, at least this many times the
	// peer's.
	TargetPeerRatio = 1.5
)

// Spread is a figure over repeated runs: the median (the lower middle
// value for an even count, so that it is always a run's own figure, as
// medianRun picks), and the smallest and largest.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Runs   int     `json:"runs"`
}

// spreadOf is f over runs, leaving out those where measured is false (nil:
// every run).
func spreadOf[T any](runs []T, f func(T) float64, measured ...func(T) bool) Spread {
	var xs []float64
	for _, r := range runs {
		if len(measured) > 0 && !measured[0](r) {
			continue
		}
		xs = append(xs, f(r))
	}
	if len(xs) == 0 {
		return Spread{}
	}
	slices.Sort(xs)
	return Spread{Median: median(xs), Min: xs[0], Max: xs[len(xs)-1], Runs: len(xs)}
}

// median of sorted xs: the middle one, the lower middle one for an even
// count.
func median(xs []float64) float64 { return xs[(len(xs)-1)/2] }

// medianRun returns the run whose by is the median (the lower middle one
// for an even count), so that its other figures belong to one real run.
func medianRun[T any](runs []T, by func(T) float64) *T {
	if len(runs) == 0 {
		return nil
	}
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b T) int {
		switch x, y := by(a), by(b); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	m := sorted[(len(sorted)-1)/2]
	return &m
}

// Summary is the figures the targets are about, over the repeated runs.
type Summary struct {
	RecordsPerSec Spread `json:"records_per_second"`
	DocsPerSec    Spread `json:"documents_per_second"`
	// The engine's CPU figures are left out when its CPU was not read.
	EngineMicrosPerOp       Spread `json:"engine_cpu_us_per_index_operation,omitzero"`
	FlowlineMicrosPerRecord Spread `json:"flowline_cpu_us_per_record"`
	// PerProcessMicrosPerRecord is each process's CPU per record, in µs.
	PerProcessMicrosPerRecord map[string]Spread `json:"cpu_us_per_record_by_process"`
	CeilingDocsPerSec         Spread            `json:"ceiling_documents_per_second,omitzero"`
	CeilingEngineMicrosPerOp  Spread            `json:"ceiling_engine_cpu_us_per_index_operation,omitzero"`
	Targets                   []TargetCheck     `json:"targets"`
}

// TargetCheck is one target against what was measured (medians).
type TargetCheck struct {
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Target   float64 `json:"target"`
	AtMost   bool    `json:"at_most"` // the target is a maximum (else a minimum)
	Unit     string  `json:"unit,omitempty"`
	Met      bool    `json:"met"`
	// NotMeasured says why the figure is missing (Measured and Met then
	// mean nothing).
	NotMeasured string `json:"not_measured,omitempty"`
}

func check(name string, measured, target float64, atMost bool, unit string) TargetCheck {
	met := measured >= target
	if atMost {
		met = measured <= target
	}
	return TargetCheck{Name: name, Measured: measured, Target: target, AtMost: atMost, Unit: unit, Met: met}
}

// summarize computes the spreads of the main runs and ceilings and checks
// the targets the report has figures for.
func summarize(rep *Report) *Summary {
	if len(rep.MainRuns) == 0 {
		return nil
	}
	s := &Summary{
		RecordsPerSec: spreadOf(rep.MainRuns, func(r ScenarioResult) float64 { return r.RecordsPerSec }),
		DocsPerSec:    spreadOf(rep.MainRuns, func(r ScenarioResult) float64 { return r.DocsPerSec }),
		EngineMicrosPerOp: spreadOf(rep.MainRuns, func(r ScenarioResult) float64 { return r.Engine.CPUMicrosPerOp },
			func(r ScenarioResult) bool { return r.Engine.cpuRead() }),
		FlowlineMicrosPerRecord:   spreadOf(rep.MainRuns, ScenarioResult.FlowlineMicrosPerRecord),
		PerProcessMicrosPerRecord: map[string]Spread{},
	}
	for _, u := range rep.MainRuns[0].Services {
		s.PerProcessMicrosPerRecord[u.Name] = spreadOf(rep.MainRuns, func(r ScenarioResult) float64 {
			for _, v := range r.Services {
				if v.Name == u.Name && r.Records > 0 {
					return v.CPUSeconds / float64(r.Records) * 1e6
				}
			}
			return 0
		})
	}
	if len(rep.CeilingRuns) > 0 {
		s.CeilingDocsPerSec = spreadOf(rep.CeilingRuns, func(r CeilingResult) float64 { return r.DocsPerSec })
		s.CeilingEngineMicrosPerOp = spreadOf(rep.CeilingRuns, func(r CeilingResult) float64 { return r.Engine.CPUMicrosPerOp },
			func(r CeilingResult) bool { return r.Engine.cpuRead() })
		c := check("search engine CPU per index operation, end to end ÷ ceiling",
			ratio(s.EngineMicrosPerOp.Median, s.CeilingEngineMicrosPerOp.Median), TargetEnginePerOpRatio, true, "x")
		if s.EngineMicrosPerOp.Runs == 0 || s.CeilingEngineMicrosPerOp.Runs == 0 {
			c = TargetCheck{Name: c.Name, Target: c.Target, AtMost: true, Unit: c.Unit,
				NotMeasured: "the search engine's CPU was not read (a node the harness did not start)"}
		}
		s.Targets = append(s.Targets, c)
	}
	s.Targets = append(s.Targets, check("Flowline CPU per record (ingest + aggregator + writer + NATS)",
		s.FlowlineMicrosPerRecord.Median, TargetFlowlineMicrosPerRecord, true, "µs"))
	if s.CeilingDocsPerSec.Median > 0 {
		s.Targets = append(s.Targets, check("end-to-end documents/s ÷ ceiling", ratio(s.DocsPerSec.Median, s.CeilingDocsPerSec.Median),
			TargetCeilingRatio, false, "x"))
	}
	if l := rep.Latency; l != nil && !l.FixedRate {
		s.Targets = append(s.Targets,
			check("data availability p50 at half the maximum rate", l.P50MS, TargetLatencyP50MS, true, "ms"),
			check("data availability p99 at half the maximum rate", l.P99MS, TargetLatencyP99MS, true, "ms"))
	}
	if p := rep.Peer; p != nil {
		s.Targets = append(s.Targets, check("Flowline records/s ÷ peer", p.Ratio, p.Target, false, "x"))
	}
	return s
}

// writeEngineWork prints the search engine's work end to end beside the
// ceiling's.
func writeEngineWork(out io.Writer, main EngineWork, ceiling *EngineWork) {
	fmt.Fprintln(out, "Search engine work, end to end beside the ceiling (its own statistics of the indices' primaries):")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tend to end\t")
	if ceiling != nil {
		fmt.Fprintf(tw, "ceiling\t")
	}
	fmt.Fprintln(tw)
	row := func(name string, f func(EngineWork) string) {
		fmt.Fprintf(tw, "%s\t%s\t", name, f(main))
		if ceiling != nil {
			fmt.Fprintf(tw, "%s\t", f(*ceiling))
		}
		fmt.Fprintln(tw)
	}
	num := func(v float64, format string) string { return fmt.Sprintf(format, v) }
	cpuRow := func(name string, f func(EngineWork) float64) {
		row(name, func(w EngineWork) string {
			if !w.cpuRead() {
				return "-"
			}
			return num(f(w), "%.1f")
		})
	}
	cpuRow("CPU s", func(w EngineWork) float64 { return w.CPUSeconds })
	row("index operations", func(w EngineWork) string { return num(float64(w.IndexOps), "%.0f") })
	cpuRow("CPU µs / index operation", func(w EngineWork) float64 { return w.CPUMicrosPerOp })
	cpuRow("CPU µs / indexed document", func(w EngineWork) float64 { return w.CPUMicrosPerIndexed })
	row("bulk requests", func(w EngineWork) string { return num(float64(w.BulkRequests), "%.0f") })
	row("mean bulk documents", func(w EngineWork) string { return num(w.MeanBulkDocs, "%.0f") })
	row("mean bulk KB", func(w EngineWork) string { return num(w.MeanBulkBytes/1024, "%.0f") })
	row("shard bulks", func(w EngineWork) string {
		if w.ShardBulks == 0 {
			return "-" // OpenSearch does not count them
		}
		return num(float64(w.ShardBulks), "%.0f")
	})
	row("indexed", func(w EngineWork) string { return num(float64(w.Indexed), "%.0f") })
	row("indexing s (wall, over threads)", func(w EngineWork) string { return num(w.IndexSeconds, "%.1f") })
	row("refreshes (all / searchable)", func(w EngineWork) string { return fmt.Sprintf("%d / %d", w.Refreshes, w.ExternalRefreshes) })
	row("refresh s (wall)", func(w EngineWork) string { return num(w.RefreshSeconds, "%.1f") })
	row("merges", func(w EngineWork) string { return num(float64(w.Merges), "%.0f") })
	row("merge s (wall, over threads)", func(w EngineWork) string { return num(w.MergeSeconds, "%.1f") })
	row("flushes", func(w EngineWork) string { return num(float64(w.Flushes), "%.0f") })
	row("segments at the end", func(w EngineWork) string { return num(float64(w.Segments), "%.0f") })
	tw.Flush()
	fmt.Fprintln(out)
}

// writeSummary prints the spreads over repeated runs and the targets.
func (s *Summary) write(out io.Writer) {
	if s.DocsPerSec.Runs > 1 {
		of := "the main run"
		if s.CeilingDocsPerSec.Runs > 0 {
			of += " and of the ceiling"
		}
		fmt.Fprintf(out, "Over %d runs of %s (the median is the middle run's figure):\n", s.DocsPerSec.Runs, of)
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "figure\tmedian\tmin\tmax\t\n")
		row := func(name string, sp Spread, format string) {
			if sp.Runs == 0 {
				return
			}
			fmt.Fprintf(tw, "%s\t"+format+"\t"+format+"\t"+format+"\t\n", name, sp.Median, sp.Min, sp.Max)
		}
		row("records/s", s.RecordsPerSec, "%.0f")
		row("documents/s", s.DocsPerSec, "%.0f")
		row("ceiling documents/s", s.CeilingDocsPerSec, "%.0f")
		row("search engine CPU µs / index operation", s.EngineMicrosPerOp, "%.1f")
		row("ceiling: search engine CPU µs / index operation", s.CeilingEngineMicrosPerOp, "%.1f")
		row("Flowline CPU µs / record", s.FlowlineMicrosPerRecord, "%.2f")
		names := make([]string, 0, len(s.PerProcessMicrosPerRecord))
		for n := range s.PerProcessMicrosPerRecord {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			row("  "+n+" CPU µs / record", s.PerProcessMicrosPerRecord[n], "%.2f")
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	if len(s.Targets) == 0 {
		return
	}
	fmt.Fprintln(out, "Targets (the medians of repeated runs; latency and peer from their one run):")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, t := range s.Targets {
		op, verdict := ">=", "met"
		if t.AtMost {
			op = "<="
		}
		measured := formatUnit(t.Measured, t.Unit)
		switch {
		case t.NotMeasured != "":
			measured, verdict = "-", "not measured: "+t.NotMeasured
		case !t.Met:
			verdict = "NOT met"
		}
		fmt.Fprintf(tw, "  %s\t%s\ttarget %s %s\t%s\t\n", t.Name, measured, op, formatUnit(t.Target, t.Unit), verdict)
	}
	tw.Flush()
	fmt.Fprintln(out)
}

func formatUnit(v float64, unit string) string {
	switch unit {
	case "x":
		return fmt.Sprintf("%.2f", v)
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}
