package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lease"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/telemetry"
	"github.com/flowline/flowline/pkg/wire"
)

// worker aggregates one partition: it consumes the partition's records in
// stream order from a durable consumer, folds them into the partition state,
// publishes the changed documents, and checkpoints: documents confirmed by
// the broker, then state saved, then records acked (AckAll up to the last
// one). After a crash it resumes from the checkpoint; records between the
// checkpoint and the crash are delivered again and rebuild the same
// documents, which the writer's external versioning makes harmless.
//
// Every wait on the broker is bounded by Config.PublishTimeout: a worker
// that cannot make progress within it gives the partition up (the error
// wraps lease.ErrGiveUp). Nothing is published once the lease is lost.
//
// A worker is owned by one goroutine; its collaborators (the JetStream
// context, the payloads, the checkpoint store, the definitions, the
// metrics) are shared with the other partitions' workers and safe for
// concurrent use.
type worker struct {
	p           int32
	cfg         Config
	js          jetstream.JetStream // binds the consumer, publishes documents and dead letters
	payloads    *stream.Payloads    // message bodies inline or in objects
	checkpoints *checkpoints
	defs        *definitions
	holds       func(p int32) bool // this replica still holds p's lease
	progressed  func(p int32)      // called after every checkpoint
	metrics     *metrics
	tracer      trace.Tracer
	log         *slog.Logger

	cons    jetstream.Consumer
	cp      *checkpoint
	pending []jetstream.PubAckFuture // published, not yet confirmed, oldest first
	last    jetstream.Msg            // newest processed message, not yet acked
	since   int                      // messages processed since the last checkpoint
	// delivered is the consumer sequence of the last delivery handled (or
	// the consumer's at binding): every delivery must follow it by one.
	delivered uint64
	lastSave  time.Time
	caughtUp  atomic.Bool
}

func (w *worker) consumerName() string { return w.cfg.ConsumerPrefix + "-" + strconv.Itoa(int(w.p)) }

// start loads the checkpoint and binds the durable consumer. The consumer
// is kept only if it is exactly at the checkpoint: everything up to the
// checkpoint's sequence acked, nothing delivered beyond. Otherwise (a crash
// left deliveries unacked, or the consumer is ahead of the checkpoint
// because the state bucket was lost or a stale checkpoint won) it is
// recreated to start right after the checkpoint, so every record the state
// has not seen is folded, and nothing waits for AckWait to expire.
func (w *worker) start(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	cp, err := w.checkpoints.load(lctx, w.p)
	cancel()
	if err != nil {
		return w.stalled(ctx, err)
	}
	w.cp, w.pending, w.last, w.since, w.lastSave = cp, nil, nil, 0, time.Now()

	st, err := w.js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return fmt.Errorf("partition %d: %w", w.p, err)
	}
	name := w.consumerName()
	if c, err := st.Consumer(ctx, name); err == nil {
		info := c.CachedInfo()
		if info.AckFloor.Stream == cp.Seq && info.Delivered.Stream <= info.AckFloor.Stream {
			w.cons, w.delivered = c, info.Delivered.Consumer
			return nil
		}
		if err := w.owner(); err != nil {
			return err // the consumer is the new owner's now: leave it alone
		}
		if info.AckFloor.Stream > cp.Seq {
			w.log.WarnContext(ctx, "records consumer is ahead of the checkpoint; rewinding it to fold every record the state has not seen",
				"consumer", name, "ack_floor", info.AckFloor.Stream, "checkpoint_seq", cp.Seq)
		}
		if err := st.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("partition %d: reset consumer %s: %w", w.p, name, err)
		}
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("partition %d: consumer %s: %w", w.p, name, err)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("aggregator of partition %d", w.p),
		FilterSubject: stream.RecordsSubject(w.p),
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       w.cfg.AckWait.D(),
		MaxAckPending: 100_000,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if cp.Seq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, cp.Seq+1
	}
	c, err := st.CreateConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("partition %d: create consumer %s: %w", w.p, name, err)
	}
	w.cons, w.delivered = c, c.CachedInfo().Delivered.Consumer
	return nil
}

// run processes the partition until ctx is cancelled (then it checkpoints
// what it has, with a fresh deadline, and returns nil) or a broker
// operation fails.
func (w *worker) run(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := w.cons.Fetch(w.cfg.FetchBatch, jetstream.FetchMaxWait(w.cfg.CheckpointInterval.D()))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("partition %d: fetch: %w", w.p, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			if err := w.handle(ctx, msg); err != nil {
				return err // the state may hold part of msg: never checkpoint it
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			return fmt.Errorf("partition %d: fetch: %w", w.p, err)
		}
		if n == 0 {
			// Nothing came: a delivery lost on its way (see handle) shows
			// here only as the consumer having delivered more than this
			// worker received. Start over now rather than after AckWait.
			if err := w.checkDelivered(ctx); err != nil {
				return err
			}
			w.caughtUp.Store(true)
		}
		if w.since > 0 && (w.since >= w.cfg.CheckpointMessages || time.Since(w.lastSave) >= w.cfg.CheckpointInterval.D() || n == 0) {
			if err := w.checkpoint(ctx); err != nil {
				if ctx.Err() != nil && !errors.Is(err, lease.ErrNotHeld) {
					break // stopping during the checkpoint: finish it below
				}
				return err
			}
		}
	}
	// Drain: confirm and checkpoint what was processed, with a fresh deadline.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(w.cfg.PublishTimeout.D(), drainTimeout))
	defer cancel()
	if w.since > 0 && w.holds(w.p) {
		return w.checkpoint(dctx)
	}
	return nil
}

// checkDelivered fails with errDeliveryGap when the consumer says it
// delivered more than this worker received. An unreadable consumer is
// left to the next fetch.
func (w *worker) checkDelivered(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	defer cancel()
	info, err := w.cons.Info(ictx)
	if err != nil || info.Delivered.Consumer <= w.delivered {
		return nil
	}
	if err := w.owner(); err != nil {
		return err
	}
	return fmt.Errorf("partition %d: %w: the consumer delivered up to %d, the last received was %d; refolding from the checkpoint",
		w.p, errDeliveryGap, info.Delivered.Consumer, w.delivered)
}

// errDeliveryGap: the consumer delivered a message this worker never
// received; the worker restarts from its checkpoint.
var errDeliveryGap = errors.New("a record message was delivered but never received")

// drainTimeout bounds the final checkpoint after the worker was stopped.
const drainTimeout = 10 * time.Second

// handle folds one record message into the state and publishes the
// documents it changed.
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("partition %d: message metadata: %w", w.p, err)
	}
	seq := meta.Sequence.Stream
	if d := meta.Sequence.Consumer; d != w.delivered+1 {
		if err := w.owner(); err != nil {
			return err // a stale owner stops rather than starting over
		}
		// A delivery never reached this worker: the client ends a fetch
		// on its own timer, and a replicated consumer's messages may
		// arrive after it (a broker node lost, a slow quorum). Folding on
		// would skip that message, and the next checkpoint's ack (AckAll)
		// would settle it unseen: start again from the checkpoint instead.
		return fmt.Errorf("partition %d: %w: delivery %d came after %d (message at sequence %d); refolding from the checkpoint",
			w.p, errDeliveryGap, d, w.delivered, seq)
	}
	w.delivered = meta.Sequence.Consumer
	if meta.NumPending == 0 {
		w.caughtUp.Store(true)
	}
	w.last = msg
	w.since++ // even a skipped message must be acked at the next checkpoint
	if seq <= w.cp.Seq {
		return nil // already folded into the checkpoint
	}

	mctx, span := w.tracer.Start(telemetry.Extract(ctx, msg.Headers()), "aggregator.process",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.Int("flowline.partition", int(w.p)), attribute.Int64("messaging.message.sequence", int64(seq))))
	defer span.End()

	bctx, cancel := context.WithTimeout(mctx, w.cfg.PublishTimeout.D())
	data, err := w.payloads.Body(bctx, msg.Headers(), msg.Data())
	cancel()
	if errors.Is(err, stream.ErrPayloadMissing) {
		w.cp.Seq = seq
		return w.deadLetter(mctx, stream.DeadLetter{Reason: "record message body is gone: " + err.Error(), Class: stream.ClassBodyMissing, Header: stream.FailedMessageHeader(msg.Headers())}, seq)
	}
	if err != nil {
		return w.stalled(ctx, fmt.Errorf("partition %d: body of the message at sequence %d: %w", w.p, seq, err))
	}
	w.cp.Seq = seq

	var batch recordv1.RecordBatch
	// Decoded in place: the records' strings alias data (see detach.go).
	if err := batch.UnmarshalVTUnsafe(data); err != nil { // generated, reflection-free: the aggregator's hottest call
		// The body goes with the dead letter (a large one into an object of
		// its own, living as long as the dead letter).
		dl := stream.DeadLetter{Reason: "message is not a flowline.record.v1.RecordBatch: " + err.Error(), Class: stream.ClassUndecodable, Data: data, Header: stream.FailedMessageHeader(msg.Headers())}
		return w.deadLetter(mctx, dl, seq)
	}
	if dlqSeq, ok := stream.RedriveOf(msg.Headers()); ok { // records sent back by `flowline dlq redrive`: redrive.go
		return w.redrive(mctx, &batch, seq, dlqSeq)
	}
	f := newRecordFolder(mctx, w.cp.State, w.defs, w.log, w.cfg.Schema)
	f.ch.reserve(len(batch.Records))
	for _, r := range batch.Records {
		if reason := recordProblem(r, w.p); reason != "" {
			if err := w.deadLetterRecord(mctx, r, seq, stream.ClassRecord, reason, nil); err != nil {
				return err
			}
			continue
		}
		if err := f.apply(r); err != nil {
			return fmt.Errorf("partition %d: record at position %d: %w", w.p, r.Position, err)
		}
	}
	w.metrics.records.WithLabelValues(w.partitionLabel()).Add(float64(len(batch.Records)))
	for vt, n := range f.ignored {
		w.metrics.countIgnored(vt, n)
	}
	if len(f.ch.order) == 0 {
		return nil
	}
	docs, bad := f.documents(w.p)
	return w.emit(mctx, &batch, seq, docs, bad, "")
}

// emit publishes the documents rendered from the record message batch at
// seq, after dead-lettering, one by one, those that cannot be published:
// bad (not renderable) and any over MaxDocumentBytes. idSuffix is appended
// to the document messages' ids (a redrive's, so that its documents are
// never deduplicated against the original message's).
func (w *worker) emit(ctx context.Context, batch *recordv1.RecordBatch, seq uint64, docs []*recordv1.Document, bad []unrendered, idSuffix string) error {
	for _, u := range bad {
		if err := w.deadLetterDocument(ctx, batch, seq, u.changed, stream.ClassUnrenderable, "cannot render document: "+u.err.Error()); err != nil {
			return err
		}
	}
	fitting := docs[:0]
	for _, d := range docs {
		if len(d.Source) > w.cfg.MaxDocumentBytes.Int() {
			ch := changed{changeKey: changeKey{schema.Family(d.Family), d.Id}, position: d.Version, timestamp: d.RecordTimestamp}
			reason := fmt.Sprintf("document of %d bytes exceeds FLOWLINE_AGGREGATOR_MAX_DOCUMENT_BYTES (%d)", len(d.Source), w.cfg.MaxDocumentBytes)
			if err := w.deadLetterDocument(ctx, batch, seq, ch, stream.ClassTooLarge, reason); err != nil {
				return err
			}
			continue
		}
		fitting = append(fitting, d)
	}
	if len(fitting) == 0 {
		return nil
	}
	return w.publish(ctx, batch.Records[0].Position, batch.Records[len(batch.Records)-1].Position, fitting, idSuffix)
}

// publish sends the documents of one record message (positions
// first..last) asynchronously; the next checkpoint waits for the broker's
// confirmation. The documents are cut into batches of at most the inline
// limit: one message each, with the ids doc-<p>-<first>-<last>-<part> when
// there are several. Every part carries first as its first position, which
// is no higher than any of its documents' versions (the archiver bounds its
// safe position by it). A document alone above the inline limit travels as
// an object (stream.Payloads).
func (w *worker) publish(ctx context.Context, first, last int64, docs []*recordv1.Document, idSuffix string) error {
	parts := wire.CutDocuments(docs, w.payloads.InlineLimit())
	for i, part := range parts {
		data, err := (&recordv1.DocumentBatch{PartitionId: w.p, FirstPosition: first, LastPosition: last, Documents: part}).MarshalVT()
		if err != nil {
			return fmt.Errorf("partition %d: encode documents: %w", w.p, err)
		}
		m := stream.DocsMsg(w.p, first, last, data)
		id := m.Header.Get(nats.MsgIdHdr) + idSuffix
		if len(parts) > 1 {
			id += "-" + strconv.Itoa(i)
		}
		m.Header.Set(nats.MsgIdHdr, id)
		telemetry.Inject(ctx, m.Header)
		if err := w.owner(); err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
		err = w.payloads.Prepare(pctx, m)
		cancel()
		if err != nil {
			return w.stalled(ctx, fmt.Errorf("partition %d: publish documents: %w", w.p, err))
		}
		f, err := w.js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("partition %d: publish documents: %w", w.p, err)
		}
		w.pending = append(w.pending, f)
		w.metrics.documents.WithLabelValues(w.partitionLabel()).Add(float64(len(part)))
	}
	return nil
}

// owner returns an error wrapping lease.ErrNotHeld once this replica no
// longer holds the partition's lease: nothing may be published then, so
// that a late batch never lands behind the next owner's.
func (w *worker) owner() error {
	if !w.holds(w.p) {
		return fmt.Errorf("partition %d: not publishing: %w", w.p, lease.ErrNotHeld)
	}
	return nil
}

// stalled turns err into a give-up (wrapping lease.ErrGiveUp) when it
// says that a broker wait, retries included, ran out of its time while the
// worker was meant to go on (ctx is not done). Other errors are returned as
// they are: the round is retried from the checkpoint with backoff.
func (w *worker) stalled(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, lease.ErrNotHeld) {
		return err
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		return err
	}
	return fmt.Errorf("%w: %w (no progress within FLOWLINE_AGGREGATOR_PUBLISH_TIMEOUT=%s)", lease.ErrGiveUp, err, w.cfg.PublishTimeout)
}

// checkpoint waits until every document published since the last checkpoint
// is stored (re-publishing any that failed, with the same message id), saves
// the state, and acks the records up to the last processed one. Each step
// is bounded by PublishTimeout (the save, by that plus the time its
// snapshot's size may take to upload).
func (w *worker) checkpoint(ctx context.Context) error {
	if err := w.confirm(ctx); err != nil {
		return err
	}
	if err := w.owner(); err != nil { // the lease ended: the state must not be saved
		return err
	}
	start := time.Now()
	save, err := w.checkpoints.begin(w.cp)
	if err != nil {
		return err
	}
	// The snapshot is uploaded once, each attempt bounded by the time its
	// size may take (uploadTimeout), and then only the pointer update is
	// tried again, each attempt bounded by AttemptTimeout: an answer lost
	// with a server that died costs that, not PublishTimeout, which
	// bounds the save beyond the upload's own time.
	upload := w.cfg.uploadTimeout(save.size())
	sctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D()+upload-2*w.cfg.AttemptTimeout())
	err = retry(sctx, w.log, func(ctx context.Context) error {
		if err := w.owner(); err != nil { // the lease may have ended while retrying
			return backoff.Permanent(err)
		}
		uctx, cancel := context.WithTimeout(ctx, upload)
		err := w.checkpoints.upload(uctx, save)
		cancel()
		if err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout())
		defer cancel()
		err = w.checkpoints.point(actx, save)
		if errors.Is(err, lease.ErrNotHeld) {
			return backoff.Permanent(err)
		}
		return err
	})
	cancel()
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.AttemptTimeout())
		w.checkpoints.abandon(actx, save)
		cancel()
		return w.stalled(ctx, err)
	}
	w.metrics.checkpoint.Observe(time.Since(start).Seconds())
	if w.last != nil {
		if err := w.last.Ack(); err != nil {
			return fmt.Errorf("partition %d: ack records: %w", w.p, err)
		}
		w.last = nil
	}
	w.since, w.lastSave = 0, time.Now()
	if w.progressed != nil {
		w.progressed(w.p)
	}
	return nil
}

// confirm waits for the broker to confirm the pending publishes, oldest
// first, re-publishing (synchronously, same message id) one that failed or
// timed out, until PublishTimeout has passed.
func (w *worker) confirm(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	defer cancel()
	for len(w.pending) > 0 {
		f := w.pending[0]
		select {
		case <-f.Ok():
		case err := <-f.Err():
			w.log.WarnContext(ctx, "document publish failed, retrying", "error", err)
			if err := retry(cctx, w.log, func(ctx context.Context) error {
				if err := w.owner(); err != nil {
					return backoff.Permanent(err)
				}
				actx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout())
				defer cancel()
				_, err := w.js.PublishMsg(actx, f.Msg())
				return err
			}); err != nil {
				return w.stalled(ctx, fmt.Errorf("partition %d: document messages not confirmed by the broker: %w", w.p, err))
			}
		case <-cctx.Done():
			return w.stalled(ctx, fmt.Errorf("partition %d: %d document messages not confirmed by the broker: %w", w.p, len(w.pending), cctx.Err()))
		}
		w.pending = w.pending[1:]
	}
	w.pending = nil
	return nil
}

// deadLetter stores a dead letter of the record message at seq on the
// dead-letter stream, bounded by PublishTimeout; a body over the inline
// limit goes into an object (stream.Payloads) that the dead letter
// references.
func (w *worker) deadLetter(ctx context.Context, dl stream.DeadLetter, seq uint64) error {
	dl.Service, dl.Subject, dl.Sequence = "aggregator", stream.RecordsSubject(w.p), seq
	w.log.ErrorContext(ctx, "dead-lettering", "stream_seq", seq, "reason", dl.Reason,
		"family", dl.Header.Get(stream.HeaderDLQFamily), "id", dl.Header.Get(stream.HeaderDLQID))
	w.metrics.deadLetters.WithLabelValues(dl.Class).Inc()
	rctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	defer cancel()
	err := retry(rctx, w.log, func(ctx context.Context) error {
		if err := w.owner(); err != nil {
			return backoff.Permanent(err)
		}
		actx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout())
		defer cancel()
		return stream.PublishDeadLetter(actx, w.payloads.Publisher(w.js), dl)
	})
	if err != nil {
		return w.stalled(ctx, fmt.Errorf("partition %d: %w", w.p, err))
	}
	return nil
}

// deadLetterRecord sends one record (as a one-record batch) to the
// dead-letter stream, with header h.
func (w *worker) deadLetterRecord(ctx context.Context, r *recordv1.Record, seq uint64, class, reason string, h nats.Header) error {
	data, err := (&recordv1.RecordBatch{Records: []*recordv1.Record{r}}).MarshalVT()
	if err != nil {
		return fmt.Errorf("partition %d: encode record at position %d: %w", w.p, r.Position, err)
	}
	return w.deadLetter(ctx, stream.DeadLetter{Reason: reason, Class: class, Data: data, Header: h}, seq)
}

// deadLetterDocument dead-letters one document of the record message at
// seq that cannot be published: the dead letter names its family, id and
// position (headers) and carries the record that shaped it last.
func (w *worker) deadLetterDocument(ctx context.Context, batch *recordv1.RecordBatch, seq uint64, ch changed, class, reason string) error {
	h := nats.Header{}
	h.Set(stream.HeaderDLQFamily, string(ch.family))
	h.Set(stream.HeaderDLQID, ch.id)
	pos := strconv.FormatInt(ch.position, 10)
	h.Set(stream.HeaderFirstPosition, pos)
	h.Set(stream.HeaderLastPosition, pos)
	reason = fmt.Sprintf("%s document %s of partition %d (record position %d): %s", ch.family, ch.id, w.p, ch.position, reason)
	for _, r := range batch.Records {
		if r.Position == ch.position {
			return w.deadLetterRecord(ctx, r, seq, class, reason, h)
		}
	}
	return w.deadLetter(ctx, stream.DeadLetter{Reason: reason, Class: class, Header: h}, seq)
}

// partitionLabel is the partition as a metric label.
func (w *worker) partitionLabel() string { return strconv.Itoa(int(w.p)) }
