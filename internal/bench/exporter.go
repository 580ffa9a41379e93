package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flowline/flowline/internal/dev/zeebeexporter"
	"github.com/flowline/flowline/internal/procstack"
)

// ExporterResult is the Zeebe exporter benchmark: one exporter instance
// (one partition) driven by the module's broker harness as fast as it
// takes records, into a local `flowline ingest` on its own NATS; timed from
// the first record handed over to the acknowledgement of the last.
type ExporterResult struct {
	Records       int     `json:"records"`         // of the partition's log
	Sent          int64   `json:"records_sent"`    // acknowledged by ingest (202)
	Batches       int64   `json:"batches"`         // requests acknowledged
	Retries       int64   `json:"retries"`         // failed requests (want 0)
	Duplicates    int64   `json:"duplicates"`      // ingest's duplicates (want 0)
	Accepted      int64   `json:"ingest_accepted"` // ingest's accepted records
	BatchRecords  int     `json:"max_batch_records"`
	Gzip          bool    `json:"gzip"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_second"`
	// ExporterCPUSeconds is the harness JVM's CPU over the timed span: the
	// exporter's work (JSON lines, gzip, HTTP), the JDK's HTTP client
	// threads, the JIT and GC, and the harness's hand-over (small).
	ExporterCPUSeconds float64 `json:"exporter_cpu_seconds"`
	// ExporterCPUMicrosPerRecord is ExporterCPUSeconds per record sent.
	ExporterCPUMicrosPerRecord float64 `json:"exporter_cpu_us_per_record"`
	// ActorCPUMicrosPerRecord counts only the partition's actor thread
	// (what the broker's exporter actor would spend).
	ActorCPUMicrosPerRecord float64 `json:"actor_cpu_us_per_record"`
	// Services: NATS and ingest over the same span.
	Services []ServiceUsage `json:"services"`
}

// exporterBatchRecords is the exporter's batch size in the benchmark: its
// default.
const exporterBatchRecords = 1000

// runExporter runs the exporter benchmark on a one-partition workload of
// the configured instances.
func (h *harness) runExporter(ctx context.Context) (*ExporterResult, error) {
	h.progress(Progress{Phase: "exporter", Note: "building the Zeebe exporter module (mvn package)"})
	mod, err := zeebeexporter.Build(ctx, h.cfg.ExporterDir, h.cfg.ExporterJavaHome)
	if err != nil {
		return nil, err
	}
	h.progress(Progress{Phase: "workload", Note: fmt.Sprintf("generating %d typical instances on 1 partition", h.cfg.Instances)})
	w, err := makeWorkload(ctx, filepath.Join(h.cfg.WorkDir, "workload-exporter"), h.cfg.Instances, 1)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	dir := filepath.Join(h.cfg.WorkDir, "exporter")
	st, err := procstack.StartNATS(ctx, procstack.Config{Bin: h.cfg.Bin, Env: h.cfg.ChildEnv, Dir: dir})
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	port, err := procstack.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := st.StartService(ctx, "ingest", "ingest", "FLOWLINE_INGEST_ADDR="+addr); err != nil {
		return nil, err
	}

	cmd := mod.HarnessCommand(ctx, zeebeexporter.HarnessOptions{Records: w.files[0], Report: "500ms", Timeout: "2m",
		Args: map[string]string{"url": "http://" + addr, "maxBatchRecords": strconv.Itoa(exporterBatchRecords)}})
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "harness.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	before := st.Usage()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var done, cpu zeebeexporter.Event
	readErr := zeebeexporter.ReadEvents(stdout, func(e zeebeexporter.Event) {
		switch e.Event {
		case "progress":
			h.progress(Progress{Phase: "exporter: one instance into ingest", Done: e.Acked, Total: w.records, Unit: "records acknowledged", Since: start})
		case "done":
			done = e
		case "cpu":
			cpu = e
		}
	})
	if readErr != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	waitErr := cmd.Wait()
	after := st.Usage()
	if readErr != nil || waitErr != nil || !cpu.OK || done.Crash != nil {
		return nil, fmt.Errorf("the harness failed (%v, %v, ok %v, %v): see %s", readErr, waitErr, cpu.OK, done.Crash, logFile.Name())
	}
	if done.Acked != done.LastHandedPosition || done.Handed != int(w.records) {
		return nil, fmt.Errorf("the exporter acknowledged position %d of %d (%d of %d records handed over): the run lost data",
			done.Acked, done.LastHandedPosition, done.Handed, w.records)
	}
	accepted, err := procstack.ScrapeCounter(ctx, st.Admin["ingest"], "flowline_ingest_records_total", `result="accepted"`)
	if err != nil {
		return nil, fmt.Errorf("ingest metrics: %w", err)
	}
	if int64(accepted)+done.Duplicates < done.Sent {
		return nil, fmt.Errorf("ingest accepted %.0f records (and %d duplicates) of %d sent", accepted, done.Duplicates, done.Sent)
	}
	res := &ExporterResult{Records: int(w.records), Sent: done.Sent, Batches: done.Batches, Retries: done.Retries,
		Duplicates: done.Duplicates, Accepted: int64(accepted), BatchRecords: exporterBatchRecords, Gzip: true,
		Seconds: float64(cpu.ElapsedNanos) / 1e9, ExporterCPUSeconds: float64(cpu.ProcessCPUNanos) / 1e9}
	if res.Seconds > 0 {
		res.RecordsPerSec = float64(done.Sent) / res.Seconds
	}
	if done.Sent > 0 {
		res.ExporterCPUMicrosPerRecord = float64(cpu.ProcessCPUNanos) / 1e3 / float64(done.Sent)
		res.ActorCPUMicrosPerRecord = float64(cpu.ActorCPUNanos) / 1e3 / float64(done.Sent)
	}
	for _, name := range []string{"nats", "ingest"} {
		cpuS := (after[name].CPU - before[name].CPU).Seconds()
		res.Services = append(res.Services, ServiceUsage{Name: name, CPUSeconds: cpuS,
			CPUPer1000Rec: cpuS * 1000 / float64(max(1, done.Sent)), PeakRSSMB: after[name].PeakRSSMB})
	}
	return res, nil
}

// writeTable prints the exporter benchmark.
func (e *ExporterResult) writeTable(out io.Writer) {
	fmt.Fprintf(out, "Zeebe exporter: one instance (one partition) driven by its broker harness into a local flowline ingest (batches of %d records, gzip %v); %d records, %d sent in %d requests, %d retries, %d duplicates:\n",
		e.BatchRecords, e.Gzip, e.Records, e.Sent, e.Batches, e.Retries, e.Duplicates)
	fmt.Fprintf(out, "  %.1f s, %.0f records/s; exporter JVM CPU %.1f s = %.1f µs per record (its actor thread alone: %.1f µs per record)\n",
		e.Seconds, e.RecordsPerSec, e.ExporterCPUSeconds, e.ExporterCPUMicrosPerRecord, e.ActorCPUMicrosPerRecord)
	for _, s := range e.Services {
		fmt.Fprintf(out, "  %s: CPU %.1f s (%.3f s / 1000 records), peak RSS %.0f MB\n", s.Name, s.CPUSeconds, s.CPUPer1000Rec, s.PeakRSSMB)
	}
	fmt.Fprintln(out, "  (the harness's records carry their JSON already: a broker's own record.toJson() is not in the exporter's CPU)")
	fmt.Fprintln(out)
}
