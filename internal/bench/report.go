package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a Run measured, with the machine it ran on.
type Report struct {
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Machine   Machine   `json:"machine"`
	Instances int       `json:"instances,omitempty"` // of the Zeebe workload
	// WarmedUp says an unmeasured main run warmed the fresh search engine
	// node first.
	WarmedUp bool `json:"warmed_up,omitempty"`
	// SettledIndices says each end-to-end run's clock started once its
	// new indices were older than the engine's search-idle period.
	SettledIndices bool `json:"settled_indices,omitempty"`
	// Main is the main run (the median one by documents/s of MainRuns,
	// when it was repeated).
	Main      *ScenarioResult  `json:"main,omitempty"`
	MainRuns  []ScenarioResult `json:"main_runs,omitempty"`
	Scenarios []ScenarioResult `json:"scenarios,omitempty"`
	Latency   *LatencyResult   `json:"latency,omitempty"`
	// Ceiling is the median of CeilingRuns by documents/s.
	Ceiling     *CeilingResult  `json:"ceiling,omitempty"`
	CeilingRuns []CeilingResult `json:"ceiling_runs,omitempty"`
	// Summary is the figures the targets are about, over the repeated
	// runs, and the targets.
	Summary  *Summary        `json:"summary,omitempty"`
	Peer     *PeerRun        `json:"peer,omitempty"`
	C7       *C7Result       `json:"c7,omitempty"`
	Exporter *ExporterResult `json:"exporter,omitempty"`
}

// Machine describes where a Report came from.
type Machine struct {
	CPU           string  `json:"cpu"`
	Cores         int     `json:"cores"`
	MemoryGiB     float64 `json:"memory_gib"`
	OS            string  `json:"os"`
	Go            string  `json:"go"`
	Elasticsearch string  `json:"elasticsearch,omitempty"` // the search engine and its version, e.g. "opensearch 2.19.6"
	NATSServer    string  `json:"nats_server"`
}

func describeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n float64
		fmt.Sscanf(kb, "%f", &n)
		m.MemoryGiB = float64(int(n/1024/1024*10+0.5)) / 10
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/nats-io/nats-server/v2" {
				m.NATSServer = d.Version
			}
		}
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc
// file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// verdict marks a ratio against its target.
func verdict(ratio, target float64) string {
	if ratio >= target {
		return fmt.Sprintf("%.2f (target >= %.2f: met)", ratio, target)
	}
	return fmt.Sprintf("%.2f (target >= %.2f: NOT met)", ratio, target)
}

// WriteTable prints the report as tables.
func (r *Report) WriteTable(out io.Writer) {
	m := r.Machine
	fmt.Fprintf(out, "Machine: %s, %d cores, %.1f GiB, %s, %s; search engine %s, nats-server %s\n\n",
		m.CPU, m.Cores, m.MemoryGiB, m.OS, m.Go, orDash(m.Elasticsearch), orDash(m.NATSServer))
	if mr := r.Main; mr != nil {
		warm := ""
		if r.WarmedUp {
			warm = "; after an unmeasured warm-up run of the fresh search engine node"
		}
		if r.SettledIndices {
			warm += "; clock started once the new indices were past the search-idle period"
		}
		fmt.Fprintf(out, "Flowline end to end, maximum rate (%s; %d process instances, %d records, %d documents from %d index operations%s):\n",
			mr.Scenario, mr.Instances, mr.Records, mr.Documents, mr.IndexOps, warm)
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "seconds\trecords/s\tprocess instances/s\tdocuments/s\t\n")
		fmt.Fprintf(tw, "%.1f\t%.0f\t%.0f\t%.0f\t\n", mr.Seconds, mr.RecordsPerSec, mr.InstancesPerSec, mr.DocsPerSec)
		tw.Flush()
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "process\tCPU s\tCPU µs / record\tpeak RSS MB\t\n")
		for _, s := range mr.Services {
			fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.0f\t\n", s.Name, s.CPUSeconds, s.CPUPer1000Rec*1000, s.PeakRSSMB)
		}
		fmt.Fprintf(tw, "Flowline (all but the search engine)\t\t%.2f\t\t\n", mr.FlowlineMicrosPerRecord())
		tw.Flush()
		fmt.Fprintln(out)
		var ceiling *EngineWork
		if r.Ceiling != nil {
			ceiling = &r.Ceiling.Engine
		}
		writeEngineWork(out, mr.Engine, ceiling)
	}
	if l := r.Latency; l != nil {
		at := "half the maximum rate"
		if l.FixedRate {
			at = "a fixed rate (--latency-rate; not judged against the targets)"
		}
		fmt.Fprintf(out, "Data availability latency at %s (%.0f of %.0f records/s sent for %.0f s; record timestamp -> searchable as COMPLETED in list-view; polled every %.0f ms):\n",
			at, l.AchievedRate, l.TargetRate, l.Seconds, l.PollMS)
		if l.AchievedRate < 0.95*l.TargetRate {
			fmt.Fprintf(out, "  warning: sent %.0f%% of the rate asked for: the pipeline did not keep up, the latency includes a backlog\n", 100*l.AchievedRate/l.TargetRate)
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "instances\tp50 ms\tp95 ms\tp99 ms\tmax ms\tnot seen\t\n")
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t\n", l.Samples, l.P50MS, l.P95MS, l.P99MS, l.MaxMS, l.Unseen)
		tw.Flush()
		fmt.Fprintln(out)
	}
	if c := r.Ceiling; c != nil {
		fmt.Fprintf(out, "Ceiling: the main run's %d final documents bulk-loaded directly (%d per bulk, %d in flight, refresh off): %.0f documents/s",
			c.Documents, c.Bulk, c.Concurrency, c.DocsPerSec)
		if c.Engine.CPUSeconds > 0 {
			fmt.Fprintf(out, " (search engine CPU %.1f s)", c.Engine.CPUSeconds)
		}
		fmt.Fprintln(out)
		fmt.Fprintf(out, "  Flowline / ceiling (documents/s): %s\n\n", verdict(c.Ratio, c.Target))
	}
	if p := r.Peer; p != nil {
		fmt.Fprintf(out, "Peer: %s, nats_jetstream -> elasticsearch, one document per record, no aggregation: %d records in %.1f s, %.0f records/s (CPU %.1f s, peak RSS %.0f MB)\n",
			p.Name, p.Records, p.Seconds, p.RecordsPerSec, p.CPUSeconds, p.PeakRSSMB)
		fmt.Fprintf(out, "  Flowline / peer (records/s): %s\n\n", verdict(p.Ratio, p.Target))
	}
	if r.Summary != nil {
		r.Summary.write(out)
	}
	if c := r.C7; c != nil {
		c.writeTable(out, m.Cores)
	}
	if e := r.Exporter; e != nil {
		e.writeTable(out)
	}
	if len(r.Scenarios) > 0 {
		fmt.Fprintln(out, "Scaling (same workload size, maximum rate):")
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "partitions\taggregators\trecords/s\tprocess instances/s\tdocuments/s\tvs first\t\n")
		base := r.Scenarios[0].RecordsPerSec
		for _, s := range r.Scenarios {
			if r.Main != nil && s.Schema != r.Main.Schema {
				continue // the schemas table below
			}
			fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.0f\t%.2fx\t\n", s.Partitions, s.Aggregators, s.RecordsPerSec, s.InstancesPerSec, s.DocsPerSec, s.RecordsPerSec/base)
		}
		tw.Flush()
	}
	r.writeSchemas(out)
}

// writeSchemas prints the main scenario in each schema side by side, when
// more than one ran.
func (r *Report) writeSchemas(out io.Writer) {
	if r.Main == nil {
		return
	}
	var rows []ScenarioResult
	for _, s := range r.Scenarios {
		if s.Partitions == r.Main.Partitions && s.Aggregators == r.Main.Aggregators {
			rows = append(rows, s)
		}
	}
	if len(rows) < 2 {
		return
	}
	fmt.Fprintf(out, "Schemas side by side (%d partition(s), 1 aggregator, maximum rate; the search engine's CPU during the run):\n", r.Main.Partitions)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "schema\tseconds\trecords/s\tdocuments\tindex operations\tdocuments/s\tsearch engine CPU s\tFlowline CPU s\t\n")
	for _, s := range rows {
		name := string(s.Schema)
		if name == "" {
			name = "flowline"
		}
		var engineCPU, own float64
		for _, u := range s.Services {
			if u.Name == "elasticsearch" {
				engineCPU = u.CPUSeconds
			} else {
				own += u.CPUSeconds
			}
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%d\t%d\t%.0f\t%.1f\t%.1f\t\n", name, s.Seconds, s.RecordsPerSec, s.Documents, s.IndexOps, s.DocsPerSec, engineCPU, own)
	}
	tw.Flush()
}

// writeTable prints the Camunda 7 import benchmark, run on cores cores.
func (c *C7Result) writeTable(out io.Writer, cores int) {
	cores = max(1, cores)
	fmt.Fprintf(out, "Camunda 7 import end to end (a fresh Camunda 7.24 engine on this machine, H2 in memory; %d process instances with %d activity instances, %d variable updates and %d user tasks, generated in %.0f s before the clock starts; page size %d; timed from c7-import's start until every instance is searchable as COMPLETED and the pipeline is drained):\n",
		c.Instances, c.ActivityInstances, c.VariableUpdates, c.UserTasks, c.GenerateSeconds, c.PageSize)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "seconds\tprocess instances/s\tactivity instances + variable updates/s\tdocuments/s\t\n")
	fmt.Fprintf(tw, "%.1f\t%.0f\t%.0f\t%.0f\t\n", c.Seconds, c.InstancesPerSec, c.EntitiesPerSec, c.DocsPerSec)
	tw.Flush()
	families := make([]string, 0, len(c.DocsByFamily))
	for f, n := range c.DocsByFamily {
		families = append(families, fmt.Sprintf("%s %d", f, n))
	}
	slices.Sort(families)
	fmt.Fprintf(out, "  %d documents (%s) from %d index operations\n\n", c.Documents, strings.Join(families, ", "), c.IndexOps)

	cpu := c.CPUSeconds()
	fmt.Fprintf(out, "Where the CPU goes (the c7 fold runs in the aggregator): %.1f CPU s in %.1f s on %d cores, %.0f %% busy\n",
		cpu, c.Seconds, cores, cpu/(c.Seconds*float64(cores))*100)
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "process\tCPU s\tshare\tCPU ms / instance\tpeak RSS MB\t\n")
	for _, s := range c.Services {
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f %%\t%.2f\t%.0f\t\n", s.Name, s.CPUSeconds, s.CPUSeconds/cpu*100, s.CPUMSPerInstance, s.PeakRSSMB)
	}
	tw.Flush()
	perCore := c.InstancesPerSec / float64(cores)
	lo, hi := float64(OptimizeInstancesPerSecLow)/OptimizeVCPUs, float64(OptimizeInstancesPerSecHigh)/OptimizeVCPUs
	fmt.Fprintf(out, "\nOptimize, published: %d-%d process instances/s on %d vCPUs (Elasticsearch 8, Optimize 4, Camunda 4, PostgreSQL 8), %.0f-%.0f per vCPU\n",
		OptimizeInstancesPerSecLow, OptimizeInstancesPerSecHigh, OptimizeVCPUs, lo, hi)
	fmt.Fprintf(out, "  Flowline + engine + Elasticsearch here: %.0f process instances/s on %d cores, %.0f per core (%.2f-%.2fx Optimize per vCPU; %.2f-%.2fx its total)\n\n",
		c.InstancesPerSec, cores, perCore, perCore/hi, perCore/lo,
		c.InstancesPerSec/OptimizeInstancesPerSecHigh, c.InstancesPerSec/OptimizeInstancesPerSecLow)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteMarkdown writes the report as the page docs/benchmarks.md holds:
// when and where it ran, how to run it again, and the tables.
func (r *Report) WriteMarkdown(out io.Writer, command string) {
	fmt.Fprintf(out, "# Benchmarks\n\n")
	fmt.Fprintf(out, "The latest full run of `flowline bench` (see the README, \"Benchmark it\"). Reproduce with:\n\n")
	fmt.Fprintf(out, "```sh\n%s\n```\n\n", command)
	fmt.Fprintf(out, "Ran %s to %s (UTC). The run's JSON report holds every figure.\n\n",
		r.Started.Format("2006-01-02 15:04"), r.Finished.Format("15:04"))
	fmt.Fprintf(out, "```\n")
	r.WriteTable(out)
	fmt.Fprintf(out, "```\n")
}
