package aggregator_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/zeebejson"
	"github.com/flowline/flowline/services/aggregator"
)

// recordsOf decodes simulated records as ingest does.
func recordsOf(t *testing.T, recs []simulate.Record) []*recordv1.Record {
	t.Helper()
	out := make([]*recordv1.Record, 0, len(recs))
	for _, r := range recs {
		pr, err := zeebejson.Decode(r.JSON())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pr)
	}
	return out
}

// publishProto stores records as one record message of their partition,
// as ingest does for a protobuf push, and returns its stream sequence.
func publishProto(t *testing.T, js jetstream.JetStream, recs ...*recordv1.Record) uint64 {
	t.Helper()
	data, err := proto.Marshal(&recordv1.RecordBatch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.PublishMsg(context.Background(), stream.RecordsMsg(recs[0].PartitionId, recs[0].Position, recs[len(recs)-1].Position, data))
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// deadLetters returns the aggregator's dead letters so far.
func deadLetters(t *testing.T, js jetstream.JetStream) []jetstream.Msg {
	t.Helper()
	var out []jetstream.Msg
	for _, m := range testenv.Messages(t, js, stream.DLQStream) {
		if m.Subject() == stream.DLQSubject("aggregator") {
			out = append(out, m)
		}
	}
	return out
}

// TestAggregatorDeadLettersOnlyTheUnrenderableDocument: one record message
// holds a process instance and a JOB whose custom headers are not JSON (a
// protobuf push can carry that). The instance's documents are published;
// exactly the job's document is dead-lettered, naming its family, id,
// partition and position, with the job record.
func TestAggregatorDeadLettersOnlyTheUnrenderableDocument(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	const p = 3
	part := simulate.NewPartition(p, time.UnixMilli(1_763_884_800_000))
	in := simulate.Start(part, simulate.DemoProcess(int64(p)<<51+999))
	in.Step(time.Second)
	recs := recordsOf(t, part.Take())
	last := recs[len(recs)-1].Position
	jobKey := int64(p)<<51 + 777_777
	job := &recordv1.Record{
		PartitionId: p, Position: last + 1, Key: jobKey, Timestamp: recs[len(recs)-1].Timestamp,
		RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
		Value: &recordv1.Record_Job{Job: &recordv1.JobValue{
			Type: "ship", ProcessInstanceKey: in.Key, ElementId: "task", CustomHeadersJson: `{"broken": `,
		}},
	}
	seq := publishProto(t, js, append(recs, job)...)

	testenv.Run(t, newAggregator(t, ns))
	key := fmt.Sprintf("list-view/%d", in.Key)
	testenv.Eventually(t, 10*time.Second, func() error {
		if d := latestDocs(t, js)[key]; d == nil || d["state"] != "ACTIVE" {
			return fmt.Errorf("instance document: %v", d)
		}
		return nil
	})
	docs := latestDocs(t, js)
	if d := docs["job/"+strconv.FormatInt(jobKey, 10)]; d != nil {
		t.Fatalf("the unrenderable job was published: %v", d)
	}
	var dls []jetstream.Msg
	testenv.Eventually(t, 10*time.Second, func() error {
		if dls = deadLetters(t, js); len(dls) != 1 {
			return fmt.Errorf("%d dead letters, want 1", len(dls))
		}
		return nil
	})
	h := dls[0].Headers()
	reason := h.Get(stream.HeaderDLQReason)
	for _, want := range []string{"job document " + strconv.FormatInt(jobKey, 10), "partition 3", "position " + strconv.FormatInt(last+1, 10), "cannot render"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not say %q", reason, want)
		}
	}
	if h.Get("Flowline-Dlq-Family") != "job" || h.Get(stream.HeaderDLQID) != strconv.FormatInt(jobKey, 10) ||
		h.Get(stream.HeaderDLQSubject) != stream.RecordsSubject(p) || h.Get(stream.HeaderDLQSequence) != strconv.FormatUint(seq, 10) ||
		h.Get(stream.HeaderFirstPosition) != strconv.FormatInt(last+1, 10) {
		t.Errorf("dead letter headers %v", h)
	}
	var dead recordv1.RecordBatch
	if err := proto.Unmarshal(dls[0].Data(), &dead); err != nil || len(dead.Records) != 1 || dead.Records[0].Key != jobKey {
		t.Errorf("dead letter carries %v (%v), want the job record", &dead, err)
	}
}

// TestAggregatorCutsDocumentBatchesToTheServersMaxPayload: on a server
// with nats-server's default max_payload (1 MiB), record messages under
// the limit whose documents are over it (a ~650 KB BPMN full of '<',
// variables whose documents hold their value twice) are published in
// several document messages, each under the limit, with unique ids and a
// first position no higher than their documents'. The BPMN is not
// HTML-escaped. A document over FLOWLINE_AGGREGATOR_MAX_DOCUMENT_BYTES is
// dead-lettered with its reason and the rest are published; the next
// instance on the partition is aggregated.
func TestAggregatorCutsDocumentBatchesToTheServersMaxPayload(t *testing.T) {
	ns := testenv.NATS(t, natsserver.WithMaxPayload(1<<20))
	js := testenv.ConnectStreams(t, ns).JS
	const p = 4
	pos := int64(100)
	next := func() int64 { pos++; return pos }

	// ~650 KB of BPMN: its HTML-escaped JSON alone would exceed 1 MiB.
	var bpmn strings.Builder
	bpmn.WriteString(`<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="big" isExecutable="true"><bpmn:startEvent id="start"/>`)
	for i := 0; bpmn.Len() < 650_000; i++ {
		fmt.Fprintf(&bpmn, `<bpmn:task id="t%d" name="&lt;step %d&gt;"/>`, i, i)
	}
	bpmn.WriteString(`</bpmn:process></bpmn:definitions>`)
	defKey := int64(p)<<51 + 5
	deploy := &recordv1.Record{PartitionId: p, Position: next(), Key: defKey, RecordType: "EVENT", ValueType: "PROCESS", Intent: "CREATED",
		Value: &recordv1.Record_Process{Process: &recordv1.ProcessValue{BpmnProcessId: "big", Version: 1, ProcessDefinitionKey: defKey,
			ResourceName: "big.bpmn", Resource: []byte(bpmn.String())}}}
	publishProto(t, js, deploy)

	// 60 variables of 9,000 characters: 540 KB of records, over 1 MiB of
	// documents (preview and full value).
	var vars []*recordv1.Record
	for i := range 60 {
		vars = append(vars, &recordv1.Record{PartitionId: p, Position: next(), Key: int64(p)<<51 + 1000 + int64(i),
			RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
			Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: fmt.Sprintf("v%d", i),
				Value: `"` + strings.Repeat("x", 9000) + `"`, ScopeKey: int64(p)<<51 + 1, ProcessInstanceKey: int64(p)<<51 + 1}}})
	}
	publishProto(t, js, vars...)
	// ... and, in a message of its own under the limit, one whose document
	// (every backslash escaped again) is too large to ever be indexed
	// under the test's maximum.
	huge := &recordv1.Record{PartitionId: p, Position: next(), Key: int64(p)<<51 + 2000,
		RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "huge",
			Value: `"` + strings.Repeat(`\\`, 450_000) + `"`, ScopeKey: int64(p)<<51 + 1, ProcessInstanceKey: int64(p)<<51 + 1}}}
	hugeSeq := publishProto(t, js, huge)

	part := simulate.NewPartition(p, time.UnixMilli(1_763_884_800_000))
	part.ResumeAfter(pos, 10_000)
	in := simulate.Start(part, simulate.DemoProcess(int64(p)<<51+999))
	in.Step(time.Second)
	publishRecords(t, js, part.Take())

	cfg := replicaConfig(t, ns, "")
	cfg.MaxDocumentBytes = 1_500_000 // above the process document (about 1.2 MB with its flow nodes)
	testenv.Run(t, aggregator.New(cfg, testenv.Deps(t)))
	testenv.Eventually(t, 20*time.Second, func() error {
		if d := latestDocs(t, js)[fmt.Sprintf("list-view/%d", in.Key)]; d == nil || d["state"] != "ACTIVE" {
			return fmt.Errorf("the next instance's document: %v", d)
		}
		return nil
	})

	docs := latestDocs(t, js)
	proc := docs[fmt.Sprintf("process/%d", defKey)]
	if proc == nil || proc["bpmnXml"] != bpmn.String() {
		t.Fatalf("process document missing or its BPMN differs (%d keys, %d documents)", len(proc), len(docs))
	}
	for i := range 60 {
		if d := docs[fmt.Sprintf("variable/%d-v%d", int64(p)<<51+1, i)]; d == nil || len(d["fullValue"].(string)) != 9002 {
			t.Fatalf("variable v%d: document missing or cut", i)
		}
	}
	if d := docs[fmt.Sprintf("variable/%d-huge", int64(p)<<51+1)]; d != nil {
		t.Fatalf("the variable over the maximum document size was published (full value of %d characters)", len(d["fullValue"].(string)))
	}
	ids := map[string]bool{}
	st, err := js.Stream(context.Background(), stream.DocsStream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= st.CachedInfo().State.LastSeq; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if size := len(m.Data); size > 1<<20 {
			t.Errorf("document message of %d bytes", size)
		}
		id := m.Header.Get(nats.MsgIdHdr)
		if ids[id] {
			t.Errorf("message id %s used twice", id)
		}
		ids[id] = true
		first, _ := strconv.ParseInt(m.Header.Get(stream.HeaderFirstPosition), 10, 64)
		for _, d := range documentsOf(t, js, m.Header, m.Data) {
			if strings.Contains(string(d.Source), `\u003c`) {
				t.Errorf("document %s/%s is HTML-escaped", d.Family, d.Id)
			}
			if d.Version < first {
				t.Errorf("message %s: first position %d above its document %s/%s at %d", id, first, d.Family, d.Id, d.Version)
			}
		}
	}
	if len(ids) < 4 { // the process, at least two of variables, the instance
		t.Errorf("%d document messages, want the variables' cut in several", len(ids))
	}
	dls := deadLetters(t, js)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want the huge variable's", len(dls))
	}
	h := dls[0].Headers()
	if r := h.Get(stream.HeaderDLQReason); !strings.Contains(r, "FLOWLINE_AGGREGATOR_MAX_DOCUMENT_BYTES") || !strings.Contains(r, "variable document") ||
		h.Get(stream.HeaderDLQSequence) != strconv.FormatUint(hugeSeq, 10) {
		t.Errorf("dead letter %v", h)
	}
}

// TestAggregatorRewindsAConsumerAheadOfItsCheckpoint: the state bucket is
// lost after the aggregator acked the first records (its consumer's ack
// floor is ahead of the now empty checkpoint). The next aggregator folds
// every record again, so the instance keeps its start date.
func TestAggregatorRewindsAConsumerAheadOfItsCheckpoint(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	part := simulate.NewPartition(3, time.UnixMilli(1_763_884_800_000))
	in := simulate.Start(part, simulate.DemoProcess(int64(3)<<51+999))
	in.Step(time.Second)
	publishRecords(t, js, part.Take())
	startDate := time.UnixMilli(1_763_884_800_001).UTC().Format("2006-01-02T15:04:05.000Z")

	stop := testenv.Run(t, newAggregator(t, ns))
	key := fmt.Sprintf("list-view/%d", in.Key)
	testenv.Eventually(t, 10*time.Second, func() error {
		if d := latestDocs(t, js)[key]; d == nil || d["state"] != "ACTIVE" {
			return fmt.Errorf("instance document: %v", d)
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error { // checkpointed and acked
		cons, err := js.Consumer(ctx, stream.RecordsStream, "aggregator-3")
		if err != nil {
			return err
		}
		if info, err := cons.Info(ctx); err != nil || info.AckFloor.Stream != 1 {
			return fmt.Errorf("consumer %v (%v): want the first record message acked", info, err)
		}
		return nil
	})
	stop()
	// The state bucket is lost (both of its stores, whichever exist).
	if err := js.DeleteObjectStore(ctx, "flowline-aggregator"); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteKeyValue(ctx, "flowline-aggregator"); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatal(err)
	}

	for !in.Done {
		in.Step(time.Second)
	}
	publishRecords(t, js, part.Take())
	testenv.Run(t, newAggregator(t, ns))
	testenv.Eventually(t, 10*time.Second, func() error {
		d := latestDocs(t, js)[key]
		if d == nil || d["state"] != "COMPLETED" || d["startDate"] != startDate {
			return fmt.Errorf("instance document after the state was lost: %v", d)
		}
		return nil
	})
}

// TestAggregatorGivesUpAPartitionWhoseDocumentsAreNeverConfirmed: the
// docs stream stops acknowledging publishes (NoAck) while the connection
// stays up. Within its publish timeout the worker gives the partition up,
// and readiness says which partition and why; once the stream acknowledges
// again the partition is taken up again, its documents are published and
// the aggregator is ready.
func TestAggregatorGivesUpAPartitionWhoseDocumentsAreNeverConfirmed(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	part := simulate.NewPartition(3, time.UnixMilli(1_763_884_800_000))
	first := simulate.Start(part, simulate.DemoProcess(int64(3)<<51+999))
	first.Step(time.Second)
	publishRecords(t, js, part.Take())

	cfg := replicaConfig(t, ns, "")
	cfg.PublishTimeout = config.Duration(time.Second)
	reg := prometheus.NewRegistry()
	a := aggregator.New(cfg, testenv.DepsOn(t, reg))
	testenv.Run(t, a)
	testenv.Eventually(t, 10*time.Second, func() error {
		if d := latestDocs(t, js)[fmt.Sprintf("list-view/%d", first.Key)]; d == nil {
			return errors.New("no first document")
		}
		return nil
	})

	setNoAck := func(noAck bool) {
		t.Helper()
		st, err := js.Stream(ctx, stream.DocsStream)
		if err != nil {
			t.Fatal(err)
		}
		sc := st.CachedInfo().Config
		sc.NoAck = noAck
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	setNoAck(true)
	second := simulate.Start(part, simulate.DemoProcess(int64(3)<<51+999))
	second.Step(time.Second)
	publishRecords(t, js, part.Take())
	testenv.Eventually(t, 30*time.Second, func() error {
		err := a.Ready()
		if err == nil || !strings.Contains(err.Error(), "partition 3 given up") || !strings.Contains(err.Error(), "not confirmed") {
			return fmt.Errorf("readiness %v, want partition 3 given up for unconfirmed documents", err)
		}
		return nil
	})
	if n := testenv.Metric(t, reg, "flowline_aggregator_partitions_given_up_total", nil); n < 1 {
		t.Errorf("flowline_aggregator_partitions_given_up_total %v, want at least 1", n)
	}

	setNoAck(false)
	testenv.Eventually(t, 30*time.Second, func() error {
		if d := latestDocs(t, js)[fmt.Sprintf("list-view/%d", second.Key)]; d == nil {
			return errors.New("the second instance's document is not published")
		}
		return a.Ready()
	})
}

// TestAggregatorDeadLettersARecordMessageWhoseBodyIsGone: a record message
// stored as a reference to an object (a record over max_payload) whose
// object is gone is dead-lettered with that reason, and the partition goes
// on with the next message.
func TestAggregatorDeadLettersARecordMessageWhoseBodyIsGone(t *testing.T) {
	ns := testenv.NATS(t, natsserver.WithMaxPayload(1<<20))
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	payloads, err := stream.OpenPayloads(ctx, js, testenv.Streams())
	if err != nil {
		t.Fatal(err)
	}
	const p = 2
	big := &recordv1.Record{PartitionId: p, Position: 1, Key: int64(p)<<51 + 1, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "big", Value: `"` + strings.Repeat("z", 2<<20) + `"`, ScopeKey: 1}}}
	data, err := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{big}})
	if err != nil {
		t.Fatal(err)
	}
	msg := stream.RecordsMsg(p, 1, 1, data)
	if err := payloads.Prepare(ctx, msg); err != nil {
		t.Fatal(err)
	}
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := payloads.Release(ctx, msg.Header); err != nil { // the object expired
		t.Fatal(err)
	}
	part := simulate.NewPartition(p, time.UnixMilli(1_763_884_800_000))
	part.ResumeAfter(1, 100)
	in := simulate.Start(part, simulate.DemoProcess(int64(p)<<51+999))
	in.Step(time.Second)
	publishRecords(t, js, part.Take())

	testenv.Run(t, newAggregator(t, ns))
	testenv.Eventually(t, 10*time.Second, func() error {
		if d := latestDocs(t, js)[fmt.Sprintf("list-view/%d", in.Key)]; d == nil {
			return errors.New("the next instance is not aggregated")
		}
		return nil
	})
	dls := deadLetters(t, js)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	h := dls[0].Headers()
	if r := h.Get(stream.HeaderDLQReason); !strings.Contains(r, "body is gone") || !strings.Contains(r, stream.ErrPayloadMissing.Error()) ||
		h.Get(stream.HeaderDLQSequence) != strconv.FormatUint(ack.Sequence, 10) ||
		h.Get(stream.HeaderFirstPosition) != "1" || h.Get(stream.HeaderLastPosition) != "1" || !stream.IsReference(h) {
		t.Fatalf("dead letter %v, want the reason, sequence, positions 1..1 and the object's name", h)
	}
}
