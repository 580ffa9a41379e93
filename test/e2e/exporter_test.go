package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/zeebeexporter"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/generated"
	"github.com/flowline/flowline/internal/testenv/stack"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// TestZeebeExporterIntoTheStack: the Zeebe exporter (the Maven module in
// exporter/, built here) exports a realistic two-partition workload into a
// real stack, driven by its broker harness (one exporter instance per
// partition, called as a broker calls it, exported positions kept on disk
// as a broker keeps them). A third of the way `flowline ingest` is killed
// (kill -9) and started again on the same address; two thirds of the way
// the "broker" itself is killed (kill -9: the exporter's buffer is lost) and
// started again, resuming after the positions the exporter acknowledged.
// Every record gets through: each partition's acknowledged position ends at
// its last record, the exporter retried (with WARN, no ERROR) while ingest
// was gone, and every expected document is in Elasticsearch, nothing
// dead-lettered. An acknowledgement before ingest's 202 would lose the
// records the killed broker held.
func TestZeebeExporterIntoTheStack(t *testing.T) {
	cfg, err := zeebeexporter.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := zeebeexporter.FindDir(".")
	if err != nil {
		t.Fatal(err)
	}
	buildCtx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	mod, err := zeebeexporter.Build(buildCtx, dir, cfg.JavaHome)
	if err != nil {
		t.Fatal(err)
	}

	s := stack.Start(t, stack.Options{WithoutIngest: true})
	ports, err := devproc.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	ingestEnv := append(os.Environ(), stack.IngestEnv(s.NATS, addr)...)
	ingest := testenv.StartFlowline(t, ingestEnv, "ingest")

	file := filepath.Join(t.TempDir(), "records.ndjson")
	gen := exec.Command(testenv.Flowline(t), "generate", "--out", file, "--workload", "realistic", "--instances", "60",
		"--partitions", "2", "--items", "4", "--seed", "15", "--start", "2026-12-01T08:00:00Z", "--resume", "0",
		"--incident-rate", "0.1", "--cancel-rate", "0.2", "--running-rate", "0.15")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("flowline generate: %v\n%s", err, out)
	}
	want := generated.Read(t, file)
	if len(want.Partitions) != 2 {
		t.Fatalf("want records of 2 partitions, got %v", want.Partitions)
	}

	// Paced so that a run lasts some seconds and each kill lands in its
	// middle; small batches and short delays so that many requests are made.
	opts := zeebeexporter.HarnessOptions{
		Records: file, Rate: float64(want.Records) / 2 / 10, Report: "100ms", Timeout: "90s", State: t.TempDir(),
		Args: map[string]string{"url": "http://" + addr, "maxBatchRecords": "40", "flushDelay": "100ms",
			"retryDelay": "50ms", "maxRetryDelay": "400ms", "requestTimeout": "5s"},
	}
	first := startHarness(t, mod, opts, want.Partitions)
	first.waitProgress("a third acknowledged", func(e zeebeexporter.Event) bool {
		return e.Acked > 0 && e.Handed >= e.Records/3
	})
	ingest.Kill()
	for p, e := range first.waitProgress("export failing", func(e zeebeexporter.Event) bool { return e.FailedExports > 0 }) {
		if e.Handed >= e.Records {
			t.Fatalf("partition %d had all its records handed over before ingest went away: %+v", p, e)
		}
	}
	ingest = testenv.StartFlowline(t, ingestEnv, "ingest")
	atCrash := first.waitProgress("two thirds handed over", func(e zeebeexporter.Event) bool {
		return e.Handed >= 2*e.Records/3
	})
	first.kill()
	for p, e := range atCrash {
		if e.Handed >= e.Records {
			t.Fatalf("partition %d had all its records handed over before the broker was killed: %+v", p, e)
		}
	}
	if !strings.Contains(first.stderr.String(), "WARN flowline-exporter-") {
		t.Errorf("the exporter logged no WARN while ingest was down:\n%s", devproc.LastLines(first.stderr.String(), 20))
	}

	second := startHarness(t, mod, opts, want.Partitions)
	done, cpu := second.wait()
	if err := ingest.Running(); err != nil {
		t.Fatal(err)
	}
	if !cpu.OK {
		t.Fatalf("harness: not every partition acknowledged its last record: %+v", cpu)
	}
	for p := range want.Partitions {
		d, ok := done[int(p)]
		switch {
		case !ok:
			t.Fatalf("partition %d: no summary", p)
		case d.Crash != nil:
			t.Fatalf("partition %d: harness failed: %s", p, *d.Crash)
		case d.ResumedFrom <= 0 || d.ResumedFrom >= d.LastLogPosition:
			t.Errorf("partition %d: the restarted broker resumed after position %d, want one inside (0, %d)", p, d.ResumedFrom, d.LastLogPosition)
		case d.Handed != d.Records:
			t.Errorf("partition %d: %d of %d records handed to the exporter", p, d.Handed, d.Records)
		case d.Acked != d.LastLogPosition || d.LastHandedPosition != d.LastLogPosition:
			t.Errorf("partition %d: acknowledged position %d, last exported %d, last record %d: want all equal",
				p, d.Acked, d.LastHandedPosition, d.LastLogPosition)
		case d.Sent == 0:
			t.Errorf("partition %d: the restarted exporter sent nothing", p)
		}
		t.Logf("partition %d: %d records; the restarted broker resumed after %d and sent %d in %d batches (%d duplicates)",
			p, d.Records, d.ResumedFrom, d.Sent, d.Batches, d.Duplicates)
	}
	for _, h := range []*harnessRun{first, second} {
		if logged := h.stderr.String(); strings.Contains(logged, "ERROR ") {
			t.Errorf("the exporter logged an ERROR:\n%s", devproc.LastLines(logged, 20))
		}
	}
	// Every record of the file (all of them events of the value types the
	// exporter sends by default) is stored once, nothing missing: what the
	// killed broker held came again.
	stored := storedPositions(t, s.NATS)
	for p, positions := range filePositions(t, file) {
		if got := stored[p]; !slices.Equal(got, positions) {
			t.Errorf("partition %d: %d records stored, want its %d records once each, in order; first difference at %d",
				p, len(got), len(positions), firstDifference(got, positions))
		}
	}
	expectGeneratedDocuments(t, s.ES, s.Prefix, want, 60)
	expectNoDeadLetters(t, s.NATS)
}

// storedPositions reads every message of the record stream of ns and
// returns the positions stored by partition, in stream order.
func storedPositions(t testing.TB, ns *natsserver.Server) map[int32][]int64 {
	t.Helper()
	ctx := context.Background()
	js := testenv.Connect(t, ns).JS
	payloads, err := stream.OpenPayloads(ctx, js, testenv.Streams())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32][]int64{}
	for _, m := range testenv.Messages(t, js, stream.RecordsStream) {
		body, err := payloads.Body(ctx, m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		var batch recordv1.RecordBatch
		if err := batch.UnmarshalVT(body); err != nil {
			t.Fatalf("%s: %v", m.Subject(), err)
		}
		for _, r := range batch.Records {
			out[r.PartitionId] = append(out[r.PartitionId], r.Position)
		}
	}
	return out
}

// filePositions is the positions of the records of an NDJSON file of
// exporter JSON, by partition, in file order.
func filePositions(t testing.TB, path string) map[int32][]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int32][]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		r, err := zeebejson.Decode(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out[r.PartitionId] = append(out[r.PartitionId], r.Position)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// firstDifference is the first index where a and b differ (the shorter
// length when one is a prefix of the other).
func firstDifference(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// harnessRun is one run of the exporter's broker harness, its events as
// they come.
type harnessRun struct {
	t          testing.TB
	partitions map[int32]bool
	cmd        *exec.Cmd
	stderr     *testenv.Buffer
	exited     chan error // the process's exit, then closed
	readErr    chan error

	mu       sync.Mutex
	progress map[int]zeebeexporter.Event // latest, by partition
	done     map[int]zeebeexporter.Event
	cpu      zeebeexporter.Event
}

// startHarness starts the harness of mod with opts over the records of
// partitions; it is killed at cleanup if still running.
func startHarness(t testing.TB, mod *zeebeexporter.Module, opts zeebeexporter.HarnessOptions, partitions map[int32]bool) *harnessRun {
	t.Helper()
	h := &harnessRun{t: t, partitions: partitions, cmd: mod.HarnessCommand(context.Background(), opts), stderr: &testenv.Buffer{},
		exited: make(chan error, 1), readErr: make(chan error, 1),
		progress: map[int]zeebeexporter.Event{}, done: map[int]zeebeexporter.Event{}}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h.cmd.Stderr = h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		h.readErr <- zeebeexporter.ReadEvents(stdout, func(e zeebeexporter.Event) {
			h.mu.Lock()
			defer h.mu.Unlock()
			switch e.Event {
			case "progress":
				h.progress[e.Partition] = e
			case "done":
				h.done[e.Partition] = e
			case "cpu":
				h.cpu = e
			}
		})
	}()
	go func() {
		err := <-h.readErr // all output read before Wait closes the pipe
		h.readErr <- err
		h.exited <- h.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = h.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("harness (pid %d) stderr:\n%s", h.cmd.Process.Pid, devproc.LastLines(h.stderr.String(), 60))
		}
	})
	return h
}

// waitProgress waits until every partition's latest progress meets cond,
// and returns those events.
func (h *harnessRun) waitProgress(what string, cond func(zeebeexporter.Event) bool) map[int]zeebeexporter.Event {
	h.t.Helper()
	var seen map[int]zeebeexporter.Event
	testenv.Eventually(h.t, 60*time.Second, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		seen = map[int]zeebeexporter.Event{}
		for p := range h.partitions {
			e, ok := h.progress[int(p)]
			if !ok || !cond(e) {
				return fmt.Errorf("partition %d: %s: not yet (%+v)", p, what, e)
			}
			seen[int(p)] = e
		}
		return nil
	})
	return seen
}

// kill sends the harness SIGKILL (a broker crash) and waits until it is gone.
func (h *harnessRun) kill() {
	h.t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		h.t.Fatal(err)
	}
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		h.t.Fatal("the killed harness did not exit")
	}
}

// wait waits for the harness to finish (3 minutes at most) and returns its
// summaries by partition and its CPU event; it fails the test if the
// harness failed.
func (h *harnessRun) wait() (map[int]zeebeexporter.Event, zeebeexporter.Event) {
	h.t.Helper()
	select {
	case err := <-h.exited:
		if rerr := <-h.readErr; rerr != nil {
			h.t.Fatal(rerr)
		}
		if err != nil {
			h.t.Fatalf("harness: %v", err)
		}
	case <-time.After(3 * time.Minute):
		h.t.Fatal("the harness did not finish within 3 minutes")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.done, h.cpu
}
