package aggregator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/simulate"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/aggregator"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newAggregator(t *testing.T, ns *stream.Embedded) *aggregator.Service {
	cfg := aggregator.Config{
		ConsumerPrefix: "aggregator", StateBucket: "flowline-aggregator",
		DefinitionsBucket: "flowline-definitions", DefinitionCache: 100, LeaseBucket: "flowline-aggregator-leases", LeaseTTL: 2 * time.Second,
		CheckpointInterval: 100 * time.Millisecond, CheckpointMessages: 50, FetchBatch: 8, AckWait: 30 * time.Second,
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return aggregator.New(cfg, aggregator.Deps{Log: testenv.Logger(t), Tracer: noop.NewTracerProvider(), Registry: prometheus.NewRegistry()})
}

// publishRecords stores records of one partition as one message, as ingest
// would.
func publishRecords(t *testing.T, js jetstream.JetStream, recs []simulate.Record) {
	t.Helper()
	batch := &recordv1.RecordBatch{}
	for _, r := range recs {
		pr := &recordv1.Record{PartitionId: r.PartitionID, Position: r.Position, Key: r.Key, Timestamp: r.Timestamp,
			RecordType: r.RecordType, ValueType: r.ValueType, Intent: r.Intent}
		if r.ValueType == "PROCESS_INSTANCE" {
			v := r.Value
			pr.Value = &recordv1.Record_ProcessInstance{ProcessInstance: &recordv1.ProcessInstanceValue{
				BpmnProcessId: v["bpmnProcessId"].(string), Version: v["version"].(int32),
				ProcessDefinitionKey: v["processDefinitionKey"].(int64), ProcessInstanceKey: v["processInstanceKey"].(int64),
				ElementId: v["elementId"].(string), BpmnElementType: v["bpmnElementType"].(string),
				ParentProcessInstanceKey: -1, TenantId: "<default>",
			}}
		} else {
			b, _ := json.Marshal(r.Value)
			pr.Value = &recordv1.Record_ValueJson{ValueJson: string(b)}
		}
		batch.Records = append(batch.Records, pr)
	}
	data, _ := proto.Marshal(batch)
	if _, err := js.Publish(context.Background(), stream.RecordsSubject(recs[0].PartitionID), data); err != nil {
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
		var b recordv1.DocumentBatch
		if err := proto.Unmarshal(msg.Data, &b); err != nil {
			t.Fatal(err)
		}
		for _, d := range b.Documents {
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
}
