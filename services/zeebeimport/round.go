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

	"github.com/flowline/flowline/pkg/config"
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
//  3. a record newer than now − settle time cuts like a frontier (just
//     below it): an exporter bulk may be searchable in some indices and
//     not yet in others (see Source.Settle for how long that takes);
//  4. a gap in a value type's "sequence" (the exporter numbers each
//     partition's records of a value type 1, 2, 3, ...) means a record of
//     it is not searchable yet, although later ones are: the exporter
//     re-sends a bulk item that failed with its next flush, and a lagging
//     exporter's records are old by their timestamps. The round stops at
//     the record before the gap, for up to the settle time from when the
//     gap was first seen; after that it goes past and watches the gap
//     (ImportProgress.Gaps) for FLOWLINE_ZEEBE_IMPORT_GAP_WATCH.
//     A value type whose index is there but shows none of the
//     partition's records yet (none ever read) holds the round the same
//     way: its first records may be one refresh behind the others';
//  5. the taken records are stored in position order, and only then are
//     the cursors moved (one KV write for the partition).
//
// The stored frontier never moves past a position that may still appear
// within the settle time. A record that appears later anyway (below the
// imported position) is stored if nothing above it has been stored yet
// (e.g. only dropped commands were above it); otherwise it is
// dead-lettered as late with its reason, and counted.
//
// A full page always has its first record at or below the frontier, so a
// round with a full page makes progress unless the settle cut or a gap
// holds it.

// seqGap is a gap seen in a value type's sequence: the records with
// sequences between seqAfter and seqBefore are missing, at positions
// between after and before. It is comparable: the key of its first sight.
type seqGap struct {
	valueType           string
	after, before       int64
	seqAfter, seqBefore int64
}

// roundPlan is what a round takes from the pages it read.
type roundPlan struct {
	take      []sourceDoc      // at or below the frontier, in position order
	cursors   map[string]int64 // new cursor of each value type that advanced
	sequences map[string]int64 // sequence at each new cursor (0: unknown)
	frontier  int64            // math.MaxInt64 when nothing limits the round
	full      bool             // some page was full
	held      bool             // some documents read wait for a later round
	seen      []seqGap         // every sequence gap met
	skipped   []seqGap         // gaps waited out that the round goes past
}

// planRound merges pages. Records with a timestamp after settledUntil
// (epoch ms) cut the round just below their position; a sequence gap
// after prog's cursor cuts it at the record before the gap unless
// waitedOut says it has been waited for long enough.
func planRound(pages []sourcePage, settledUntil int64, prog ImportProgress, waitedOut func(seqGap) bool) roundPlan {
	pl := roundPlan{cursors: map[string]int64{}, sequences: map[string]int64{}, frontier: math.MaxInt64}
	var skipped []seqGap
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
		if _, read := prog.Cursors[pg.valueType]; !read && len(pg.docs) == 0 {
			// An index exists but none of the partition's records in it
			// is searchable yet, nor ever was: the exporter writes an
			// index with its first document, which may be one refresh
			// behind the other indices of its bulk. Nothing tells whether
			// that document belongs to this partition, so the round holds
			// for the settle time from when it first saw this, once.
			g := seqGap{valueType: pg.valueType, after: -1, before: -1}
			pl.seen = append(pl.seen, g)
			if !waitedOut(g) {
				pl.frontier = min(pl.frontier, prog.Position)
			}
			continue
		}
		prevSeq, prevPos := prog.Sequences[pg.valueType], prog.Cursors[pg.valueType]
		for _, d := range pg.docs {
			if d.sequence == 0 {
				continue
			}
			if prevSeq > 0 && d.sequence > prevSeq+1 {
				g := seqGap{valueType: pg.valueType, after: prevPos, before: d.position, seqAfter: prevSeq, seqBefore: d.sequence}
				pl.seen = append(pl.seen, g)
				if !waitedOut(g) {
					pl.frontier = min(pl.frontier, prevPos)
					break
				}
				skipped = append(skipped, g)
			}
			if d.sequence > prevSeq { // a re-exported copy repeats its sequence
				prevSeq, prevPos = d.sequence, d.position
			}
		}
	}
	for _, g := range skipped {
		if g.before <= pl.frontier {
			pl.skipped = append(pl.skipped, g)
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
			pl.sequences[pg.valueType] = d.sequence
		}
	}
	slices.SortStableFunc(pl.take, func(a, b sourceDoc) int { return cmp.Compare(a.position, b.position) })
	return pl
}

// maxWatchedGaps bounds the gaps a partition watches; the oldest are given
// up first.
const maxWatchedGaps = 256

// watchGaps returns the documents found in the watched gaps (pages, one
// per gap in order), in position order, and the gaps that remain watched:
// each split around what was found and kept while records are still
// missing from it and it is younger than watch.
func watchGaps(gaps []Gap, pages []sourcePage, now time.Time, watch time.Duration) (found []sourceDoc, remain []Gap) {
	for i, g := range gaps {
		if now.Sub(g.Since) > watch {
			continue
		}
		docs := pages[i].docs
		found = append(found, docs...)
		cur := g
		known := true
		for _, d := range docs {
			if d.sequence <= cur.SeqAfter || d.sequence >= cur.SeqBefore {
				known = false // no usable sequence: the rest cannot be tracked
				break
			}
			if part := (Gap{cur.ValueType, cur.After, d.position, cur.SeqAfter, d.sequence, cur.Since}); part.missing() > 0 {
				remain = append(remain, part)
			}
			cur.After, cur.SeqAfter = d.position, d.sequence
		}
		if known && cur.missing() > 0 {
			remain = append(remain, cur)
		}
	}
	slices.SortStableFunc(found, func(a, b sourceDoc) int { return cmp.Compare(a.position, b.position) })
	return found, remain
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
	limits      config.RecordStore // what admit checks records against
	deadLetters stream.Publisher
	holds       func(p int32) bool // this replica still holds p's lease
	metrics     *metrics
	tracer      trace.Tracer
	log         *slog.Logger
	settle      time.Duration // Source.SettleTime
	gapWatch    time.Duration
	eventsOnly  bool

	loaded bool // prog and rev were read; false again after a failed round
	prog   ImportProgress
	rev    uint64
	// gapSeen holds when each sequence gap met in the last round was first
	// seen (in memory: a new owner waits for a gap once more).
	gapSeen map[seqGap]time.Time
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

// waitedOut reports whether gap g was first seen at least the settle time
// before now, and remembers when it was first seen.
func (w *partitionImport) waitedOut(now time.Time) func(seqGap) bool {
	return func(g seqGap) bool {
		first, ok := w.gapSeen[g]
		if !ok {
			if w.gapSeen == nil {
				w.gapSeen = map[seqGap]time.Time{}
			}
			w.gapSeen[g], first = now, now
		}
		return now.Sub(first) >= w.settle
	}
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
	reqs := make([]pageRequest, 0, len(vts)+len(w.prog.Gaps))
	for _, vt := range vts {
		after, ok := w.prog.Cursors[vt]
		if !ok {
			after = -1
		}
		reqs = append(reqs, pageRequest{valueType: vt, after: after})
	}
	for _, g := range w.prog.Gaps {
		reqs = append(reqs, pageRequest{valueType: g.ValueType, after: g.After, before: g.Before})
	}
	pages, err := w.src.pages(ctx, w.p, reqs)
	if err != nil {
		return res, err
	}
	for _, pg := range pages {
		if len(pg.docs) > 0 {
			w.metrics.pages.Inc()
		}
	}
	now := time.Now()
	var cursorPages, gapPages []sourcePage
	if len(pages) > 0 {
		cursorPages, gapPages = pages[:len(vts)], pages[len(vts):]
	}
	pl := planRound(cursorPages, now.Add(-w.settle).UnixMilli(), w.prog, w.waitedOut(now))
	for g := range w.gapSeen {
		if !slices.Contains(pl.seen, g) {
			delete(w.gapSeen, g)
		}
	}
	found, gaps := watchGaps(w.prog.Gaps, gapPages, now, w.gapWatch)
	for _, g := range pl.skipped {
		w.log.Warn("went past a gap in the exporter's sequence after waiting the settle time; records arriving in it will be dead-lettered as late",
			"value_type", g.valueType, "after_position", g.after, "before_position", g.before, "missing", g.seqBefore-g.seqAfter-1, "settle", w.settle)
		gaps = append(gaps, Gap{ValueType: g.valueType, After: g.after, Before: g.before, SeqAfter: g.seqAfter, SeqBefore: g.seqBefore, Since: now})
	}
	if len(gaps) > maxWatchedGaps {
		w.log.Warn("watching too many sequence gaps; giving up the oldest", "given_up", len(gaps)-maxWatchedGaps)
		gaps = gaps[len(gaps)-maxWatchedGaps:]
	}
	res.full, res.held, res.taken = pl.full, pl.held, len(pl.take)+len(found)
	if len(pl.take) == 0 && len(found) == 0 && slices.Equal(gaps, w.prog.Gaps) {
		return res, nil
	}

	var records []*recordv1.Record
	var late []sourceDoc
	var dead []deadDoc
	dropped, recovered := 0, 0
	prev := int64(-1)
	for _, d := range found {
		switch {
		case d.err != nil:
			dead = append(dead, deadDoc{d, "invalid", "zeebe import: document is not a valid Zeebe record: " + d.err.Error()})
		case w.eventsOnly && d.rec.RecordType != "EVENT":
			dropped++
		default:
			late = append(late, d)
		}
	}
	for _, d := range pl.take {
		switch {
		case d.err != nil:
			dead = append(dead, deadDoc{d, "invalid", "zeebe import: document is not a valid Zeebe record: " + d.err.Error()})
		case d.position == prev:
			res.duplicate++ // the same record in two indices (re-exported after an upgrade)
		case w.eventsOnly && d.rec.RecordType != "EVENT":
			dropped++
		case d.position <= w.prog.Position:
			late = append(late, d)
		default:
			if result, reason := admit(w.limits, w.p, d.rec); result != "" {
				dead = append(dead, deadDoc{d, result, reason})
				break
			}
			records = append(records, d.rec)
			res.newest = d.rec.Timestamp
		}
		prev = max(prev, d.position)
	}

	if !w.holds(w.p) {
		return res, fmt.Errorf("zeebe import of partition %d: %w", w.p, lease.ErrNotHeld)
	}
	// Late records first, in position order: below everything new, each is
	// stored if nothing above it is stored yet, else dead-lettered.
	slices.SortStableFunc(late, func(a, b sourceDoc) int { return cmp.Compare(a.position, b.position) })
	for _, d := range late {
		ok, err := w.storeLate(ctx, d)
		if err != nil {
			return res, err
		}
		if ok {
			recovered++
			continue
		}
		dead = append(dead, deadDoc{d, "late", w.lateReason(d, now)})
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
	res.imported += recovered

	next := ImportProgress{Cursors: maps.Clone(w.prog.Cursors), Sequences: maps.Clone(w.prog.Sequences), Position: w.prog.Position, Gaps: gaps}
	if next.Cursors == nil {
		next.Cursors = map[string]int64{}
	}
	if next.Sequences == nil {
		next.Sequences = map[string]int64{}
	}
	maps.Copy(next.Cursors, pl.cursors)
	for vt, seq := range pl.sequences {
		if seq > 0 {
			next.Sequences[vt] = seq
		} else {
			delete(next.Sequences, vt)
		}
	}
	if len(pl.take) > 0 {
		next.Position = max(w.prog.Position, pl.take[len(pl.take)-1].position)
	}
	rev, err := w.progress.save(ctx, w.p, next, w.rev)
	if err != nil {
		return res, err
	}
	w.prog, w.rev = next, rev

	w.metrics.records.WithLabelValues("imported").Add(float64(res.imported))
	w.metrics.records.WithLabelValues("duplicate").Add(float64(res.duplicate))
	w.metrics.records.WithLabelValues("dropped").Add(float64(dropped))
	w.metrics.gaps.Add(float64(len(pl.skipped)))
	for _, dd := range dead {
		w.metrics.records.WithLabelValues(dd.result).Inc()
	}
	return res, nil
}

// storeLate stores a record that showed up below the imported position if
// nothing above it is stored yet (recordlog counts it a duplicate
// otherwise) and reports whether it did.
func (w *partitionImport) storeLate(ctx context.Context, d sourceDoc) (bool, error) {
	wires, err := wire.EncodeRecords([]*recordv1.Record{d.rec})
	if err != nil {
		return false, fmt.Errorf("zeebe import: partition %d: %w", w.p, err)
	}
	ar, err := w.records.Append(ctx, w.p, wires)
	if err != nil {
		return false, fmt.Errorf("zeebe import: %w", err)
	}
	if ar.Accepted == 1 {
		w.log.Warn("stored a record that became searchable after later positions were imported (nothing above it was stored yet)",
			"index", d.index, "id", d.id, "position", d.position)
		return true, nil
	}
	return false, nil
}

// lateReason says why a record is dead-lettered as late.
func (w *partitionImport) lateReason(d sourceDoc, now time.Time) string {
	ts := time.UnixMilli(d.rec.Timestamp).UTC()
	return fmt.Sprintf("zeebe import: late record: position %d of partition %d (timestamp %s) became searchable %s after its timestamp, "+
		"beyond the settle time of %s and after the import had stored later positions (up to %d), so it cannot be stored in order; "+
		"the exporter lagged behind or took longer than FLOWLINE_ZEEBE_IMPORT_SETTLE (derived from _EXPORTER_BULK_DELAY and _EXPORTER_REFRESH_INTERVAL)",
		d.position, w.p, ts.Format(time.RFC3339Nano), now.Sub(ts).Round(time.Millisecond), w.settle, w.prog.Position)
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
	err := stream.PublishDeadLetter(ctx, w.deadLetters, stream.DeadLetter{Service: "ingest", Reason: dd.reason, Data: dd.doc.source, Header: h,
		Kind: stream.KindZeebeRecord, Partition: w.p})
	if err != nil {
		return fmt.Errorf("zeebe import: %w", err)
	}
	w.log.Error("exporter document dead-lettered", "index", dd.doc.index, "id", dd.doc.id, "result", dd.result, "reason", dd.reason)
	return nil
}
