package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/services/ingest/replay"
)

// workload is a generated typical-process workload on disk: one NDJSON file
// per partition, so that generating it does not compete with what is
// measured. Read-only once made.
type workload struct {
	partitions int
	files      []string // partition i+1's records, in position order
	records    int64
	stats      simulate.Stats
}

// benchSeed makes every run's workload the same.
const benchSeed = 1

// benchEpoch is the workload's clock at the start: fixed, so runs compare.
var benchEpoch = time.UnixMilli(1_763_884_800_000)

// makeWorkload generates instances of the typical process on partitions
// into dir.
func makeWorkload(ctx context.Context, dir string, instances, partitions int) (*workload, error) {
	gen, err := simulate.NewGenerator(simulate.Config{Workload: simulate.Typical, Instances: instances,
		Partitions: partitions, Seed: benchSeed, Start: benchEpoch})
	if err != nil {
		return nil, err
	}
	f, err := simulate.WriteFiles(ctx, gen, dir, 0)
	if err != nil {
		return nil, err
	}
	return &workload{partitions: partitions, files: f.Paths, records: f.Records, stats: f.Stats}, nil
}

// pushBatchBytes is about how much NDJSON one request carries.
const pushBatchBytes = 2 << 20

// warmupLines is how many records of each partition the warm-up sends:
// the first is the deployment, which makes the aggregators find the
// partition.
const warmupLines = 1

// push sends lines [from, to) of each partition's file to ingest (to < 0:
// to the end), one goroutine per partition (a partition's records must
// arrive in order), each request about pushBatchBytes of whole lines.
// pushed counts the records sent.
func (w *workload) push(ctx context.Context, ingestURL string, from, to int, pushed *atomic.Int64) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(w.files))
	for _, path := range w.files {
		wg.Go(func() {
			if err := pushFile(ctx, ingestURL, path, from, to, pushed); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func pushFile(ctx context.Context, ingestURL, path string, from, to int, pushed *atomic.Int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p := replay.NewPusher(ingestURL, "", nil, nil).Uncompressed() // gzip would cost the harness more CPU than it saves on loopback
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	body := make([]byte, 0, pushBatchBytes+64<<10)
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		ans, err := p.Push(ctx, body)
		if err != nil {
			return fmt.Errorf("push %s: %w", filepath.Base(path), err)
		}
		if ans.Accepted+ans.Duplicates+ans.Dropped != n {
			return fmt.Errorf("push %s: ingest took %d of %d records", filepath.Base(path), ans.Accepted+ans.Duplicates+ans.Dropped, n)
		}
		pushed.Add(int64(n))
		body, n = body[:0], 0
		return nil
	}
	for line := 0; sc.Scan(); line++ {
		if line < from {
			continue
		}
		if to >= 0 && line >= to {
			break
		}
		body = append(append(body, sc.Bytes()...), '\n')
		if n++; len(body) >= pushBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return flush()
}

// readLines loads the workload's lines into memory, per partition (for
// the peer, which is fed from memory).
func (w *workload) readLines() ([][][]byte, error) {
	out := make([][][]byte, len(w.files))
	for i, path := range w.files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			if len(line) > 0 {
				out[i] = append(out[i], line)
			}
		}
	}
	return out, nil
}
