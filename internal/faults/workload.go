package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/services/ingest/replay"
)

// workloadEpoch is the workload's clock at the start: fixed, so that a
// seed gives the same records (and the same dated archive indices) in
// every run. It lies in the past, so every instance that ended is due for
// the archiver at once.
var workloadEpoch = time.UnixMilli(1_763_884_800_000)

// workload is a generated realistic workload on disk, one NDJSON file per
// partition in position order. Read-only once made.
type workload struct {
	files   []string
	lines   []int // per partition
	records int64
	stats   simulate.Stats
}

// Shares of the workload's instances left running by design: the rounds
// leave some (their state stays with the aggregator, their documents
// active); the soak none, so that what the services hold reaches a steady
// state and a memory trend means a leak (2 % left running grow the
// aggregator's live state by their instances, about 1,000 roots per
// aggregator in a 30-minute soak). Either way the instances the generator
// was still running when the workload was cut at its record count (up to
// its concurrency, about 100) stay unfinished, in both runs alike.
const (
	roundsRunningRate = 0.02
	soakRunningRate   = 0
)

// runningRate is the share of instances left running in a soak's workload
// or in the rounds'.
func runningRate(soak bool) float64 {
	if soak {
		return soakRunningRate
	}
	return roundsRunningRate
}

// makeWorkload generates at least records records (whole generator
// chunks) of the realistic workload on partitions, deterministic by seed:
// incidents, call activities, user tasks, cancellations, and the share
// running of instances left running.
func makeWorkload(ctx context.Context, dir string, seed uint64, records int64, partitions int, running float64) (*workload, error) {
	gen, err := simulate.NewGenerator(simulate.Config{Workload: simulate.Realistic, Instances: 1 << 30,
		Partitions: partitions, Seed: seed, Start: workloadEpoch,
		IncidentRate: 0.05, CancelRate: 0.05, RunningRate: running, ChunkRecords: 512})
	if err != nil {
		return nil, err
	}
	f, err := simulate.WriteFiles(ctx, gen, dir, records)
	if err != nil {
		return nil, err
	}
	return &workload{files: f.Paths, lines: f.Lines, records: f.Records, stats: f.Stats}, nil
}

// firstLine is partition 1's first record, with its newline.
func (w *workload) firstLine() ([]byte, error) {
	f, err := os.Open(w.files[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 1<<20).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("workload: first record: %w", err)
	}
	return line, nil
}

// Push sizes and the client's patience.
const (
	pushTick       = 200 * time.Millisecond // how often a partition's due records are sent at a fixed rate
	pushMaxLines   = 2000                   // most records per request
	attemptTimeout = 5 * time.Second        // a request (with the pusher's own retries) before failing over
)

// pushStats counts what the workload's client did; safe for concurrent
// use.
type pushStats struct {
	pushed   atomic.Int64 // records ingest acknowledged (accepted, duplicate or dropped)
	requests atomic.Int64
	resends  atomic.Int64 // requests sent again (to the other replica) after an error or a timeout
	waitedNS atomic.Int64 // time spent in requests, nanoseconds
}

// pusher sends the workload to ingest as a real client behind a load
// balancer must: each partition in order, a request at a time, re-sent
// to the next ingest replica when one fails or does not answer in time
// (ingest and the aggregators drop what arrives twice).
type pusher struct {
	urls  []string
	stats *pushStats
}

// push sends every partition's records at rate records per second in all
// (0: as fast as ingest takes them), one goroutine per partition, until
// done or ctx ends.
func (p *pusher) push(ctx context.Context, w *workload, rate float64) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(w.files))
	start := time.Now()
	for i, path := range w.files {
		perPartition := 0.0
		if rate > 0 {
			perPartition = rate * float64(w.lines[i]) / float64(w.records)
		}
		wg.Go(func() {
			if err := p.pushFile(ctx, path, i, start, perPartition); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (p *pusher) pushFile(ctx context.Context, path string, partition int, start time.Time, rate float64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	clients := make([]*replay.Pusher, len(p.urls))
	for i, u := range p.urls {
		clients[i] = replay.NewPusher(u, "", &http.Client{Timeout: attemptTimeout}, nil).Uncompressed()
	}
	next := partition % len(clients) // spread the partitions over the replicas
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var body []byte
	sent := 0
	for more := true; more; {
		due := pushMaxLines
		if rate > 0 {
			due = min(pushMaxLines, int(time.Since(start).Seconds()*rate)+1-sent)
		}
		body, n := body[:0], 0
		for n < due {
			if !sc.Scan() {
				more = false
				break
			}
			body = append(append(body, sc.Bytes()...), '\n')
			n++
		}
		if n > 0 {
			var err error
			if next, err = p.send(ctx, clients, next, body, n); err != nil {
				return fmt.Errorf("partition %d: %w", partition+1, err)
			}
			sent += n
		}
		if rate > 0 && more && n < pushMaxLines {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pushTick):
			}
		}
	}
	return sc.Err()
}

// send posts body (n records) until a replica acknowledges all of it,
// starting with replica next; it returns the replica to use next time.
func (p *pusher) send(ctx context.Context, clients []*replay.Pusher, next int, body []byte, n int) (int, error) {
	for {
		p.stats.requests.Add(1)
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		began := time.Now()
		ans, err := clients[next].Push(actx, body)
		p.stats.waitedNS.Add(int64(time.Since(began)))
		cancel()
		switch {
		case err == nil && ans.Accepted+ans.Duplicates+ans.Dropped == n:
			p.stats.pushed.Add(int64(n))
			return next, nil
		case err == nil:
			return next, fmt.Errorf("ingest acknowledged %d of %d records", ans.Accepted+ans.Duplicates+ans.Dropped, n)
		case errors.Is(err, replay.ErrRefused), errors.Is(err, replay.ErrTooLarge):
			return next, err
		case ctx.Err() != nil:
			return next, ctx.Err()
		}
		p.stats.resends.Add(1)
		next = (next + 1) % len(clients)
	}
}
