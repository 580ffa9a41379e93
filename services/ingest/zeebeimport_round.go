package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
)

// errLeaseGone: the partition's lease ended before the round stored
// anything; another replica imports it now.
var errLeaseGone = errors.New("zeebe import: partition lease ended")

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
// lease: owned by one worker goroutine.
type partitionImport struct {
	z      *zeebeImporter
	p      int32
	loaded bool
	prog   ImportProgress
	rev    uint64
}

// deadDoc is a document given up on, with why.
type deadDoc struct {
	doc    sourceDoc
	result string // invalid or late
	reason string
}

// round reads the next pages, stores what it may, and moves the cursors.
func (w *partitionImport) round(ctx context.Context) (res roundResult, err error) {
	z := w.z
	ctx, span := z.s.tracer.Start(ctx, "zeebe-import round")
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
		if w.prog, w.rev, err = z.progress.load(ctx, w.p); err != nil {
			return res, err
		}
		w.loaded = true
	}
	vts, err := z.src.valueTypes(ctx)
	if err != nil {
		return res, err
	}
	pages, err := z.src.pages(ctx, w.p, vts, w.prog.Cursors)
	if err != nil {
		return res, err
	}
	for _, pg := range pages {
		if len(pg.docs) > 0 {
			z.metrics.pages.Inc()
		}
	}
	pl := planRound(pages, time.Now().Add(-z.cfg.Settle).UnixMilli())
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
		case z.s.cfg.EventsOnly && d.rec.RecordType != "EVENT":
			dropped++
		default:
			records = append(records, d.rec)
			res.newest = d.rec.Timestamp
		}
		prev = max(prev, d.position)
	}

	if !w.z.holds(w.p) {
		return res, errLeaseGone
	}
	for _, dd := range dead {
		if err := w.deadLetter(ctx, dd); err != nil {
			return res, err
		}
	}
	if len(records) > 0 {
		ar, err := z.s.appendImported(ctx, w.p, records)
		if err != nil {
			return res, fmt.Errorf("zeebe import: %w", err)
		}
		res.imported, res.duplicate = ar.accepted, res.duplicate+ar.duplicates
	}

	next := ImportProgress{Cursors: maps2(w.prog.Cursors, pl.cursors), Position: max(w.prog.Position, pl.take[len(pl.take)-1].position)}
	rev, err := z.progress.save(ctx, w.p, next, w.rev)
	if err != nil {
		return res, err
	}
	w.prog, w.rev = next, rev

	z.metrics.records.WithLabelValues("imported").Add(float64(res.imported))
	z.metrics.records.WithLabelValues("duplicate").Add(float64(res.duplicate))
	z.metrics.records.WithLabelValues("dropped").Add(float64(dropped))
	for _, dd := range dead {
		z.metrics.records.WithLabelValues(dd.result).Inc()
	}
	return res, nil
}

// maps2 returns a copy of a updated with b.
func maps2(a, b map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
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
	err := stream.PublishDeadLetter(ctx, w.z.s.js, stream.DeadLetter{Service: "ingest", Reason: dd.reason, Data: dd.doc.source, Header: h})
	if err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	w.z.log.Error("exporter document dead-lettered", "partition", w.p, "index", dd.doc.index, "id", dd.doc.id, "result", dd.result, "reason", dd.reason)
	return nil
}
