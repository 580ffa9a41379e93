package writer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

// TestReplicasShareTheDocumentStream: two writer replicas consume one
// durable consumer; both do work and every document is written once.
func TestReplicasShareTheDocumentStream(t *testing.T) {
	env := testenv.NewEnv(t)
	js := testenv.ConnectStreams(t, env.NATS).JS
	ctx := context.Background()
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var replicas []*writer.Service
	for _, reg := range regs {
		replicas = append(replicas, writer.New(writer.Config{
			Consumer: "writer", Workers: 1, FetchMessages: 4, BulkMaxDocs: 1000, BulkMaxBytes: 1 << 20,
			FlushInterval: config.Duration(50 * time.Millisecond), AckWait: config.Duration(30 * time.Second),
			NATS: testenv.NATSConfig(env.NATS), Streams: testenv.Streams(), Search: env.ESConfig,
			Index: config.Index{Prefix: env.Prefix, Shards: 1, RefreshInterval: "1s"},
		}, testenv.DepsOn(t, reg)))
	}
	testenv.Run(t, replicas[0], replicas[1])
	// Publish only once both replicas hold a pull request on the shared
	// consumer: published earlier, the first replica up could take every
	// message before the second had connected, which proves nothing.
	testenv.Eventually(t, 30*time.Second, func() error {
		cons, err := js.Consumer(ctx, stream.DocsStream, "writer")
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumWaiting < 2 {
			return fmt.Errorf("%d pull requests waiting on the writer consumer, want 2", info.NumWaiting)
		}
		return nil
	})
	const messages, perMessage = 60, 50
	for m := range messages {
		var docs []*recordv1.Document
		for i := range perMessage {
			key := int64(1)<<51 + int64(m*perMessage+i)
			docs = append(docs, &recordv1.Document{
				Family: string(schema.FlowNodeInstance), Id: fmt.Sprint(key), Version: 1, Source: flowNode(key, "ACTIVE", ""), PartitionId: 1,
			})
		}
		testenv.PublishDocuments(t, js, 1, docs...)
	}

	index := schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance)
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := search.Refresh(ctx, env.ES, index); err != nil {
			return err
		}
		n, err := search.Count(ctx, env.ES, index, nil)
		if err != nil {
			return err
		}
		if n != messages*perMessage {
			return fmt.Errorf("%d documents indexed", n)
		}
		return nil
	})
	total := 0.0
	for i, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		wrote := 0.0 // over every outcome (each exists from the start, at 0)
		for _, mf := range mfs {
			if mf.GetName() != "flowline_writer_items_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				wrote += m.GetCounter().GetValue()
			}
		}
		if wrote == 0 {
			t.Errorf("replica %d wrote nothing", i)
		}
		total += wrote
	}
	if total != messages*perMessage {
		t.Errorf("replicas report %v items in total, want %d (each document once)", total, messages*perMessage)
	}
}
