package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
)

// ConnectStreams connects a client to s, closed at cleanup, and creates
// Flowline's streams with the tests' settings (Streams) and opens the
// payload bucket (Conn.Payloads), as stream.Open does for a service.
func ConnectStreams(t testing.TB, s *natsserver.Server) *stream.Conn {
	t.Helper()
	c := Connect(t, s)
	if err := stream.EnsureStreams(context.Background(), c.JS, Streams()); err != nil {
		t.Fatal(err)
	}
	p, err := stream.OpenPayloads(context.Background(), c.JS, Streams())
	if err != nil {
		t.Fatal(err)
	}
	c.Payloads = p
	return c
}

// PublishDocuments publishes docs as one DocumentBatch of partition p on
// p's documents subject, as the aggregator does, and waits for the ack.
func PublishDocuments(t testing.TB, js jetstream.JetStream, p int32, docs ...*recordv1.Document) {
	t.Helper()
	data, err := proto.Marshal(&recordv1.DocumentBatch{PartitionId: p, Documents: docs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), stream.DocsSubject(p), data); err != nil {
		t.Fatal(err)
	}
}

// Messages returns every message stored in stream name right now, in stream
// order, read through an ordered consumer; it fails t when one cannot be read.
func Messages(t testing.TB, js jetstream.JetStream, name string) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]jetstream.Msg, 0, info.State.Msgs)
	for i := uint64(0); i < info.State.Msgs; i++ {
		msg, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatalf("%s: message %d of %d: %v", name, i+1, info.State.Msgs, err)
		}
		out = append(out, msg)
	}
	return out
}

// StreamMessages is how many messages stream name holds now.
func StreamMessages(t testing.TB, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
