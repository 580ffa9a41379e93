package faults

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowline/flowline/internal/procstack"
)

// ownerSample is how often the owners are sampled, and scrapeTimeout how
// long a replica may take to answer.
const (
	ownerSample   = 250 * time.Millisecond
	scrapeTimeout = time.Second
)

// Ownership is what sampling the aggregators' leases found.
type Ownership struct {
	Samples int `json:"samples"`
	// Unanswered counts samples left out because a replica the harness
	// had not killed or paused did not answer: nothing is known of them.
	Unanswered int `json:"unanswered"`
	// AllOwned counts samples in which every partition had an owner: a
	// run without any says the sampling saw nothing.
	AllOwned int `json:"all_owned"`
	// DoubleOwned counts samples in which two aggregators both said they
	// may act for one partition.
	DoubleOwned int      `json:"double_owned"`
	Examples    []string `json:"examples,omitempty"`
	// LongestUnowned is the longest time a partition had no owner, and
	// Bound what it may be: the lease TTL plus the rebalance time.
	LongestUnowned        float64  `json:"longest_unowned_seconds"`
	LongestUnownedWhere   string   `json:"longest_unowned_partition,omitempty"`
	Bound                 float64  `json:"bound_seconds"`
	UnownedOverBound      int      `json:"unowned_over_bound"`
	UnownedOverBoundWhere []string `json:"unowned_over_bound_examples,omitempty"`
}

// ownerWatch samples which aggregator holds which partition, from each
// replica's own view (flowline_lease_partition_owned on its admin
// server), live while the faults strike. A scrape is not atomic across
// replicas, so each sample reads them in order and again in reverse: a
// replica that held p in both its readings held it all along in between,
// so another replica holding p in a reading taken between them is a real
// overlap (a hand-over in between would show the first replica without
// p). The order alternates from sample to sample so that every replica is
// in turn the outer one. A paused or dead replica does not answer and
// counts as owning nothing; any other replica that does not answer makes
// the sample unknown (left out). Owned by the goroutine that runs run;
// report after run returned.
type ownerWatch struct {
	admins     []string // the aggregators' admin URLs
	names      []string
	partitions []int32
	bound      time.Duration
	client     *http.Client
	down       func(name string) bool // the harness has the process killed or paused

	mu       sync.Mutex
	result   Ownership
	lastSeen map[int32]time.Time // when the partition last had an owner
	allOwned []time.Time         // the samples in which every partition had an owner
	openGap  map[int32]time.Time // first sample without an owner, while unowned
	now      func() time.Time
}

func newOwnerWatch(names, admins []string, partitions int, bound time.Duration, down func(string) bool) *ownerWatch {
	w := &ownerWatch{admins: admins, names: names, bound: bound, client: &http.Client{Timeout: scrapeTimeout}, down: down,
		lastSeen: map[int32]time.Time{}, openGap: map[int32]time.Time{}, now: time.Now}
	for p := 1; p <= partitions; p++ {
		w.partitions = append(w.partitions, int32(p))
	}
	w.result.Bound = bound.Seconds()
	return w
}

// held reads the partitions replica i may act for; an empty set when the
// harness has it killed or paused and it does not answer, nil (unknown)
// when another does not answer.
func (w *ownerWatch) held(ctx context.Context, i int) map[int32]bool {
	samples, err := procstack.Scrape(ctx, w.client, w.admins[i], "flowline_lease_partition_owned")
	if err != nil {
		if w.down(w.names[i]) {
			return map[int32]bool{}
		}
		return nil
	}
	out := map[int32]bool{}
	for _, s := range samples {
		if s.Value != 1 || !strings.Contains(s.Labels, `service="aggregator"`) {
			continue
		}
		_, rest, ok := strings.Cut(s.Labels, `partition="`)
		if !ok {
			continue
		}
		v, _, _ := strings.Cut(rest, `"`)
		if p, err := strconv.Atoi(v); err == nil {
			out[int32(p)] = true
		}
	}
	return out
}

// run samples until ctx ends.
func (w *ownerWatch) run(ctx context.Context) {
	t := time.NewTicker(ownerSample)
	defer t.Stop()
	for n := 0; ; n++ {
		w.sample(ctx, n)
		select {
		case <-ctx.Done():
			w.closeGaps()
			return
		case <-t.C:
		}
	}
}

// sample takes one sandwich reading (replicas in order, then reversed,
// starting from replica n mod count) and books it.
func (w *ownerWatch) sample(ctx context.Context, n int) {
	now := w.now() // before the readings: a sample shows the owners from now on
	k := len(w.admins)
	order := make([]int, k)
	for i := range k {
		order[i] = (n + i) % k
	}
	first := make([]map[int32]bool, k)
	second := make([]map[int32]bool, k)
	for _, i := range order {
		first[i] = w.held(ctx, i)
	}
	for _, i := range slices.Backward(order) {
		second[i] = w.held(ctx, i)
	}
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.result.Samples++
	for i := range k {
		if first[i] == nil || second[i] == nil {
			w.result.Unanswered++
			return
		}
	}
	outer := order[0]
	all := true
	defer func() {
		if all {
			w.result.AllOwned++
			w.allOwned = append(w.allOwned, now)
		}
	}()
	for _, p := range w.partitions {
		owned := false
		for i := range k {
			if first[i][p] || second[i][p] {
				owned = true
			}
			if i != outer && first[outer][p] && second[outer][p] && (first[i][p] || second[i][p]) {
				w.result.DoubleOwned++
				if len(w.result.Examples) < 10 {
					w.result.Examples = append(w.result.Examples, fmt.Sprintf("%s partition %d owned by %s and %s",
						now.Format(time.TimeOnly), p, w.names[outer], w.names[i]))
				}
			}
		}
		if owned {
			w.endGap(p, now)
			w.lastSeen[p] = now
			continue
		}
		all = false
		if _, open := w.openGap[p]; !open {
			// Unowned since the last sample that saw an owner (or since
			// now, at the start).
			since, seen := w.lastSeen[p]
			if !seen {
				since = now
			}
			w.openGap[p] = since
		}
	}
}

// endGap books partition p's unowned stretch ending at now.
func (w *ownerWatch) endGap(p int32, now time.Time) {
	since, open := w.openGap[p]
	if !open {
		return
	}
	delete(w.openGap, p)
	if _, seen := w.lastSeen[p]; !seen {
		return // before any owner: the start, not a take-over
	}
	gap := now.Sub(since)
	if gap.Seconds() > w.result.LongestUnowned {
		w.result.LongestUnowned = gap.Seconds()
		w.result.LongestUnownedWhere = fmt.Sprintf("partition %d at %s", p, since.Format(time.TimeOnly))
	}
	if gap > w.bound {
		w.result.UnownedOverBound++
		if len(w.result.UnownedOverBoundWhere) < 10 {
			w.result.UnownedOverBoundWhere = append(w.result.UnownedOverBoundWhere,
				fmt.Sprintf("partition %d unowned %.1f s from %s", p, gap.Seconds(), since.Format(time.TimeOnly)))
		}
	}
}

func (w *ownerWatch) closeGaps() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	for p := range w.openGap {
		w.endGap(p, now)
	}
}

// ownedAfter reports the first sample whose readings began after t in
// which every partition had an owner.
func (w *ownerWatch) ownedAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearchFunc(w.allOwned, t, func(a, b time.Time) int { return a.Compare(b) })
	for ; i < len(w.allOwned); i++ {
		if w.allOwned[i].After(t) {
			return w.allOwned[i], true
		}
	}
	return time.Time{}, false
}

func (w *ownerWatch) report() Ownership {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.result
}
