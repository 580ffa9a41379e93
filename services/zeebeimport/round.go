package zeebeimport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/lease"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/recordlog"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/wire"
)

// A partition's records of all value types share one position sequence,
// and ingest stores a partition in position order only (anything at or
// below the highest stored position is a duplicate). The value types live
// in separate indices, each read in its own position order, so a round
// merges them:
//
//  1. read the next page of every value type (after its cursor);
//  2. the frontier is the lowest last position of the pages that came
//     back full: beyond it, a full value type may hold records not read
//     yet. Only records at or below the frontier are taken;
//  3. a record newer than now − Settle cuts like a frontier (just below
//     it): an exporter bulk may be searchable in some indices and not yet
//     in others;
//  4. the taken records are stored in position order, and only then are
//     the cursors moved (one KV write for the partition).
//
// A full page always has its first record at or below the frontier, so a
// round with a full page makes progress unless the settle cut holds it.

// roundPlan is what a round takes from the pages it read.
type roundPlan struct {
	take     []sourceDoc      // at or below the frontier, in position order
	cursors  map[string]int64 // new cursor of each value type that advanced
	frontier int64            // math.MaxInt64 when nothing limits the round
	full     bool             // some page was full
	held     bool             // some documents read wait for a later round
}

// planRound merges pages. Records with a timestamp after settledUntil
// (epoch ms) cut the round just below their position.
func planRound(pages []sourcePage, settledUntil int64) roundPlan {
	pl := roundPlan{cursors: map[string]int64{}, frontier: math.MaxInt64}
	for _, pg := range pages {
		if pg.full && len(pg.docs) > 0 {
			pl.full = true
			pl.frontier = min(pl.frontier, pg.docs[len(pg.docs)-1].position)
		}
		for _, d := range pg.docs {
			if d.rec != nil && d.rec.Timestamp > settledUntil {
				pl.frontier = min(pl.frontier, d.position-1)
				break // positions grow along the page
			}
		}
	}
	for _, pg := range pages {
		for _, d := range pg.docs {
			if d.position > pl.frontier {
				pl.held = true
				break
			}
			pl.take = append(pl.take, d)
			pl.cursors[pg.valueType] = d.position
		}
	}
	slices.SortStableFunc(pl.take, func(a, b sourceDoc) int { return cmp.Compare(a.position, b.position) })
	return pl
}

// roundResult sums up a round for the worker's pacing and metrics.
type roundResult struct {
	taken     int  // documents taken (stored, duplicate, dropped or dead-lettered)
	full      bool // a page was full: more is waiting
	held      bool // documents read were left for a later round
	newest    int64
	imported  int
	duplicate int
}

// partitionImport is one partition's import while this replica holds its
// lease: owned by the partition's goroutine. Its collaborators are shared
// with the other partitions and safe for concurrent use.
type partitionImport struct {
	p           int32
	src         *zeebeSource
	progress    *progressStore
	records     *recordlog.Log
	deadLetters stream.Publisher
	holds       func(p int32) bool // this replica still holds p's lease
	metrics     *metrics
	tracer      trace.Tracer
	log         *slog.Logger
	settle      time.Duration
	eventsOnly  bool

	loaded bool // prog and rev were read; false again after a failed round
	prog   ImportProgress
	rev    uint64
}

// paced runs a round for the partition's runner: it counts it, keeps the
// lag gauge, and tells the pacing what the round found.
func (w *partitionImport) paced(ctx context.Context) (lease.Outcome, error) {
	lag := w.metrics.lag.WithLabelValues(strconv.Itoa(int(w.p)))
	res, err := w.round(ctx)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, lease.ErrNotHeld) {
			w.loaded = false // re-read the progress: a conflict means someone else moved it
			w.metrics.errors.Inc()
			w.metrics.rounds.WithLabelValues("error").Inc()
		}
		return lease.Idle, err
	}
	switch {
	case (res.full || res.held) && res.newest > 0:
		lag.Set(max(0, time.Since(time.UnixMilli(res.newest)).Seconds()))
	case !res.full && !res.held:
		lag.Set(0)
	}
	switch {
	case res.full && res.taken > 0:
		w.metrics.rounds.WithLabelValues("full").Inc()
		return lease.Busy, nil
	case res.taken > 0 || res.held:
		w.metrics.rounds.WithLabelValues("partial").Inc()
		return lease.Progress, nil
	default:
		w.metrics.rounds.WithLabelValues("idle").Inc()
		return lease.Idle, nil
	}
}

// close drops the partition's lag gauge once the partition is given up.
func (w *partitionImport) close() { w.metrics.lag.DeleteLabelValues(strconv.Itoa(int(w.p))) }

// deadDoc is a document given up on, with why.
type deadDoc struct {
	doc    sourceDoc
	result string // invalid or late
	reason string
}

// round reads the next pages, stores what it may, and moves the cursors.
func (w *partitionImport) round(ctx context.Context) (res roundResult, err error) {
	ctx, span := w.tracer.Start(ctx, "zeebe-import round")
	span.SetAttributes(attribute.Int("partition", int(w.p)))
	defer func() {
		span.SetAttributes(attribute.Int("records.taken", res.taken), attribute.Int("records.imported", res.imported))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	if !w.loaded {
		if w.prog, w.rev, err = w.progress.load(ctx, w.p); err != nil {
			return res, err
		}
		w.loaded = true
	}
	vts, err := w.src.valueTypes(ctx)
	if err != nil {
		return res, err
	}
	pages, err := w.src.pages(ctx, w.p, vts, w.prog.Cursors)
	if err != nil {
		return res, err
	}
	for _, pg := range pages {
		if len(pg.docs) > 0 {
			w.metrics.pages.Inc()
		}
	}
	pl := planRound(pages, time.Now().Add(-w.settle).UnixMilli())
	res.full, res.held, res.taken = pl.full, pl.held, len(pl.take)
	if len(pl.take) == 0 {
		return res, nil
	}

	var records []*recordv1.Record
	var dead []deadDoc
	dropped := 0
	prev := int64(-1)
	for _, d := range pl.take {
		switch {
		case d.err != nil:
			dead = append(dead, deadDoc{d, "invalid", "zeebe import: document is not a valid Zeebe record: " + d.err.Error()})
		case d.position == prev:
			res.duplicate++ // the same record in two indices (re-exported after an upgrade)
		case d.position <= w.prog.Position:
			dead = append(dead, deadDoc{d, "late", fmt.Sprintf("zeebe import: record became searchable only after position %d of partition %d was imported; raise FLOWLINE_ZEEBE_IMPORT_SETTLE", w.prog.Position, w.p)})
		case w.eventsOnly && d.rec.RecordType != "EVENT":
			dropped++
		default:
			records = append(records, d.rec)
			res.newest = d.rec.Timestamp
		}
		prev = max(prev, d.position)
	}

	if !w.holds(w.p) {
		return res, fmt.Errorf("zeebe import of partition %d: %w", w.p, lease.ErrNotHeld)
	}
	for _, dd := range dead {
		if err := w.deadLetter(ctx, dd); err != nil {
			return res, err
		}
	}
	if len(records) > 0 {
		wires, err := wire.EncodeRecords(records)
		if err != nil {
			return res, fmt.Errorf("zeebe import: partition %d: %w", w.p, err)
		}
		ar, err := w.records.Append(ctx, w.p, wires)
		if err != nil {
			return res, fmt.Errorf("zeebe import: %w", err)
		}
		res.imported, res.duplicate = ar.Accepted, res.duplicate+ar.Duplicates
	}

	cursors := maps.Clone(w.prog.Cursors)
	if cursors == nil {
		cursors = map[string]int64{}
	}
	maps.Copy(cursors, pl.cursors)
	next := ImportProgress{Cursors: cursors, Position: max(w.prog.Position, pl.take[len(pl.take)-1].position)}
	rev, err := w.progress.save(ctx, w.p, next, w.rev)
	if err != nil {
		return res, err
	}
	w.prog, w.rev = next, rev

	w.metrics.records.WithLabelValues("imported").Add(float64(res.imported))
	w.metrics.records.WithLabelValues("duplicate").Add(float64(res.duplicate))
	w.metrics.records.WithLabelValues("dropped").Add(float64(dropped))
	for _, dd := range dead {
		w.metrics.records.WithLabelValues(dd.result).Inc()
	}
	return res, nil
}

// deadLetter stores a document on flowline.dlq.ingest with its index, id
// and reason. The message id makes a redone round's copy a duplicate
// within the stream's dedupe window.
func (w *partitionImport) deadLetter(ctx context.Context, dd deadDoc) error {
	h := nats.Header{}
	h.Set(stream.HeaderDLQIndex, dd.doc.index)
	h.Set(stream.HeaderDLQID, dd.doc.id)
	h.Set(nats.MsgIdHdr, "zeebe-import-"+dd.doc.index+"-"+dd.doc.id)
	h.Set(stream.HeaderFirstPosition, strconv.FormatInt(dd.doc.position, 10))
	err := stream.PublishDeadLetter(ctx, w.deadLetters, stream.DeadLetter{Service: "ingest", Reason: dd.reason, Data: dd.doc.source, Header: h})
	if err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	w.log.Error("exporter document dead-lettered", "index", dd.doc.index, "id", dd.doc.id, "result", dd.result, "reason", dd.reason)
	return nil
}
