package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/flowline/flowline/internal/dev/c7engine"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
)

// The Camunda 7 import benchmark (`flowline bench --c7`): a fresh engine on
// this machine is filled with instances of c7engine.LoadBPMN first, not
// measured; then c7-import, the aggregator (which runs the c7 fold) and the
// writer import its whole history into a fresh index set, timed from the
// import's start until every instance is there, complete.

const (
	c7Prefix = "bench-c7"
	c7Source = "bench"
	c7Key    = "benchorder"
	// c7HeapMB is the engine's heap: H2 in memory holds the whole history.
	c7HeapMB = 2048
	// c7GenerateThreads drive the instances through the engine.
	c7GenerateThreads = 4
	// c7PageSize is the import's page size: Optimize's default.
	c7PageSize = 10_000
	// c7Poll is how often the end of the import is checked.
	c7Poll = 500 * time.Millisecond
	// c7Stall fails a run in which nothing moved for this long.
	c7Stall = 3 * time.Minute
)

// Optimize's published import rate of Camunda 7 history, and the hosts it
// was measured on: Elasticsearch 8 vCPU, Optimize 4, Camunda 4,
// PostgreSQL 8 (see docs/benchmarks.md).
const (
	OptimizeInstancesPerSecLow  = 1400
	OptimizeInstancesPerSecHigh = 1500
	OptimizeVCPUs               = 24
)

// c7Entities are the kinds of entity the benchmark's model produces, each
// with the engine's count endpoint that says how many there are: the
// import is complete when it stored at least that many of each.
var c7Entities = []struct {
	kind  c7.Kind
	count string // below the REST base
}{
	{c7.ProcessInstanceCompleted, "/history/process-instance/count?finished=true"},
	{c7.ActivityInstanceCompleted, "/history/activity-instance/count?finished=true"},
	{c7.TaskInstanceCompleted, "/history/task/count?finished=true"},
	{c7.VariableUpdate, "/history/detail/count?variableUpdates=true"},
	{c7.IdentityLinkLog, "/history/identity-link-log/count"},
}

// C7Result is the Camunda 7 import benchmark: the engine's history of
// Instances process instances imported end to end, from c7-import's start
// until every instance's c7-process-instance document is searchable as
// COMPLETED and the pipeline is drained (every entity of the history was
// stored, folded and written).
type C7Result struct {
	Instances         int `json:"process_instances"`
	ActivityInstances int `json:"activity_instances"`
	VariableUpdates   int `json:"variable_updates"`
	Variables         int `json:"variables"` // variable instances: one c7-variable document each
	UserTasks         int `json:"user_tasks"`
	IdentityLinks     int `json:"identity_link_log_entries"`
	// GenerateSeconds is how long filling the engine took (not measured).
	GenerateSeconds float64        `json:"generate_seconds"`
	PageSize        int            `json:"page_size"`
	Documents       int            `json:"documents"`
	DocsByFamily    map[string]int `json:"documents_by_family"`
	IndexOps        int            `json:"index_operations"`
	Seconds         float64        `json:"seconds"`
	InstancesPerSec float64        `json:"process_instances_per_second"`
	// EntitiesPerSec counts activity instances and variable updates.
	EntitiesPerSec float64 `json:"activity_instances_and_variable_updates_per_second"`
	DocsPerSec     float64 `json:"documents_per_second"`
	// Services: the engine, NATS, c7-import, the aggregator (the fold),
	// the writer, and Elasticsearch when the harness started it.
	Services []ServiceUsage `json:"services"`
	Profiles []string       `json:"profiles,omitempty"`
}

// CPUSeconds is the CPU every measured process used in the window.
func (r *C7Result) CPUSeconds() float64 {
	total := 0.0
	for _, s := range r.Services {
		total += s.CPUSeconds
	}
	return total
}

// runC7 runs the Camunda 7 import benchmark.
func (h *harness) runC7(ctx context.Context) (*C7Result, error) {
	n := h.cfg.C7Instances
	h.progress(Progress{Phase: "c7 engine", Note: fmt.Sprintf("starting a fresh Camunda 7 engine (heap %d MB)", c7HeapMB)})
	engine, err := c7engine.Start(ctx, c7engine.Options{HeapMB: c7HeapMB, JavaHome: h.cfg.C7JavaHome,
		// The model has no asynchronous steps: no jobs to acquire.
		ExtraArgs: []string{"--camunda.bpm.job-execution.enabled=false"}})
	if err != nil {
		return nil, err
	}
	defer engine.Stop()
	if _, err := c7engine.Deploy(ctx, engine.URL(), c7Key, map[string][]byte{c7Key + ".bpmn": c7engine.LoadBPMN(c7Key)}); err != nil {
		return nil, err
	}
	genTook, err := h.generateC7(ctx, engine.URL(), n)
	if err != nil {
		return nil, err
	}
	want := map[string]int{}
	for _, e := range c7Entities {
		if want[e.kind.Name], err = c7engine.Count(ctx, engine.URL(), e.count); err != nil {
			return nil, err
		}
	}
	if want[c7.ProcessInstanceCompleted.Name] != n {
		return nil, fmt.Errorf("the engine holds %d completed instances, want %d", want[c7.ProcessInstanceCompleted.Name], n)
	}
	variables, err := c7engine.Count(ctx, engine.URL(), "/history/variable-instance/count")
	if err != nil {
		return nil, err
	}
	res := &C7Result{Instances: n, ActivityInstances: want[c7.ActivityInstanceCompleted.Name], VariableUpdates: want[c7.VariableUpdate.Name],
		Variables: variables, UserTasks: want[c7.TaskInstanceCompleted.Name], IdentityLinks: want[c7.IdentityLinkLog.Name],
		GenerateSeconds: genTook.Seconds(), PageSize: c7PageSize, DocsByFamily: map[string]int{}}
	h.progress(Progress{Phase: "c7 engine", Note: fmt.Sprintf("%d instances generated in %.0f s: %d activity instances, %d variable updates, %d user tasks",
		n, res.GenerateSeconds, res.ActivityInstances, res.VariableUpdates, res.UserTasks)})

	dir := filepath.Join(h.cfg.WorkDir, c7Prefix)
	DropIndexSet(ctx, h.es, c7Prefix)
	st, err := procstack.Start(ctx, procstack.Config{Bin: h.cfg.Bin, Env: h.cfg.ChildEnv, Dir: dir, ESURL: h.esURL, Prefix: c7Prefix, Aggregators: 1, NoIngest: true})
	if err != nil {
		return nil, err
	}
	defer st.Stop()

	// The clock runs from the import's start.
	before, esBefore, engineBefore := st.Usage(), h.esUsage(), treeUsage(engine.PID())
	start := time.Now()
	if err := st.StartService(ctx, "c7-import", "c7-import", "FLOWLINE_C7_URL="+engine.URL(), "FLOWLINE_C7_SOURCE="+c7Source,
		fmt.Sprintf("FLOWLINE_C7_PAGE_SIZE=%d", c7PageSize),
		"FLOWLINE_C7_SETTLE=0"); err != nil { // the engine is idle: nothing is about to commit
		return nil, err
	}
	var pwg sync.WaitGroup
	defer pwg.Wait() // on failure too: no warning after the run
	if h.cfg.ProfileFor > 0 {
		for name, admin := range st.Admin {
			path := filepath.Join(h.cfg.WorkDir, "profiles", "c7-"+name+".pprof")
			res.Profiles = append(res.Profiles, path)
			pwg.Go(func() {
				if err := fetchProfile(ctx, admin, h.cfg.ProfileFor, path); err != nil {
					h.warn(fmt.Sprintf("profile of %s: %v", name, err))
				}
			})
		}
		sort.Strings(res.Profiles)
	}

	total := int64(0)
	for _, w := range want {
		total += int64(w)
	}
	last, lastMove, status := "", time.Now(), ""
	err = procstack.WaitUntil(ctx, c7Poll, func() (bool, error) {
		if err := st.CheckAlive(); err != nil {
			return false, err
		}
		stored, err := entitiesByKind(ctx, st.Admin["c7-import"], "flowline_c7_import_stored_entities_total")
		if err != nil {
			return false, fmt.Errorf("c7-import metrics: %w", err)
		}
		folded, err := entitiesByKind(ctx, st.Admin["aggregator"], "flowline_c7_fold_entities_total")
		if err != nil {
			return false, fmt.Errorf("aggregator metrics: %w", err)
		}
		var ok bool
		if s := reached(stored, want); s < total {
			h.progress(Progress{Phase: "c7 import: storing the engine's pages", Done: s, Total: total, Unit: "entities", Since: start})
			status = fmt.Sprintf("%d of %d entities stored, %d folded", s, total, reached(folded, want))
		} else {
			f := reached(folded, want)
			h.progress(Progress{Phase: "c7 import: folding and writing", Done: f, Total: total, Unit: "entities folded", Since: start})
			if ok, status = procstack.Drained(ctx, st.JS, stream.C7Stream, 1); ok {
				completed, err := count(ctx, h.es, schema.Alias(c7Prefix, schema.C7ProcessInstance), map[string]any{"term": map[string]any{"state": "COMPLETED"}})
				if err != nil {
					return false, err
				}
				ok = completed == n
				status = fmt.Sprintf("%d of %d instances searchable as COMPLETED", completed, n)
			}
			status = fmt.Sprintf("all %d entities stored, %d folded; %s", total, f, status)
		}
		if status != last {
			last, lastMove = status, time.Now()
		} else if time.Since(lastMove) > c7Stall {
			dumps := filepath.Join(dir, "goroutines")
			for name, admin := range st.Admin {
				_ = fetchGoroutines(ctx, admin, filepath.Join(dumps, name+".txt"))
			}
			return false, fmt.Errorf("nothing moved for %v: %s (logs in %s, the services' goroutines in %s)", c7Stall, status, dir, dumps)
		}
		return ok, nil
	})
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	after, esAfter, engineAfter := st.Usage(), h.esUsage(), treeUsage(engine.PID())
	pwg.Wait() // a profile longer than the run goes on a little: the figures are read

	ops, err := procstack.ScrapeCounter(ctx, st.Admin["writer"], "flowline_writer_items_total", `outcome="done"`, `outcome="stale"`)
	if err != nil {
		return nil, fmt.Errorf("writer metrics: %w", err)
	}
	res.IndexOps = int(ops)
	for _, f := range schema.C7Families {
		c, err := count(ctx, h.es, schema.Alias(c7Prefix, f), nil)
		if err != nil {
			return nil, err
		}
		if c > 0 {
			res.DocsByFamily[string(f)] = c
			res.Documents += c
		}
	}
	for f, w := range map[schema.Family]int{schema.C7ProcessInstance: n, schema.C7ListView: n, schema.C7FlowNodeInstance: res.ActivityInstances,
		schema.C7Task: res.UserTasks, schema.C7Variable: res.Variables, schema.C7Process: 1} {
		if got := res.DocsByFamily[string(f)]; got != w {
			return nil, fmt.Errorf("%d %s documents, want %d: the run lost data (logs in %s)", got, f, w, dir)
		}
	}
	if d, err := procstack.DeadLetters(ctx, st.JS); err != nil || d > 0 {
		return nil, fmt.Errorf("%d dead letters (%v): the run lost data (logs in %s)", d, err, dir)
	}
	res.Seconds = took.Seconds()
	res.InstancesPerSec = float64(n) / res.Seconds
	res.EntitiesPerSec = float64(res.ActivityInstances+res.VariableUpdates) / res.Seconds
	res.DocsPerSec = float64(res.Documents) / res.Seconds
	res.Services = append(res.Services, c7Usage("engine", engineBefore, engineAfter, n))
	names := make([]string, 0, len(after))
	for name := range after {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		res.Services = append(res.Services, c7Usage(name, before[name], after[name], n))
	}
	if h.esPID > 0 {
		res.Services = append(res.Services, c7Usage("elasticsearch", esBefore, esAfter, n))
	}
	return res, nil
}

// generateC7 drives n instances through the engine and shows how many
// ended so far; it returns how long that took.
func (h *harness) generateC7(ctx context.Context, url string, n int) (time.Duration, error) {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c7engine.Generate(ctx, url, c7Key, n, c7GenerateThreads) }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return time.Since(start), err
		case <-t.C:
			if ended, err := c7engine.Count(ctx, url, "/history/process-instance/count?finished=true"); err == nil {
				h.progress(Progress{Phase: "c7 engine", Done: int64(ended), Total: int64(n), Unit: "instances generated (not measured)", Since: start})
			}
		}
	}
}

// c7Usage is what one process used in the measured window, per process
// instance imported.
func c7Usage(name string, before, after procstack.Usage, instances int) ServiceUsage {
	cpu := (after.CPU - before.CPU).Seconds()
	return ServiceUsage{Name: name, CPUSeconds: cpu, CPUMSPerInstance: cpu * 1000 / float64(instances), PeakRSSMB: after.PeakRSSMB}
}

// treeUsage is a process tree's usage now (zero when it is gone).
func treeUsage(pid int) procstack.Usage {
	u, _ := procstack.ReadTreeUsage(pid)
	return u
}

// entitiesByKind reads a service's counter metric of entities by kind
// (each label set holding kind="<kind>" counts) for the benchmark's kinds.
func entitiesByKind(ctx context.Context, admin, metric string) (map[string]int, error) {
	out := map[string]int{}
	for _, e := range c7Entities {
		v, err := procstack.ScrapeCounter(ctx, admin, metric, `kind="`+e.kind.Name+`"`)
		if err != nil {
			return nil, err
		}
		out[e.kind.Name] = int(v)
	}
	return out, nil
}

// reached sums, over the kinds of want, how many of each were counted,
// at most the number wanted.
func reached(counted, want map[string]int) int64 {
	sum := int64(0)
	for kind, w := range want {
		sum += int64(min(counted[kind], w))
	}
	return sum
}
