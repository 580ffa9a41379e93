package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/flowline/flowline/pkg/simulate"
)

// runDemo posts a small workload to ingest: instances of the demo order
// process across 3 partitions, most completed, some canceled, some left
// running.
func runDemo(ctx context.Context, ingestURL string, instances int, out io.Writer) error {
	parts := []*simulate.Partition{}
	for id := int32(1); id <= 3; id++ {
		parts = append(parts, simulate.NewPartition(id, time.Now().Add(-time.Hour)))
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
	total := 0
	for _, p := range parts {
		var body bytes.Buffer
		recs := p.Take()
		for _, r := range recs {
			body.Write(r.JSON())
			body.WriteByte('\n')
		}
		if err := postNDJSON(ctx, ingestURL, body.Bytes()); err != nil {
			return err
		}
		total += len(recs)
	}
	fmt.Fprintf(out, "demo workload: %d process instances (%d still running) as %d records sent to ingest\n", instances, len(running), total)
	return nil
}

func postNDJSON(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/records", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("ingest answered %s: %s", res.Status, msg)
	}
	return nil
}
