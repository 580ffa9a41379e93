package c7import

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// recorder is a storer whose publishes finish when the test says so.
type recorder struct {
	mu        sync.Mutex
	release   map[string]chan error // by subject: what the publish returns
	committed []int64               // the index time of each commit
}

func (r *recorder) storer() storer {
	return storer{
		publish: func(ctx context.Context, m *nats.Msg) error {
			r.mu.Lock()
			ch := r.release[m.Subject]
			r.mu.Unlock()
			select {
			case err := <-ch:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		commit: func(_ context.Context, run []*job) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.committed = append(r.committed, run[len(run)-1].next.Time)
			return nil
		},
	}
}

func (r *recorder) commits() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.committed...)
}

// jobAt is a job of one message on subject, after which the index is at
// time.
func jobAt(subject string, time int64) *job {
	return &job{msgs: []*nats.Msg{{Subject: subject}}, next: ImportIndex{Time: time}}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// With several executors, pages are stored in any order, but the index
// moves only through consecutive stored pages: never past a page still
// being stored.
func TestPipelineMovesTheIndexOnlyPastStoredPages(t *testing.T) {
	r := &recorder{release: map[string]chan error{"a": make(chan error, 1), "b": make(chan error, 1), "c": make(chan error, 1)}}
	p := startPipeline(context.Background(), r.storer(), 3, 3)
	defer p.stop()
	for i, s := range []string{"a", "b", "c"} {
		if err := p.enqueue(context.Background(), jobAt(s, int64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	r.release["c"] <- nil
	r.release["b"] <- nil
	time.Sleep(50 * time.Millisecond) // b and c are stored; a is not
	if got := r.commits(); len(got) != 0 {
		t.Fatalf("index moved to %v while page a is not stored", got)
	}
	r.release["a"] <- nil
	waitFor(t, func() bool { return len(r.commits()) > 0 })
	if got := r.commits(); len(got) != 1 || got[0] != 3 {
		t.Errorf("commits %v, want one to the newest page's time (3)", got)
	}
}

// A page that cannot be stored fails the pipeline: nothing after it is
// committed, and enqueue reports the failure.
func TestPipelineStopsAtTheFirstFailure(t *testing.T) {
	boom := errors.New("broker says no")
	r := &recorder{release: map[string]chan error{"a": make(chan error, 1), "b": make(chan error, 1)}}
	p := startPipeline(context.Background(), r.storer(), 1, 1)
	defer p.stop()
	if err := p.enqueue(context.Background(), jobAt("a", 1)); err != nil {
		t.Fatal(err)
	}
	r.release["a"] <- boom
	waitFor(t, func() bool { return p.failed() != nil })
	if !errors.Is(p.failed(), boom) {
		t.Errorf("failed() = %v, want %v", p.failed(), boom)
	}
	if err := p.enqueue(context.Background(), jobAt("b", 2)); !errors.Is(err, boom) {
		t.Errorf("enqueue after the failure: %v, want %v", err, boom)
	}
	if got := r.commits(); len(got) != 0 {
		t.Errorf("commits %v after a failed page", got)
	}
}

// A full queue holds the producer back until an executor takes a job.
func TestPipelineQueueIsBounded(t *testing.T) {
	r := &recorder{release: map[string]chan error{"a": make(chan error, 1), "b": make(chan error, 1), "c": make(chan error, 1)}}
	p := startPipeline(context.Background(), r.storer(), 1, 1)
	defer p.stop()
	for _, s := range []string{"a", "b"} { // a with the executor, b queued
		if err := p.enqueue(context.Background(), jobAt(s, 1)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.enqueue(ctx, jobAt("c", 3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("enqueue into a full queue: %v, want it to wait until ctx ends", err)
	}
}
