package writer_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/deadletter"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

// The writer indexes Camunda 7 documents like the others: into their
// family's runtime index at their version (an older version after it is
// stale), and a document its strict mapping refuses is dead-lettered
// naming its C7 family and index, so that it can be redriven.
func TestWritesCamunda7Documents(t *testing.T) {
	env := testenv.NewEnv(t)
	js := testenv.ConnectStreams(t, env.NATS).JS
	ctx := context.Background()

	listView := func(state string) []byte {
		b, err := json.Marshal(schema.C7ListViewDoc{Key: "pi-1", ProcessDefinitionKey: "order:1:a", BpmnProcessID: "order", Version: 1,
			State: state, TenantID: "<default>", Source: "eu", Position: 9})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// As the c7 fold publishes them: on the source's subject, without a
	// partition, ids <source>:<engine id>.
	publish := func(docs ...*recordv1.Document) {
		t.Helper()
		for _, d := range docs {
			d.PartitionId = -1
		}
		data, err := (&recordv1.DocumentBatch{PartitionId: -1, Documents: docs}).MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, stream.C7DocsSubject("eu"), data); err != nil {
			t.Fatal(err)
		}
	}
	publish(
		&recordv1.Document{Family: string(schema.C7ListView), Id: "eu:pi-1", Version: 9, Source: listView(schema.StateCompleted)},
		&recordv1.Document{Family: string(schema.C7Task), Id: "eu:task-1", Version: 3, Source: []byte(`{"key":"task-1","notInMapping":true}`)},
	)
	publish(&recordv1.Document{Family: string(schema.C7ListView), Id: "eu:pi-1", Version: 8, Source: listView(schema.StateActive)})
	testenv.Run(t, writer.New(smallWriterConfig(env.NATS, env.ESConfig, env.Prefix), testenv.Deps(t)))

	// A message is acked once each of its documents is written, stale or
	// dead-lettered.
	resilWaitDrained(t, js, 15*time.Second)
	index := schema.RuntimeIndex(env.Prefix, schema.C7ListView)
	b, err := esGet(ctx, env.ES, index, "eu:pi-1")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version int64                `json:"_version"`
		Source  schema.C7ListViewDoc `json:"_source"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 9 || got.Source.State != schema.StateCompleted {
		t.Errorf("%s/pi-1: version %d state %s, want 9 and %s", index, got.Version, got.Source.State, schema.StateCompleted)
	}

	msgs := testenv.Messages(t, js, stream.DLQStream)
	if len(msgs) != 1 {
		t.Fatalf("%d dead letters, want 1", len(msgs))
	}
	h := msgs[0].Headers()
	if h.Get(stream.HeaderDLQFamily) != string(schema.C7Task) || h.Get(stream.HeaderDLQIndex) != schema.RuntimeIndex(env.Prefix, schema.C7Task) || h.Get(stream.HeaderDLQID) != "eu:task-1" {
		t.Errorf("dead letter: family %q index %q id %q, want %s, %s, eu:task-1", h.Get(stream.HeaderDLQFamily), h.Get(stream.HeaderDLQIndex),
			h.Get(stream.HeaderDLQID), schema.C7Task, schema.RuntimeIndex(env.Prefix, schema.C7Task))
	}
	// It can be redriven: back to the source's subject.
	l, err := stream.ParseDeadLetter(msgs[0].Subject(), h, msgs[0].Data())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := deadletter.PlanRedrive(deadletter.Letter{DeadLetter: l, Seq: 1})
	if err != nil || plan.Target() != stream.C7DocsSubject("eu") {
		t.Errorf("redrive plan %+v, %v; want it to go to %s", plan, err, stream.C7DocsSubject("eu"))
	}
}
