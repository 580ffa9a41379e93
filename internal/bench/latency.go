package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/ingest/replay"
)

// LatencyResult is data availability at a steady rate: for each process
// instance that completed, the time from its completion record's timestamp
// (stamped when the harness sends the record, as an engine stamps it when it
// writes it) until the instance is searchable as COMPLETED through the
// list-view alias.
type LatencyResult struct {
	TargetRate   float64 `json:"target_records_per_second"`
	FixedRate    bool    `json:"fixed_rate,omitempty"` // --latency-rate, not half the maximum: not judged
	AchievedRate float64 `json:"achieved_records_per_second"`
	Seconds      float64 `json:"seconds"`
	Samples      int     `json:"samples"`
	Unseen       int     `json:"unseen"` // completed, not searchable within the wait
	P50MS        float64 `json:"p50_ms"`
	P95MS        float64 `json:"p95_ms"`
	P99MS        float64 `json:"p99_ms"`
	MaxMS        float64 `json:"max_ms"`
	PollMS       float64 `json:"poll_interval_ms"` // bounds each sample's error
}

const (
	latencyPoll = 100 * time.Millisecond
	latencyTick = 50 * time.Millisecond // how often records are sent
	latencyWait = 30 * time.Second      // for the last instances after the push
)

// completions tracks instances whose completion was sent and not yet seen.
// Safe for concurrent use.
type completions struct {
	mu      sync.Mutex
	pending map[int64]time.Time
	samples []time.Duration
}

func (c *completions) sent(key int64, at time.Time) {
	c.mu.Lock()
	c.pending[key] = at
	c.mu.Unlock()
}

func (c *completions) keys(n int) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int64, 0, min(n, len(c.pending)))
	for k := range c.pending {
		if len(out) == n {
			break
		}
		out = append(out, k)
	}
	return out
}

func (c *completions) seen(key int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.pending[key]; ok {
		c.samples = append(c.samples, at.Sub(t))
		delete(c.pending, key)
	}
}

func (c *completions) left() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// runLatency runs a fresh stack for sc and feeds it live generated records
// at rate records/s for d, then waits for the last instances.
func (h *harness) runLatency(ctx context.Context, sc Scenario, rate float64, d time.Duration) (*LatencyResult, error) {
	prefix := "bench-latency"
	DropIndexSet(ctx, h.es, prefix)
	defer DropIndexSet(context.WithoutCancel(ctx), h.es, prefix)
	st, err := procstack.Start(ctx, procstack.Config{Bin: h.cfg.Bin, Env: h.cfg.ChildEnv, Dir: filepath.Join(h.cfg.WorkDir, prefix),
		ESURL: h.esURL, Prefix: prefix, Aggregators: sc.Aggregators})
	if err != nil {
		return nil, err
	}
	defer st.Stop()

	// Enough instances for the whole run (a typical instance is about 117
	// records), and more.
	gen, err := simulate.NewGenerator(simulate.Config{Workload: simulate.Typical, Partitions: sc.Partitions, Seed: benchSeed + 1,
		Instances: int(rate*d.Seconds()/100) + 100, ChunkRecords: 256, Start: time.Now()})
	if err != nil {
		return nil, err
	}
	c := &completions{pending: map[int64]time.Time{}}
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	pollErr := make(chan error, 1)
	go func() { pollErr <- h.pollCompletions(pollCtx, schema.Alias(prefix, schema.ListView), c) }()

	pushers := make([]*replay.Pusher, sc.Partitions)
	for i := range pushers {
		pushers[i] = replay.NewPusher(st.IngestURL(), "", nil, nil).Uncompressed()
	}
	bodies := make([][]byte, sc.Partitions)
	counts := make([]int, sc.Partitions)
	send := func(recs []simulate.Record, now time.Time, track bool) error {
		for i := range bodies {
			bodies[i], counts[i] = bodies[i][:0], 0
		}
		for i := range recs {
			r := &recs[i]
			r.Timestamp = now.UnixMilli()
			p := r.PartitionID - 1
			bodies[p] = append(r.AppendJSON(bodies[p]), '\n')
			counts[p]++
			if track && r.ValueType == "PROCESS_INSTANCE" && r.Intent == "ELEMENT_COMPLETED" && r.Value["bpmnElementType"] == "PROCESS" {
				c.sent(r.Key, now)
			}
		}
		for i, body := range bodies {
			if counts[i] > 0 {
				if _, err := pushers[i].Push(ctx, body); err != nil {
					return err
				}
			}
		}
		return nil
	}

	// Warm up with the deployments (each partition's first records), so
	// that the aggregators have found every partition before the clock
	// starts, as in a running installation.
	var queue, warm []simulate.Record
	for _, r := range gen.Next() {
		if r.ValueType == "PROCESS" {
			warm = append(warm, r)
		} else {
			queue = append(queue, r)
		}
	}
	if err := send(warm, time.Now(), false); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	if err := waitPartitions(ctx, st, sc.Partitions); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	sent := 0
	start := time.Now()
	tick := time.NewTicker(latencyTick)
	defer tick.Stop()
	phase := fmt.Sprintf("latency at %.0f records/s", rate)
	for time.Since(start) < d {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-pollErr:
			return nil, fmt.Errorf("poll list-view: %w", err)
		case <-tick.C:
		}
		if err := st.CheckAlive(); err != nil {
			return nil, err
		}
		due := int(rate*time.Since(start).Seconds()) - sent
		for len(queue) < due {
			recs := gen.Next()
			if recs == nil {
				return nil, fmt.Errorf("the generator ran out of instances after %d records", sent)
			}
			queue = append(queue, recs...)
		}
		if err := send(queue[:due], time.Now(), true); err != nil {
			return nil, err
		}
		queue = queue[due:]
		sent += due
		h.progress(Progress{Phase: phase, Done: int64(time.Since(start).Seconds()), Total: int64(d.Seconds()), Unit: "s", Since: start})
	}
	took := time.Since(start)
	h.progress(Progress{Phase: phase, Note: fmt.Sprintf("waiting for the last %d instances", c.left())})
	_ = procstack.WaitUntil(ctx, latencyPoll, func() (bool, error) {
		return c.left() == 0 || time.Since(start) > took+latencyWait, nil
	})
	stopPoll()
	<-pollErr

	res := &LatencyResult{TargetRate: rate, AchievedRate: float64(sent) / took.Seconds(), Seconds: took.Seconds(),
		Samples: len(c.samples), Unseen: c.left(), PollMS: float64(latencyPoll.Milliseconds())}
	if len(c.samples) == 0 {
		return nil, fmt.Errorf("no process instance became searchable (%d sent)", res.Unseen)
	}
	slices.Sort(c.samples)
	q := func(p float64) float64 {
		i := min(len(c.samples)-1, int(p*float64(len(c.samples))))
		return float64(c.samples[i].Microseconds()) / 1000
	}
	res.P50MS, res.P95MS, res.P99MS, res.MaxMS = q(0.50), q(0.95), q(0.99), q(1)
	return res, nil
}

// pollCompletions asks alias every latencyPoll which pending instances
// are searchable as COMPLETED, until ctx ends.
func (h *harness) pollCompletions(ctx context.Context, alias string, c *completions) error {
	t := time.NewTicker(latencyPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		keys := c.keys(5000)
		if len(keys) == 0 {
			continue
		}
		at := time.Now()
		body, _ := json.Marshal(map[string]any{
			"size": len(keys), "_source": []string{"key"},
			"query": map[string]any{"bool": map[string]any{"filter": []any{
				map[string]any{"terms": map[string]any{"key": keys}},
				map[string]any{"term": map[string]any{"state": "COMPLETED"}},
			}}},
		})
		b, err := h.es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/" + alias + "/_search", Body: body,
			Query: url.Values{"ignore_unavailable": {"true"}}, What: "search " + alias})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var r struct {
			Hits struct {
				Hits []struct {
					Source struct {
						Key json.RawMessage `json:"key"` // a number, or a string
					} `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("search %s: %w", alias, err)
		}
		for _, hit := range r.Hits.Hits {
			if k, err := strconv.ParseInt(strings.Trim(string(hit.Source.Key), `"`), 10, 64); err == nil {
				c.seen(k, at)
			}
		}
	}
}
