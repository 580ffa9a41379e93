package c7fold

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lease"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
)

// TestAFailedBatchIsFoldedAgainNotSkipped (real NATS): the worker loses
// its lease in the middle of a batch (after fetching the first page,
// before storing anything), then goes on. The page of that batch is folded
// later all the same: a later page's ack never covers a page that was not
// folded, and the failed one comes back at once, not after the ack wait.
func TestAFailedBatchIsFoldedAgainNotSkipped(t *testing.T) {
	srv := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, srv)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		body := []byte(`[{"id":"` + id + `","processDefinitionId":"p:1:x","processDefinitionKey":"p","processDefinitionVersion":1,"startTime":"2026-01-01T00:00:00.000+0000","endTime":"2026-01-01T00:00:01.000+0000","state":"COMPLETED"}]`)
		if _, err := conn.JS.PublishMsg(ctx, stream.C7PageMsg("s", c7.ProcessInstanceCompleted.Name, 1, 1, 1, body)); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := openStateBucket(ctx, conn.JS, "flowline-c7-state", 1)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	// The lease is lost once, mid-batch.
	w := testWorker(conn, kv, Config{CacheInstances: 10, FetchBatch: 1, AckWait: config.Duration(time.Hour), PublishTimeout: config.Duration(10 * time.Second)}, func() bool { return calls.Add(1) > 1 })
	for range 4 {
		if _, err := w.round(ctx); err != nil && !errors.Is(err, lease.ErrNotHeld) {
			t.Fatal(err)
		}
	}
	folded := map[string]bool{}
	err = stream.EachStored(ctx, conn.JS, stream.DocsStream, stream.C7DocsSubject("s"), func(m *jetstream.RawStreamMsg) error {
		var batch recordv1.DocumentBatch
		if err := batch.UnmarshalVT(m.Data); err != nil {
			return err
		}
		for _, d := range batch.Documents {
			folded[d.Id] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !folded[DocID("s", "a")] || !folded[DocID("s", "b")] {
		t.Errorf("documents published for %v; want both instances, a's page after its failed batch", folded)
	}
	info, err := w.cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 || info.NumAckPending != 0 || info.AckFloor.Stream != 2 {
		t.Errorf("consumer: %d pending, %d unacked, ack floor %d; want both pages acked", info.NumPending, info.NumAckPending, info.AckFloor.Stream)
	}
}

// TestADeletedStateIsWrittenAfresh (real NATS): an instance whose state
// key was deleted (by an operator, or purged) is stored again on its next
// page instead of conflicting for ever with the delete marker.
func TestADeletedStateIsWrittenAfresh(t *testing.T) {
	srv := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, srv)
	ctx := context.Background()
	kv, err := openStateBucket(ctx, conn.JS, "flowline-c7-state", 1)
	if err != nil {
		t.Fatal(err)
	}
	w := testWorker(conn, kv, Config{CacheInstances: 10, FetchBatch: 1, AckWait: config.Duration(time.Hour), PublishTimeout: config.Duration(10 * time.Second)}, func() bool { return true })
	page := func(state string) {
		body := []byte(`[{"id":"a","processDefinitionId":"p:1:x","processDefinitionKey":"p","startTime":"2026-01-01T00:00:00.000+0000","state":"` + state + `"}]`)
		if _, err := conn.JS.PublishMsg(ctx, stream.C7PageMsg("s", c7.ProcessInstanceRunning.Name, 1, 1, 1, body)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.round(ctx); err != nil {
			t.Fatal(err)
		}
	}
	page("ACTIVE")
	if err := kv.Delete(ctx, w.states.key("a")); err != nil {
		t.Fatal(err)
	}
	w.states.forget() // as after a restart: nothing cached
	page("SUSPENDED")
	e, err := kv.Get(ctx, w.states.key("a"))
	if err != nil {
		t.Fatalf("state after the delete: %v", err)
	}
	var st instanceState
	if err := decodeState(e.Value(), &st); err != nil || st.Instance == nil || st.Instance.E.State != "SUSPENDED" {
		t.Errorf("state after the delete: %+v (%v), want the new page's", st.Instance, err)
	}
}

// TestLargePagesAreFetchedWithinTheClientsLimits (real NATS, 8 MB
// max_payload as in development): pages of several megabytes, more than a
// fetch's count of them, are all folded. A fetch bounded by count alone
// asked the server for more than the client's pending limit, which closed
// the connection, and the pages delivered to it then waited out the ack
// wait.
func TestLargePagesAreFetchedWithinTheClientsLimits(t *testing.T) {
	srv := testenv.NATS(t, natsserver.WithMaxPayload(8<<20))
	conn := testenv.ConnectStreams(t, srv)
	ctx := context.Background()
	const pages = 24
	pad := strings.Repeat("x", 3<<20)
	for i := range pages {
		body := []byte(fmt.Sprintf(`[{"id":"pi-%d","processDefinitionId":"p:1:x","processDefinitionKey":"p","startTime":"2026-01-01T00:00:00.000+0000","endTime":"2026-01-01T00:00:01.000+0000","state":"COMPLETED","padding":%q}]`, i, pad))
		if _, err := conn.JS.PublishMsg(ctx, stream.C7PageMsg("s", c7.ProcessInstanceCompleted.Name, 1, 1, 1, body)); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := openStateBucket(ctx, conn.JS, "flowline-c7-state", 1)
	if err != nil {
		t.Fatal(err)
	}
	w := testWorker(conn, kv, Config{CacheInstances: 100, FetchBatch: 32, AckWait: config.Duration(time.Hour), PublishTimeout: config.Duration(30 * time.Second)}, func() bool { return true })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := w.round(ctx); err != nil {
			t.Fatal(err)
		}
		info, err := w.cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream == pages {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ack floor %d of %d pages after a minute (%d delivered, unacked)", info.AckFloor.Stream, pages, info.NumAckPending)
		}
	}
}

// testWorker is a worker of source "s" on conn with cfg, its lease held
// while holds says so.
func testWorker(conn *stream.Conn, kv jetstream.KeyValue, cfg Config, holds func() bool) *worker {
	return &worker{
		source: "s", js: conn.JS, payloads: conn.Payloads, kv: kv, cfg: cfg, holds: holds,
		metrics: newMetrics(prometheus.NewRegistry()), log: slog.New(slog.DiscardHandler),
	}
}

// TestFetchCountStaysWithinTheServersPendingLimit: whatever the fetch
// batch and the largest page message, a fetch of that many messages of
// that size stays under half the server's 64 MiB pending limit per client
// (a lone message larger than that is fetched alone).
func TestFetchCountStaysWithinTheServersPendingLimit(t *testing.T) {
	for _, tt := range []struct{ batch, inline, want int }{
		{32, 1<<20 - 16<<10, 32},  // the default max_payload: the whole batch
		{32, 8<<20 - 16<<10, 4},   // 8 MiB max_payload
		{256, 1<<20 - 16<<10, 32}, // a batch raised past what fits
		{32, 64 << 20, 1},         // one message
		{1, 4 << 10, 1},
	} {
		got := fetchCount(tt.batch, tt.inline)
		if got != tt.want || (got > 1 && got*(tt.inline+fetchHeaderBytes) > 32<<20) {
			t.Errorf("batch %d, messages up to %d bytes: fetch %d, want %d", tt.batch, tt.inline, got, tt.want)
		}
	}
}
