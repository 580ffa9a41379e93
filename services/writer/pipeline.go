package writer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/pkg/backoff"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/telemetry"
)

// doc is one document to index, with what the metrics need.
type doc struct {
	op        search.Op
	partition int32
	timestamp int64 // record timestamp, epoch ms
}

// gathered is one bulk's worth of messages and their documents, newest
// version per (index, id).
type gathered struct {
	msgs  []jetstream.Msg
	spans []trace.Span
	docs  []doc
	at    map[[2]string]int // (index, id) -> position in docs
	bytes int
}

func (g *gathered) add(d doc) {
	k := [2]string{d.op.Index, d.op.ID}
	if i, ok := g.at[k]; ok {
		if d.op.Version > g.docs[i].op.Version {
			g.docs[i] = d
		}
		return
	}
	g.at[k] = len(g.docs)
	g.docs = append(g.docs, d)
}

// pipeline repeatedly gathers document messages, writes them and acks them,
// until ctx is cancelled.
func (s *Service) pipeline(ctx context.Context) error {
	fetchBackoff := backoff.New(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		g, caughtUp, err := s.gather(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d := fetchBackoff.Next()
			s.log.Warn("fetching documents failed, retrying", "error", err, "retry_in", d)
			backoff.Sleep(ctx, d)
			continue
		}
		fetchBackoff.Reset()
		if caughtUp {
			s.ready.Met("caught up")
		}
		if len(g.msgs) == 0 {
			continue
		}
		s.flush(ctx, g)
	}
	return nil
}

// gather fetches up to FetchMessages messages (waiting at most
// FlushInterval) and decodes their documents. Undecodable messages are
// dead-lettered and acked here.
func (s *Service) gather(ctx context.Context) (*gathered, bool, error) {
	batch, err := s.cons.Fetch(s.cfg.FetchMessages, jetstream.FetchMaxWait(s.cfg.FlushInterval))
	if err != nil {
		return nil, false, err
	}
	g := &gathered{at: map[[2]string]int{}}
	caughtUp := false
	for msg := range batch.Messages() {
		if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 {
			caughtUp = true
		}
		mctx, span := s.tracer.Start(telemetry.Extract(ctx, msg.Headers()), "writer.index",
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("messaging.destination.name", msg.Subject())))
		var b recordv1.DocumentBatch
		if err := proto.Unmarshal(msg.Data(), &b); err != nil {
			s.deadLetterMessage(mctx, msg, "message is not a flowline.record.v1.DocumentBatch: "+err.Error())
			span.SetStatus(codes.Error, "undecodable")
			span.End()
			continue
		}
		for _, d := range b.Documents {
			g.add(doc{
				op:        search.Op{Index: s.indexOf(d.Family), ID: d.Id, Version: d.Version, Source: d.Source},
				partition: d.PartitionId, timestamp: d.RecordTimestamp,
			})
		}
		g.msgs = append(g.msgs, msg)
		g.spans = append(g.spans, span)
		g.bytes += len(msg.Data())
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		if len(g.msgs) == 0 {
			return nil, false, err
		}
		s.log.Warn("fetch ended early", "error", err) // write what arrived
	}
	if len(g.msgs) == 0 && (batch.Error() == nil || errors.Is(batch.Error(), nats.ErrTimeout)) {
		caughtUp = true
	}
	return g, caughtUp, nil
}

// indexOf maps a family to its runtime index; unknown families map to ""
// and are dead-lettered by write.
func (s *Service) indexOf(family string) string {
	if !schema.Known(schema.Family(family)) {
		return ""
	}
	return schema.RuntimeIndex(s.cfg.Index.Prefix, schema.Family(family))
}

// flush writes g's documents and acks its messages. If ctx ends first, the
// messages are nak'ed so that another writer takes them at once.
func (s *Service) flush(ctx context.Context, g *gathered) {
	s.metrics.inFlight.Add(float64(g.bytes))
	defer s.metrics.inFlight.Sub(float64(g.bytes))

	stop := s.keepAlive(g.msgs)
	err := s.write(ctx, g.docs)
	stop()
	for i, msg := range g.msgs {
		if err != nil {
			_ = msg.Nak()
			g.spans[i].SetStatus(codes.Error, err.Error())
		} else if aerr := msg.Ack(); aerr != nil {
			s.log.Warn("ack failed; the message will be redelivered and rewritten harmlessly", "error", aerr)
		}
		g.spans[i].End()
	}
}

// keepAlive marks msgs in progress every third of AckWait until stopped,
// so a slow or retrying bulk does not get its messages redelivered.
func (s *Service) keepAlive(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done) }
}

// write indexes docs until every one is done, stale or dead-lettered,
// retrying 429/5xx items and unavailable clusters with backoff. It returns
// an error only when ctx ends first.
func (s *Service) write(ctx context.Context, docs []doc) error {
	b := backoff.New(100*time.Millisecond, 30*time.Second)
	pending := docs[:0:0]
	for _, d := range docs {
		if d.op.Index == "" {
			s.deadLetterDoc(ctx, d, "unknown document family (no index for it in this writer's schema)")
			continue
		}
		pending = append(pending, d)
	}
	for len(pending) > 0 {
		retry, err := s.attempt(ctx, pending)
		if len(retry) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.metrics.retries.Inc()
		d := b.Next()
		if err != nil {
			s.log.Warn("Elasticsearch unavailable, retrying bulk", "error", err, "documents", len(retry), "retry_in", d)
		} else {
			s.log.Warn("Elasticsearch pushed back on some documents, retrying them", "documents", len(retry), "retry_in", d)
		}
		if !backoff.Sleep(ctx, d) {
			return ctx.Err()
		}
		pending = retry
	}
	return nil
}

// attempt sends docs in one bulk request (split in halves when it is too
// large or rejected as a whole) and returns the documents to retry.
func (s *Service) attempt(ctx context.Context, docs []doc) ([]doc, error) {
	ops := make([]search.Op, len(docs))
	size := 0
	for i, d := range docs {
		ops[i] = d.op
		size += len(d.op.Source) + len(d.op.ID) + 100
	}
	start := time.Now()
	results, err := search.Bulk(ctx, s.es, ops)
	s.metrics.bulkRequests.Inc()
	s.metrics.bulkBytes.Add(float64(size))
	s.metrics.bulkSeconds.Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
	case errors.Is(err, search.ErrUnavailable):
		return docs, err
	case len(docs) > 1: // too large, or one bad document spoiled the request
		half := len(docs) / 2
		r1, err1 := s.attempt(ctx, docs[:half])
		r2, err2 := s.attempt(ctx, docs[half:])
		return append(r1, r2...), errors.Join(err1, err2)
	default:
		s.deadLetterDoc(ctx, docs[0], err.Error())
		return nil, nil
	}
	var retry []doc
	now := time.Now()
	for i, r := range results {
		s.metrics.items.WithLabelValues(r.Outcome.String()).Inc()
		switch r.Outcome {
		case search.Done:
			s.metrics.lag.WithLabelValues(strconv.Itoa(int(docs[i].partition))).
				Observe(now.Sub(time.UnixMilli(docs[i].timestamp)).Seconds())
		case search.Stale:
		case search.Retry:
			retry = append(retry, docs[i])
		case search.Rejected:
			if !s.deadLetterDoc(ctx, docs[i], fmt.Sprintf("HTTP %d: %s", r.Status, r.Reason)) {
				retry = append(retry, docs[i])
			}
		}
	}
	return retry, nil
}

// deadLetterDoc stores a document Elasticsearch will not take on the
// dead-letter stream with its index, id and reason, and reports whether it
// was stored (if not, the caller keeps the document pending).
func (s *Service) deadLetterDoc(ctx context.Context, d doc, reason string) bool {
	h := nats.Header{}
	h.Set(stream.HeaderDLQIndex, d.op.Index)
	h.Set(stream.HeaderDLQID, d.op.ID)
	err := stream.PublishDeadLetter(ctx, s.js, stream.DeadLetter{Service: "writer", Reason: reason, Data: d.op.Source, Header: h})
	if err != nil {
		s.log.Warn("dead-lettering a document failed; it stays pending", "index", d.op.Index, "id", d.op.ID, "error", err)
		return false
	}
	s.metrics.deadLetters.Inc()
	s.log.Error("document rejected by Elasticsearch, dead-lettered", "index", d.op.Index, "id", d.op.ID, "reason", reason)
	return true
}

// deadLetterMessage dead-letters an undecodable message and acks it; if the
// dead letter cannot be stored the message is left for redelivery.
func (s *Service) deadLetterMessage(ctx context.Context, msg jetstream.Msg, reason string) {
	var seq uint64
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
	}
	err := stream.PublishDeadLetter(ctx, s.js, stream.DeadLetter{Service: "writer", Reason: reason, Data: msg.Data(), Subject: msg.Subject(), Sequence: seq})
	if err != nil {
		s.log.Warn("dead-lettering a message failed; it will be redelivered", "error", err)
		_ = msg.Nak()
		return
	}
	s.metrics.deadLetters.Inc()
	s.log.Error("undecodable document message dead-lettered", "subject", msg.Subject(), "seq", seq, "reason", reason)
	_ = msg.Ack()
}
