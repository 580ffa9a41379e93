package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/flowline/flowline/pkg/simulate"
)

// demoRequestRecords is how many records the demo sends per request, well
// under ingest's default limits.
const demoRequestRecords = 5000

// runDemo posts a small workload to ingest: instances of the demo order
// process across 3 partitions, most completed, some canceled, some left
// running.
func runDemo(ctx context.Context, ingestURL string, instances int, out io.Writer) error {
	parts := []*simulate.Partition{}
	// Continue after any earlier demo run on the same data dir: positions
	// and key counters start from the clock, so they only grow.
	resume := time.Now().UnixMilli() * 1000
	for id := int32(1); id <= 3; id++ {
		p := simulate.NewPartition(id, time.Now().Add(-time.Hour))
		p.ResumeAfter(resume, resume)
		parts = append(parts, p)
	}
	var running []*simulate.Instance
	for i := range instances {
		p := parts[i%len(parts)]
		in := simulate.Start(p, simulate.DemoProcess(int64(p.ID)<<51+999_999))
		switch {
		case i%10 == 9:
			in.Step(time.Second)
			in.Cancel()
		case i%4 == 3:
			in.Step(time.Second)
			in.Step(time.Second)
			running = append(running, in)
		default:
			for !in.Done {
				in.Step(time.Second)
			}
		}
	}
	total, accepted := 0, 0
	began := time.Now()
	for _, p := range parts {
		recs := p.Take()
		for start := 0; start < len(recs); start += demoRequestRecords {
			var body bytes.Buffer
			for _, r := range recs[start:min(start+demoRequestRecords, len(recs))] {
				body.Write(r.JSON())
				body.WriteByte('\n')
			}
			n, err := postNDJSON(ctx, ingestURL, body.Bytes())
			if err != nil {
				return err
			}
			accepted += n
		}
		total += len(recs)
	}
	took := time.Since(began)
	fmt.Fprintf(out, "demo workload: %d process instances (%d still running): %d records sent to ingest in %s (%.0f records/s), %d accepted\n",
		instances, len(running), total, took.Round(time.Millisecond), float64(total)/took.Seconds(), accepted)
	return nil
}

// postNDJSON posts records and returns how many ingest accepted.
func postNDJSON(ctx context.Context, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/records", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("ingest answered %s: %s", res.Status, msg)
	}
	var answer struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(msg, &answer); err != nil {
		return 0, fmt.Errorf("ingest answer %q: %w", msg, err)
	}
	return answer.Accepted, nil
}
