package aggregator

// The aggregator's rows of docs/bad-input.md: what a partition worker does
// with records and record messages it cannot aggregate as they are. Each
// test drives one worker (testWorker) on an embedded NATS server, message
// by message, and reads what it published on the documents and dead-letter
// streams.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
)

// badInputRun is one started partition worker with its own metrics
// registry and log buffer.
type badInputRun struct {
	w    *worker
	js   jetstream.JetStream
	reg  *prometheus.Registry
	logs *testenv.Buffer
}

// startBadInputWorker starts partition p's worker on a fresh NATS server,
// its metrics on a registry and its log in a buffer the test reads.
func startBadInputWorker(t *testing.T, p int32) *badInputRun {
	t.Helper()
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	w := testWorker(t, js, workerConfig(ns), p, always)
	r := &badInputRun{w: w, js: js, reg: prometheus.NewRegistry(), logs: &testenv.Buffer{}}
	w.metrics = newMetrics(r.reg)
	w.log = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := w.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// handle handles the next n record messages and checkpoints, so that every
// publish is confirmed.
func (r *badInputRun) handle(t *testing.T, n int) {
	t.Helper()
	if err := handleNext(t, r.w, n); err != nil {
		t.Fatal(err)
	}
	if err := r.w.checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// docs returns the newest published source of every document, by
// "family/id", decoded with numbers kept as written (keys are above 2^53).
func (r *badInputRun) docs(t *testing.T) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]any{}
	versions := map[string]int64{}
	st, err := r.js.Stream(ctx, stream.DocsStream) // a work queue: read by sequence
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		body, err := r.w.payloads.Body(ctx, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		var b recordv1.DocumentBatch
		if err := b.UnmarshalVT(body); err != nil {
			t.Fatal(err)
		}
		for _, d := range b.Documents {
			k := d.Family + "/" + d.Id
			if v, seen := versions[k]; seen && d.Version < v {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(d.Source))
			dec.UseNumber()
			var src map[string]any
			if err := dec.Decode(&src); err != nil {
				t.Fatalf("document %s: %v", k, err)
			}
			versions[k], out[k] = d.Version, src
		}
	}
	return out
}

// deadLetters returns the aggregator's dead letters.
func (r *badInputRun) deadLetters(t *testing.T) []jetstream.Msg {
	t.Helper()
	var out []jetstream.Msg
	for _, m := range testenv.Messages(t, r.js, stream.DLQStream) {
		if m.Subject() == stream.DLQSubject("aggregator") {
			out = append(out, m)
		}
	}
	return out
}

// ignored is flowline_aggregator_ignored_records_total{value_type=label}.
func (r *badInputRun) ignored(t *testing.T, label string) float64 {
	t.Helper()
	return testenv.Metric(t, r.reg, "flowline_aggregator_ignored_records_total", map[string]string{"value_type": label})
}

// processInstanceRecord is a PROCESS_INSTANCE event of element instance
// key in partition 5's process instance instance of definition defKey
// (bpmnProcessId processID); a flow node's scope is the instance.
func processInstanceRecord(pos, key, instance, defKey int64, processID, intent, elementID, typ string) *recordv1.Record {
	r := piRecord(pos, key, intent, elementID, typ)
	pi := r.GetProcessInstance()
	pi.ProcessDefinitionKey, pi.BpmnProcessId, pi.ProcessInstanceKey = defKey, processID, instance
	if typ != "PROCESS" {
		pi.FlowScopeKey = instance
	}
	return r
}

// TestAggregatorFoldsAVariableBeforeItsInstancesRecords: VARIABLE records
// of an instance at lower positions than the instance's first record (one
// in a message of its own, one in the instance's message) are folded as
// they come: a variable's document needs no state, so each is published
// with the instance and scope keys its record names, nothing waits and
// nothing is dead-lettered; the instance is aggregated as usual after them.
func TestAggregatorFoldsAVariableBeforeItsInstancesRecords(t *testing.T) {
	const p = 5
	r := startBadInputWorker(t, p)
	publishBatch(t, r.js, variableRecord(p, 10, "orderId", `"A-1"`))
	publishBatch(t, r.js,
		variableRecord(p, 11, "amount", `42`),
		piRecord(12, pik, "ELEMENT_ACTIVATING", "order", "PROCESS"),
		piRecord(13, pik, "ELEMENT_ACTIVATED", "order", "PROCESS"),
		piRecord(14, pik+1, "ELEMENT_ACTIVATING", "task", "SERVICE_TASK"),
	)
	r.handle(t, 2)

	docs := r.docs(t)
	for name, value := range map[string]string{"orderId": `"A-1"`, "amount": `42`} {
		d := docs["variable/"+id(pik)+"-"+name]
		if d == nil || d["value"] != value || fmt.Sprint(d["processInstanceKey"]) != id(pik) || fmt.Sprint(d["scopeKey"]) != id(pik) {
			t.Errorf("variable %s: document %v, want value %s of instance and scope %d", name, d, value, pik)
		}
	}
	inst := docs["list-view/"+id(pik)]
	if inst == nil || inst["state"] != schema.StateActive || inst["startDate"] != *schema.FormatDate(1_763_884_800_000 + 12) || fmt.Sprint(inst["position"]) != "13" {
		t.Errorf("instance document %v, want ACTIVE from position 12, at 13", inst)
	}
	if d := docs["flownode-instance/"+id(pik+1)]; d == nil || d["state"] != schema.StateActive {
		t.Errorf("flow node document %v", d)
	}
	if dls := r.deadLetters(t); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
	st := r.w.cp.State
	if st.LastPosition != 14 || st.Instances[pik] == nil {
		t.Errorf("state at position %d holding instance: %v; want 14 and the instance", st.LastPosition, st.Instances[pik] != nil)
	}
}

// TestAggregatorKeepsAProcessWhoseBPMNDoesNotParse: a PROCESS CREATED
// record whose resource is not XML that parses (cut short), or holds no
// process with the record's bpmnProcessId, is not dead-lettered: a WARN
// says why, the definition is stored without flow nodes, and the process
// document is published with its resource as bpmnXml, no flow nodes and no
// call activities. Later instances of it are aggregated: the list view is
// named by the record's process name or else the process id, and flow nodes
// (and user tasks) by their element id.
func TestAggregatorKeepsAProcessWhoseBPMNDoesNotParse(t *testing.T) {
	const p = 5
	r := startBadInputWorker(t, p)
	const head = `<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">`
	cases := []struct {
		processID, resource, warn string
		defKey, instance          int64
	}{
		{processID: "broken", warn: "bpmn: invalid XML", // cut short
			resource: head + `<bpmn:process id="broken" name="Broken"><bpmn:serviceTask id="task" name="Ship it">`,
			defKey:   int64(p)<<51 + 7, instance: int64(p)<<51 + 100},
		{processID: "absent", warn: "bpmn: process not found", // no process with the record's id
			resource: head + `<bpmn:process id="other" name="Other"><bpmn:serviceTask id="task" name="Ship it"/></bpmn:process></bpmn:definitions>`,
			defKey:   int64(p)<<51 + 8, instance: int64(p)<<51 + 200},
	}
	for i, tc := range cases {
		publishBatch(t, r.js, &recordv1.Record{PartitionId: p, Position: int64(7 + i), Key: tc.defKey, RecordType: "EVENT", ValueType: "PROCESS", Intent: "CREATED",
			Value: &recordv1.Record_Process{Process: &recordv1.ProcessValue{BpmnProcessId: tc.processID, Version: 1, ProcessDefinitionKey: tc.defKey,
				ResourceName: tc.processID + ".bpmn", Resource: []byte(tc.resource)}}})
	}
	for i, tc := range cases {
		pos := int64(20 + 10*i)
		publishBatch(t, r.js,
			processInstanceRecord(pos, tc.instance, tc.instance, tc.defKey, tc.processID, "ELEMENT_ACTIVATING", tc.processID, "PROCESS"),
			processInstanceRecord(pos+1, tc.instance+1, tc.instance, tc.defKey, tc.processID, "ELEMENT_ACTIVATING", "task", "SERVICE_TASK"),
		)
	}
	r.handle(t, 2*len(cases))

	docs := r.docs(t)
	logs := r.logs.String()
	for _, tc := range cases {
		proc := docs["process/"+id(tc.defKey)]
		if proc == nil || proc["bpmnXml"] != tc.resource || proc["bpmnProcessId"] != tc.processID {
			t.Errorf("%s: process document %v, want it published with its resource", tc.processID, proc)
		} else if nodes, calls := proc["flowNodes"].([]any), proc["callActivityIds"].([]any); nodes == nil || len(nodes) != 0 || calls == nil || len(calls) != 0 {
			t.Errorf("%s: process document's flowNodes %v and callActivityIds %v, want both empty lists", tc.processID, proc["flowNodes"], proc["callActivityIds"])
		}
		def, err := r.w.defs.stored(context.Background(), tc.defKey)
		if err != nil || def == nil || len(def.FlowNodes) != 0 || def.BpmnXML != tc.resource {
			t.Errorf("%s: stored definition %+v (%v), want it without flow nodes, with its resource", tc.processID, def, err)
		}
		if d := docs["list-view/"+id(tc.instance)]; d == nil || d["processName"] != tc.processID || d["state"] != schema.StateActive {
			t.Errorf("%s: instance document %v, want ACTIVE, named by its process id", tc.processID, d)
		}
		if d := docs["flownode-instance/"+id(tc.instance+1)]; d == nil || d["flowNodeName"] != "task" {
			t.Errorf("%s: flow node document %v, want it named by its element id", tc.processID, d)
		}
		found := false
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, "process resource unreadable") &&
				strings.Contains(line, "key="+id(tc.defKey)) && strings.Contains(line, tc.warn) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no WARN naming the definition %d and %q:\n%s", tc.processID, tc.defKey, tc.warn, logs)
		}
	}
	if dls := r.deadLetters(t); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
}

// TestAggregatorCountsRecordsItDoesNotAggregate: value types the aggregator
// does not aggregate (a newer engine's, or Zeebe's MESSAGE), intents it does
// not know of the value types it does, and records other than events are
// skipped and counted in flowline_aggregator_ignored_records_total, by value
// type, or value type and intent; a VARIABLE or JOB event of any intent
// is folded (a job's state is its intent). Nothing is dead-lettered and the
// partition goes on.
func TestAggregatorCountsRecordsItDoesNotAggregate(t *testing.T) {
	const p = 5
	r := startBadInputWorker(t, p)
	ev := func(pos int64, valueType, intent string) *recordv1.Record {
		return &recordv1.Record{PartitionId: p, Position: pos, Key: int64(p)<<51 + pos, Timestamp: 1_763_884_800_000 + pos,
			RecordType: "EVENT", ValueType: valueType, Intent: intent}
	}
	signal := ev(60, "SIGNAL_V99", "EMITTED")
	signal.Value = &recordv1.Record_ValueJson{ValueJson: `{"signalName":"s"}`}
	message := ev(61, "MESSAGE", "PUBLISHED")
	message.Value = &recordv1.Record_ValueJson{ValueJson: `{"name":"m"}`}
	teleported := piRecord(62, pik, "ELEMENT_TELEPORTED", "order", "PROCESS")
	incident := ev(63, "INCIDENT", "MIGRATED")
	incident.Value = &recordv1.Record_Incident{Incident: &recordv1.IncidentValue{ProcessInstanceKey: pik}}
	command := ev(64, "JOB", "COMPLETE")
	command.RecordType = "COMMAND"
	command.Value = &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "ship"}}
	archived := variableRecord(p, 65, "odd", `"x"`)
	archived.Intent = "ARCHIVED"
	job := ev(66, "JOB", "TELEPORTED")
	job.Value = &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "ship", ProcessInstanceKey: pik}}
	publishBatch(t, r.js, signal, message, teleported, incident, command, archived, job)
	publishBatch(t, r.js, piRecord(67, pik, "ELEMENT_ACTIVATING", "order", "PROCESS"))
	r.handle(t, 2)

	for label, want := range map[string]float64{
		"SIGNAL_V99": 1, "MESSAGE": 1, "PROCESS_INSTANCE.ELEMENT_TELEPORTED": 1, "INCIDENT.MIGRATED": 1, "JOB": 1,
		"VARIABLE.ARCHIVED": 0, "JOB.TELEPORTED": 0,
	} {
		if got := r.ignored(t, label); got != want {
			t.Errorf("flowline_aggregator_ignored_records_total{value_type=%q} = %v, want %v", label, got, want)
		}
	}
	if got := testenv.Metric(t, r.reg, "flowline_aggregator_ignored_records_total", nil); got != 5 {
		t.Errorf("%v records counted as ignored, want 5", got)
	}
	docs := r.docs(t)
	if d := docs["variable/"+id(pik)+"-odd"]; d == nil || d["value"] != `"x"` {
		t.Errorf("VARIABLE ARCHIVED: document %v, want it folded", d)
	}
	if d := docs["job/"+id(int64(p)<<51+66)]; d == nil || d["state"] != "TELEPORTED" {
		t.Errorf("JOB TELEPORTED: document %v, want it folded with the intent as its state", d)
	}
	if d := docs["list-view/"+id(pik)]; d == nil || d["state"] != schema.StateActive || fmt.Sprint(d["position"]) != "67" {
		t.Errorf("instance document %v, want the partition to go on (ACTIVE at 67)", d)
	}
	if len(docs) != 3 {
		t.Errorf("%d documents published, want 3 (variable, job, instance): %v", len(docs), docs)
	}
	if dls := r.deadLetters(t); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
	if r.w.cp.State.LastPosition != 67 {
		t.Errorf("state at position %d, want 67", r.w.cp.State.LastPosition)
	}
}

// TestAggregatorDeadLettersRecordsItCannotAggregate: within one record
// message, a record that claims another partition, one without a value,
// one whose value did not decode at ingest (value_error) and one of a
// typed value type carrying raw JSON are each dead-lettered alone, with
// the reason recordProblem gives, the message's subject and sequence, and
// the record as a one-record batch; the message's other records are
// folded and the partition goes on.
func TestAggregatorDeadLettersRecordsItCannotAggregate(t *testing.T) {
	const p = 5
	r := startBadInputWorker(t, p)
	otherPartition := variableRecord(p, 30, "elsewhere", `"1"`)
	otherPartition.PartitionId = 6
	noValue := &recordv1.Record{PartitionId: p, Position: 31, Key: 1, RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED"}
	undecoded := &recordv1.Record{PartitionId: p, Position: 32, Key: 2, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_ValueJson{ValueJson: `{"value":5}`}, ValueError: `field "value.value": expected string, got number 5`}
	raw := &recordv1.Record{PartitionId: p, Position: 33, Key: 3, RecordType: "EVENT", ValueType: "INCIDENT", Intent: "CREATED",
		Value: &recordv1.Record_ValueJson{ValueJson: `{"errorType":"IO_MAPPING_ERROR"}`}}
	good := variableRecord(p, 34, "fine", `"ok"`)
	data, err := (&recordv1.RecordBatch{Records: []*recordv1.Record{otherPartition, noValue, undecoded, raw, good}}).MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.js.PublishMsg(context.Background(), stream.RecordsMsg(p, 30, 34, data)); err != nil {
		t.Fatal(err)
	}
	r.handle(t, 1)

	want := []struct {
		position int64
		reason   string
	}{
		{30, "record at position 30 claims partition 6 but was stored on partition 5"},
		{31, "JOB record at position 31 has no value"},
		{32, `VARIABLE record at position 32: value does not decode: field "value.value": expected string, got number 5`},
		{33, "INCIDENT record at position 33 carries raw JSON instead of its typed value"},
	}
	dls := r.deadLetters(t)
	if len(dls) != len(want) {
		t.Fatalf("%d dead letters, want %d", len(dls), len(want))
	}
	for i, w := range want {
		h := dls[i].Headers()
		if got := h.Get(stream.HeaderDLQReason); got != w.reason {
			t.Errorf("dead letter %d: reason %q, want %q", i, got, w.reason)
		}
		if h.Get(stream.HeaderDLQSubject) != stream.RecordsSubject(p) || h.Get(stream.HeaderDLQSequence) != "1" ||
			h.Get(stream.HeaderDLQKind) != string(stream.KindRecords) || h.Get(stream.HeaderDLQPartition) != strconv.Itoa(p) {
			t.Errorf("dead letter %d: headers %v", i, h)
		}
		var b recordv1.RecordBatch
		if err := b.UnmarshalVT(dls[i].Data()); err != nil || len(b.Records) != 1 || b.Records[0].Position != w.position {
			t.Errorf("dead letter %d carries %v (%v), want the record at position %d alone", i, &b, err, w.position)
		}
	}
	if n := testenv.Metric(t, r.reg, "flowline_aggregator_dead_letters_total", nil); n != float64(len(want)) {
		t.Errorf("flowline_aggregator_dead_letters_total = %v, want %d", n, len(want))
	}
	docs := r.docs(t)
	if d := docs["variable/"+id(int64(p)<<51+1)+"-fine"]; d == nil || d["value"] != `"ok"` {
		t.Errorf("the message's good record: document %v", d)
	}
	if len(docs) != 1 {
		t.Errorf("%d documents, want only the good record's: %v", len(docs), docs)
	}
	if r.w.cp.State.LastPosition != 34 {
		t.Errorf("state at position %d, want 34", r.w.cp.State.LastPosition)
	}
}

// TestAggregatorSkipsALateRecordUnlessRedriven: a record whose position is
// at or below the newest one its partition folded, arriving in a later
// message (a client that sent it late, or a duplicate), is taken as
// already applied: no document, no dead letter. Sent back with the redrive
// header (`flowline dlq redrive` does that) it is folded.
func TestAggregatorSkipsALateRecordUnlessRedriven(t *testing.T) {
	const p = 5
	r := startBadInputWorker(t, p)
	publishBatch(t, r.js, variableRecord(p, 50, "early", `"1"`))
	late := variableRecord(p, 45, "late", `"2"`)
	publishBatch(t, r.js, late)
	r.handle(t, 2)

	docKey := "variable/" + id(int64(p)<<51+1) + "-late"
	if d := r.docs(t)[docKey]; d != nil {
		t.Fatalf("the late record was folded: %v", d)
	}
	if dls := r.deadLetters(t); len(dls) != 0 {
		t.Fatalf("%d dead letters, want none", len(dls))
	}
	if n := testenv.Metric(t, r.reg, "flowline_aggregator_records_total", nil); n != 2 {
		t.Errorf("flowline_aggregator_records_total = %v, want 2", n)
	}

	data, err := (&recordv1.RecordBatch{Records: []*recordv1.Record{late}}).MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: stream.RecordsSubject(p), Data: data, Header: nats.Header{}}
	msg.Header.Set(stream.HeaderRedrive, "7")
	if _, err := r.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	r.handle(t, 1)
	if d := r.docs(t)[docKey]; d == nil || d["value"] != `"2"` || fmt.Sprint(d["position"]) != "45" {
		t.Errorf("the redriven late record: document %v, want it at position 45", d)
	}
	if r.w.cp.State.LastPosition != 50 {
		t.Errorf("state at position %d after the redrive, want still 50", r.w.cp.State.LastPosition)
	}
}
