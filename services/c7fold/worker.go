package c7fold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/lease"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/wire"
)

// deadLetterService names the fold's dead-letter subject
// (flowline.dlq.c7-fold).
const deadLetterService = "c7-fold"

// worker folds one source's pages while this replica holds the source's
// lease: its rounds run on the lease's goroutine, one at a time; nothing
// else touches it.
type worker struct {
	source   string
	cfg      Config
	js       jetstream.JetStream
	payloads *stream.Payloads
	kv       jetstream.KeyValue
	holds    func() bool
	metrics  *metrics
	log      *slog.Logger

	cons   jetstream.Consumer
	states *stateStore
	render renderer
}

// fetchMaxBytes bounds one fetch of page messages, counted at the largest
// a page message can be (the payloads' inline limit; larger bodies travel
// by reference): half the server's 64 MiB pending limit for a client,
// past which it closes the connection and the pages wait out the ack wait.
const fetchMaxBytes = 32 << 20

// fetchHeaderBytes is room for a page message's headers.
const fetchHeaderBytes = 16 << 10

// fetchCount is how many page messages one fetch asks for: batch, or fewer
// when that many messages of the largest size (inline bytes) would pass
// fetchMaxBytes; at least one.
func fetchCount(batch, inline int) int {
	return min(batch, max(1, fetchMaxBytes/(inline+fetchHeaderBytes)))
}

// ConsumerName is the durable consumer of a source's pages on
// FLOWLINE_C7.
func ConsumerName(source string) string { return "c7fold-" + source }

// round folds the next batch of page messages: Busy when the batch was
// full, Progress after a smaller one, Idle when none waited.
func (w *worker) round(ctx context.Context) (lease.Outcome, error) {
	if w.cons == nil {
		cons, err := w.js.CreateOrUpdateConsumer(ctx, stream.C7Stream, jetstream.ConsumerConfig{
			Durable: ConsumerName(w.source), FilterSubject: stream.C7SourceSubjects(w.source),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: w.cfg.AckWait.D(), MaxAckPending: -1,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			return lease.Idle, fmt.Errorf("c7 fold: consumer of source %s: %w", w.source, err)
		}
		states, err := newStateStore(ctx, w.js, w.kv, w.source, w.cfg.CacheInstances)
		if err != nil {
			return lease.Idle, err
		}
		w.cons, w.states = cons, states
		w.render = renderer{source: w.source}
	}
	// Bounded by bytes too, at the largest message: pages run to megabytes.
	// Not with FetchMaxBytes, which on a replicated stream loses
	// deliveries (see stream.FetchSizer).
	want := fetchCount(w.cfg.FetchBatch, w.payloads.InlineLimit())
	batch, err := w.cons.Fetch(want, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			w.cons = nil // created again next round
		}
		return lease.Idle, fmt.Errorf("c7 fold: fetch pages of source %s: %w", w.source, err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(msgs) == 0 {
		return lease.Idle, fmt.Errorf("c7 fold: fetch pages of source %s: %w", w.source, err)
	}
	if len(msgs) == 0 {
		return lease.Idle, nil
	}
	if err := w.fold(ctx, msgs); err != nil {
		// The stored states are the truth; the batch is delivered again
		// (now, not after the ack wait), and the next fetch cannot ack it
		// by acking a later page: every page is acked on its own.
		w.states.forget()
		for _, m := range msgs {
			_ = m.Nak()
		}
		if errors.Is(err, errStateConflict) {
			return lease.Idle, fmt.Errorf("%w: %w", lease.ErrNotHeld, err)
		}
		return lease.Idle, err
	}
	if len(msgs) == want {
		return lease.Busy, nil
	}
	return lease.Progress, nil
}

// fold folds msgs (in stream order) into the source's states, stores every
// state they touched, publishes the documents they touched and acks the
// messages: all or nothing, as the next delivery folds them again.
func (w *worker) fold(ctx context.Context, msgs []jetstream.Msg) error {
	states := map[string]*cached{}
	touches := map[string]*touched{}
	var docs []doc
	var getErr error
	get := func(id string) *instanceState {
		if c, ok := states[id]; ok {
			return c.st
		}
		c, err := w.states.get(ctx, id)
		if err != nil {
			getErr = err
			c = &cached{st: &instanceState{}}
		}
		states[id] = c
		return c.st
	}
	touch := func(id string) *touched {
		t := touches[id]
		if t == nil {
			t = &touched{}
			touches[id] = t
		}
		return t
	}
	newest := int64(0) // the newest entity's timestamp: the documents' source time
	for _, m := range msgs {
		if t, err := strconv.ParseInt(m.Headers().Get(stream.HeaderC7LastTime), 10, 64); err == nil {
			newest = max(newest, t)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("c7 fold: page metadata: %w", err)
		}
		seq := meta.Sequence.Stream
		kind, ok := c7.KindNamed(m.Headers().Get(stream.HeaderC7Kind))
		if !ok {
			if err := w.deadLetter(ctx, m.Data(), m, seq, stream.ClassUndecodable, fmt.Sprintf("page of source %s has no known kind (%s %q)", w.source, stream.HeaderC7Kind, m.Headers().Get(stream.HeaderC7Kind))); err != nil {
				return err
			}
			continue
		}
		body, err := w.payloads.Body(ctx, m.Headers(), m.Data())
		if errors.Is(err, stream.ErrPayloadMissing) {
			if err := w.deadLetter(ctx, nil, m, seq, stream.ClassBodyMissing, fmt.Sprintf("%s page of source %s: %v", kind.Name, w.source, err)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		var ents []json.RawMessage
		if err := json.Unmarshal(body, &ents); err != nil {
			if err := w.deadLetter(ctx, body, m, seq, stream.ClassUndecodable, fmt.Sprintf("%s page of source %s is not a JSON array: %v", kind.Name, w.source, err)); err != nil {
				return err
			}
			continue
		}
		a := applier{kind: kind, seq: seq, get: get, touch: touch}
		for _, raw := range ents {
			result, reason := "folded", ""
			switch kind.Name {
			case c7.Deployment.Name:
				var d deployment
				if err := decode(raw, &d); err != nil {
					reason = err.Error()
					break
				}
				docs = append(docs, w.render.definitionDocs(d, int64(seq))...)
			case c7.DecisionInstance.Name:
				var e decisionInstance
				if err := decode(raw, &e); err != nil {
					reason = err.Error()
					break
				}
				docs = append(docs, w.render.decisionDoc(e, int64(seq)))
			default:
				switch err := a.apply(raw); {
				case errors.Is(err, errNoInstance), errors.Is(err, errNotImported):
					result = "ignored"
				case err != nil:
					reason = err.Error()
				}
			}
			if getErr != nil {
				return getErr
			}
			if reason != "" {
				result = "dead_lettered"
				if err := w.deadLetter(ctx, raw, m, seq, stream.ClassEntity, fmt.Sprintf("%s entity of source %s: %s", kind.Name, w.source, reason)); err != nil {
					return err
				}
			}
			w.metrics.entities.WithLabelValues(kind.Name, result).Inc()
		}
	}

	ids := make([]string, 0, len(touches))
	for id := range touches {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	toStore := make([]*cached, 0, len(ids))
	for _, id := range ids {
		toStore = append(toStore, states[id])
	}
	if !w.holds() {
		return lease.ErrNotHeld
	}
	sctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	tooLarge, err := w.states.putAll(sctx, toStore, w.payloads.InlineLimit())
	cancel()
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	first, _ := msgs[0].Metadata()
	last, _ := msgs[len(msgs)-1].Metadata()
	for _, i := range tooLarge {
		// One instance whose history no longer fits a message must not
		// hold up the source: what this batch brought it is not folded,
		// and says so.
		skip[ids[i]] = true
		reason := fmt.Sprintf("process instance %s of source %s: its state no longer fits a message (%v, limit %d bytes); what pages %d..%d brought it is not folded",
			ids[i], w.source, errStateTooLarge, w.payloads.InlineLimit(), first.Sequence.Stream, last.Sequence.Stream)
		if err := w.deadLetter(ctx, nil, msgs[0], 0, stream.ClassTooLarge, reason); err != nil {
			return err
		}
	}
	w.metrics.states.Add(float64(len(toStore) - len(tooLarge)))
	for _, id := range ids {
		if skip[id] {
			continue
		}
		c := states[id]
		docs = append(docs, w.render.instanceDocs(c.st, touches[id], int64(c.rev))...)
	}
	if err := w.publish(ctx, msgs, docs, newest); err != nil {
		return err
	}
	// Every page on its own: an ack covers that page only. The last one
	// waits for the broker, which has then seen the others too.
	for _, m := range msgs[:len(msgs)-1] {
		if err := m.Ack(); err != nil {
			return fmt.Errorf("c7 fold: ack pages of source %s: %w", w.source, err)
		}
	}
	actx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	defer cancel()
	if err := msgs[len(msgs)-1].DoubleAck(actx); err != nil {
		return fmt.Errorf("c7 fold: ack pages of source %s: %w", w.source, err)
	}
	w.metrics.messages.Add(float64(len(msgs)))
	return nil
}

// publish renders docs and publishes them on the source's documents
// subject, in batches within the inline limit (a larger document by
// reference), and waits for the broker to confirm them all. newest (epoch
// ms) is their source time, from which the writer measures its lag.
func (w *worker) publish(ctx context.Context, msgs []jetstream.Msg, docs []doc, newest int64) error {
	if len(docs) == 0 {
		return nil
	}
	out := make([]*recordv1.Document, 0, len(docs))
	for _, d := range docs {
		src, err := schema.Encode(d.source)
		if err != nil {
			reason := fmt.Sprintf("%s document %s of source %s does not render: %v", d.family, d.id, w.source, err)
			if err := w.deadLetter(ctx, nil, msgs[0], 0, stream.ClassUnrenderable, reason); err != nil {
				return err
			}
			continue
		}
		out = append(out, &recordv1.Document{
			Family: string(d.family), Id: d.id, Version: d.version, Source: src, PartitionId: -1, RecordTimestamp: newest,
		})
		w.metrics.documents.WithLabelValues(string(d.family)).Inc()
	}
	pctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	defer cancel()
	var futures []jetstream.PubAckFuture
	for _, part := range wire.CutDocuments(out, w.payloads.InlineLimit()) {
		data, err := (&recordv1.DocumentBatch{PartitionId: -1, Documents: part}).MarshalVT()
		if err != nil {
			return fmt.Errorf("c7 fold: encode documents: %w", err)
		}
		m := &nats.Msg{Subject: stream.C7DocsSubject(w.source), Data: data, Header: nats.Header{}}
		m.Header.Set(stream.HeaderC7Source, w.source)
		if err := w.payloads.Prepare(pctx, m); err != nil {
			return fmt.Errorf("c7 fold: publish documents: %w", err)
		}
		if !w.holds() {
			return lease.ErrNotHeld
		}
		f, err := w.js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("c7 fold: publish documents: %w", err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("c7 fold: publish documents: %w", err)
		case <-pctx.Done():
			return fmt.Errorf("c7 fold: publish documents: %w", context.Cause(pctx))
		}
	}
	return nil
}

// deadLetter stores what of page message m (stream sequence seq) cannot be
// folded on flowline.dlq.c7-fold with reason: data (an entity, a page) when
// given, the message's headers, its subject and sequence.
func (w *worker) deadLetter(ctx context.Context, data []byte, m jetstream.Msg, seq uint64, class, reason string) error {
	w.log.Warn("dead-lettering what cannot be folded", "reason", reason)
	h := stream.FailedMessageHeader(m.Headers())
	pctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout.D())
	defer cancel()
	return stream.PublishDeadLetter(pctx, w.payloads.Publisher(w.js), stream.DeadLetter{
		Service: deadLetterService, Reason: reason, Class: class, Data: data, Partition: -1,
		Subject: m.Subject(), Sequence: seq, Header: h,
	})
}
