package stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

// TestPayloadsCarryBodiesOverMaxPayload publishes a body four times the
// server's max_payload through the records stream and reads it back whole,
// while a small body stays inline; a released or expired object is
// reported as ErrPayloadMissing, not as an empty body.
func TestPayloadsCarryBodiesOverMaxPayload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := authServer(t, server.Options{MaxPayload: 256 << 10})
	cfg := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(2 * time.Hour)}
	conn, err := Connect(ctx, config.NATS{URL: url, ConnectTimeout: config.Duration(time.Second)}, "payload-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := EnsureStreams(ctx, conn.JS, cfg); err != nil {
		t.Fatal(err)
	}
	payloads, err := OpenPayloads(ctx, conn.JS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := payloads.InlineLimit(); got <= 0 || got >= 256<<10 {
		t.Fatalf("inline limit %d, want below the server's max_payload", got)
	}
	again, err := OpenPayloads(ctx, conn.JS, cfg) // a second service binds the same bucket
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	small := []byte("small body")
	for i, body := range [][]byte{big, small} {
		msg := RecordsMsg(1, int64(i*10), int64(i*10+9), append([]byte(nil), body...))
		if err := payloads.Prepare(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if IsReference(msg.Header) != (len(body) > payloads.InlineLimit()) {
			t.Fatalf("body of %d bytes: reference=%v", len(body), IsReference(msg.Header))
		}
		if _, err := conn.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publish %d-byte body: %v", len(body), err)
		}
	}
	st, err := conn.JS.Stream(ctx, RecordsStream)
	if err != nil {
		t.Fatal(err)
	}
	var refs []*jetstream.RawStreamMsg
	for seq, want := range map[uint64][]byte{1: big, 2: small} {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got, err := again.Body(ctx, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d: body of %d bytes, want %d", seq, len(got), len(want))
		}
		if IsReference(m.Header) {
			refs = append(refs, m)
		}
	}
	if len(refs) != 1 {
		t.Fatalf("%d messages reference objects, want 1", len(refs))
	}
	if err := payloads.Release(ctx, refs[0].Header); err != nil {
		t.Fatal(err)
	}
	if _, err := payloads.Body(ctx, refs[0].Header, refs[0].Data); !errors.Is(err, ErrPayloadMissing) {
		t.Fatalf("body of a released object: %v, want ErrPayloadMissing", err)
	}
	if err := payloads.Release(ctx, refs[0].Header); err != nil {
		t.Fatalf("releasing twice: %v", err)
	}
	if err := payloads.Release(ctx, nats.Header{}); err != nil {
		t.Fatalf("releasing an inline message: %v", err)
	}
}

// TestABodyReRenderedUnderTheSameIDKeepsTheStoredOne: a message prepared
// again with the same id but another body (a restarted aggregator renders a
// document differently, its publish is then dropped as a duplicate) gets an
// object of its own, so the stored message still reads its own body; and a
// body that no longer matches its message is ErrPayloadMissing (dead letter,
// not an endless retry).
func TestABodyReRenderedUnderTheSameIDKeepsTheStoredOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := authServer(t, server.Options{MaxPayload: 256 << 10})
	cfg := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(time.Hour)}
	conn, err := Connect(ctx, config.NATS{URL: url, ConnectTimeout: config.Duration(time.Second)}, "payload-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payloads, err := OpenPayloads(ctx, conn.JS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Repeat([]byte("a"), 300<<10)
	second := bytes.Repeat([]byte("b"), 310<<10)
	m1 := DocsMsg(3, 100, 100, append([]byte(nil), first...))
	m2 := DocsMsg(3, 100, 100, append([]byte(nil), second...))
	for _, m := range []*nats.Msg{m1, m2} {
		if err := payloads.Prepare(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if m1.Header.Get(HeaderPayloadObject) == m2.Header.Get(HeaderPayloadObject) {
		t.Fatalf("two bodies under one message id share object %q", m1.Header.Get(HeaderPayloadObject))
	}
	if got, err := payloads.Body(ctx, m1.Header, nil); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("first message reads %d bytes (%v), want its own %d", len(got), err, len(first))
	}
	forged := nats.Header{}
	forged.Set(HeaderPayloadObject, m2.Header.Get(HeaderPayloadObject))
	forged.Set(HeaderPayloadSize, m1.Header.Get(HeaderPayloadSize))
	if _, err := payloads.Body(ctx, forged, nil); !errors.Is(err, ErrPayloadMissing) {
		t.Fatalf("body that does not match its message: %v, want ErrPayloadMissing", err)
	}
}

// TestThePayloadTTLFollowsTheStreamSettingsOwner: the bucket is created
// with the first service's max ages; a service that does not manage the
// stream settings leaves it, the owner brings its TTL in step with its own
// (objects must live as long as the messages that reference them).
func TestThePayloadTTLFollowsTheStreamSettingsOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := authServer(t, server.Options{})
	conn, err := Connect(ctx, config.NATS{URL: url, ConnectTimeout: config.Duration(time.Second)}, "payload-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ttl := func() time.Duration {
		t.Helper()
		store, err := conn.JS.ObjectStore(ctx, PayloadBucket)
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.TTL()
	}
	first := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(2 * time.Hour)}
	longer := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(10 * time.Hour), DLQMaxAge: config.Duration(2 * time.Hour)}
	if _, err := OpenPayloads(ctx, conn.JS, first); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPayloads(ctx, conn.JS, longer); err != nil {
		t.Fatal(err)
	}
	if got := ttl(); got != PayloadTTL(first) {
		t.Fatalf("TTL %s after a service that does not manage the settings, want %s", got, PayloadTTL(first))
	}
	longer.Manage = true
	if _, err := OpenPayloads(ctx, conn.JS, longer); err != nil {
		t.Fatal(err)
	}
	if got := ttl(); got != PayloadTTL(longer) {
		t.Fatalf("TTL %s after the owner opened the bucket, want %s", got, PayloadTTL(longer))
	}
}
