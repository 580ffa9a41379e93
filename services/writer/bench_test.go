// The "Must show" benchmark of issue 4: the writer against the Elasticsearch
// ceiling, on the same node in the same run.
//
//	FLOWLINE_ES_URL=http://127.0.0.1:9299 go test ./services/writer -run x -bench WriterVsCeiling -benchtime 1x
//
// (without FLOWLINE_ES_URL a local node is provisioned). Each iteration
// indexes the same N pre-built documents (FLOWLINE_BENCH_DOCS, default
// 200,000; whole process instances of one list-view, six flownode-instance,
// three variable and two job documents, 250-500 bytes, 396 on average)
// three times, into fresh indices each time: ceiling, writer, ceiling again.
// The machine is shared, so the writer is compared with the mean of the two
// ceilings measured around it.
//
//   - ceiling: a minimal direct bulk loader (search.AppendOp into reused
//     buffers, search.BulkBody, the writer's client, templates and external
//     versions) with the best settings found: FLOWLINE_BENCH_CEILING_BULK
//     documents per bulk (10,000, about 4.7 MB), FLOWLINE_BENCH_CEILING_CONCURRENCY
//     bulks in flight (3), no replicas, refresh_interval -1 during the load
//     and restored after it.
//   - writer: the writer service with its default configuration
//     (FLOWLINE_WRITER_* override it) consuming the documents from
//     FLOWLINE_DOCS, where they were published as DocumentBatch messages
//     like the aggregator's (FLOWLINE_BENCH_DOCS_PER_MESSAGE documents each,
//     partitions taking turns) while its consumer was paused. The timer runs
//     from the end of the pause until the writer has indexed all N (its
//     flowline_writer_items_total). The indices get the ceiling's settings:
//     refresh_interval -1 during the load, restored after it, so that only
//     the writer differs; FLOWLINE_BENCH_WRITER_REFRESH=1s keeps refreshing
//     during the load as the writer's indices do in production.
//
// Both loads are checked (every document present, none twice). Reported:
// docs/s and MB/s (document source bytes) of both, and writer/ceiling, the
// ratio of the two; the target is at least 0.9. The log adds the CPU spent
// by this process (loader, or writer and embedded NATS server) and by
// Elasticsearch in each phase.
package writer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/bench"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

func BenchmarkWriterVsCeiling(b *testing.B) {
	n := testenv.BenchEnv(b, "FLOWLINE_BENCH_DOCS", 200_000)
	perMsg := testenv.BenchEnv(b, "FLOWLINE_BENCH_DOCS_PER_MESSAGE", 120)
	ceilBulk := testenv.BenchEnv(b, "FLOWLINE_BENCH_CEILING_BULK", 10_000)
	ceilConc := testenv.BenchEnv(b, "FLOWLINE_BENCH_CEILING_CONCURRENCY", 3)
	b.StopTimer()
	es, esCfg := testenv.Elasticsearch(b)

	docs := benchDocuments(n)
	srcBytes := 0
	for _, d := range docs {
		srcBytes += len(d.Source)
	}
	msgs := benchMessages(b, docs, perMsg)
	b.Logf("%d documents, %.1f MB of sources (%.0f B average), %d messages of %d documents",
		n, float64(srcBytes)/1e6, float64(srcBytes)/float64(n), len(msgs), perMsg)

	// Warm the node's indexing path up once, outside the measurements.
	warm := testenv.IndexPrefix(b)
	benchCeiling(b, es, warm, docs[:min(n, 20_000)], ceilBulk, ceilConc)
	bench.DropIndexSet(context.Background(), es, warm)

	// The machine is shared (Elasticsearch, NATS, the writer and whatever
	// else runs), so each iteration measures the ceiling right before and
	// right after the writer and compares the writer with their mean.
	var ceilSec, writerSec float64
	for range b.N {
		c1 := benchCeilingRun(b, es, docs, ceilBulk, ceilConc)
		writerSec += benchWriterRun(b, es, esCfg, msgs, n)
		c2 := benchCeilingRun(b, es, docs, ceilBulk, ceilConc)
		ceilSec += (c1 + c2) / 2
	}
	b.StopTimer()

	mb := float64(srcBytes) / 1e6 * float64(b.N)
	nd := float64(n) * float64(b.N)
	b.ReportMetric(nd/ceilSec, "ceiling-docs/s")
	b.ReportMetric(mb/ceilSec, "ceiling-MB/s")
	b.ReportMetric(nd/writerSec, "writer-docs/s")
	b.ReportMetric(mb/writerSec, "writer-MB/s")
	b.ReportMetric(ceilSec/writerSec, "writer/ceiling")
}

// benchCeilingRun loads docs with the direct loader into fresh indices and
// returns the seconds the load took (timed).
func benchCeilingRun(b *testing.B, es *search.Client, docs []*recordv1.Document, bulk, conc int) float64 {
	prefix := testenv.IndexPrefix(b)
	defer bench.DropIndexSet(context.Background(), es, prefix)
	sec, cpu := benchCeiling(b, es, prefix, docs, bulk, conc)
	b.Logf("ceiling: %d documents in %.2fs: %.0f docs/s (bulks of %d, %d in flight; %s)", len(docs), sec, float64(len(docs))/sec, bulk, conc, cpu)
	return sec
}

// benchCeiling loads docs with the harness's ceiling loader
// (internal/bench): bulks of size documents, conc in flight, into indices
// from the writer's templates with refresh off for the load.
func benchCeiling(b *testing.B, es *search.Client, prefix string, docs []*recordv1.Document, size, conc int) (float64, string) {
	ctx := context.Background()
	if err := bench.PrepareCeiling(ctx, es, prefix); err != nil {
		b.Fatal(err)
	}
	m := benchStart(b, es)
	if _, err := bench.LoadCeiling(ctx, es, prefix, docs, size, conc); err != nil {
		b.Fatal(err)
	}
	sec, cpu := m.stop(b, es)
	if err := bench.FinishCeiling(ctx, es, prefix, len(docs)); err != nil {
		b.Fatal(err)
	}
	return sec, cpu
}

// benchWriterRun publishes msgs to a fresh JetStream, runs the writer on
// them into fresh indices and returns the seconds from resuming its
// consumer until all n documents were indexed (timed).
func benchWriterRun(b *testing.B, es *search.Client, esCfg config.Search, msgs []*nats.Msg, n int) float64 {
	ctx := context.Background()
	ns := testenv.NATS(b)
	defer ns.Shutdown()
	js := testenv.ConnectStreams(b, ns).JS
	prefix := testenv.IndexPrefix(b)
	defer bench.DropIndexSet(context.Background(), es, prefix)

	var cfg writer.Config
	if err := config.Process(&cfg); err != nil { // defaults, and FLOWLINE_WRITER_* for tuning
		b.Fatal(err)
	}
	cfg.NATS, cfg.Streams, cfg.Search = testenv.NATSConfig(ns), testenv.Streams(), esCfg
	cfg.Index.Prefix = prefix
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := writer.New(cfg, testenv.DepsOn(b, reg))
	stop := testenv.Run(b, w) // ready: consumer created, templates and indices installed
	defer stop()
	refresh := os.Getenv("FLOWLINE_BENCH_WRITER_REFRESH")
	if refresh == "" {
		refresh = "-1" // as for the ceiling
	}
	if err := bench.SetIndexSettings(ctx, es, prefix, fmt.Sprintf(`{"index":{"refresh_interval":%q}}`, refresh)); err != nil {
		b.Fatal(err)
	}

	if _, err := js.PauseConsumer(ctx, stream.DocsStream, cfg.Consumer, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	var futures []jetstream.PubAckFuture
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	if done := benchWriterDone(b, reg); done != 0 {
		b.Fatalf("writer indexed %d documents while paused", done)
	}

	// Resume by moving the end of the pause close ahead: the server wakes
	// the waiting pull requests when a pause ends by itself, not when it
	// is lifted (it would wait for the writer's next fetch).
	resume := time.Now().Add(100 * time.Millisecond)
	if _, err := js.PauseConsumer(ctx, stream.DocsStream, cfg.Consumer, resume); err != nil {
		b.Fatal(err)
	}
	m := benchStartAt(b, es, resume)
	deadline := time.Now().Add(10 * time.Minute)
	for benchWriterDone(b, reg) < n {
		if time.Now().After(deadline) {
			b.Fatalf("writer indexed %d of %d documents in 10 minutes", benchWriterDone(b, reg), n)
		}
		time.Sleep(20 * time.Millisecond) // gathering the metrics costs CPU the writer could use
	}
	sec, cpu := m.stop(b, es)
	bulks, bulkSec := testenv.Metric(b, reg, "flowline_writer_bulk_requests_total", nil), testenv.HistogramSum(b, reg, "flowline_writer_bulk_seconds", nil)
	b.Logf("writer: %d documents in %.2fs: %.0f docs/s (refresh %s, workers %d, fetch ≤ %d messages / %d bytes, bulk ≤ %d docs / %d bytes; %.0f bulks of %.0f docs, %.1f in flight on average; %s)",
		n, sec, float64(n)/sec, refresh, cfg.Workers, cfg.FetchMessages, cfg.FetchMaxBytes, cfg.BulkMaxDocs, cfg.BulkMaxBytes, bulks, float64(n)/bulks, bulkSec/sec, cpu)

	stop()
	if err := bench.FinishCeiling(ctx, es, prefix, n); err != nil { // the same check
		b.Fatal(err)
	}
	return sec
}

// benchMeter times a measured phase and the CPU spent meanwhile by this
// process (the loader, or the writer and the embedded NATS server) and by
// the Elasticsearch node (busy with whatever else runs on it too).
type benchMeter struct {
	start    time.Time
	self, es float64
}

func benchStart(b *testing.B, es *search.Client) benchMeter {
	return benchStartAt(b, es, time.Now())
}

// benchStartAt starts measuring at a moment shortly ahead.
func benchStartAt(b *testing.B, es *search.Client, at time.Time) benchMeter {
	m := benchMeter{self: procstack.SelfCPU().Seconds(), es: benchESCPU(b, es)}
	time.Sleep(time.Until(at))
	b.StartTimer()
	m.start = time.Now()
	return m
}

// stop returns the seconds since benchStart and the CPU spent.
func (m benchMeter) stop(b *testing.B, es *search.Client) (float64, string) {
	sec := time.Since(m.start).Seconds()
	b.StopTimer()
	self, esCPU := procstack.SelfCPU().Seconds()-m.self, benchESCPU(b, es)-m.es
	return sec, fmt.Sprintf("CPU: this process %.2fs, Elasticsearch %.2fs = %.2f cores", self, esCPU, (self+esCPU)/sec)
}

func benchESCPU(b *testing.B, es *search.Client) float64 {
	type stats struct {
		Process struct {
			CPU struct {
				TotalInMillis float64 `json:"total_in_millis"`
			} `json:"cpu"`
		} `json:"process"`
	}
	total := 0.0
	for _, n := range nodeStats[stats](b, es, "process", "nodes.*.process.cpu.total_in_millis") {
		total += n.Process.CPU.TotalInMillis / 1000
	}
	return total
}

// benchWriterDone is how many documents the writer has indexed (created or
// updated, or already there).
func benchWriterDone(b *testing.B, reg *prometheus.Registry) int {
	return int(testenv.Metric(b, reg, "flowline_writer_items_total", map[string]string{"outcome": "done"}) +
		testenv.Metric(b, reg, "flowline_writer_items_total", map[string]string{"outcome": "stale"}))
}

// benchDocuments builds n documents of whole process instances: per
// instance one list-view (~450 B), six flownode-instances (~350 B), three
// variables (~300 B) and two jobs (~400 B), keys as Zeebe makes them on
// four partitions, each document with its own id.
func benchDocuments(n int) []*recordv1.Document {
	rng := rand.New(rand.NewPCG(1, 2))
	states := []string{"ACTIVE", "COMPLETED", "TERMINATED"}
	elements := []string{"start", "validate-order", "reserve-stock", "charge-card", "ship-parcel", "notify-customer", "end"}
	docs := make([]*recordv1.Document, 0, n)
	var counter int64
	pos := int64(1000)
	for inst := 0; len(docs) < n; inst++ {
		p := int32(inst%4 + 1)
		key := func() int64 { counter++; return int64(p)<<51 + counter }
		piKey := key()
		ts := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC).Add(time.Duration(inst) * time.Millisecond)
		date := func(d time.Duration) string { return ts.Add(d).Format("2006-01-02T15:04:05.000Z") }
		add := func(f schema.Family, id int64, src string) {
			if len(docs) < n {
				pos += int64(1 + rng.IntN(3))
				docs = append(docs, &recordv1.Document{Family: string(f), Id: strconv.FormatInt(id, 10), Version: pos,
					Source: []byte(strings.Replace(src, "POS", strconv.FormatInt(pos, 10), 1)), PartitionId: p, RecordTimestamp: ts.UnixMilli()})
			}
		}
		state := states[rng.IntN(len(states))]
		add(schema.ListView, piKey, fmt.Sprintf(`{"key":%d,"processDefinitionKey":2251799813685549,"bpmnProcessId":"order-process","version":4,"versionTag":"v1.4","processName":"Order fulfilment process","state":%q,"startDate":%q,"endDate":%q,"parentProcessInstanceKey":-1,"parentFlowNodeInstanceKey":-1,"rootProcessInstanceKey":%d,"treePath":"PI_%d","incident":false,"tenantId":"<default>","partitionId":%d,"position":POS}`,
			piKey, state, date(0), date(4922*time.Millisecond), piKey, piKey, p))
		var fnKeys []int64
		for e := range 6 {
			k := key()
			fnKeys = append(fnKeys, k)
			add(schema.FlowNodeInstance, k, fmt.Sprintf(`{"key":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685549,"bpmnProcessId":"order-process","flowNodeId":%q,"flowNodeName":"Step %d","type":"SERVICE_TASK","state":%q,"startDate":%q,"endDate":null,"scopeKey":%d,"treePath":"%d/%d","level":1,"incident":false,"incidentKey":null,"tenantId":"<default>","position":POS}`,
				k, piKey, elements[e], e, state, date(time.Duration(e)*time.Second), piKey, piKey, k))
		}
		for v := range 3 {
			value := strconv.Quote(fmt.Sprintf("%d.%02d", rng.IntN(1000), rng.IntN(100)))
			if v == 2 {
				value = strconv.Quote(fmt.Sprintf(`{"street":"Main St %d","city":"Berlin","zip":"%05d"}`, rng.IntN(500), rng.IntN(99999)))
			}
			add(schema.Variable, key(), fmt.Sprintf(`{"name":"var%d","value":%s,"fullValue":null,"isPreview":false,"scopeKey":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685549,"bpmnProcessId":"order-process","tenantId":"<default>","position":POS}`,
				v, value, piKey, piKey))
		}
		for j := range 2 {
			k := key()
			add(schema.Job, k, fmt.Sprintf(`{"key":%d,"processInstanceKey":%d,"flowNodeInstanceKey":%d,"flowNodeId":%q,"type":"inventory.reserve","worker":"inventory-worker-%d","retries":3,"state":"COMPLETED","errorMessage":"","errorCode":"","deadline":%q,"customHeaders":{"warehouse":"DC-Berlin"},"endTime":%q,"tenantId":"<default>","position":POS}`,
				k, piKey, fnKeys[j+1], elements[j+1], rng.IntN(8), date(5*time.Minute), date(time.Second)))
		}
	}
	return docs
}

// benchMessages groups docs into DocumentBatch messages of perMsg documents
// of one partition each, as the aggregator publishes them, the partitions
// taking turns.
func benchMessages(b *testing.B, docs []*recordv1.Document, perMsg int) []*nats.Msg {
	var byPartition [5][]*recordv1.Document
	for _, d := range docs {
		byPartition[d.PartitionId] = append(byPartition[d.PartitionId], d)
	}
	var msgs []*nats.Msg
	for i := 0; i < len(docs); i += perMsg {
		for p, ds := range byPartition {
			if i >= len(ds) {
				continue
			}
			batch := ds[i:min(i+perMsg, len(ds))]
			data, err := proto.Marshal(&recordv1.DocumentBatch{PartitionId: int32(p), FirstPosition: batch[0].Version, LastPosition: batch[len(batch)-1].Version, Documents: batch})
			if err != nil {
				b.Fatal(err)
			}
			m := &nats.Msg{Subject: stream.DocsSubject(int32(p)), Data: data, Header: nats.Header{}}
			m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("doc-%d-%d-%d", p, batch[0].Version, batch[len(batch)-1].Version))
			msgs = append(msgs, m)
		}
	}
	return msgs
}
