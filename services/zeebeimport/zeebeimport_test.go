package zeebeimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/zeebeimport"
)

// exporterTemplate installs an index template like the Zeebe Elasticsearch
// exporter's (zeebe-record-template.json plus a per-value-type "value"):
// strict envelope mapping, position and key long, partitionId integer.
func exporterTemplate(t *testing.T, es *search.Client, prefix string) {
	t.Helper()
	long, integer, keyword := map[string]string{"type": "long"}, map[string]string{"type": "integer"}, map[string]string{"type": "keyword"}
	body, _ := json.Marshal(map[string]any{
		"index_patterns": []string{prefix + "_*"},
		"priority":       20,
		"template": map[string]any{
			"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0, "index.queries.cache.enabled": false},
			"mappings": map[string]any{
				"dynamic": "strict",
				"properties": map[string]any{
					"position": long, "sourceRecordPosition": long, "key": long, "timestamp": map[string]string{"type": "date"},
					"intent": keyword, "partitionId": integer, "recordType": keyword, "rejectionType": keyword,
					"rejectionReason": map[string]string{"type": "text"}, "authorizations": map[string]bool{"enabled": false},
					"valueType": keyword, "brokerVersion": keyword, "recordVersion": integer, "sequence": long,
					"operationReference": long, "batchOperationReference": long,
					"value": map[string]any{"dynamic": true, "properties": map[string]any{
						"processInstanceKey": long, "processDefinitionKey": long, "bpmnProcessId": keyword, "elementId": keyword,
					}},
				},
			},
		},
	})
	if _, err := es.Do(context.Background(), search.Request{Method: http.MethodPut, Path: "/_index_template/" + url.PathEscape(prefix+"-template"), Body: body, What: "put template"}); err != nil {
		t.Fatal(err)
	}
}

// exporter writes records into Elasticsearch the way Zeebe's exporter lays
// them out: index <prefix>_<value-type>_<version>_<day>, _id
// <partition>-<position>, routing by partition, the record JSON plus
// "sequence"; one bulk request per call, then a refresh of the indices
// written.
type exporter struct {
	t      *testing.T
	es     *search.Client
	prefix string
	// counters and assigned hold the exporter's "sequence": a counter per
	// partition and value type, ((partitionId << 51) + counter), given to
	// each record once, in the order the exporter sees them.
	counters map[string]int64
	assigned map[string]int64
}

func newExporter(t *testing.T, es *search.Client, prefix string) *exporter {
	return &exporter{t: t, es: es, prefix: prefix, counters: map[string]int64{}, assigned: map[string]int64{}}
}

// assign gives records their sequences, as the exporter does when it adds
// them to a bulk, whether or not that bulk's item is written then.
func (x *exporter) assign(records []simulate.Record) {
	for _, r := range records {
		id := fmt.Sprintf("%d-%d", r.PartitionID, r.Position)
		if _, ok := x.assigned[id]; ok {
			continue
		}
		vt := fmt.Sprintf("%d/%s", r.PartitionID, r.ValueType)
		x.counters[vt]++
		x.assigned[id] = int64(r.PartitionID)<<51 + x.counters[vt]
	}
}

func (x *exporter) index(r simulate.Record) string {
	vt := strings.ReplaceAll(strings.ToLower(r.ValueType), "_", "-")
	return fmt.Sprintf("%s_%s_%s_%s", x.prefix, vt, r.BrokerVersion, time.UnixMilli(r.Timestamp).UTC().Format("2006-01-02"))
}

// export bulk-indexes records and refreshes the indices it wrote; mangle
// may change a record's document.
func (x *exporter) export(records []simulate.Record, mangle func(simulate.Record, map[string]any)) {
	x.t.Helper()
	x.bulk(records, mangle)
	// Make the bulk searchable now. The periodic 1 s refresh runs late when
	// the machine is loaded (CI runs every package at once), and a record
	// that settles before its index refreshes is rightly dead-lettered as
	// late; that is the Settle contract, not what this test is about.
	seen := map[string]bool{}
	var written []string
	for _, r := range records {
		if ix := x.index(r); !seen[ix] {
			seen[ix] = true
			written = append(written, ix)
		}
	}
	x.refresh(written...)
}

// bulk bulk-indexes records as one exporter bulk, without a refresh.
func (x *exporter) bulk(records []simulate.Record, mangle func(simulate.Record, map[string]any)) {
	x.t.Helper()
	var body bytes.Buffer
	x.assign(records)
	for _, r := range records {
		var doc map[string]any
		d := json.NewDecoder(bytes.NewReader(r.JSON()))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			x.t.Fatal(err)
		}
		doc["sequence"] = x.assigned[fmt.Sprintf("%d-%d", r.PartitionID, r.Position)]
		if mangle != nil {
			mangle(r, doc)
		}
		action, _ := json.Marshal(map[string]any{"index": map[string]any{
			"_index": x.index(r), "_id": fmt.Sprintf("%d-%d", r.PartitionID, r.Position), "routing": fmt.Sprint(r.PartitionID)}})
		src, _ := json.Marshal(doc)
		body.Write(action)
		body.WriteByte('\n')
		body.Write(src)
		body.WriteByte('\n')
	}
	results, err := search.BulkBody(context.Background(), x.es, body.Bytes(), len(records))
	if err != nil {
		x.t.Fatal(err)
	}
	for i, r := range results {
		if r.Outcome != search.Done {
			x.t.Fatalf("bulk item %d: %v %s", i, r.Outcome, r.Reason)
		}
	}
}

// refresh makes indices searchable now.
func (x *exporter) refresh(indices ...string) {
	x.t.Helper()
	if err := search.Refresh(context.Background(), x.es, indices...); err != nil {
		x.t.Fatalf("refresh: %v", err)
	}
}

// workload runs simulated instances on partitions and hands out their
// records step by step. Each step first moves the partition clocks to the
// wall clock, so records carry about the time they are exported, as with a
// live Zeebe.
type workload struct {
	parts     []*simulate.Partition
	clock     map[int32]time.Time
	instances []*simulate.Instance
}

func newWorkload(ids ...int32) *workload {
	w := &workload{clock: map[int32]time.Time{}}
	for _, id := range ids {
		now := time.Now()
		w.parts = append(w.parts, simulate.NewPartition(id, now))
		w.clock[id] = now
	}
	return w
}

// run advances the clocks to now, applies do, and takes the records.
func (w *workload) run(do func()) []simulate.Record {
	for _, p := range w.parts {
		if d := time.Since(w.clock[p.ID]); d > 0 {
			p.Tick(d)
			w.clock[p.ID] = w.clock[p.ID].Add(d)
		}
	}
	do()
	var out []simulate.Record
	for _, p := range w.parts {
		recs := p.Take()
		if len(recs) > 0 {
			w.clock[p.ID] = time.UnixMilli(recs[len(recs)-1].Timestamp)
		}
		out = append(out, recs...)
	}
	return out
}

// step starts n instances per partition and steps every running one.
func (w *workload) step(n int) []simulate.Record {
	return w.run(func() {
		for _, p := range w.parts {
			for range n {
				w.instances = append(w.instances, simulate.Start(p, simulate.DemoProcess(int64(p.ID)<<51+1)))
			}
		}
		for _, in := range w.instances {
			in.Step(time.Millisecond)
		}
	})
}

// finish steps every instance to its end.
func (w *workload) finish() []simulate.Record {
	return w.run(func() {
		for range 10 {
			for _, in := range w.instances {
				in.Step(time.Millisecond)
			}
		}
	})
}

// stored reads every record of FLOWLINE_RECORDS, per partition in stream
// order.
func stored(t *testing.T, js jetstream.JetStream) map[int32][]int64 {
	t.Helper()
	out := map[int32][]int64{}
	for _, msg := range testenv.Messages(t, js, stream.RecordsStream) {
		var batch recordv1.RecordBatch
		if err := proto.Unmarshal(msg.Data(), &batch); err != nil {
			t.Fatal(err)
		}
		for _, r := range batch.Records {
			p, _ := stream.PartitionOf(msg.Subject())
			if r.PartitionId != p {
				t.Fatalf("record of partition %d on %s", r.PartitionId, msg.Subject())
			}
			out[p] = append(out[p], r.Position)
		}
	}
	return out
}

// expectExactlyOnce checks that stored holds exactly want's positions per
// partition, each once, in increasing order.
func expectExactlyOnce(got map[int32][]int64, want map[int32][]int64) error {
	for p, w := range want {
		w = slices.Sorted(slices.Values(w))
		if !slices.Equal(got[p], w) {
			return fmt.Errorf("partition %d: stored %d records %s, want %d %s", p, len(got[p]), brief(got[p]), len(w), brief(w))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("stored partitions %d, want %d", len(got), len(want))
	}
	return nil
}

func brief(ps []int64) string {
	if len(ps) <= 12 {
		return fmt.Sprint(ps)
	}
	return fmt.Sprintf("%v...%v", ps[:6], ps[len(ps)-6:])
}

// importConfig is a quick import for tests. Settle must exceed the time
// from a record's timestamp until it is searchable (export plus refresh),
// or the import rightly dead-letters it as late.
func importConfig(ns *natsserver.Server, esURL, prefix, replica string) zeebeimport.Config {
	return zeebeimport.Config{
		Source: zeebeimport.Source{
			URL: esURL, IndexPrefix: prefix, PageSize: 16,
			BackoffStart: config.Duration(100 * time.Millisecond), BackoffFactor: 1.5, BackoffMax: config.Duration(400 * time.Millisecond),
			Settle: config.Duration(3 * time.Second), Bucket: "zeebe-import",
		},
		Lease:       config.Lease{Bucket: "zeebe-import-leases", TTL: config.Duration(2 * time.Second), ReplicaID: replica},
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 10, BatchBytes: 32 << 10},
		NATS:        testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
}

// TestZeebeImport writes records into a real Elasticsearch as Zeebe's
// exporter does, in several bulks while the import runs, and checks that
// every record is stored once, in position order, with progress in the KV
// bucket; a malformed document is dead-lettered with its reason; a restart
// resumes from the stored progress without re-reading anything; a second
// replica shares the partitions without duplicates.
func TestZeebeImport(t *testing.T) {
	ns := testenv.NATS(t)
	es, esCfg := testenv.Elasticsearch(t)
	tp := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, tp)
	prefix := tp + "-zeebe-record"
	exporterTemplate(t, es, prefix)
	x := newExporter(t, es, prefix)
	js := testenv.Connect(t, ns).JS

	want := map[int32][]int64{}
	keep := func(recs []simulate.Record, skip int64) {
		for _, r := range recs {
			if !(r.PartitionID == 2 && r.Position == skip) {
				want[r.PartitionID] = append(want[r.PartitionID], r.Position)
			}
		}
	}

	// Before the import starts: a backlog, one document of which lacks its
	// intent (the mapping allows that; Zeebe's record format does not).
	w := newWorkload(1, 2, 3)
	backlog := w.step(4)
	var bad simulate.Record
	for _, r := range backlog {
		if r.PartitionID == 2 && r.Intent == "ELEMENT_ACTIVATED" {
			bad = r
			break
		}
	}
	if bad.Position == 0 {
		t.Fatal("the backlog has no record to spoil")
	}
	x.export(backlog, func(r simulate.Record, doc map[string]any) {
		if r.PartitionID == bad.PartitionID && r.Position == bad.Position {
			delete(doc, "intent")
		}
	})
	keep(backlog, bad.Position)

	newService := func(replica string) (*zeebeimport.Service, *prometheus.Registry, func()) {
		reg := prometheus.NewRegistry()
		cfg := importConfig(ns, esCfg.ES.URL, prefix, replica)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s := zeebeimport.New(cfg, testenv.DepsOn(t, reg))
		return s, reg, testenv.Run(t, s)
	}
	_, reg, stop := newService("replica-a")

	// Near real time: more bulks while the import runs.
	for range 3 {
		recs := w.step(2)
		x.export(recs, nil)
		keep(recs, -1)
		time.Sleep(150 * time.Millisecond)
	}
	recs := w.finish()
	x.export(recs, nil)
	keep(recs, -1)

	total := 0
	for _, ps := range want {
		total += len(ps)
	}
	testenv.Eventually(t, 60*time.Second, func() error { return expectExactlyOnce(stored(t, js), want) })
	if got := testenv.Metric(t, reg, "flowline_zeebe_import_records_total", map[string]string{"result": "imported"}); got != float64(total) {
		t.Errorf("imported metric %v, want %d", got, total)
	}
	if got := testenv.Metric(t, reg, "flowline_zeebe_import_records_total", map[string]string{"result": "invalid"}); got != 1 {
		t.Errorf("invalid metric %v, want 1", got)
	}
	if testenv.Metric(t, reg, "flowline_zeebe_import_pages_total", nil) == 0 {
		t.Error("no pages counted")
	}

	// Progress: one key per partition with every value type's cursor.
	kv, err := js.KeyValue(context.Background(), "zeebe-import")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for p, ps := range want {
			e, err := kv.Get(context.Background(), zeebeimport.ImportProgressKey(p))
			if err != nil {
				return fmt.Errorf("partition %d: %v", p, err)
			}
			var prog zeebeimport.ImportProgress
			if err := json.Unmarshal(e.Value(), &prog); err != nil {
				return err
			}
			last := slices.Max(ps)
			if prog.Position != last || prog.Cursors["process-instance"] == 0 || prog.Cursors["job"] == 0 ||
				max(prog.Cursors["process-instance"], prog.Cursors["job"]) != last {
				return fmt.Errorf("partition %d: progress %+v, want position %d", p, prog, last)
			}
		}
		return nil
	})

	// The malformed document is dead-lettered with where it was and why.
	dlq := deadLetters(t, js)
	if len(dlq) != 1 {
		t.Fatalf("%d dead letters, want 1: %v", len(dlq), dlq)
	}
	d := dlq[0]
	if d.Headers().Get(stream.HeaderDLQID) != fmt.Sprintf("2-%d", bad.Position) || d.Headers().Get(stream.HeaderDLQIndex) != x.index(bad) ||
		!strings.Contains(d.Headers().Get(stream.HeaderDLQReason), `missing field "intent"`) || d.Subject() != stream.DLQSubject("ingest") {
		t.Errorf("dead letter %s %v", d.Subject(), d.Headers())
	}

	// Restart: the new process resumes from the stored progress, so it reads
	// only what was exported meanwhile: nothing counts as a duplicate.
	stop()
	w2 := newWorkload(1, 2, 3)
	for i, p := range w2.parts {
		p.ResumeAfter(slices.Max(want[int32(i+1)]), 1000)
	}
	time.Sleep(10 * time.Millisecond) // the old partitions' clocks ran ahead a little
	more := w2.step(3)
	x.export(more, nil)
	keep(more, -1)
	_, reg2, _ := newService("replica-a")
	testenv.Eventually(t, 60*time.Second, func() error { return expectExactlyOnce(stored(t, js), want) })
	if got := testenv.Metric(t, reg2, "flowline_zeebe_import_records_total", map[string]string{"result": "imported"}); got != float64(len(more)) {
		t.Errorf("after restart imported %v, want the %d new records", got, len(more))
	}
	if got := testenv.Metric(t, reg2, "flowline_zeebe_import_records_total", map[string]string{"result": "duplicate"}); got != 0 {
		t.Errorf("after restart %v duplicates: progress was not resumed", got)
	}

	// A second replica joins; the partitions are shared and still stored
	// once each.
	imp, _, _ := newService("replica-b")
	if imp.Name() != "zeebe-import" {
		t.Errorf("name %q", imp.Name())
	}
	for range 3 {
		recs := w2.step(1)
		x.export(recs, nil)
		keep(recs, -1)
		time.Sleep(200 * time.Millisecond)
	}
	recs = w2.finish()
	x.export(recs, nil)
	keep(recs, -1)
	testenv.Eventually(t, 60*time.Second, func() error { return expectExactlyOnce(stored(t, js), want) })
	if n := len(deadLetters(t, js)); n != 1 {
		t.Errorf("%d dead letters at the end, want still 1", n)
	}
}

// deadLetters reads every message of the dead-letter stream.
func deadLetters(t *testing.T, js jetstream.JetStream) []jetstream.Msg {
	t.Helper()
	return testenv.Messages(t, js, stream.DLQStream)
}
