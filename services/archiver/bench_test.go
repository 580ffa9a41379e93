package archiver_test

// The archiving benchmark of issue 5:
//
//	FLOWLINE_ES_URL=http://127.0.0.1:9200 go test ./services/archiver -run x -bench Archive -benchtime 2x
//
// (without FLOWLINE_ES_URL a local node is provisioned). Each iteration
// indexes FLOWLINE_BENCH_INSTANCES completed process instances (default
// 20,000) per partition on FLOWLINE_BENCH_PARTITIONS partitions (default 2)
// into fresh runtime indices, each with its 15 documents (list-view, four
// flow nodes, three variables, an incident, a job, a user task, two
// sequence flows and a decision instance), outside the timer; then an
// archiver with its default settings moves them all into the dated
// indices (which exist already, as they do in steady state where one per
// family and day is made). The timer runs from the archiver's start until
// the last instance is archived. Reported: instances/s and documents/s.

import (
	"context"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/archiver"
)

func BenchmarkArchive(b *testing.B) {
	n := testenv.BenchEnv(b, "FLOWLINE_BENCH_INSTANCES", 20_000)
	parts := testenv.BenchEnv(b, "FLOWLINE_BENCH_PARTITIONS", 2)
	ns := testenv.NATS(b)
	es, esCfg := testenv.Elasticsearch(b)
	ctx := context.Background()
	b.StopTimer()
	var total, docs float64
	var took time.Duration
	for range b.N {
		prefix := testenv.IndexPrefix(b)
		testenv.DropIndices(b, es, prefix)
		idx := config.Index{Prefix: prefix, Shards: 1, RefreshInterval: "1s"}
		if err := search.EnsureSchema(ctx, es, idx); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		suffixes := map[string]bool{}
		for p := range parts {
			fx := archivertest.NewFixture(prefix, int32(p+1), n, 0, now, time.Hour)
			fx.Index(b, es)
			docs += float64(fx.Count())
			for _, end := range fx.Ends {
				suffixes[archiver.Day.Suffix(end)] = true
			}
		}
		for _, f := range archivertest.Families {
			for s := range suffixes {
				if err := search.CreateIndex(ctx, es, schema.RuntimeIndex(prefix, f)+s, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		a, reg := archivertest.NewArchiver(b, ns, esCfg, prefix, func(c *archiver.Config) {
			*c = archiver.Config{NATS: c.NATS, Streams: c.Streams, Search: c.Search, Index: idx}
			if err := config.Process(c); err != nil {
				b.Fatal(err)
			}
			c.NATS, c.Streams, c.Search, c.Index = testenv.NATSConfig(ns), testenv.Streams(), esCfg, idx
			c.Lease.Bucket, c.Lease.TTL = "leases-"+prefix, config.Duration(2*time.Second)
		})
		start := time.Now()
		b.StartTimer()
		stop := testenv.Run(b, a)
		for testenv.Metric(b, reg, "flowline_archiver_instances_total", nil) < float64(n*parts) {
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		took += time.Since(start)
		stop()
		total += float64(n * parts)
		if e := testenv.Metric(b, reg, "flowline_archiver_errors_total", nil); e != 0 {
			b.Fatalf("%v archiving errors", e)
		}
	}
	b.ReportMetric(total/took.Seconds(), "instances/s")
	b.ReportMetric(docs/took.Seconds(), "docs/s")
}
