package c7import

import (
	"context"
	"errors"
	"sync"

	"github.com/nats-io/nats.go"
)

// errStopped is the cause a pipeline is cancelled with when it is stopped.
var errStopped = errors.New("c7 import: pipeline stopped")

// job is one fetched page of a kind to store: its messages, and the kind's
// index once they (and every job queued before) are stored.
type job struct {
	seq      uint64
	msgs     []*nats.Msg
	next     ImportIndex
	entities int
}

// storer is what a pipeline does with jobs: publish stores one message and
// waits for the broker's acknowledgement; commit stores the index after a
// run of consecutive stored jobs (the index of the last one). Both are
// called with the pipeline's context.
type storer struct {
	publish func(ctx context.Context, m *nats.Msg) error
	commit  func(ctx context.Context, run []*job) error
}

// pipeline stores one kind's pages: the kind's producer enqueues jobs into
// a bounded queue (QUEUE_SIZE; a full queue blocks the producer), executors
// (CONCURRENCY goroutines) store their messages, and one committer moves
// the stored index through the jobs in queue order, so the index never
// passes a page that is not stored, whichever executor finishes first. The
// first error cancels the whole pipeline; failed reports it. enqueue and
// stop are called from the producer's goroutine only.
type pipeline struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	queue  chan *job
	done   chan *job
	seq    uint64
	wg     sync.WaitGroup // executors
	closed chan struct{}  // closed when the committer returned
}

// startPipeline starts the executors and the committer under parent.
func startPipeline(parent context.Context, s storer, queueSize, executors int) *pipeline {
	ctx, cancel := context.WithCancelCause(parent)
	p := &pipeline{
		ctx: ctx, cancel: cancel,
		queue:  make(chan *job, queueSize),
		done:   make(chan *job, executors),
		closed: make(chan struct{}),
	}
	p.wg.Add(executors)
	for range executors {
		go p.execute(s)
	}
	go func() {
		p.wg.Wait()
		close(p.done)
	}()
	go p.commit(s)
	return p
}

// execute stores the messages of queued jobs until the queue is closed or
// the pipeline is cancelled.
func (p *pipeline) execute(s storer) {
	defer p.wg.Done()
	for j := range p.queue {
		for _, m := range j.msgs {
			if p.ctx.Err() != nil {
				return
			}
			if err := s.publish(p.ctx, m); err != nil {
				p.cancel(err)
				return
			}
		}
		select {
		case p.done <- j:
		case <-p.ctx.Done():
			return
		}
	}
}

// commit moves the index after each run of consecutive stored jobs.
func (p *pipeline) commit(s storer) {
	defer close(p.closed)
	stored := map[uint64]*job{}
	want := uint64(1)
	for j := range p.done {
		stored[j.seq] = j
		var run []*job
		for stored[want] != nil {
			run = append(run, stored[want])
			delete(stored, want)
			want++
		}
		if len(run) == 0 || p.ctx.Err() != nil {
			continue
		}
		if err := s.commit(p.ctx, run); err != nil {
			p.cancel(err)
		}
	}
}

// enqueue queues j, waiting while the queue is full; it fails when ctx or
// the pipeline ends first.
func (p *pipeline) enqueue(ctx context.Context, j *job) error {
	if err := p.failed(); err != nil {
		return err
	}
	p.seq++
	j.seq = p.seq
	select {
	case p.queue <- j:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-p.ctx.Done():
		return p.failed()
	}
}

// failed returns the error that cancelled the pipeline, nil while it runs.
func (p *pipeline) failed() error {
	if p.ctx.Err() == nil {
		return nil
	}
	return context.Cause(p.ctx)
}

// stop ends the pipeline: executors finish the message at hand, queued
// jobs are dropped, and stop returns once every goroutine has.
func (p *pipeline) stop() {
	p.cancel(errStopped)
	close(p.queue)
	<-p.closed
}
