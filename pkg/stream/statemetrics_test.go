package stream

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/config"
)

// TestStateCollectorReportsStreamsConsumersAndDeadLetters: on a real
// server, the collector reports each stream's messages, each consumer's
// backlog and unacknowledged deliveries (labels: consumer, stream), and
// dead letters by service; nothing before it is bound.
func TestStateCollectorReportsStreamsConsumersAndDeadLetters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := authServer(t, server.Options{})
	cfg := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(time.Hour)}
	conn, err := Connect(ctx, config.NATS{URL: url, ConnectTimeout: config.Duration(time.Second)}, "state-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := EnsureStreams(ctx, conn.JS, cfg); err != nil {
		t.Fatal(err)
	}
	c := NewStateCollector(5 * time.Second)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Fatalf("before Bind: %v %v, want nothing", mfs, err)
	}
	c.Bind(conn.JS)
	for i := range 5 {
		if _, err := conn.JS.Publish(ctx, RecordsSubject(int32(i%2)), []byte("r")); err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range []string{"writer", "writer", "aggregator"} {
		if err := PublishDeadLetter(ctx, conn.JS, DeadLetter{Service: svc, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := conn.JS.CreateOrUpdateConsumer(ctx, RecordsStream, jetstream.ConsumerConfig{Durable: "aggregator-0", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(time.Second)) // delivered, not acked
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() {
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"flowline_stream_messages FLOWLINE_RECORDS":                            5,
		"flowline_stream_messages FLOWLINE_DLQ":                                3,
		"flowline_consumer_pending_messages aggregator-0 FLOWLINE_RECORDS":     3,
		"flowline_consumer_ack_pending_messages aggregator-0 FLOWLINE_RECORDS": 2,
		"flowline_dead_letters writer":                                         2,
		"flowline_dead_letters aggregator":                                     1,
		"flowline_dead_letters c7-fold":                                        0,
		"flowline_stream_state_up":                                             1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (reported %v), want %v", key, v, ok, want)
		}
	}
}
