package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/stack"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// TestLargeRecordsGetThroughToElasticsearch: on a NATS server with its
// default max_payload (1 MiB), a 2 MiB BPMN resource deployed and a 9 MiB
// variable value (records stored as claim-check references, as ingest
// stores records over max_payload) go through the aggregator and the
// writer: the process document with its whole BPMN and the variable
// document with its whole fullValue are indexed, and the ordinary instance
// after each on the same partition becomes searchable.
func TestLargeRecordsGetThroughToElasticsearch(t *testing.T) {
	s := stack.Start(t, stack.Options{ArchiveAfter: tenYears, NATS: []natsserver.Option{natsserver.WithMaxPayload(1 << 20)}})
	ctx := context.Background()
	js := testenv.Connect(t, s.NATS).JS
	payloads, err := stream.OpenPayloads(ctx, js, testenv.Streams())
	if err != nil {
		t.Fatal(err)
	}
	const p = 1
	part := simulate.NewPartition(p, time.UnixMilli(1_763_884_800_000))
	publish := func(recs ...*recordv1.Record) {
		t.Helper()
		data, err := (&recordv1.RecordBatch{Records: recs}).MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		msg := stream.RecordsMsg(p, recs[0].Position, recs[len(recs)-1].Position, data)
		if err := payloads.Prepare(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	// own turns records the simulated engine produced into protobuf.
	own := func() []*recordv1.Record {
		t.Helper()
		var out []*recordv1.Record
		for _, r := range part.Take() {
			pr, err := zeebejson.Decode(r.JSON())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pr)
		}
		return out
	}
	// nextPosition reserves the partition's next position for a hand-made
	// record.
	nextPosition := func() int64 {
		r := part.Emit(-1, 0, "COMMAND_REJECTION", "IGNORED", map[string]any{})
		part.Take()
		return r.Position
	}
	instance := func() *simulate.Instance {
		in := simulate.Start(part, simulate.DemoProcess(int64(p)<<51+999))
		in.Step(time.Second)
		publish(own()...)
		return in
	}

	// A 2 MiB BPMN, then an ordinary instance.
	var bpmn strings.Builder
	bpmn.WriteString(`<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="big" name="Big &amp; slow" isExecutable="true"><bpmn:startEvent id="start"/>`)
	for i := 0; bpmn.Len() < 2<<20; i++ {
		fmt.Fprintf(&bpmn, `<bpmn:task id="t%d" name="&lt;step %d&gt;"/>`, i, i)
	}
	bpmn.WriteString(`</bpmn:process></bpmn:definitions>`)
	defKey := int64(p)<<51 + 5
	publish(&recordv1.Record{PartitionId: p, Position: nextPosition(), Key: defKey, RecordType: "EVENT", ValueType: "PROCESS", Intent: "CREATED",
		Value: &recordv1.Record_Process{Process: &recordv1.ProcessValue{BpmnProcessId: "big", Version: 1, ProcessDefinitionKey: defKey,
			ResourceName: "big.bpmn", Resource: []byte(bpmn.String())}}})
	afterBPMN := instance()

	// A 9 MiB variable (over the streams' 8 MiB message limit too), then an
	// ordinary instance.
	value := `"` + strings.Repeat("0123456789abcdef", 9<<20/16) + `"`
	scope := afterBPMN.Key
	publish(&recordv1.Record{PartitionId: p, Position: nextPosition(), Key: int64(p)<<51 + 7, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "big", Value: value, ScopeKey: scope, ProcessInstanceKey: scope,
			BpmnProcessId: "demo-order"}}})
	afterVariable := instance()

	testenv.Eventually(t, 60*time.Second, func() error {
		instances := searchAll(t, s, schema.ListView)
		for _, in := range []*simulate.Instance{afterBPMN, afterVariable} {
			if _, ok := instances[id(in.Key)]; !ok {
				return fmt.Errorf("instance %d is not searchable (%d instances are)", in.Key, len(instances))
			}
		}
		return nil
	})
	proc, ok := searchAll(t, s, schema.Process)[id(defKey)]
	if !ok {
		t.Fatal("the 2 MiB BPMN's process document is not indexed")
	}
	if got := proc.Source["bpmnXml"]; got != bpmn.String() {
		t.Fatalf("process document's BPMN: %d characters, want %d", len(fmt.Sprint(got)), bpmn.Len())
	}
	if name := proc.Source["name"]; name != "Big & slow" {
		t.Errorf("process name %v", name)
	}
	v, ok := searchAll(t, s, schema.Variable)[fmt.Sprintf("%d-big", scope)]
	if !ok {
		t.Fatal("the 9 MiB variable's document is not indexed")
	}
	if full := v.Source["fullValue"]; full != value {
		t.Fatalf("variable's fullValue: %d characters, want %d", len(fmt.Sprint(full)), len(value))
	}
	if dls := testenv.StreamMessages(t, js, stream.DLQStream); dls != 0 {
		t.Fatalf("%d dead letters, want none", dls)
	}
}
