package ingest_test

// The ingest throughput benchmark of issue 6:
//
//	go test ./services/ingest -run x -bench IngestVsJetStream -benchtime 2x
//
// FLOWLINE_BENCH_RECORDS records (default 200,000: simulated demo instances
// on four partitions, about 600 B of JSON each) go into file-storage
// JetStream three ways, each on a fresh embedded server:
//
//   - raw: the records already decoded, encoded as RecordBatch messages of
//     1,000 records of one partition (what ingest stores) and published
//     with PublishAsync, all acks awaited: the broker's ceiling;
//   - raw-per-record: each record's JSON line published as its own message
//     with PublishAsync (how a client without ingest would put the same
//     records onto JetStream one by one);
//   - ndjson / protobuf: POST /v1/records with 5,000 records per request,
//     one client per partition (records of a partition must arrive in
//     order), through ingest with its default batching.
//
// Reported: records/s of each and the ratios ndjson/raw and protobuf/raw
// against the batched raw path (the strict ceiling; the target is at least
// 0.7), and ndjson/raw-per-record.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/zeebejson"
	"github.com/flowline/flowline/services/ingest"
)

const benchParts = 4

// benchInput is the workload, per partition.
type benchInput struct {
	lines [benchParts][]string
	recs  [benchParts][]*recordv1.Record
	n     int
}

func benchRecords(b *testing.B, n int) *benchInput {
	in := &benchInput{}
	for i := range benchParts {
		p := simulate.NewPartition(int32(i+1), time.UnixMilli(1_763_884_800_000))
		for len(in.lines[i]) < n/benchParts {
			inst := simulate.Start(p, simulate.DemoProcess(int64(i+1)<<51+1))
			for !inst.Done {
				inst.Step(time.Second)
			}
			for _, r := range p.Take() {
				line := r.JSON()
				rec, err := zeebejson.Decode(line)
				if err != nil {
					b.Fatal(err)
				}
				in.lines[i] = append(in.lines[i], string(line))
				in.recs[i] = append(in.recs[i], rec)
			}
		}
		in.n += len(in.lines[i])
	}
	return in
}

func BenchmarkIngestVsJetStream(b *testing.B) {
	n := testenv.BenchEnv(b, "FLOWLINE_BENCH_RECORDS", 200_000)
	in := benchRecords(b, n)
	b.StopTimer()
	var raw, single, nd, pb cost
	for range b.N {
		raw.add(benchRaw(b, in))
		single.add(benchRawPerRecord(b, in))
		nd.add(benchIngest(b, in, "application/x-ndjson"))
		pb.add(benchIngest(b, in, "application/x-protobuf"))
	}
	total := float64(in.n * b.N)
	for _, c := range []struct {
		name string
		cost
	}{{"raw", raw}, {"raw-per-record", single}, {"ndjson", nd}, {"protobuf", pb}} {
		b.ReportMetric(float64(c.cpu.Nanoseconds())/1000/total, c.name+"-cpu-µs/record")
	}
	b.ReportMetric(total/raw.wall.Seconds(), "raw-records/s")
	b.ReportMetric(total/nd.wall.Seconds(), "ndjson-records/s")
	b.ReportMetric(total/pb.wall.Seconds(), "protobuf-records/s")
	b.ReportMetric(raw.wall.Seconds()/nd.wall.Seconds(), "ndjson/raw")
	b.ReportMetric(raw.wall.Seconds()/pb.wall.Seconds(), "protobuf/raw")
	b.ReportMetric(total/single.wall.Seconds(), "raw-per-record-records/s")
	b.ReportMetric(single.wall.Seconds()/nd.wall.Seconds(), "ndjson/raw-per-record")
}

// cost is the wall time and the process's CPU time (user and system, the
// embedded server's included) of one timed path.
type cost struct{ wall, cpu time.Duration }

func (c *cost) add(d cost) { c.wall += d.wall; c.cpu += d.cpu }

// measure starts timing, after a GC so that no path pays for the garbage
// of the one before; calling the result ends it.
func measure() func() cost {
	runtime.GC()
	start, cpu := time.Now(), procstack.SelfCPU()
	return func() cost { return cost{time.Since(start), procstack.SelfCPU() - cpu} }
}

// freshJetStream starts a fresh embedded server with Flowline's streams;
// stop shuts it down. Each path stops its server when done, so that no
// earlier server's background work or memory (GC marking) loads the next.
func freshJetStream(b *testing.B) (js jetstream.JetStream, stop func()) {
	ns := testenv.NATS(b)
	c := testenv.ConnectStreams(b, ns)
	return c.JS, func() { c.Close(); ns.Shutdown() }
}

// timePublish times publishing straight to a fresh JetStream: publish runs
// for every partition p (0-based) at once, then await (when not nil) until
// every ack is in.
func timePublish(b *testing.B, publish func(js jetstream.JetStream, p int), await func(js jetstream.JetStream)) cost {
	js, stop := freshJetStream(b)
	defer stop()
	done := measure()
	var wg sync.WaitGroup
	for p := range benchParts {
		wg.Go(func() { publish(js, p) })
	}
	wg.Wait()
	if await != nil {
		await(js)
	}
	return done()
}

// benchRaw publishes the records as ingest would store them, straight to
// JetStream, and returns the time it took.
func benchRaw(b *testing.B, in *benchInput) cost {
	return timePublish(b, func(js jetstream.JetStream, p int) {
		recs := in.recs[p]
		var futures []jetstream.PubAckFuture
		for len(recs) > 0 {
			k := min(1000, len(recs))
			data, err := proto.Marshal(&recordv1.RecordBatch{Records: recs[:k]})
			if err != nil {
				b.Error(err)
				return
			}
			f, err := js.PublishAsync(stream.RecordsSubject(int32(p+1)), data)
			if err != nil {
				b.Error(err)
				return
			}
			futures = append(futures, f)
			recs = recs[k:]
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Error(err)
			}
		}
	}, nil)
}

// benchRawPerRecord publishes each record's JSON line as one message, all
// acks awaited, and returns the time it took.
func benchRawPerRecord(b *testing.B, in *benchInput) cost {
	return timePublish(b, func(js jetstream.JetStream, p int) {
		subject := stream.RecordsSubject(int32(p + 1))
		for _, l := range in.lines[p] {
			if _, err := js.PublishAsync(subject, []byte(l), jetstream.WithStallWait(time.Minute)); err != nil {
				b.Error(err)
				return
			}
		}
	}, func(js jetstream.JetStream) {
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("per-record publishing did not complete")
		}
	})
}

// benchIngest posts the records to a fresh ingest and returns the time it
// took until every request was answered 202.
func benchIngest(b *testing.B, in *benchInput, contentType string) cost {
	ns := testenv.NATS(b)
	var cfg ingest.Config
	if err := config.Process(&cfg); err != nil { // the defaults
		b.Fatal(err)
	}
	cfg.Addr, cfg.NATS, cfg.Streams = "127.0.0.1:0", testenv.NATSConfig(ns), testenv.Streams()
	s := ingest.New(cfg, testenv.Deps(b))
	stop := testenv.Run(b, s)
	defer ns.Shutdown()
	defer stop()
	url := "http://" + s.Addr() + "/v1/records"

	var bodies [benchParts][][]byte
	for p := range benchParts {
		for i := 0; i < len(in.lines[p]); i += 5000 {
			j := min(i+5000, len(in.lines[p]))
			var body []byte
			if contentType == "application/x-ndjson" {
				body = []byte(strings.Join(in.lines[p][i:j], "\n") + "\n")
			} else {
				var err error
				if body, err = proto.Marshal(&recordv1.RecordBatch{Records: in.recs[p][i:j]}); err != nil {
					b.Fatal(err)
				}
			}
			bodies[p] = append(bodies[p], body)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchParts}}
	done := measure()
	var wg sync.WaitGroup
	accepted := make([]int, benchParts)
	for p := range benchParts {
		wg.Go(func() {
			for _, body := range bodies[p] {
				res, err := client.Post(url, contentType, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				var a struct {
					Accepted int `json:"accepted"`
				}
				err = json.NewDecoder(res.Body).Decode(&a)
				res.Body.Close()
				if res.StatusCode != http.StatusAccepted || err != nil {
					b.Errorf("HTTP %d: %v", res.StatusCode, err)
					return
				}
				accepted[p] += a.Accepted
			}
		})
	}
	wg.Wait()
	took := done()
	sum := 0
	for _, a := range accepted {
		sum += a
	}
	if sum != in.n {
		b.Fatalf("%s: %d records accepted, want %d", contentType, sum, in.n)
	}
	return took
}
