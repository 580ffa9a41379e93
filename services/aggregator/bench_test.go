package aggregator

import (
	"context"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// benchRecords is one partition's records of n interleaved demo instances
// (process, start, two service tasks with jobs, end; sequence flows).
func benchRecords(b *testing.B, n int) []*recordv1.Record {
	p := simulate.NewPartition(1, time.UnixMilli(1_763_884_800_000))
	var running []*simulate.Instance
	for range n {
		running = append(running, simulate.Start(p, simulate.DemoProcess(1<<51+999)))
		if len(running) == 50 {
			for _, in := range running {
				for !in.Done {
					in.Step(time.Second)
				}
			}
			running = running[:0]
		}
	}
	for _, in := range running {
		for !in.Done {
			in.Step(time.Second)
		}
	}
	var out []*recordv1.Record
	for _, r := range p.Take() {
		rec, err := zeebejson.Decode(r.JSON())
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// BenchmarkAggregate measures the aggregation step alone on one goroutine,
// as the worker does it: decoding record messages of 500 records (as
// ingest batches them) in place, folding the records into state and
// rendering the changed documents. Reported per record.
func BenchmarkAggregate(b *testing.B) {
	recs := benchRecords(b, 2000)
	var bodies [][]byte
	for i := 0; i < len(recs); i += 500 {
		body, err := (&recordv1.RecordBatch{Records: recs[i:min(i+500, len(recs))]}).MarshalVT()
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	defs := newDefinitions(&memDefinitions{}, 100)
	b.ReportAllocs()
	b.ResetTimer()
	processed := 0
	for b.Loop() {
		st := newPartitionState(1)
		for _, body := range bodies {
			var batch recordv1.RecordBatch
			if err := batch.UnmarshalVTUnsafe(body); err != nil {
				b.Fatal(err)
			}
			f := newRecordFolder(context.Background(), st, defs, nil, config.SchemaFlowline)
			f.ch.reserve(len(batch.Records)) // as the worker does
			for _, r := range batch.Records {
				if err := f.apply(r); err != nil {
					b.Fatal(err)
				}
			}
			if _, bad := f.ch.documents(1); len(bad) > 0 {
				b.Fatal(bad[0].err)
			}
		}
		processed += len(recs)
	}
	b.ReportMetric(float64(processed)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(processed), "ns/record")
	b.ReportMetric(float64(len(recs)), "records/op") // allocs per record = allocs/op ÷ records/op
}
