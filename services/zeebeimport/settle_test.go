package zeebeimport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/zeebeimport"
)

// settleEnv is one import test's servers, exporter and index prefix.
type settleEnv struct {
	ns     *natsserver.Server
	es     *search.Client
	esURL  string
	prefix string
	x      *exporter
	js     jetstream.JetStream
}

func newSettleEnv(t *testing.T) settleEnv {
	ns := testenv.NATS(t)
	es, esCfg := testenv.Elasticsearch(t)
	tp := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, tp)
	prefix := tp + "-zeebe-record"
	exporterTemplate(t, es, prefix)
	return settleEnv{ns: ns, es: es, esURL: esCfg.ES.URL, prefix: prefix, x: newExporter(t, es, prefix), js: testenv.Connect(t, ns).JS}
}

// defaultConfig is the import with every source setting at its default
// (what an operator gets), pointed at the test's servers, with quick
// pacing.
func (e settleEnv) defaultConfig(t *testing.T) zeebeimport.Config {
	t.Helper()
	cfg := zeebeimport.NewConfig()
	if err := config.Process(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Source.URL, cfg.Source.IndexPrefix, cfg.Source.Bucket = e.esURL, e.prefix, "zeebe-import"
	cfg.Source.BackoffStart, cfg.Source.BackoffMax = config.Duration(100*time.Millisecond), config.Duration(400*time.Millisecond)
	cfg.Lease = config.Lease{Bucket: "zeebe-import-leases", TTL: config.Duration(2 * time.Second), ReplicaID: "replica-a"}
	cfg.NATS, cfg.Streams = testenv.NATSConfig(e.ns), testenv.Streams()
	return cfg
}

func (e settleEnv) start(t *testing.T, cfg zeebeimport.Config) *prometheus.Registry {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	testenv.Run(t, zeebeimport.New(cfg, testenv.DepsOn(t, reg)))
	return reg
}

// positions lists records' positions per partition.
func positions(recs []simulate.Record) map[int32][]int64 {
	out := map[int32][]int64{}
	for _, r := range recs {
		out[r.PartitionID] = append(out[r.PartitionID], r.Position)
	}
	return out
}

// aged makes the exporter documents carry timestamps d older than the
// records: records the exporter exports well after the engine wrote them
// (it lagged behind, for example while Elasticsearch was unavailable).
func aged(d time.Duration) func(simulate.Record, map[string]any) {
	return func(r simulate.Record, doc map[string]any) {
		doc["timestamp"] = json.Number(strconv.FormatInt(r.Timestamp-d.Milliseconds(), 10))
	}
}

// TestImportTakesALowerPositionSearchableOnlyAfterTheExporterBulkDelay:
// Zeebe's exporter holds records for its bulk delay (5 s) before sending
// them, and each zeebe-record index becomes searchable at its own refresh
// (1 s). Here the job index of a partition becomes searchable 6 s after its
// records' timestamps while the process-instance index, with higher
// positions, is searchable at once. With the default settings every record
// is stored once, in order, and nothing is dead-lettered as late.
func TestImportTakesALowerPositionSearchableOnlyAfterTheExporterBulkDelay(t *testing.T) {
	e := newSettleEnv(t)
	reg := e.start(t, e.defaultConfig(t))

	w := newWorkload(1)
	recs := append(w.step(2), w.finish()...)
	var jobs, others []simulate.Record
	for _, r := range recs {
		if r.ValueType == "JOB" {
			jobs = append(jobs, r)
		} else {
			others = append(others, r)
		}
	}
	if len(jobs) == 0 || jobs[0].Position > others[len(others)-1].Position {
		t.Fatal("the workload has no job below a process-instance record")
	}
	// The job index is written with the same bulk but refreshed only after
	// the exporter's bulk delay plus the refresh interval: 6 s after the
	// newest job's timestamp.
	jobIndex := e.x.index(jobs[0])
	if _, err := e.es.Do(context.Background(), search.Request{Method: http.MethodPut, Path: "/" + url.PathEscape(jobIndex),
		Body: []byte(`{"settings":{"index.refresh_interval":"-1"}}`), What: "create index " + jobIndex}); err != nil {
		t.Fatalf("create %s: %v", jobIndex, err)
	}
	e.x.assign(recs)
	e.x.bulk(jobs, nil)
	e.x.export(others, nil)
	time.Sleep(time.Until(time.UnixMilli(jobs[len(jobs)-1].Timestamp).Add(6 * time.Second)))
	e.x.refresh(jobIndex)

	want := positions(recs)
	testenv.Eventually(t, 60*time.Second, func() error { return expectExactlyOnce(stored(t, e.js), want) })
	if n := len(deadLetters(t, e.js)); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if late := testenv.Metric(t, reg, "flowline_zeebe_import_records_total", map[string]string{"result": "late"}); late != 0 {
		t.Errorf("late metric %v, want 0", late)
	}
}

// TestImportWaitsForTheRecordMissingFromAValueTypesSequence: the exporter
// lagged (its documents carry timestamps two minutes old, beyond any
// settle time), and in its bulk one job failed while the later records,
// of the job index too, were written; it re-sends the job with its next
// flush. The gap in the job index's "sequence" holds the partition below
// the missing job until it is searchable, so it is stored in order and
// nothing is dead-lettered.
func TestImportWaitsForTheRecordMissingFromAValueTypesSequence(t *testing.T) {
	e := newSettleEnv(t)
	reg := e.start(t, e.defaultConfig(t))

	w := newWorkload(1)
	recs := append(w.step(2), w.finish()...)
	missing := middleJob(t, recs)
	e.x.assign(recs)
	e.x.export(without(recs, missing), aged(2*time.Minute))
	// The exporter's next flush, a bulk delay later.
	time.Sleep(3 * time.Second)
	e.x.export([]simulate.Record{missing}, aged(2*time.Minute))

	testenv.Eventually(t, 60*time.Second, func() error { return expectExactlyOnce(stored(t, e.js), positions(recs)) })
	if n := len(deadLetters(t, e.js)); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if late := testenv.Metric(t, reg, "flowline_zeebe_import_records_total", map[string]string{"result": "late"}); late != 0 {
		t.Errorf("late metric %v, want 0", late)
	}
}

// TestImportDeadLettersARecordMissingLongerThanTheSettleTime: a gap in a
// value type's sequence is waited for only the settle time; then the
// import goes on (and counts it), and the record that shows up after all
// is dead-lettered as late with its reason. Everything else is stored.
func TestImportDeadLettersARecordMissingLongerThanTheSettleTime(t *testing.T) {
	e := newSettleEnv(t)
	cfg := e.defaultConfig(t)
	cfg.Source.Settle = config.Duration(time.Second)
	reg := e.start(t, cfg)

	w := newWorkload(1)
	recs := append(w.step(2), w.finish()...)
	missing := middleJob(t, recs)
	e.x.assign(recs)
	rest := without(recs, missing)
	e.x.export(rest, aged(2*time.Minute))
	testenv.Eventually(t, 60*time.Second, func() error { return expectExactlyOnce(stored(t, e.js), positions(rest)) })
	if gaps := testenv.Metric(t, reg, "flowline_zeebe_import_sequence_gaps_total", nil); gaps != 1 {
		t.Errorf("gaps metric %v, want 1", gaps)
	}

	e.x.export([]simulate.Record{missing}, aged(2*time.Minute))
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := len(deadLetters(t, e.js)); n != 1 {
			return fmt.Errorf("%d dead letters, want 1", n)
		}
		return nil
	})
	d := deadLetters(t, e.js)[0]
	reason := d.Headers().Get(stream.HeaderDLQReason)
	if d.Headers().Get(stream.HeaderDLQID) != fmt.Sprintf("1-%d", missing.Position) || !strings.Contains(reason, "late") ||
		!strings.Contains(reason, "FLOWLINE_ZEEBE_IMPORT_SETTLE") {
		t.Errorf("dead letter %v", d.Headers())
	}
	if late := testenv.Metric(t, reg, "flowline_zeebe_import_records_total", map[string]string{"result": "late"}); late != 1 {
		t.Errorf("late metric %v, want 1", late)
	}
	if err := expectExactlyOnce(stored(t, e.js), positions(rest)); err != nil {
		t.Error(err)
	}
}

// middleJob returns a job record with jobs before and after it.
func middleJob(t *testing.T, recs []simulate.Record) simulate.Record {
	t.Helper()
	var jobs []simulate.Record
	for _, r := range recs {
		if r.ValueType == "JOB" {
			jobs = append(jobs, r)
		}
	}
	if len(jobs) < 3 {
		t.Fatalf("%d jobs, want at least 3", len(jobs))
	}
	return jobs[len(jobs)/2]
}

func without(recs []simulate.Record, drop simulate.Record) []simulate.Record {
	var out []simulate.Record
	for _, r := range recs {
		if r.Position != drop.Position || r.PartitionID != drop.PartitionID {
			out = append(out, r)
		}
	}
	return out
}
