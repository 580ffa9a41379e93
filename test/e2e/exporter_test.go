package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
	"github.com/flowline/flowline/internal/dev/zeebeexporter"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/generated"
	"github.com/flowline/flowline/internal/testenv/stack"
)

// TestZeebeExporterIntoTheStack: the Zeebe exporter (the Maven module in
// exporter/, built here) exports a realistic two-partition workload into a
// real stack, driven by its broker harness (one exporter instance per
// partition, called as a broker calls it), while `flowline ingest` is
// killed (kill -9) in the middle and started again on the same address.
// Every record gets through: each partition's acknowledged position ends at
// its last record, the exporter retried while ingest was gone, and every
// expected document is in Elasticsearch, nothing dead-lettered.
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

	// Paced so that the run lasts some seconds and ingest goes away in its
	// middle; small batches and short delays so that many requests are made.
	perPartition := float64(want.Records) / 2
	cmd := mod.HarnessCommand(context.Background(), zeebeexporter.HarnessOptions{
		Records: file, Rate: perPartition / 8, Report: "100ms", Timeout: "90s",
		Args: map[string]string{"url": "http://" + addr, "maxBatchRecords": "40", "flushDelay": "100ms",
			"retryDelay": "50ms", "maxRetryDelay": "400ms", "requestTimeout": "5s"},
	})
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testenv.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("harness stderr:\n%s", devproc.LastLines(stderr.String(), 60))
		}
	})

	var mu sync.Mutex
	progress := map[int]zeebeexporter.Event{}
	done := map[int]zeebeexporter.Event{}
	var cpu zeebeexporter.Event
	readErr := make(chan error, 1)
	go func() {
		readErr <- zeebeexporter.ReadEvents(stdout, func(e zeebeexporter.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch e.Event {
			case "progress":
				progress[e.Partition] = e
			case "done":
				done[e.Partition] = e
			case "cpu":
				cpu = e
			}
		})
	}()
	// every partition has records acknowledged, a third handed over, not all
	waitProgress := func(what string, cond func(zeebeexporter.Event) bool) map[int]zeebeexporter.Event {
		t.Helper()
		var seen map[int]zeebeexporter.Event
		testenv.Eventually(t, 60*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			seen = map[int]zeebeexporter.Event{}
			for p := range want.Partitions {
				e, ok := progress[int(p)]
				if !ok || !cond(e) {
					return fmt.Errorf("partition %d: %s: not yet (%+v)", p, what, e)
				}
				seen[int(p)] = e
			}
			return nil
		})
		return seen
	}
	before := waitProgress("a third acknowledged", func(e zeebeexporter.Event) bool {
		return e.Acked > 0 && e.Handed >= e.Records/3
	})
	ingest.Kill()
	atKill := waitProgress("export failing", func(e zeebeexporter.Event) bool { return e.FailedExports > 0 })
	for p, e := range atKill {
		if e.Handed >= e.Records {
			t.Fatalf("partition %d had all its records handed over before ingest went away: %+v", p, e)
		}
	}
	ingest = testenv.StartFlowline(t, ingestEnv, "ingest")

	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	select {
	case err := <-exit:
		if rerr := <-readErr; rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the harness did not finish within 3 minutes")
	}
	if err := ingest.Running(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
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
		case d.Handed != d.Records:
			t.Errorf("partition %d: %d of %d records handed to the exporter", p, d.Handed, d.Records)
		case d.Acked != d.LastLogPosition || d.LastHandedPosition != d.LastLogPosition:
			t.Errorf("partition %d: acknowledged position %d, last exported %d, last record %d: want all equal",
				p, d.Acked, d.LastHandedPosition, d.LastLogPosition)
		case d.Sent < int64(d.Records):
			t.Errorf("partition %d: %d records acknowledged by ingest, want at least its %d", p, d.Sent, d.Records)
		case d.Retries == 0 || d.FailedExports == 0:
			t.Errorf("partition %d: ingest was down, yet no retries (%d) or failed exports (%d)", p, d.Retries, d.FailedExports)
		}
		t.Logf("partition %d: %d records in %d batches, %d retries, %d duplicates; acknowledged %d (first acknowledged before the kill: %d)",
			p, d.Records, d.Batches, d.Retries, d.Duplicates, d.Acked, before[int(p)].Acked)
	}
	// ingest being unreachable is a WARN; nothing here is an ERROR
	logged := stderr.String()
	if !strings.Contains(logged, "WARN flowline-exporter-") {
		t.Errorf("the exporter logged no WARN while ingest was down:\n%s", devproc.LastLines(logged, 20))
	}
	if strings.Contains(logged, "ERROR ") {
		t.Errorf("the exporter logged an ERROR:\n%s", devproc.LastLines(logged, 20))
	}
	expectGeneratedDocuments(t, s.ES, s.Prefix, want, 60)
	expectNoDeadLetters(t, s.NATS)
}
