package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lease"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
)

// workerConfig is the aggregator's test setting on ns for driving workers
// directly: every record message is checkpointed at once.
func workerConfig(ns *natsserver.Server) Config {
	return Config{
		ConsumerPrefix: "aggregator", AggregatorState: config.AggregatorState{StateBucket: "flowline-aggregator"},
		DefinitionsBucket: "flowline-definitions", DefinitionCache: 100,
		Lease:              config.Lease{Bucket: "flowline-aggregator-leases", TTL: config.Duration(2 * time.Second)},
		CheckpointInterval: config.Duration(100 * time.Millisecond), CheckpointMessages: 1, FetchBatch: 8, AckWait: config.Duration(30 * time.Second),
		PublishTimeout: config.Duration(5 * time.Second), MaxDocumentBytes: 32 << 20,
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
}

// testWorker builds partition p's worker as Service.Run does, its lease
// decided by holds.
func testWorker(t *testing.T, js jetstream.JetStream, cfg Config, p int32, holds func(int32) bool) *worker {
	t.Helper()
	payloads, err := stream.OpenPayloads(context.Background(), js, cfg.Streams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openBuckets(context.Background(), js, cfg, payloads, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return &worker{
		p: p, cfg: cfg, js: js, payloads: b.payloads, checkpoints: b.checkpoints, defs: b.defs, holds: holds,
		metrics: newMetrics(prometheus.NewRegistry()), tracer: noop.NewTracerProvider().Tracer("test"), log: testenv.Logger(t),
	}
}

func always(int32) bool { return true }

// variableRecord is a VARIABLE CREATED record of partition p: one document.
func variableRecord(p int32, position int64, name, value string) *recordv1.Record {
	return &recordv1.Record{
		PartitionId: p, Position: position, Key: int64(p)<<51 + position, Timestamp: 1_763_884_800_000 + position,
		RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{
			Name: name, Value: value, ScopeKey: int64(p)<<51 + 1, ProcessInstanceKey: int64(p)<<51 + 1,
		}},
	}
}

// publishBatch stores records as one record message of their partition.
func publishBatch(t *testing.T, js jetstream.JetStream, recs ...*recordv1.Record) {
	t.Helper()
	data, err := (&recordv1.RecordBatch{Records: recs}).MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	msg := stream.RecordsMsg(recs[0].PartitionId, recs[0].Position, recs[len(recs)-1].Position, data)
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// handleNext fetches n record messages from w's consumer and handles them.
func handleNext(t *testing.T, w *worker, n int) error {
	t.Helper()
	batch, err := w.cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		if err := w.handle(context.Background(), msg); err != nil {
			return err
		}
	}
	if got != n {
		t.Fatalf("fetched %d record messages, want %d (%v)", got, n, batch.Error())
	}
	return nil
}

// TestStaleCheckpointWriterIsRefused: a replica whose lease expired while
// it folded a record message (it still believes it holds the partition)
// finishes its checkpoint after the new owner checkpointed further. Its
// write is refused as a lost lease, the new owner's checkpoint stays, and
// its snapshot does not linger in the bucket.
func TestStaleCheckpointWriterIsRefused(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	const p = 2
	publishBatch(t, js, variableRecord(p, 10, "a", `"1"`))
	publishBatch(t, js, variableRecord(p, 20, "b", `"2"`))

	// Two workers, each on a consumer of its own: the checkpoint is what
	// they share.
	staleCfg, newCfg := workerConfig(ns), workerConfig(ns)
	staleCfg.ConsumerPrefix, newCfg.ConsumerPrefix = "stale", "new"
	stale := testWorker(t, js, staleCfg, p, always)
	owner := testWorker(t, js, newCfg, p, always)
	if err := stale.start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := handleNext(t, stale, 1); err != nil {
		t.Fatal(err)
	}
	// The lease passed to the new owner, which folds both messages and
	// checkpoints.
	if err := owner.start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := handleNext(t, owner, 2); err != nil {
		t.Fatal(err)
	}
	if err := owner.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// The stale replica's slow checkpoint arrives now.
	err := stale.checkpoint(ctx)
	if !errors.Is(err, lease.ErrNotHeld) {
		t.Fatalf("stale checkpoint: %v, want it refused with lease.ErrNotHeld", err)
	}
	pos, err := stream.CheckpointPosition(ctx, js, staleCfg.StateBucket, p)
	if err != nil || pos != 20 {
		t.Fatalf("checkpointed position %d (%v), want the new owner's 20", pos, err)
	}
	store, err := js.ObjectStore(ctx, staleCfg.StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != 1 {
		var names []string
		for _, o := range objects {
			names = append(names, o.Name)
		}
		t.Fatalf("snapshots %v, want only the new owner's", names)
	}
	// The new owner goes on checkpointing on its own revision.
	publishBatch(t, js, variableRecord(p, 30, "c", `"3"`))
	if err := handleNext(t, owner, 1); err != nil {
		t.Fatal(err)
	}
	if err := owner.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if pos, err := stream.CheckpointPosition(ctx, js, staleCfg.StateBucket, p); err != nil || pos != 30 {
		t.Fatalf("checkpointed position %d (%v), want 30", pos, err)
	}
}

// TestWorkerStopsPublishingOnceTheLeaseIsLost: a worker that no longer
// holds its partition's lease publishes no further document batch (it
// would land behind the new owner's) and stops with lease.ErrNotHeld.
func TestWorkerStopsPublishingOnceTheLeaseIsLost(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	const p = 5
	var held atomic.Bool
	held.Store(true)
	w := testWorker(t, js, workerConfig(ns), p, func(int32) bool { return held.Load() })
	if err := w.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publishBatch(t, js, variableRecord(p, 10, "a", `"1"`))
	if err := handleNext(t, w, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := testenv.StreamMessages(t, js, stream.DocsStream); n != 1 {
		t.Fatalf("%d document messages while holding the lease, want 1", n)
	}

	held.Store(false) // the lease expired
	publishBatch(t, js, variableRecord(p, 20, "b", `"2"`))
	if err := handleNext(t, w, 1); !errors.Is(err, lease.ErrNotHeld) {
		t.Fatalf("handling after the lease was lost: %v, want lease.ErrNotHeld", err)
	}
	if n := testenv.StreamMessages(t, js, stream.DocsStream); n != 1 {
		t.Fatalf("%d document messages, want still 1: nothing published without the lease", n)
	}
}

// TestShutdownDuringACheckpointStillCheckpoints: the service is stopped
// while a checkpoint is being written; the worker finishes with a final
// checkpoint (with a fresh deadline) instead of returning the cancelled
// checkpoint's error, so the records it folded are not folded again.
func TestShutdownDuringACheckpointStillCheckpoints(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	const p = 6
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	w := testWorker(t, js, workerConfig(ns), p, func(int32) bool {
		if calls.Add(1) == 1 { // the checkpoint asks whether it may save: stop now
			cancel()
		}
		return true
	})
	// A record that changes no document: the first lease check is the
	// checkpoint's.
	publishBatch(t, js, &recordv1.Record{PartitionId: p, Position: 42, Key: 1, RecordType: "COMMAND", ValueType: "JOB", Intent: "COMPLETE",
		Value: &recordv1.Record_Job{Job: &recordv1.JobValue{}}})
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run stopped during a checkpoint returned %v, want nil after a final checkpoint", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	if calls.Load() < 2 {
		t.Fatalf("lease checked %d times, want the final checkpoint's check too", calls.Load())
	}
	pos, err := stream.CheckpointPosition(context.Background(), js, "flowline-aggregator", p)
	if err != nil || pos != 42 {
		t.Fatalf("checkpointed position %d (%v), want 42", pos, err)
	}
	info, err := w.cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 1 {
		t.Fatalf("ack floor %d, want the record message acked (1)", info.AckFloor.Stream)
	}
}

// deliveryMsg is a record message as far as the delivery check reads it.
type deliveryMsg struct {
	jetstream.Msg
	consumerSeq, streamSeq uint64
}

func (m deliveryMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Consumer: m.consumerSeq, Stream: m.streamSeq}}, nil
}

// TestWorkerRefusesADeliveryGap: a delivery that does not follow the last
// one by one (a message the consumer delivered and this worker never
// received) stops the worker before it folds anything, so that it starts
// again from its checkpoint instead of skipping the lost message.
func TestWorkerRefusesADeliveryGap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delivered uint64
		next      uint64
	}{
		{"one lost", 3, 5},
		{"many lost", 3, 40},
		{"a lost first delivery", 0, 2},
		{"the same twice", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &worker{p: 2, delivered: tc.delivered, cp: &checkpoint{Seq: 10}, holds: func(int32) bool { return true }}
			err := w.handle(context.Background(), deliveryMsg{consumerSeq: tc.next, streamSeq: 50})
			if !errors.Is(err, errDeliveryGap) {
				t.Fatalf("delivery %d after %d: %v, want %v", tc.next, tc.delivered, err, errDeliveryGap)
			}
			if w.since != 0 || w.last != nil || w.cp.Seq != 10 || w.delivered != tc.delivered {
				t.Errorf("the worker moved on past the gap: since %d, last %v, checkpoint seq %d, delivered %d",
					w.since, w.last, w.cp.Seq, w.delivered)
			}
		})
	}
	// A replica that no longer holds the partition stops instead of
	// starting over on the new owner's consumer.
	w := &worker{p: 2, delivered: 3, cp: &checkpoint{Seq: 10}, holds: func(int32) bool { return false }}
	if err := w.handle(context.Background(), deliveryMsg{consumerSeq: 5, streamSeq: 50}); !errors.Is(err, lease.ErrNotHeld) {
		t.Fatalf("a stale owner's gap: %v, want %v", err, lease.ErrNotHeld)
	}
}

// TestCheckpointSaveAdoptsAnEarlierAttemptStoredWithoutAnswer: an attempt
// whose pointer update was stored but whose answer was lost (a NATS
// server died) leaves the pointer one revision ahead; the next attempt at
// the same save finds its own snapshot there and adopts it instead of
// taking the mismatch for another replica's checkpoint (which would give
// the partition up). A pointer naming a snapshot this save never wrote is
// still refused, and the refused snapshot deleted. A save given up keeps
// its snapshot only where the pointer may name it.
func TestCheckpointSaveAdoptsAnEarlierAttemptStoredWithoutAnswer(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		ours    bool // the pointer names this save's snapshot
		adopted bool
	}{
		{"an earlier attempt of this save", true, true},
		{"another replica's checkpoint", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorker(t, js, workerConfig(ns), 3, always)
			c := w.checkpoints
			cp, err := c.load(ctx, 3)
			if err != nil {
				t.Fatal(err)
			}
			cp.Seq = 10
			if err := c.save(ctx, cp); err != nil { // the checkpoint at revision cp.rev
				t.Fatal(err)
			}
			before := cp.object
			cp.Seq = 11
			s, err := c.begin(cp)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // an upload whose answer was lost, then the one that succeeded
				if _, err := c.objects.PutBytes(ctx, s.object, []byte(`{"seq":0}`)); err != nil {
					t.Fatal(err)
				}
				if err := c.upload(ctx, s); err != nil {
					t.Fatal(err)
				}
				s.uploaded = false
			}
			s.uploaded = true
			// The lost attempt: its pointer update was stored, the answer
			// never came; or another replica's checkpoint moved it.
			named := s.object
			if !tc.ours {
				named = stream.CheckpointObject(3, 11, "other")
			}
			ptr, _ := json.Marshal(stream.CheckpointPointer{Object: named, Seq: 11})
			if _, err := c.pointers.Update(ctx, stream.CheckpointKey(3), ptr, cp.rev); err != nil {
				t.Fatal(err)
			}
			s.pointed = true
			err = c.point(ctx, s)
			objects := objectNames(t, c)
			if tc.adopted {
				if err != nil || cp.object != s.object {
					t.Fatalf("save after a lost answer: %v, at object %q; want its own %q adopted", err, cp.object, s.object)
				}
				if e, err := c.pointers.Get(ctx, stream.CheckpointKey(3)); err != nil || e.Revision() != cp.rev {
					t.Fatalf("pointer revision %v (%v), checkpoint at %d", e, err, cp.rev)
				}
				if !slices.Equal(objects, []string{s.object}) {
					t.Errorf("objects %v, want only the adopted snapshot (the one it superseded, %s, deleted; the upload tried twice stored once)", objects, before)
				}
				return
			}
			if !errors.Is(err, lease.ErrNotHeld) {
				t.Fatalf("save over another replica's checkpoint: %v, want %v", err, lease.ErrNotHeld)
			}
			if slices.Contains(objects, s.object) {
				t.Errorf("the refused snapshot %s was kept: %v", s.object, objects)
			}
		})
	}
}

// TestAbandonedCheckpointSaveKeepsOnlyWhatThePointerMayName: a save given
// up after an upload deletes its snapshot. One given up after an
// unanswered pointer update keeps it when the pointer names it (the update
// was stored) or is still at the revision the update was made on (it may
// yet be stored), and deletes it when another checkpoint moved the pointer
// on (no update of the save can land any more).
func TestAbandonedCheckpointSaveKeepsOnlyWhatThePointerMayName(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	for i, tc := range []struct {
		name    string
		pointed bool   // a pointer update went unanswered
		pointer string // what the pointer names after it: "ours", "other" or "" (unmoved)
		kept    bool
	}{
		{"uploaded only", false, "", false},
		{"pointer update stored, answer lost", true, "ours", true},
		{"pointer update unanswered, pointer unmoved", true, "", true},
		{"pointer update unanswered, another checkpoint since", true, "other", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := int32(i)
			w := testWorker(t, js, workerConfig(ns), p, always)
			c := w.checkpoints
			cp, err := c.load(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			cp.Seq = 5
			if err := c.save(ctx, cp); err != nil { // the revision the next save's updates are made on
				t.Fatal(err)
			}
			cp.Seq = 6
			s, err := c.begin(cp)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.upload(ctx, s); err != nil {
				t.Fatal(err)
			}
			if tc.pointer != "" {
				named := s.object
				if tc.pointer == "other" {
					named = stream.CheckpointObject(p, 6, "other")
				}
				ptr, _ := json.Marshal(stream.CheckpointPointer{Object: named, Seq: 6})
				if _, err := c.pointers.Update(ctx, stream.CheckpointKey(p), ptr, cp.rev); err != nil {
					t.Fatal(err)
				}
			}
			s.pointed = tc.pointed
			c.abandon(ctx, s)
			if got := slices.Contains(objectNames(t, c), s.object); got != tc.kept {
				t.Errorf("snapshot kept %v, want %v", got, tc.kept)
			}
		})
	}
}

// TestCheckpointPointerReadBehindItsUpdateIsRetried: an update refused on
// its revision, while a read of the pointer still shows that revision (a
// replica behind), is retryable: neither the partition nor the snapshot
// is given up.
func TestCheckpointPointerReadBehindItsUpdateIsRetried(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	w := testWorker(t, js, workerConfig(ns), 1, always)
	c := w.checkpoints
	cp, err := c.load(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	cp.Seq = 5
	if err := c.save(ctx, cp); err != nil {
		t.Fatal(err)
	}
	// The worker believes in a later revision than the one a read gives
	// (as after its update was stored and the read came from behind).
	cp.rev += 3
	cp.Seq = 6
	s, err := c.begin(cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.upload(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.pointed = true
	err = c.point(ctx, s)
	if !errors.Is(err, errStaleRead) || errors.Is(err, lease.ErrNotHeld) {
		t.Fatalf("point: %v, want %v and not %v", err, errStaleRead, lease.ErrNotHeld)
	}
	if !slices.Contains(objectNames(t, c), s.object) {
		t.Error("the snapshot was deleted")
	}
}

// objectNames lists the state bucket's objects (checkpoint snapshots).
func objectNames(t *testing.T, c *checkpoints) []string {
	t.Helper()
	infos, err := c.objects.List(context.Background())
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Fatal(err)
	}
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	return names
}

// save saves cp in one attempt (begin, upload, point), as the tests set up
// a checkpoint; the worker spreads these steps over bounded attempts.
func (c *checkpoints) save(ctx context.Context, cp *checkpoint) error {
	s, err := c.begin(cp)
	if err != nil {
		return err
	}
	if err := c.upload(ctx, s); err != nil {
		return err
	}
	return c.point(ctx, s)
}
