package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
)

// Redriven record messages.
//
// `flowline dlq redrive` (pkg/deadletter) sends records the aggregator or
// the Zeebe import gave up on back to flowline.records.<P>, marked with
// the header stream.HeaderRedrive. Their positions are behind the
// partition state's LastPosition, so the ordinary fold would skip them as
// already applied. The worker hands such a message to redrive instead of
// folding it (the hook in worker.handle, right after the RecordBatch is
// decoded):
//
//	if dlqSeq, ok := stream.RedriveOf(msg.Headers()); ok {
//		return w.redrive(mctx, &batch, seq, dlqSeq)
//	}
//
// What folding an old record means. The partition state holds every entity
// still active as of LastPosition, built from all the records before it;
// an out-of-order record cannot be placed into that history exactly. So a
// redriven message is folded into a scratch copy of the state (records
// below the state's position are not skipped there) and only the documents
// it renders are kept; the live state is left exactly as it was:
//   - an entity that has ended is not brought back (a resurrected instance
//     would stay ACTIVE in memory for ever, and its incident counts would
//     leak to its parents);
//   - LastPosition does not move back, so nothing after it is re-applied;
//   - definitions are the exception: a redriven PROCESS record stores its
//     definition (the definitions bucket is keyed by definition key, and a
//     definition never changes), so later instances are named by it.
//
// The documents carry the redriven record's position as their version, so
// Elasticsearch takes them only where it holds nothing newer: a record
// whose document never got indexed (a job, a variable, a definition, an
// instance whose only records were dead-lettered) lands fully; an entity
// whose newer documents are indexed keeps them (409, stale), and the
// redriven record's effect on an entity still active in the state is not
// remembered for its later documents. A record that still has a problem
// (recordProblem) is dead-lettered again with its reason. Redriving the same
// records again renders the same documents with the same versions and the
// same message id, which changes nothing.
//
// Cost: the scratch copy is a JSON round trip of the state, proportional to
// the partition's active entities, paid per redriven message; redrives are
// rare operator actions.
func (w *worker) redrive(ctx context.Context, batch *recordv1.RecordBatch, seq, dlqSeq uint64) error {
	w.log.InfoContext(ctx, "folding redriven records", "stream_seq", seq, "dlq_seq", dlqSeq, "records", len(batch.Records))
	rf, err := foldRedriven(ctx, w.cp.State, w.defs, w.log, w.cfg.Schema, batch)
	if err != nil {
		return err
	}
	for _, rp := range rf.problems {
		if err := w.deadLetterRecord(ctx, rp.record, seq, stream.ClassRecord, rp.reason, nil); err != nil {
			return err
		}
	}
	w.metrics.records.WithLabelValues(w.partitionLabel()).Add(float64(len(batch.Records)))
	for vt, n := range rf.ignored {
		w.metrics.countIgnored(vt, n)
	}
	if len(rf.docs) == 0 && len(rf.bad) == 0 {
		return nil
	}
	return w.emit(ctx, batch, seq, rf.docs, rf.bad, "-redrive-"+strconv.FormatUint(dlqSeq, 10))
}

// recordReason is a redriven record that still cannot be aggregated.
type recordReason struct {
	record *recordv1.Record
	reason string
}

// redrivenFold is what folding a redriven record message produced.
type redrivenFold struct {
	docs     []*recordv1.Document // the documents they changed, rendered
	bad      []unrendered         // the documents they changed that cannot be rendered
	problems []recordReason       // records that still cannot be aggregated
	ignored  map[string]int       // value type -> records ignored
}

// foldRedriven folds batch into a scratch copy of st (see redrive). An
// error means the state could not be copied or a definition could not be
// read or stored: the caller retries the message. st is not modified.
func foldRedriven(ctx context.Context, st *partitionState, defs *definitions, log *slog.Logger, s config.Schema, batch *recordv1.RecordBatch) (redrivenFold, error) {
	var rf redrivenFold
	scratch, err := st.clone()
	if err != nil {
		return rf, fmt.Errorf("partition %d: copy state for redriven records: %w", st.Partition, err)
	}
	scratch.LastPosition = math.MinInt64 // a redriven record is never "already applied"
	f := newRecordFolder(ctx, scratch, defs, log, s)
	for _, r := range batch.Records {
		if reason := recordProblem(r, st.Partition); reason != "" {
			rf.problems = append(rf.problems, recordReason{r, reason})
			continue
		}
		if err := f.apply(r); err != nil {
			return rf, fmt.Errorf("partition %d: redriven record at position %d: %w", st.Partition, r.Position, err)
		}
	}
	rf.ignored = f.ignored
	if len(f.ch.order) > 0 {
		rf.docs, rf.bad = f.documents(st.Partition)
	}
	return rf, nil
}

// clone is a deep copy of st, through the checkpoint's own encoding (so a
// field added to the state is copied without touching this).
func (st *partitionState) clone() (*partitionState, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	c := &partitionState{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	c.init()
	return c, nil
}
