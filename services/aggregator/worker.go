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
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/pkg/lease"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/telemetry"
)

// worker aggregates one partition: it consumes the partition's records in
// stream order from a durable consumer, folds them into the partition state,
// publishes the changed documents, and checkpoints: documents confirmed by
// the broker, then state saved, then records acked (AckAll up to the last
// one). After a crash it resumes from the checkpoint; records between the
// checkpoint and the crash are delivered again and rebuild the same
// documents, which the writer's external versioning makes harmless.
// A worker is owned by one goroutine; its collaborators (the JetStream
// context, the checkpoint store, the definitions, the metrics) are shared
// with the other partitions' workers and safe for concurrent use.
type worker struct {
	p           int32
	cfg         Config
	js          jetstream.JetStream // binds the consumer, publishes documents and dead letters
	checkpoints jetstream.ObjectStore
	defs        *definitions
	holds       func(p int32) bool // this replica still holds p's lease
	metrics     *metrics
	tracer      trace.Tracer
	log         *slog.Logger

	cons     jetstream.Consumer
	cp       *checkpoint
	pending  []jetstream.PubAckFuture
	last     jetstream.Msg // newest processed message, not yet acked
	since    int           // messages processed since the last checkpoint
	lastSave time.Time
	caughtUp atomic.Bool
}

func (w *worker) consumerName() string { return w.cfg.ConsumerPrefix + "-" + strconv.Itoa(int(w.p)) }

// start loads the checkpoint and binds the durable consumer. A consumer that
// has delivered messages it never got acks for (a crash) is recreated to
// start right after the checkpoint, so nothing waits for AckWait to expire.
func (w *worker) start(ctx context.Context) error {
	cp, err := loadCheckpoint(ctx, w.checkpoints, w.p)
	if err != nil {
		return err
	}
	w.cp, w.pending, w.last, w.since, w.lastSave = cp, nil, nil, 0, time.Now()

	st, err := w.js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return fmt.Errorf("partition %d: %w", w.p, err)
	}
	name := w.consumerName()
	if c, err := st.Consumer(ctx, name); err == nil {
		info := c.CachedInfo()
		if info.Delivered.Stream <= info.AckFloor.Stream {
			w.cons = c
			return nil
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
		AckWait:       w.cfg.AckWait,
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
	w.cons = c
	return nil
}

// run processes the partition until ctx is cancelled (then it checkpoints
// what it has and returns nil) or a broker operation fails.
func (w *worker) run(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := w.cons.Fetch(w.cfg.FetchBatch, jetstream.FetchMaxWait(w.cfg.CheckpointInterval))
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
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			return fmt.Errorf("partition %d: fetch: %w", w.p, err)
		}
		if n == 0 {
			w.caughtUp.Store(true)
		}
		if w.since > 0 && (w.since >= w.cfg.CheckpointMessages || time.Since(w.lastSave) >= w.cfg.CheckpointInterval || n == 0) {
			if err := w.checkpoint(ctx); err != nil {
				return err
			}
		}
	}
	// Drain: confirm and checkpoint what was processed, with a fresh deadline.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if w.since > 0 && w.holds(w.p) {
		return w.checkpoint(dctx)
	}
	return nil
}

// handle folds one record message into the state and publishes the
// documents it changed.
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("partition %d: message metadata: %w", w.p, err)
	}
	seq := meta.Sequence.Stream
	if meta.NumPending == 0 {
		w.caughtUp.Store(true)
	}
	w.last = msg
	w.since++ // even a skipped message must be acked at the next checkpoint
	if seq <= w.cp.Seq {
		return nil // already folded into the checkpoint
	}
	w.cp.Seq = seq

	mctx, span := w.tracer.Start(telemetry.Extract(ctx, msg.Headers()), "aggregator.process",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.Int("flowline.partition", int(w.p)), attribute.Int64("messaging.message.sequence", int64(seq))))
	defer span.End()

	var batch recordv1.RecordBatch
	if err := batch.UnmarshalVT(msg.Data()); err != nil { // generated, reflection-free: the aggregator's hottest call
		return w.deadLetter(mctx, msg.Data(), seq, "message is not a flowline.record.v1.RecordBatch: "+err.Error())
	}
	f := newRecordFolder(mctx, w.cp.State, w.defs, w.log)
	for _, r := range batch.Records {
		if reason := recordProblem(r, w.p); reason != "" {
			if err := w.deadLetterRecord(mctx, r, seq, reason); err != nil {
				return err
			}
			continue
		}
		if err := f.apply(r); err != nil {
			return fmt.Errorf("partition %d: record at position %d: %w", w.p, r.Position, err)
		}
	}
	w.metrics.records.Add(float64(len(batch.Records)))
	for vt, n := range f.ignored {
		w.metrics.ignored.WithLabelValues(vt).Add(float64(n))
	}
	if len(f.ch.order) == 0 {
		return nil
	}
	docs, err := f.ch.documents(w.p)
	if err != nil {
		return w.deadLetter(mctx, msg.Data(), seq, "cannot render documents: "+err.Error())
	}
	return w.publish(mctx, batch.Records, docs)
}

// publish sends the documents of one record message asynchronously; the
// next checkpoint waits for the broker's confirmation.
func (w *worker) publish(ctx context.Context, records []*recordv1.Record, docs []*recordv1.Document) error {
	first, last := records[0].Position, records[len(records)-1].Position
	data, err := (&recordv1.DocumentBatch{PartitionId: w.p, FirstPosition: first, LastPosition: last, Documents: docs}).MarshalVT()
	if err != nil {
		return fmt.Errorf("partition %d: encode documents: %w", w.p, err)
	}
	m := stream.DocsMsg(w.p, first, last, data)
	telemetry.Inject(ctx, m.Header)
	f, err := w.js.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("partition %d: publish documents: %w", w.p, err)
	}
	w.pending = append(w.pending, f)
	w.metrics.documents.Add(float64(len(docs)))
	return nil
}

// checkpoint waits until every document published since the last checkpoint
// is stored (re-publishing any that failed, with the same message id), saves
// the state, and acks the records up to the last processed one.
func (w *worker) checkpoint(ctx context.Context) error {
	for _, f := range w.pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			w.log.WarnContext(ctx, "document publish failed, retrying", "error", err)
			if err := retry(ctx, w.log, func(ctx context.Context) error {
				_, err := w.js.PublishMsg(ctx, f.Msg())
				return err
			}); err != nil {
				return fmt.Errorf("partition %d: publish documents: %w", w.p, err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.pending = w.pending[:0]
	if !w.holds(w.p) { // the lease ended: the state must not be saved
		return fmt.Errorf("partition %d: not checkpointing: %w", w.p, lease.ErrNotHeld)
	}
	start := time.Now()
	if err := saveCheckpoint(ctx, w.checkpoints, w.cp); err != nil {
		return err
	}
	w.metrics.checkpoint.Observe(time.Since(start).Seconds())
	if w.last != nil {
		if err := w.last.Ack(); err != nil {
			return fmt.Errorf("partition %d: ack records: %w", w.p, err)
		}
		w.last = nil
	}
	w.since, w.lastSave = 0, time.Now()
	return nil
}

// deadLetter sends a whole record message to the dead-letter stream.
func (w *worker) deadLetter(ctx context.Context, data []byte, seq uint64, reason string) error {
	w.log.ErrorContext(ctx, "dead-lettering record message", "stream_seq", seq, "reason", reason)
	w.metrics.deadLetters.Inc()
	return retry(ctx, w.log, func(ctx context.Context) error {
		return stream.PublishDeadLetter(ctx, w.js, stream.DeadLetter{
			Service: "aggregator", Reason: reason, Data: data, Subject: stream.RecordsSubject(w.p), Sequence: seq,
		})
	})
}

// deadLetterRecord sends one record (as a one-record batch) to the
// dead-letter stream.
func (w *worker) deadLetterRecord(ctx context.Context, r *recordv1.Record, seq uint64, reason string) error {
	data, err := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{r}})
	if err != nil {
		return err
	}
	return w.deadLetter(ctx, data, seq, reason)
}
