package aggregator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/aggregator"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestConfigStateBucket: the state bucket, shared with the archiver, keeps
// its variable and default.
func TestConfigStateBucket(t *testing.T) {
	var c aggregator.Config
	if err := config.Process(&c); err != nil || c.StateBucket != "flowline-aggregator" {
		t.Fatalf("default state bucket %q (%v), want flowline-aggregator", c.StateBucket, err)
	}
	t.Setenv("FLOWLINE_AGGREGATOR_STATE_BUCKET", "states")
	if err := config.Process(&c); err != nil || c.StateBucket != "states" {
		t.Fatalf("state bucket %q (%v) from FLOWLINE_AGGREGATOR_STATE_BUCKET=states", c.StateBucket, err)
	}
}

func newAggregator(t *testing.T, ns *natsserver.Server) *aggregator.Service {
	return newReplica(t, ns, "")
}

func newReplica(t *testing.T, ns *natsserver.Server, id string) *aggregator.Service {
	return aggregator.New(replicaConfig(t, ns, id), testenv.Deps(t))
}

// replicaConfig is the test setting of replica id on ns: frequent
// checkpoints, a short lease.
func replicaConfig(t *testing.T, ns *natsserver.Server, id string) aggregator.Config {
	cfg := aggregator.Config{
		Lease:          config.Lease{ReplicaID: id, Bucket: "flowline-aggregator-leases", TTL: config.Duration(2 * time.Second)},
		ConsumerPrefix: "aggregator", AggregatorState: config.AggregatorState{StateBucket: "flowline-aggregator"},
		DefinitionsBucket: "flowline-definitions", DefinitionCache: 100,
		CheckpointInterval: config.Duration(100 * time.Millisecond), CheckpointMessages: 50, FetchBatch: 8, AckWait: config.Duration(30 * time.Second),
		PublishTimeout: config.Duration(10 * time.Second), MaxDocumentBytes: 32 << 20,
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// publishRecords stores records of one partition as one message, as ingest
// would (through the Zeebe JSON codec).
func publishRecords(t *testing.T, js jetstream.JetStream, recs []simulate.Record) {
	t.Helper()
	if _, err := js.PublishMsg(context.Background(), recordsMsg(t, recs[0].PartitionID, recs, 0)); err != nil {
		t.Fatal(err)
	}
}

// latestDocs reads the docs stream and returns the newest source per
// (family, id).
func latestDocs(t *testing.T, js jetstream.JetStream) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, stream.DocsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	versions := map[string]int64{}
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		for _, d := range documentsOf(t, js, msg.Header, msg.Data) {
			k := d.Family + "/" + d.Id
			if d.Version < versions[k] {
				continue
			}
			versions[k] = d.Version
			var src map[string]any
			_ = json.Unmarshal(d.Source, &src)
			out[k] = src
		}
	}
	return out
}

// documentsOf decodes a document message's batch, reading a body held in
// an object as the writer does.
func documentsOf(t *testing.T, js jetstream.JetStream, h nats.Header, data []byte) []*recordv1.Document {
	t.Helper()
	payloads, err := stream.OpenPayloads(context.Background(), js, testenv.Streams())
	if err != nil {
		t.Fatal(err)
	}
	body, err := payloads.Body(context.Background(), h, data)
	if err != nil {
		t.Fatal(err)
	}
	var b recordv1.DocumentBatch
	if err := proto.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Documents
}

func TestStateSurvivesRestartAndPoisonIsDeadLettered(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.Connect(t, ns).JS
	if err := stream.EnsureStreams(context.Background(), js, testenv.Streams()); err != nil {
		t.Fatal(err)
	}
	p := simulate.NewPartition(3, time.UnixMilli(1_763_884_800_000))
	in := simulate.Start(p, simulate.DemoProcess(int64(3)<<51+999))
	in.Step(time.Second) // start event
	publishRecords(t, js, p.Take())
	startDate := time.UnixMilli(1_763_884_800_001).UTC().Format("2006-01-02T15:04:05.000Z")

	stop := testenv.Run(t, newAggregator(t, ns))
	key := fmt.Sprintf("list-view/%d", in.Key)
	testenv.Eventually(t, 10*time.Second, func() error {
		if d := latestDocs(t, js)[key]; d == nil || d["state"] != "ACTIVE" {
			return fmt.Errorf("instance document: %v", d)
		}
		return nil
	})
	stop()

	// A poison message, then the rest of the instance, consumed by a new
	// aggregator that only has the checkpoint to know the start date.
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: stream.RecordsSubject(3), Data: []byte("not protobuf \xff")}); err != nil {
		t.Fatal(err)
	}
	// ... and a record whose value ingest could not type.
	odd, _ := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{{
		PartitionId: 3, Position: 1_000_000, Key: 1, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_ValueJson{ValueJson: `{"value":5}`}, ValueError: `field "value.value": expected string, got number 5`,
	}}})
	if _, err := js.Publish(context.Background(), stream.RecordsSubject(3), odd); err != nil {
		t.Fatal(err)
	}
	for !in.Done {
		in.Step(time.Second)
	}
	publishRecords(t, js, p.Take())
	testenv.Run(t, newAggregator(t, ns))
	testenv.Eventually(t, 10*time.Second, func() error {
		d := latestDocs(t, js)[key]
		if d == nil || d["state"] != "COMPLETED" {
			return fmt.Errorf("instance document: %v", d)
		}
		if d["startDate"] != startDate || d["endDate"] == nil {
			return fmt.Errorf("dates lost across restart: %v", d)
		}
		return nil
	})

	dlq, err := js.OrderedConsumer(context.Background(), stream.DLQStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := dlq.Next(jetstream.FetchMaxWait(2 * time.Second))
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if msg.Subject() != "flowline.dlq.aggregator" || string(msg.Data()) != "not protobuf \xff" ||
		msg.Headers().Get(stream.HeaderDLQReason) == "" || msg.Headers().Get(stream.HeaderDLQSubject) != "flowline.records.3" {
		t.Fatalf("dead letter %s %q headers %v", msg.Subject(), msg.Data(), msg.Headers())
	}
	msg, err = dlq.Next(jetstream.FetchMaxWait(2 * time.Second))
	if err != nil {
		t.Fatalf("no dead letter for the untyped value: %v", err)
	}
	if reason := msg.Headers().Get(stream.HeaderDLQReason); !strings.Contains(reason, "value does not decode") || !strings.Contains(reason, "expected string") {
		t.Fatalf("dead letter reason %q", reason)
	}
}

// TestReplicasShareAndHandOverPartitions: a second replica takes over half
// of 8 partitions while records keep arriving, then leaves; the replicas never
// own a partition at the same time, and no record is missed: every instance
// ends COMPLETED with the start date of its first record.
func TestReplicasShareAndHandOverPartitions(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.Connect(t, ns).JS
	if err := stream.EnsureStreams(context.Background(), js, testenv.Streams()); err != nil {
		t.Fatal(err)
	}
	const partitions = 8
	parts := make([]*simulate.Partition, partitions)
	for i := range parts {
		parts[i] = simulate.NewPartition(int32(i+1), time.UnixMilli(1_763_884_800_000))
	}
	var instances []*simulate.Instance
	// feed starts an instance on every partition and advances all running
	// ones by one step, publishing one record message per partition.
	feed := func() {
		for _, p := range parts {
			instances = append(instances, simulate.Start(p, simulate.DemoProcess(int64(p.ID)<<51+999)))
		}
		for _, in := range instances {
			in.Step(time.Second)
		}
		for _, p := range parts {
			if recs := p.Take(); len(recs) > 0 {
				publishRecords(t, js, recs)
			}
		}
	}

	a := newReplica(t, ns, "replica-a")
	stopA := testenv.Run(t, a)
	overlap := make(chan string, 1)
	watchDone, stopWatch := make(chan struct{}), make(chan struct{})
	var bRef atomic.Pointer[aggregator.Service]
	go func() { // no partition is ever owned by both
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
			}
			other := bRef.Load()
			if other == nil {
				continue
			}
			owned := map[int32]bool{}
			for _, p := range a.Owned() {
				owned[p] = true
			}
			for _, p := range other.Owned() {
				if owned[p] {
					select {
					case overlap <- fmt.Sprintf("partition %d owned by both replicas", p):
					default:
					}
				}
			}
		}
	}()

	for range 3 {
		feed()
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := len(a.Owned()); n != partitions {
			return fmt.Errorf("replica a owns %d partitions", n)
		}
		return nil
	})

	b := newReplica(t, ns, "replica-b")
	bRef.Store(b)
	stopB := testenv.Run(t, b)
	testenv.Eventually(t, 30*time.Second, func() error {
		feed()
		if na, nb := len(a.Owned()), len(b.Owned()); na != 4 || nb != 4 {
			return fmt.Errorf("owned: a %d, b %d", na, nb)
		}
		return nil
	})
	for range 3 {
		feed()
	}
	stopB()
	testenv.Eventually(t, 30*time.Second, func() error {
		feed()
		if n := len(a.Owned()); n != partitions {
			return fmt.Errorf("after b left, a owns %d", n)
		}
		return nil
	})
	// Finish every instance and check the documents.
	for _, in := range instances {
		for !in.Done {
			in.Step(time.Second)
		}
	}
	for _, p := range parts {
		publishRecords(t, js, p.Take())
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		docs := latestDocs(t, js)
		for _, in := range instances {
			d := docs[fmt.Sprintf("list-view/%d", in.Key)]
			if d == nil || d["state"] != "COMPLETED" || d["startDate"] == nil {
				return fmt.Errorf("instance %d: %v", in.Key, d)
			}
		}
		return nil
	})
	close(stopWatch)
	<-watchDone
	stopA()
	select {
	case msg := <-overlap:
		t.Fatal(msg)
	default:
	}
}
