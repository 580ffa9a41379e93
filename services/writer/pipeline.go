package writer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/telemetry"
)

// doc is one document to index, with what the metrics need.
type doc struct {
	op        search.Op
	family    uint8  // number in families; 0: unknown, op.Index is ""
	unknown   string // the family's name when it is unknown (0)
	partition int32
	timestamp int64  // record timestamp, epoch ms
	subject   string // of the documents message it came from: where a redrive sends it
	seq       uint64 // that message's stream sequence (0 unknown): with subject, the dead letter's identity
}

// fetchBatch is one fetch: its messages and their documents, newest
// version per (index, id), cut into bulks. Its messages are acked once
// every bulk is written (or nak'ed if one could not be before shutdown).
type fetchBatch struct {
	msgs  []jetstream.Msg
	spans []trace.Span // nil where the message's trace is not sampled
	docs  []doc
	at    map[docKey]int // position in docs
	bytes int            // of the messages, held in the in-flight budget

	pending   atomic.Int32 // bulks not yet written
	failed    atomic.Bool  // a bulk was given up (shutdown)
	stopAlive func()
}

// docKey is a document's identity within a fetch: its family (by number,
// or by name when the writer does not know it, so that unknown families do
// not collide) and its id.
type docKey struct {
	family  uint8
	unknown string
	id      string
}

func (f *fetchBatch) add(d doc) {
	k := docKey{d.family, d.unknown, d.op.ID}
	if i, ok := f.at[k]; ok {
		if d.op.Version > f.docs[i].op.Version {
			f.docs[i] = d
		}
		return
	}
	f.at[k] = len(f.docs)
	f.docs = append(f.docs, d)
}

// bulk is one bulk request's worth of a fetch's documents.
type bulk struct {
	fetch *fetchBatch
	docs  []doc
}

// fetch repeatedly fetches document messages while the in-flight byte
// budget allows, and hands their documents in bulks to the senders, until
// ctx is cancelled; it then closes bulks.
func (s *Service) fetch(ctx context.Context, bulks chan<- bulk) {
	defer close(bulks)
	fetchBackoff := backoff.New(200*time.Millisecond, 10*time.Second)
	pending := -1 // messages known to be waiting, from the last fetch
	var sizes stream.FetchSizer
	for ctx.Err() == nil {
		if !s.budget.take(ctx, s.fetchBytes) {
			return
		}
		// Ask for no more messages than are known to be waiting: the fetch
		// then returns as soon as they are here, rather than waiting
		// FlushInterval for messages that are not there. With none known
		// to be waiting, wait up to FlushInterval to fill a fetch. The
		// byte budget of a fetch bounds the count too (see gather).
		want := min(s.cfg.FetchMessages, sizes.Fit(s.fetchBytes))
		if pending > 0 {
			want = min(want, pending)
		}
		fb, p, err := s.gather(ctx, want, pending > 0)
		if err != nil {
			s.budget.give(s.fetchBytes)
			if ctx.Err() != nil {
				return
			}
			d := fetchBackoff.Next()
			s.log.Warn("fetching documents failed, retrying", "error", err, "retry_in", d)
			backoff.Sleep(ctx, d)
			continue
		}
		fetchBackoff.Reset()
		sizes.Observe(fb.bytes, len(fb.msgs))
		s.budget.give(s.fetchBytes - fb.bytes)
		if pending = p; pending == 0 {
			s.ready.Met("caught up")
		}
		if len(fb.msgs) == 0 {
			continue
		}
		s.metrics.inFlight.Add(float64(fb.bytes))
		parts := s.cut(fb.docs)
		if len(parts) == 0 { // messages without documents
			s.finish(fb)
			continue
		}
		fb.pending.Store(int32(len(parts)))
		fb.stopAlive = s.keepAlive(fb.msgs)
		for _, docs := range parts {
			bulks <- bulk{fetch: fb, docs: docs} // the senders drain bulks even after ctx ends
		}
	}
}

// send writes bulks until the channel is closed, acking each fetch's
// messages once all of its bulks are written.
func (s *Service) send(ctx context.Context, bulks <-chan bulk) {
	w := s.newSender()
	for b := range bulks {
		if !b.fetch.failed.Load() {
			if err := w.write(ctx, b.docs); err != nil {
				b.fetch.failed.Store(true)
			}
		}
		if b.fetch.pending.Add(-1) == 0 {
			s.finish(b.fetch)
		}
	}
}

// cut splits docs into bulks of at most BulkMaxDocs documents and about
// BulkMaxBytes bytes (a larger document goes alone), of even sizes.
func (s *Service) cut(docs []doc) [][]doc {
	if len(docs) == 0 {
		return nil
	}
	size := 0
	for _, d := range docs {
		size += search.OpSize(d.op)
	}
	parts := max((len(docs)+s.cfg.BulkMaxDocs-1)/s.cfg.BulkMaxDocs, (size+s.cfg.BulkMaxBytes.Int()-1)/s.cfg.BulkMaxBytes.Int())
	perPart := (len(docs) + parts - 1) / parts
	out := make([][]doc, 0, parts)
	for len(docs) > 0 {
		n, bytes := 0, 0
		for n < len(docs) && n < perPart {
			sz := search.OpSize(docs[n].op)
			if n > 0 && bytes+sz > s.cfg.BulkMaxBytes.Int() {
				break
			}
			bytes += sz
			n++
		}
		out = append(out, docs[:n:n])
		docs = docs[n:]
	}
	return out
}

// finish acks fb's messages, or naks them when a bulk was given up so that
// another writer takes them at once, and frees their in-flight bytes.
func (s *Service) finish(fb *fetchBatch) {
	if fb.stopAlive != nil {
		fb.stopAlive()
	}
	failed := fb.failed.Load()
	for i, msg := range fb.msgs {
		span := fb.spans[i]
		if failed {
			_ = msg.Nak()
			if span != nil {
				span.SetStatus(codes.Error, "not written before shutdown")
			}
		} else if stream.IsReference(msg.Headers()) {
			s.ackAndRelease(msg)
		} else if err := msg.Ack(); err != nil {
			s.log.Warn("ack failed; the message will be redelivered and rewritten harmlessly", "error", err)
		}
		if span != nil {
			span.End()
		}
	}
	s.metrics.inFlight.Sub(float64(fb.bytes))
	s.budget.give(fb.bytes)
}

// ackAndRelease acks a written message whose body is held in an object,
// waiting for the broker to confirm the ack, and only then deletes the
// object: a message redelivered after a lost ack still finds its body.
func (s *Service) ackAndRelease(msg jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.AckWait.D())
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		s.log.Warn("ack failed; the message will be redelivered and rewritten harmlessly", "error", err)
		return
	}
	if err := s.payloads.Release(ctx, msg.Headers()); err != nil {
		s.log.Warn("releasing a written document message's body failed; it expires with the payload bucket's TTL", "error", err)
	}
}

// budget is the in-flight byte budget: the fetcher takes a fetch's worth
// before fetching and the bytes come back when the fetch is acked.
type budget struct {
	mu   sync.Mutex
	free int
	wake chan struct{} // one waiter: the fetcher
}

func newBudget(n int) *budget { return &budget{free: n, wake: make(chan struct{}, 1)} }

// take waits until n bytes are free and takes them; false if ctx ends first.
func (b *budget) take(ctx context.Context, n int) bool {
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-ctx.Done():
			return false
		}
	}
}

func (b *budget) give(n int) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// gather fetches up to want messages, waiting at most
// FlushInterval for them, and decodes their documents; it also returns how
// many messages were pending after the last one (-1: unknown). Undecodable
// messages are dead-lettered and acked here. If the messages are expected
// to come (they are known to be waiting), room for their documents is made
// at once.
func (s *Service) gather(ctx context.Context, want int, expected bool) (*fetchBatch, int, error) {
	// No FetchMaxBytes (see stream.FetchSizer): the caller sizes want to
	// the byte budget.
	batch, err := s.cons.Fetch(want, jetstream.FetchMaxWait(s.cfg.FlushInterval.D()))
	if err != nil {
		return nil, -1, err
	}
	fb := &fetchBatch{at: map[docKey]int{}}
	pending := -1
	var docs []doc // of one message
	for msg := range batch.Messages() {
		var seq uint64
		if meta, err := msg.Metadata(); err == nil {
			pending, seq = int(meta.NumPending), meta.Sequence.Stream
		}
		mctx, span := s.startSpan(ctx, msg)
		body, err := s.payloads.Body(mctx, msg.Headers(), msg.Data())
		if err != nil && !errors.Is(err, stream.ErrPayloadMissing) {
			s.log.Warn("reading a document message's body failed; it will be redelivered", "error", err)
			_ = msg.Nak()
			if span != nil {
				span.End()
			}
			continue
		}
		class := stream.ClassUndecodable
		if err != nil {
			body, err, class = nil, fmt.Errorf("message body is gone: %w", err), stream.ClassBodyMissing
		} else if docs, err = decodeDocuments(body, msg.Subject(), seq, s.families, docs[:0]); err != nil {
			err = fmt.Errorf("message is not a readable flowline.record.v1.DocumentBatch: %w", err)
		}
		if err != nil {
			s.deadLetterMessage(mctx, msg, body, class, err.Error())
			if span != nil {
				span.SetStatus(codes.Error, "undecodable")
				span.End()
			}
			continue
		}
		if expected && fb.docs == nil {
			n := min(len(docs)*min(want, s.fetchBytes/max(len(body), 1)+1), 1<<16)
			fb.docs, fb.at = make([]doc, 0, n), make(map[docKey]int, n)
		}
		for _, d := range docs {
			fb.add(d)
		}
		fb.msgs = append(fb.msgs, msg)
		fb.spans = append(fb.spans, span)
		fb.bytes += len(body)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		if len(fb.msgs) == 0 {
			return nil, -1, err
		}
		s.log.Warn("fetch ended early", "error", err) // write what arrived
	}
	if len(fb.msgs) == 0 && (batch.Error() == nil || errors.Is(batch.Error(), nats.ErrTimeout)) {
		pending = 0 // nothing came within FlushInterval
	}
	return fb, pending, nil
}

// startSpan starts the span of one message when the message carries a
// sampled trace; unsampled messages cost no span (nil).
func (s *Service) startSpan(ctx context.Context, msg jetstream.Msg) (context.Context, trace.Span) {
	if msg.Headers() == nil {
		return ctx, nil
	}
	pctx := telemetry.Extract(ctx, msg.Headers())
	if !trace.SpanContextFromContext(pctx).IsSampled() {
		return ctx, nil
	}
	return s.tracer.Start(pctx, "writer.index",
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("messaging.destination.name", msg.Subject())))
}

// families numbers the families of the schema from 1 and names their
// runtime indices; a family not in it is number 0, without index (""), and
// its documents are dead-lettered (each, naming its family). In Flowline's
// schema the families are schema.Families; in the operate schema they are
// Camunda's indices, named <component>-<name> (operate.Index.Family).
type families struct {
	num   map[string]uint8
	name  []string // by number
	index []string // by number
}

func newFamilies(s config.Schema, prefix string) *families {
	f := &families{num: map[string]uint8{}, name: []string{""}, index: []string{""}}
	add := func(name, index string) {
		f.num[name] = uint8(len(f.index))
		f.name = append(f.name, name)
		f.index = append(f.index, index)
	}
	if s == config.SchemaOperate {
		for _, ix := range operate.Indices {
			add(ix.Family(), ix.FQN(prefix))
		}
		return f
	}
	for _, fam := range schema.Families {
		add(string(fam), schema.RuntimeIndex(prefix, fam))
	}
	return f
}

// familyName is the name of the family numbered n, "" for 0 (a family this
// writer does not know).
func (f *families) familyName(n uint8) string {
	if int(n) >= len(f.name) {
		return ""
	}
	return f.name[n]
}

// familyOf is d's family name, also when this writer does not know it (a
// document of the other schema, or of a newer aggregator). A dead letter
// carries it so that `flowline dlq redrive` can send the document back
// (to a writer that knows it).
func (f *families) familyOf(d doc) string {
	if d.family == 0 {
		return d.unknown
	}
	return f.familyName(d.family)
}

// keepAliveMax is the longest pause between two in-progress acks of the
// messages being written: a third of the default AckWait (15 s).
const keepAliveMax = 5 * time.Second

// keepAlive marks msgs in progress every third of AckWait (at most every
// keepAliveMax) until stopped,
// so a slow or retrying bulk does not get its messages redelivered.
// A timer re-armed after each round costs no goroutine while it waits.
func (s *Service) keepAlive(msgs []jetstream.Msg) (stop func()) {
	// At most every keepAliveMax, whatever this replica's AckWait: the
	// shared consumer has the AckWait of the replica that started last,
	// which may be shorter (a rolling change of FLOWLINE_WRITER_ACK_WAIT).
	every := min(s.cfg.AckWait.D()/3, keepAliveMax)
	var mu sync.Mutex // guards stopped and the timer's re-arming
	stopped := false
	var timer *time.Timer
	mu.Lock()
	defer mu.Unlock()
	timer = time.AfterFunc(every, func() {
		for _, m := range msgs {
			_ = m.InProgress()
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			timer.Reset(every)
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		timer.Stop()
	}
}

// sender writes the bulks of one send goroutine through its own bulk
// executor, which reuses its buffers from bulk to bulk.
type sender struct {
	s        *Service
	exec     *search.BulkExecutor
	ctx      context.Context // of the bulk being written
	docs     []doc
	appendOp func(buf []byte, i int) []byte
	onResult func(i int, r search.Result) bool

	answered time.Time           // when the last bulk response came
	lag      prometheus.Observer // of partition lagOf
	lagOf    int32
}

func (s *Service) newSender() *sender {
	w := &sender{s: s, lagOf: -1}
	w.exec = search.NewBulkExecutor(s.es, search.BulkPolicy{
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, // short cap: resume soon after Elasticsearch is back
		RetryRefused: true, // never drop documents: wait until the credentials or privileges are fixed
		AfterRequest: w.afterRequest,
		BeforeRetry:  w.beforeRetry,
		Refusals:     s.refusals, // says what the cluster refuses, and fails readiness meanwhile
	})
	w.appendOp = func(buf []byte, i int) []byte { return search.AppendOp(buf, w.docs[i].op) }
	w.onResult = w.result
	return w
}

// write indexes docs until every one is done, stale or dead-lettered,
// retrying 429/5xx items, unavailable clusters and failed dead letters with
// backoff. It returns an error only when ctx ends first.
func (w *sender) write(ctx context.Context, docs []doc) error {
	if slices.ContainsFunc(docs, func(d doc) bool { return d.op.Index == "" }) {
		known := make([]doc, 0, len(docs))
		for _, d := range docs {
			if d.op.Index != "" {
				known = append(known, d)
			} else if err := w.deadLetterUnknown(ctx, d); err != nil {
				return err
			}
		}
		docs = known
	}
	w.ctx, w.docs = ctx, docs
	defer func() { w.ctx, w.docs = nil, nil }()
	return w.exec.Do(ctx, len(docs), w.appendOp, w.onResult)
}

// deadLetterUnknown dead-letters a document of a family this writer has no
// index for, retrying with backoff until it is stored or ctx ends.
func (w *sender) deadLetterUnknown(ctx context.Context, d doc) error {
	b := backoff.New(100*time.Millisecond, 5*time.Second)
	for !w.s.deadLetterDoc(ctx, d, stream.ClassUnknownFamily, unknownFamilyReason(d)) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.s.metrics.retries.Inc()
		w.s.metrics.errors.Inc()
		if !backoff.Sleep(ctx, b.Next()) {
			return ctx.Err()
		}
	}
	return nil
}

// unknownFamilyReason is the dead-letter reason of a document of a family
// the writer has no index for.
func unknownFamilyReason(d doc) string {
	return fmt.Sprintf("unknown document family %q (no index for it in this writer's schema)", d.unknown)
}

// afterRequest counts a bulk request and its items by outcome.
func (w *sender) afterRequest(bodyBytes int, took time.Duration, results []search.Result) {
	m := w.s.metrics
	m.bulkRequests.Inc()
	m.bulkBytes.Add(float64(bodyBytes))
	m.bulkSeconds.Observe(took.Seconds())
	if results == nil {
		return
	}
	w.answered = time.Now()
	var outcomes [search.Rejected + 1]int
	for _, r := range results {
		outcomes[r.Outcome]++
	}
	for o, n := range outcomes {
		if n > 0 {
			m.items.WithLabelValues(search.Outcome(o).String()).Add(float64(n))
		}
	}
}

// result takes the final result of document i: the lag of a written one,
// the dead letter of a rejected one (false, to send it again, if the dead
// letter could not be stored).
func (w *sender) result(i int, r search.Result) bool {
	d := &w.docs[i]
	switch r.Outcome {
	case search.Done:
		if d.timestamp <= 0 { // no source time to measure from
			break
		}
		if d.partition != w.lagOf || w.lag == nil {
			w.lag, w.lagOf = w.s.metrics.lag.WithLabelValues(partitionLabel(d.partition)), d.partition
		}
		w.lag.Observe(w.answered.Sub(time.UnixMilli(d.timestamp)).Seconds())
	case search.Rejected:
		reason := fmt.Sprintf("HTTP %d: %s", r.Status, r.Reason)
		if r.Err != nil { // refused as a request of its own
			reason = r.Err.Error()
		}
		return w.s.deadLetterDoc(w.ctx, *d, stream.ClassRejected, reason)
	}
	return true
}

// beforeRetry counts and logs a round of documents to send again; a
// condition of the cluster is logged by the service's Refusals instead, at
// its own pace.
func (w *sender) beforeRetry(err error, docs int, wait time.Duration) {
	w.s.metrics.retries.Inc()
	w.s.metrics.errors.Inc()
	switch {
	case errors.Is(err, search.ErrClusterRefused):
		w.s.log.Debug("Elasticsearch refuses documents for a condition of the cluster, retrying them", "error", err, "documents", docs, "retry_in", wait)
	case errors.Is(err, search.ErrPushedBack):
		w.s.log.Warn("Elasticsearch pushed back on some documents, retrying them", "documents", docs, "retry_in", wait)
	default:
		w.s.log.Warn("bulk request failed, retrying", "error", err, "documents", docs, "retry_in", wait)
	}
}

// deadLetterDoc stores a document Elasticsearch will not take on the
// dead-letter stream with its index, id and reason, and reports whether it
// was stored (if not, the caller keeps the document pending).
func (s *Service) deadLetterDoc(ctx context.Context, d doc, class, reason string) bool {
	h := nats.Header{}
	h.Set(stream.HeaderDLQIndex, d.op.Index)
	h.Set(stream.HeaderDLQID, d.op.ID)
	// The subject says where a redrive sends it, also for a Camunda 7
	// source's document, which has no partition.
	err := stream.PublishDeadLetter(ctx, s.payloads.Publisher(s.js), stream.DeadLetter{Service: "writer", Reason: reason, Class: class, Data: d.op.Source, Header: h,
		Subject: d.subject, Sequence: d.seq,
		Document: &stream.DeadDocument{Index: d.op.Index, Family: s.families.familyOf(d), ID: d.op.ID, Version: d.op.Version, Partition: d.partition, Timestamp: d.timestamp, Routing: d.op.Routing}})
	if err != nil {
		s.log.Warn("dead-lettering a document failed; it stays pending", "index", d.op.Index, "id", d.op.ID, "error", err)
		return false
	}
	s.metrics.deadLetters.WithLabelValues(class).Inc()
	s.log.Error("document rejected by Elasticsearch, dead-lettered", "index", d.op.Index, "id", d.op.ID, "reason", reason)
	return true
}

// deadLetterMessage dead-letters an undecodable message, with its body
// (nil when it could not be read; the dead letter then names its positions
// and the object that held it), and acks it; if the dead letter cannot be
// stored the message is left for redelivery.
func (s *Service) deadLetterMessage(ctx context.Context, msg jetstream.Msg, body []byte, class, reason string) {
	var seq uint64
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
	}
	err := stream.PublishDeadLetter(ctx, s.payloads.Publisher(s.js), stream.DeadLetter{Service: "writer", Reason: reason, Class: class,
		Data: body, Header: stream.FailedMessageHeader(msg.Headers()), Subject: msg.Subject(), Sequence: seq})
	if err != nil {
		s.log.Warn("dead-lettering a message failed; it will be redelivered", "error", err)
		_ = msg.Nak()
		return
	}
	s.metrics.deadLetters.WithLabelValues(class).Inc()
	s.log.Error("undecodable document message dead-lettered", "subject", msg.Subject(), "seq", seq, "reason", reason)
	_ = msg.Ack()
}

// partitionLabel is the lag metric's label of a document's partition:
// "c7" for documents of Camunda 7 sources, which have none.
func partitionLabel(p int32) string {
	if p < 0 {
		return "c7"
	}
	return strconv.Itoa(int(p))
}
