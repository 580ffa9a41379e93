package deadletter_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/bufpool"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/deadletter"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/recordlog"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestFilterSelectsByServiceReasonAndTime(t *testing.T) {
	l := deadletter.Letter{DeadLetter: stream.DeadLetter{Service: "writer", Reason: "HTTP 400: strict_dynamic_mapping_exception"}, Seq: 3, Time: t0}
	for _, tt := range []struct {
		f    deadletter.Filter
		want bool
	}{
		{deadletter.Filter{}, true},
		{deadletter.Filter{Service: "writer"}, true},
		{deadletter.Filter{Service: "aggregator"}, false},
		{deadletter.Filter{Reason: "STRICT_dynamic"}, true},
		{deadletter.Filter{Reason: "parse"}, false},
		{deadletter.Filter{Since: t0}, true},
		{deadletter.Filter{Since: t0.Add(time.Nanosecond)}, false},
		{deadletter.Filter{Until: t0}, true},
		{deadletter.Filter{Until: t0.Add(-time.Second)}, false},
		{deadletter.Filter{Service: "writer", Reason: "mapping", Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, true},
	} {
		if got := tt.f.Match(l); got != tt.want {
			t.Errorf("%+v matches: %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestParseTimeTakesRFC3339OrAgo(t *testing.T) {
	now := t0
	if got, err := deadletter.ParseTime("90m", now); err != nil || !got.Equal(now.Add(-90*time.Minute)) {
		t.Errorf("90m: %v %v", got, err)
	}
	if got, err := deadletter.ParseTime("2026-11-23T10:00:00Z", now); err != nil || !got.Equal(t0.Add(-2*time.Hour)) {
		t.Errorf("RFC 3339: %v %v", got, err)
	}
	for _, bad := range []string{"yesterday", "-5m", "2026-11-23"} {
		if _, err := deadletter.ParseTime(bad, now); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := deadletter.ParseSeqs([]string{"12", "x"}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("ParseSeqs with x: %v", err)
	}
}

// zeebeJob is a JOB record as Zeebe's Elasticsearch exporter writes it.
const zeebeJob = `{"partitionId":2,"value":{"type":"ship","worker":"w","retries":3,"deadline":-1,"errorMessage":"","errorCode":"","customHeaders":{},"variables":{},"elementId":"ship-order","elementInstanceKey":5,"bpmnProcessId":"demo","processDefinitionVersion":1,"processDefinitionKey":4,"processInstanceKey":3,"tenantId":"<default>","retryBackoff":0,"recurringTime":-1,"timeout":-1,"jobKind":"BPMN_ELEMENT","jobListenerEventType":"UNSPECIFIED","changedAttributes":[],"result":{"type":"","denied":false,"deniedReason":"","correctedAttributes":[],"corrections":{}},"tags":[]},"key":7,"timestamp":1763884800000,"valueType":"JOB","intent":"CREATED","recordType":"EVENT","rejectionType":"NULL_VAL","rejectionReason":"","brokerVersion":"8.8.0","sourceRecordPosition":10,"position":11,"recordVersion":1,"operationReference":-1,"batchOperationReference":-1,"authorizations":{}}`

func letterOf(kind stream.DeadLetterKind, p int32, data []byte) deadletter.Letter {
	return deadletter.Letter{Seq: 9, Time: t0, DeadLetter: stream.DeadLetter{Service: "s", Kind: kind, Partition: p, Data: data, Header: nats.Header{}}}
}

// TestRedrivePlanSendsEachKindBackWhereItCameFrom: records and Zeebe
// records to the partition's records subject, documents to its docs
// subject, all with the redrive marker and the deterministic message id;
// what cannot be sent back says why.
func TestRedrivePlanSendsEachKindBackWhereItCameFrom(t *testing.T) {
	records, _ := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{{PartitionId: 4, Position: 30}, {PartitionId: 4, Position: 31}}})
	p, err := deadletter.PlanRedrive(letterOf(stream.KindRecords, 4, records))
	if err != nil || p.Target() != "flowline.records.4" || !p.Records || p.First != 30 || p.Last != 31 || !bytes.Equal(p.Msg.Data, records) {
		t.Errorf("records: %+v %v", p, err)
	}
	checkMarked(t, p)

	p, err = deadletter.PlanRedrive(letterOf(stream.KindZeebeRecord, 2, []byte(zeebeJob)))
	if err != nil || p.Target() != "flowline.records.2" || !p.Records || p.First != 11 || p.Last != 11 {
		t.Fatalf("zeebe record: %+v %v", p, err)
	}
	var batch recordv1.RecordBatch
	if err := proto.Unmarshal(p.Msg.Data, &batch); err != nil || len(batch.Records) != 1 || batch.Records[0].GetJob().GetType() != "ship" {
		t.Errorf("zeebe record re-encoded as %v (%v)", &batch, err)
	}
	checkMarked(t, p)

	l := letterOf(stream.KindDocument, 6, []byte(`{"key":7}`))
	l.Document = &stream.DeadDocument{Index: "flowline-job-1_", Family: "job", ID: "7", Version: 44, Partition: 6, Timestamp: 99}
	l.Header.Set(stream.HeaderDLQVersion, "44")
	p, err = deadletter.PlanRedrive(l)
	if err != nil || p.Target() != "flowline.docs.6" || p.Records {
		t.Fatalf("document: %+v %v", p, err)
	}
	var docs recordv1.DocumentBatch
	if err := proto.Unmarshal(p.Msg.Data, &docs); err != nil || len(docs.Documents) != 1 {
		t.Fatalf("document batch %v (%v)", &docs, err)
	}
	if d := docs.Documents[0]; d.Family != "job" || d.Id != "7" || d.Version != 44 || d.PartitionId != 6 || d.RecordTimestamp != 99 || string(d.Source) != `{"key":7}` {
		t.Errorf("document re-published as %v", d)
	}
	checkMarked(t, p)

	// A routed document (a list-view child of the operate schema) keeps
	// its routing, without which the engine refuses it.
	l = letterOf(stream.KindDocument, 6, []byte(`{}`))
	l.Document = &stream.DeadDocument{Index: "operate-list-view-8.3.0_", Family: "operate-list-view", ID: "8", Version: 45, Partition: 6, Routing: "3"}
	l.Header.Set(stream.HeaderDLQVersion, "45")
	if p, err = deadletter.PlanRedrive(l); err != nil {
		t.Fatal(err)
	}
	docs.Reset()
	if err := proto.Unmarshal(p.Msg.Data, &docs); err != nil || len(docs.Documents) != 1 || docs.Documents[0].Routing != "3" {
		t.Errorf("routed document re-published as %v (%v), want routing 3", &docs, err)
	}

	p, err = deadletter.PlanRedrive(letterOf(stream.KindDocuments, 1, []byte("anything")))
	if err != nil || p.Target() != "flowline.docs.1" || string(p.Msg.Data) != "anything" {
		t.Errorf("documents message: %+v %v", p, err)
	}
	checkMarked(t, p)

	// A Camunda 7 source's document names no partition: it goes back to
	// the subject it was dead-lettered from.
	c7doc := letterOf(stream.KindDocument, -1, []byte(`{"key":"abc"}`))
	c7doc.Subject = stream.C7DocsSubject("eu")
	c7doc.Document = &stream.DeadDocument{Index: "flowline-c7-task-1_", Family: "c7-task", ID: "abc", Version: 12, Partition: -1}
	c7doc.Header.Set(stream.HeaderDLQVersion, "12")
	p, err = deadletter.PlanRedrive(c7doc)
	if err != nil || p.Target() != "flowline.docs.c7.eu" {
		t.Fatalf("c7 document: %+v %v", p, err)
	}
	checkMarked(t, p)
	c7batch := letterOf(stream.KindDocuments, -1, []byte("anything"))
	c7batch.Subject = stream.C7DocsSubject("eu")
	if p, err = deadletter.PlanRedrive(c7batch); err != nil || p.Target() != "flowline.docs.c7.eu" {
		t.Errorf("c7 documents message: %+v %v", p, err)
	}
	c7elsewhere := c7doc
	c7elsewhere.Subject = "flowline.docs.c7.eu.x"

	noFamily := letterOf(stream.KindDocument, 6, []byte(`{}`))
	noFamily.Document = &stream.DeadDocument{Index: "flowline-job-1_", ID: "7"}
	for name, l := range map[string]deadletter.Letter{
		"records that do not decode":   letterOf(stream.KindRecords, 4, []byte("\xff\xff")),
		"records without partition":    letterOf(stream.KindRecords, -1, records),
		"zeebe record not JSON":        letterOf(stream.KindZeebeRecord, 2, []byte("{")),
		"zeebe record elsewhere":       letterOf(stream.KindZeebeRecord, 3, []byte(zeebeJob)),
		"document without family":      noFamily,
		"c7 document on no c7 subject": c7elsewhere,
		"no kind":                      letterOf("", -1, []byte("x")),
	} {
		if _, err := deadletter.PlanRedrive(l); !errors.Is(err, deadletter.ErrNotRedrivable) || !strings.Contains(err.Error(), "dead letter 9") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func checkMarked(t *testing.T, p deadletter.Plan) {
	t.Helper()
	if p.Msg.Header.Get(nats.MsgIdHdr) != "redrive-9" || p.Msg.Header.Get(stream.HeaderRedrive) != "9" {
		t.Errorf("%s: headers %v", p.Target(), p.Msg.Header)
	}
}

// TestShowDecodesPayloads: documents as JSON, records as Zeebe JSON, raw
// bytes otherwise with the reason they did not decode.
func TestShowDecodesPayloads(t *testing.T) {
	rec := &recordv1.Record{PartitionId: 4, Position: 30, Key: 8, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "x", Value: `"odd"`}}}
	records, _ := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{rec}})
	docs, _ := proto.Marshal(&recordv1.DocumentBatch{Documents: []*recordv1.Document{{Family: "job", Id: "7", Version: 3, Source: []byte(`{"a":1}`)}}})
	for _, tt := range []struct {
		name string
		l    deadletter.Letter
		want []string
	}{
		{"document", letterOf(stream.KindDocument, 1, []byte(`{"state":"ACTIVE"}`)), []string{"payload (document", `"state": "ACTIVE"`}},
		{"records", letterOf(stream.KindRecords, 4, records), []string{"payload (records", `"valueType": "VARIABLE"`, `"position": 30`, `"name": "x"`}},
		{"documents", letterOf(stream.KindDocuments, 1, docs), []string{`"family": "job"`, `"a": 1`}},
		{"zeebe record", letterOf(stream.KindZeebeRecord, 2, []byte(zeebeJob)), []string{`"worker": "w"`}},
		{"raw text", letterOf(stream.KindRecords, 4, []byte("not protobuf")), []string{"raw: not a flowline.record.v1.RecordBatch", "not protobuf"}},
		{"raw binary", letterOf("", -1, []byte{0xff, 0x00}), []string{"unknown kind", "ff 00"}},
	} {
		var b bytes.Buffer
		tt.l.Header.Set(stream.HeaderDLQReason, "because")
		if err := deadletter.WriteShow(&b, tt.l); err != nil {
			t.Fatal(err)
		}
		for _, w := range append(tt.want, "dead letter 9 of s", "Flowline-Dlq-Reason: because") {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: show lacks %q:\n%s", tt.name, w, b.String())
			}
		}
	}
}

// publishDeadLetter stores a dead letter on the test server.
func publishDeadLetter(t *testing.T, js stream.Publisher, d stream.DeadLetter) {
	t.Helper()
	if err := stream.PublishDeadLetter(context.Background(), js, d); err != nil {
		t.Fatal(err)
	}
}

// TestListFiltersTheDeadLetterStream: on a real server, list selects by
// service, reason, time and limit, oldest first, and prints a line each.
func TestListFiltersTheDeadLetterStream(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()
	publishDeadLetter(t, js, stream.DeadLetter{Service: "aggregator", Reason: "value does not decode", Subject: stream.RecordsSubject(1), Sequence: 5, Data: []byte("a")})
	publishDeadLetter(t, js, stream.DeadLetter{Service: "writer", Reason: "HTTP 400: mapper_parsing_exception",
		Document: &stream.DeadDocument{Index: "x-job-1_", Family: "job", ID: "7", Version: 3, Partition: 2}, Data: []byte(`{}`)})
	time.Sleep(20 * time.Millisecond) // a visible gap between stored times for --since
	mid := time.Now()
	publishDeadLetter(t, js, stream.DeadLetter{Service: "writer", Reason: "HTTP 400: strict_dynamic_mapping_exception",
		Document: &stream.DeadDocument{Index: "x-job-1_", Family: "job", ID: "8", Version: 4, Partition: 2}, Data: []byte(`{}`)})

	s := deadletter.New(js, nil)
	seqs := func(f deadletter.Filter) []uint64 {
		t.Helper()
		ls, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, l := range ls {
			out = append(out, l.Seq)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		f    deadletter.Filter
		want []uint64
	}{
		{"all", deadletter.Filter{}, []uint64{1, 2, 3}},
		{"service", deadletter.Filter{Service: "writer"}, []uint64{2, 3}},
		{"unknown service", deadletter.Filter{Service: "archiver"}, nil},
		{"reason", deadletter.Filter{Reason: "_EXCEPTION"}, []uint64{2, 3}},
		{"reason, one", deadletter.Filter{Reason: "mapping"}, []uint64{3}},
		{"since", deadletter.Filter{Since: mid}, []uint64{3}},
		{"until", deadletter.Filter{Until: mid}, []uint64{1, 2}},
		{"limit", deadletter.Filter{Service: "writer", Limit: 1}, []uint64{2}},
	} {
		if got := seqs(tt.f); !equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	ls, err := s.List(ctx, deadletter.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := deadletter.WriteList(&b, ls, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "1\t") || !strings.Contains(lines[0], "\taggregator\trecords\t1\tflowline.records.1#5\tvalue does not decode") ||
		!strings.Contains(lines[2], "\twriter\tdocument\t2\tjob/8\tHTTP 400: strict_dynamic_mapping_exception") {
		t.Errorf("list:\n%s", b.String())
	}
	b.Reset()
	if err := deadletter.WriteList(&b, ls[:1], true); err != nil || !strings.Contains(b.String(), `"seq":1,`) || !strings.Contains(b.String(), `"partition":1,`) {
		t.Errorf("list --json: %s %v", b.String(), err)
	}
	if _, err := s.Get(ctx, 99); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("Get(99): %v", err)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRedrivenRecordsKeepTheDuplicateRule: a record redriven behind the
// partition's stored positions lands on the records subject marked for
// the aggregator, and the subject's last message still names the highest
// stored position, so ingest (pkg/recordlog) still refuses older positions
// as duplicates and stores newer ones after it. The dead letter is gone
// afterwards; a second redrive finds nothing.
func TestRedrivenRecordsKeepTheDuplicateRule(t *testing.T) {
	ns := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, ns)
	js := conn.JS
	ctx := context.Background()
	log := recordlog.New(js, config.RecordStore{EventsOnly: true, BatchRecords: 100, BatchBytes: 1 << 20}, conn.Payloads, &bufpool.Pool{}, nil)
	stored := func(positions ...int64) recordlog.Result {
		t.Helper()
		var recs []*recordv1.Record
		for _, p := range positions {
			recs = append(recs, &recordv1.Record{PartitionId: 1, Position: p, RecordType: "EVENT", ValueType: "JOB"})
		}
		ws, err := wire.EncodeRecords(recs)
		if err != nil {
			t.Fatal(err)
		}
		res, err := log.Append(ctx, 1, ws)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	stored(10, 11, 12)

	data, _ := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{{PartitionId: 1, Position: 5, RecordType: "EVENT", ValueType: "JOB"}}})
	publishDeadLetter(t, js, stream.DeadLetter{Service: "aggregator", Reason: "r", Subject: stream.RecordsSubject(1), Sequence: 1, Data: data})
	s := deadletter.New(js, nil)
	l, err := s.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.Redrive(ctx, l, true); err != nil || !out.DryRun || out.Target != "flowline.records.1" {
		t.Fatalf("dry run: %+v %v", out, err)
	}
	if _, err := s.Get(ctx, 1); err != nil {
		t.Fatalf("a dry run removed the dead letter: %v", err)
	}
	out, err := s.Redrive(ctx, l, false)
	if err != nil || out.Duplicate {
		t.Fatalf("redrive: %+v %v", out, err)
	}
	st, err := js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		t.Fatal(err)
	}
	last, err := st.GetLastMsgForSubject(ctx, stream.RecordsSubject(1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(last.Data, data) || last.Header.Get(stream.HeaderRedrive) != "1" || last.Header.Get(stream.HeaderLastPosition) != "12" ||
		last.Header.Get(stream.HeaderFirstPosition) != "5" || last.Header.Get(nats.MsgIdHdr) != "redrive-1" {
		t.Errorf("redriven message: headers %v", last.Header)
	}
	// The recordlog learns of the new last message through its conflict.
	if res := stored(12, 13); res.Duplicates != 1 || res.Accepted != 1 {
		t.Errorf("append after the redrive: %+v, want 1 duplicate and 1 accepted", res)
	}
	if _, err := s.Get(ctx, 1); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("dead letter after its redrive: %v", err)
	}
	// An interrupted redrive (the dead letter still there) repeated within
	// the dedupe window is a duplicate, not a second message.
	info, _ := st.Info(ctx)
	if out, err := s.Redrive(ctx, l, false); err != nil || !out.Duplicate {
		t.Errorf("repeated redrive: %+v %v", out, err)
	}
	if info2, _ := st.Info(ctx); info2.State.Msgs != info.State.Msgs {
		t.Errorf("repeated redrive stored a message: %d -> %d", info.State.Msgs, info2.State.Msgs)
	}
}
