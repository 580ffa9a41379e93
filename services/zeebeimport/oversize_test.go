package zeebeimport_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/zeebeimport"
)

// On a broker with a real server's 1 MiB max_payload, the import stores an
// exporter record of 2 MiB (its body in the payload object store) and
// dead-letters one over FLOWLINE_INGEST_MAX_RECORD_BYTES (4 MiB) with the
// limit in the reason, whole, instead of retrying its round for ever; the
// partition goes on with the records after it. A partition above
// FLOWLINE_INGEST_MAX_PARTITION_ID is not imported.
func TestImportStoresLargeRecordsAndDeadLettersOversizeOnes(t *testing.T) {
	ns := testenv.NATS(t, natsserver.WithMaxPayload(1<<20))
	es, esCfg := testenv.Elasticsearch(t)
	tp := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, tp)
	prefix := tp + "-zeebe-record"
	exporterTemplate(t, es, prefix)
	x := newExporter(t, es, prefix)
	ctx := context.Background()
	conn := testenv.ConnectStreams(t, ns)
	payloads := conn.Payloads

	w := newWorkload(1, 2, 3)
	recs := append(w.step(2), w.finish()...)
	var events []simulate.Record
	for _, r := range recs {
		if r.PartitionID == 1 && r.RecordType == "EVENT" && r.ValueType == "PROCESS_INSTANCE" {
			events = append(events, r)
		}
	}
	large, oversize := events[1], events[3]
	size := map[int64]int{large.Position: 2 << 20, oversize.Position: 5 << 20}
	x.export(recs, func(r simulate.Record, doc map[string]any) {
		if n, ok := size[r.Position]; ok && r.PartitionID == 1 {
			doc["value"].(map[string]any)["payload"] = strings.Repeat("v", n) // an unknown field: kept in extra_json
		}
	})
	want := map[int32][]int64{}
	for _, r := range recs {
		if r.PartitionID != 3 && r.RecordType == "EVENT" && !(r.PartitionID == 1 && r.Position == oversize.Position) {
			want[r.PartitionID] = append(want[r.PartitionID], r.Position)
		}
	}
	if last := want[1][len(want[1])-1]; last <= oversize.Position {
		t.Fatal("no record of partition 1 after the oversize one")
	}

	cfg := importConfig(ns, esCfg.ES.URL, prefix, "r1")
	cfg.MaxPartitionID = 2
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, zeebeimport.New(cfg, testenv.Deps(t)))

	var sizes map[[2]int64]int
	testenv.Eventually(t, 60*time.Second, func() error {
		var got map[int32][]int64
		got, sizes = storedWithBodies(t, conn, payloads)
		return expectExactlyOnce(got, want)
	})
	if n := sizes[[2]int64{1, large.Position}]; n < 2<<20 {
		t.Errorf("the 2 MiB record came back with %d bytes of unknown fields", n)
	}

	var dead []string
	for _, m := range testenv.Messages(t, conn.JS, stream.DLQStream) {
		body, err := payloads.Body(ctx, m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		reason := m.Headers().Get(stream.HeaderDLQReason)
		dead = append(dead, reason)
		if !strings.Contains(reason, fmt.Sprintf("position %d", oversize.Position)) || !strings.Contains(reason, "FLOWLINE_INGEST_MAX_RECORD_BYTES") ||
			!strings.Contains(reason, "4194304") || len(body) < 5<<20 {
			t.Errorf("dead letter %q with a %d-byte body, want the oversize record whole with the limit", reason, len(body))
		}
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters %q, want the oversize record's only", dead)
	}
}

// storedWithBodies reads FLOWLINE_RECORDS through Payloads.Body: the
// positions per partition in stream order, and the size of each process
// instance record's unknown value fields.
func storedWithBodies(t *testing.T, conn *stream.Conn, payloads *stream.Payloads) (map[int32][]int64, map[[2]int64]int) {
	t.Helper()
	out, sizes := map[int32][]int64{}, map[[2]int64]int{} // by partition and position: partitions share positions
	for _, msg := range testenv.Messages(t, conn.JS, stream.RecordsStream) {
		body, err := payloads.Body(context.Background(), msg.Headers(), msg.Data())
		if err != nil {
			t.Fatal(err)
		}
		var batch recordv1.RecordBatch
		if err := proto.Unmarshal(body, &batch); err != nil {
			t.Fatal(err)
		}
		p, _ := stream.PartitionOf(msg.Subject())
		for _, r := range batch.Records {
			out[p] = append(out[p], r.Position)
			if v := r.GetProcessInstance(); v != nil {
				sizes[[2]int64{int64(p), r.Position}] = len(v.ExtraJson)
			}
		}
	}
	for p := range out {
		if !slices.IsSorted(out[p]) {
			t.Fatalf("partition %d stored out of order: %v", p, out[p])
		}
	}
	return out, sizes
}
