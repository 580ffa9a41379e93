package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAggregator serves flowline_lease_partition_owned for the partitions
// it is told it holds.
type fakeAggregator struct {
	mu   sync.Mutex
	held []int
}

func (f *fakeAggregator) set(p ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held = p
}

func (f *fakeAggregator) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintln(w, `# TYPE flowline_lease_partition_owned gauge`)
	for _, p := range f.held {
		fmt.Fprintf(w, "flowline_lease_partition_owned{partition=\"%d\",service=\"aggregator\"} 1\n", p)
		fmt.Fprintf(w, "flowline_lease_partition_owned{partition=\"%d\",service=\"c7fold\"} 1\n", p+100)
	}
}

// TestOwnerWatch: a partition both replicas hold is counted, a hand-over
// is not, and an unowned stretch is measured against the bound.
func TestOwnerWatch(t *testing.T) {
	a, b := &fakeAggregator{}, &fakeAggregator{}
	sa, sb := httptest.NewServer(a), httptest.NewServer(b)
	defer sa.Close()
	defer sb.Close()
	clock := time.Unix(1000, 0)
	down := map[string]bool{}
	w := newOwnerWatch([]string{"aggregator-1", "aggregator-2"}, []string{sa.URL, sb.URL}, 2, 3*time.Second,
		func(name string) bool { return down[name] })
	w.now = func() time.Time { return clock }
	ctx := context.Background()
	step := func(d time.Duration) {
		clock = clock.Add(d)
		w.sample(ctx, int(clock.Unix()))
	}

	a.set(1, 2)
	step(0)
	b.set(2) // a hand-over: a gave 2 up
	a.set(1)
	step(time.Second)
	if r := w.report(); r.DoubleOwned != 0 {
		t.Fatalf("a hand-over counted as double ownership: %+v", r)
	}
	a.set(1, 2) // both hold 2
	step(time.Second)
	step(time.Second)
	if r := w.report(); r.DoubleOwned == 0 || !strings.Contains(strings.Join(r.Examples, ";"), "partition 2") {
		t.Fatalf("both replicas held partition 2, not counted: %+v", r)
	}
	before := w.report().DoubleOwned

	a.set()
	b.set(2) // partition 1 unowned for 5 s: over the 3 s bound
	step(time.Second)
	mark := clock
	if at, ok := w.ownedAfter(mark); ok {
		t.Fatalf("every partition owned at %s, after a sample where 1 had no owner and before any other", at)
	}
	step(4 * time.Second)
	b.set(1, 2)
	step(time.Second)
	if at, ok := w.ownedAfter(mark); !ok || !at.Equal(clock) {
		t.Fatalf("partition 1 owned again at %s, ownedAfter says %s (%v)", clock, at, ok)
	}
	r := w.report()
	if r.DoubleOwned != before {
		t.Errorf("double ownership counted without it: %d, was %d", r.DoubleOwned, before)
	}
	if r.UnownedOverBound != 1 || r.LongestUnowned < 5 || !strings.Contains(r.LongestUnownedWhere, "partition 1") {
		t.Fatalf("unowned stretch of partition 1 not booked: %+v", r)
	}
	if r.AllOwned == 0 || r.Unanswered != 0 {
		t.Fatalf("all owned in %d samples, %d unanswered: %+v", r.AllOwned, r.Unanswered, r)
	}

	// Replica 2 stops answering: unknown while the harness has not killed
	// or paused it (left out, no stretch booked), owning nothing once it
	// has.
	sb.Close()
	step(10 * time.Second)
	if r := w.report(); r.Unanswered != 1 || r.UnownedOverBound != 1 {
		t.Fatalf("an unanswered replica counted: %+v", r)
	}
	down["aggregator-2"] = true
	step(time.Second)
	step(10 * time.Second)
	a.set(1, 2)
	step(time.Second)
	if r := w.report(); r.Unanswered != 1 || r.UnownedOverBound != 3 { // partitions 1 and 2, held by the killed replica
		t.Fatalf("a killed replica's partitions not booked as unowned: %+v", r)
	}
}
