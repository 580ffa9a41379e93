package c7import

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/stream"
)

// errNoProgress: a full page held no entity that can be imported, so the
// index cannot move past it.
var errNoProgress = errors.New("c7 import: a full page without an importable entity")

// kindImport imports one kind of one engine while this replica holds the
// kind's lease. Its round runs on the lease's goroutine and is the kind's
// single producer: it fetches pages from cursor on and hands them to the
// kind's pipeline (bounded queue, executors storing pages, a committer
// moving the stored index). Nothing else touches cursor or pipe.
type kindImport struct {
	kind        c7.Kind
	source      string
	engine      *c7.Client
	index       *indexStore
	pages       stream.Publisher // stores a page (large bodies by reference)
	deadLetters stream.Publisher
	inline      int // the largest body sent inline: pages are cut below it
	cfg         Engine
	holds       func() bool
	metrics     *metrics
	log         *slog.Logger

	cursor ImportIndex // where fetching continues: ahead of the stored index while pages are queued
	pipe   *pipeline   // nil until the first round, and after a failure
}

// round fetches the next pages of the kind and queues them for storing.
// Outcome: Busy after a full page (more is waiting), Progress after a
// partial one, Idle when nothing new is older than the settle time (the
// runner then idles BACKOFF_INTERVAL × empty rounds, up to BACKOFF_MAX).
func (k *kindImport) round(ctx context.Context) (lease.Outcome, error) {
	if k.pipe == nil {
		idx, rev, err := k.index.load(ctx, k.kind.Name)
		if err != nil {
			return lease.Idle, err
		}
		k.cursor = idx
		k.pipe = startPipeline(ctx, k.storer(rev), k.cfg.QueueSize, k.cfg.Concurrency)
	}
	if err := k.pipe.failed(); err != nil {
		k.close()
		return lease.Idle, err
	}
	jobs, next, outcome, err := k.fetch(ctx)
	if err != nil {
		return lease.Idle, err
	}
	for _, j := range jobs {
		if err := k.pipe.enqueue(ctx, j); err != nil {
			k.close()
			return lease.Idle, err
		}
	}
	k.cursor = next
	return outcome, nil
}

// close stops the pipeline and waits for it; pages queued but not stored
// are fetched again by the next owner from the stored index.
func (k *kindImport) close() {
	if k.pipe != nil {
		k.pipe.stop()
		k.pipe = nil
	}
}

// deploymentPageSize bounds a page of deployments, each fetched with all
// its definitions' XML.
const deploymentPageSize = 100

// fetch reads what is new after the cursor: the entities at the cursor's
// timestamp not stored yet (when the page that reached it was full, or
// nothing is settled), then a page after it, cut at the settle horizon. It
// returns the jobs to store and the cursor after them.
func (k *kindImport) fetch(ctx context.Context) ([]*job, ImportIndex, lease.Outcome, error) {
	cur := k.cursor
	var jobs []*job
	if cur.Time >= 0 && (cur.Full || k.cfg.Settle == 0) {
		known := make(map[string]bool, len(cur.IDsAt))
		for _, id := range cur.IDsAt {
			known[id] = true
		}
		at, err := k.engine.At(ctx, k.kind, cur.Time, known)
		if err != nil {
			return nil, cur, lease.Idle, err
		}
		if len(at.Entities) > 0 {
			next := cur
			next.IDsAt = append(slices.Clip(cur.IDsAt), ids(at.Entities)...)
			next.CountAt = len(next.IDsAt)
			next.Imported += int64(len(at.Entities))
			jobs = append(jobs, k.job(at.Entities, next))
			k.log.Debug("more entities at the index's timestamp", "time", cur.Time, "stored", cur.CountAt, "new", len(at.Entities))
			cur = next
		}
	}
	size := k.cfg.PageSize
	if k.kind.Name == c7.Deployment.Name {
		size = min(size, deploymentPageSize)
	}
	page, err := k.engine.After(ctx, k.kind, cur.Time, size)
	if err != nil {
		return nil, cur, lease.Idle, err
	}
	horizon := k.horizon(page.ServerTime)
	n := 0
	for n < len(page.Entities) && page.Entities[n].Time <= horizon {
		n++
	}
	cut := n < len(page.Entities)
	full := page.Fetched == size
	// Invalid entities the index moves past (a kept entity follows them)
	// are dead-lettered, once; any after the last kept one wait for the
	// page that passes them.
	var passed []c7.Invalid
	for _, inv := range page.Invalid {
		if inv.Before < n {
			passed = append(passed, inv)
		}
	}
	if err := k.deadLetter(ctx, passed); err != nil {
		return nil, cur, lease.Idle, err
	}
	if n > 0 {
		ents := page.Entities[:n]
		last := ents[n-1].Time
		var at []c7.Entity
		for i := n - 1; i >= 0 && ents[i].Time == last; i-- {
			at = append(at, ents[i])
		}
		next := ImportIndex{Time: last, IDsAt: ids(at), Full: full && !cut, Imported: cur.Imported + int64(n)}
		next.CountAt = len(next.IDsAt)
		jobs = append(jobs, k.job(ents, next))
		cur = next
	}
	k.metrics.fetched(k.kind.Name, page.Fetched, cut)
	switch {
	case full && n == 0 && !cut:
		return nil, cur, lease.Idle, fmt.Errorf("%w: the %d %s entities after %s have no id or timestamp (the first: %s); is the engine's date format the default yyyy-MM-dd'T'HH:mm:ss.SSSZ?",
			errNoProgress, page.Fetched, k.kind.Name, c7.FormatDate(cur.Time), firstReason(page.Invalid))
	case full && !cut:
		return jobs, cur, lease.Busy, nil
	case len(jobs) > 0:
		return jobs, cur, lease.Progress, nil
	default:
		return nil, cur, lease.Idle, nil
	}
}

// firstReason is the first invalid entity's reason, "" without one.
func firstReason(invalid []c7.Invalid) string {
	if len(invalid) == 0 {
		return ""
	}
	return invalid[0].Reason
}

// ids lists the ids of ents.
func ids(ents []c7.Entity) []string {
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.ID
	}
	return out
}

// horizon is the newest timestamp (epoch ms) imported now: the engine's
// clock (its Date header; this process's clock without one) less the
// settle time.
func (k *kindImport) horizon(server time.Time) int64 {
	if server.IsZero() {
		server = time.Now()
	}
	return server.Add((-k.cfg.Settle).D()).UnixMilli()
}

// job cuts entities into page messages of at most the inline limit each
// (an entity larger than that alone: it is stored by reference) and
// returns the job storing them, after which the index is next.
func (k *kindImport) job(ents []c7.Entity, next ImportIndex) *job {
	j := &job{next: next, entities: len(ents)}
	for len(ents) > 0 {
		size, n := 2, 0
		for n < len(ents) && (n == 0 || size+1+len(ents[n].Raw) <= k.inline) {
			size += len(ents[n].Raw) + 1
			n++
		}
		body := make([]byte, 0, size)
		body = append(body, '[')
		for i, e := range ents[:n] {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, e.Raw...)
		}
		body = append(body, ']')
		j.msgs = append(j.msgs, stream.C7PageMsg(k.source, k.kind.Name, ents[0].Time, ents[n-1].Time, n, body))
		ents = ents[n:]
	}
	return j
}

// deadLetter stores entities the engine sent that cannot be imported on
// flowline.dlq.c7-import, each with its reason.
func (k *kindImport) deadLetter(ctx context.Context, invalid []c7.Invalid) error {
	for _, inv := range invalid {
		k.log.Warn("dead-lettering an entity that cannot be imported", "reason", inv.Reason)
		h := nats.Header{}
		h.Set(stream.HeaderC7Source, k.source)
		h.Set(stream.HeaderC7Kind, k.kind.Name)
		pctx, cancel := context.WithTimeout(ctx, k.cfg.PublishTimeout.D())
		err := stream.PublishDeadLetter(pctx, k.deadLetters, stream.DeadLetter{
			Service: deadLetterService, Reason: inv.Reason, Class: stream.ClassEntity, Data: inv.Raw, Partition: -1, Header: h,
		})
		cancel()
		if err != nil {
			return err
		}
		k.metrics.deadLetters.WithLabelValues(k.kind.Name).Inc()
	}
	return nil
}

// storer returns the pipeline's storing functions for this kind, the
// stored index at revision rev.
func (k *kindImport) storer(rev uint64) storer {
	return storer{
		publish: func(ctx context.Context, m *nats.Msg) error {
			pctx, cancel := context.WithTimeout(ctx, k.cfg.PublishTimeout.D())
			defer cancel()
			if _, err := k.pages.PublishMsg(pctx, m); err != nil {
				return fmt.Errorf("c7 import: store a %s page: %w", k.kind.Name, err)
			}
			return nil
		},
		commit: func(ctx context.Context, run []*job) error {
			if !k.holds() {
				return lease.ErrNotHeld
			}
			pctx, cancel := context.WithTimeout(ctx, k.cfg.PublishTimeout.D())
			defer cancel()
			r, err := k.index.save(pctx, k.kind.Name, run[len(run)-1].next, rev)
			if errors.Is(err, stream.ErrConflict) {
				return fmt.Errorf("%w: %w", lease.ErrNotHeld, err)
			}
			if err != nil {
				return err
			}
			rev = r
			k.metrics.stored(k.kind.Name, run)
			return nil
		},
	}
}
