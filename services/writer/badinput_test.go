package writer_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

// TestWriterDeadLettersAnUndecodableDocumentMessage: a document message
// that is not a DocumentBatch, and one held in an object that is gone, are
// each dead-lettered on flowline.dlq.writer with the reason, the message's
// subject and sequence and its data (or, for the one whose body is gone,
// its positions and the object's reference), and acked; the next
// message's document is written.
func TestWriterDeadLettersAnUndecodableDocumentMessage(t *testing.T) {
	env := testenv.NewEnv(t, natsserver.WithMaxPayload(1<<20))
	conn := testenv.ConnectStreams(t, env.NATS)
	js, ctx := conn.JS, context.Background()
	const p = 4

	garbage := []byte("not protobuf \xff")
	if _, err := js.Publish(ctx, stream.DocsSubject(p), garbage); err != nil {
		t.Fatal(err)
	}
	big, err := (&recordv1.DocumentBatch{PartitionId: p, FirstPosition: 2, LastPosition: 2, Documents: []*recordv1.Document{{
		Family: string(schema.Variable), Id: "1-big", Version: 2, PartitionId: p, Source: []byte(`{"name":"big","value":"` + strings.Repeat("b", 2<<20) + `"}`),
	}}}).MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	gone := stream.DocsMsg(p, 2, 2, big)
	if err := conn.Payloads.Prepare(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if !stream.IsReference(gone.Header) {
		t.Fatal("the 2 MiB document message was not stored as an object")
	}
	if _, err := js.PublishMsg(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := conn.Payloads.Release(ctx, gone.Header); err != nil { // the object expired
		t.Fatal(err)
	}
	testenv.PublishDocuments(t, js, p, &recordv1.Document{Family: string(schema.Variable), Id: "1-ok", Version: 3, PartitionId: p,
		Source: []byte(`{"name":"ok","value":"\"fine\"","scopeKey":1,"processInstanceKey":1,"position":3}`)})

	cfg := smallWriterConfig(env.NATS, env.ESConfig, env.Prefix)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, writer.New(cfg, testenv.Deps(t)))

	index := schema.RuntimeIndex(env.Prefix, schema.Variable)
	testenv.Eventually(t, 20*time.Second, func() error {
		_, err := esGet(ctx, env.ES, index, "1-ok")
		return err
	})
	var dls []jetstream.Msg
	testenv.Eventually(t, 10*time.Second, func() error {
		dls = dls[:0]
		for _, m := range testenv.Messages(t, js, stream.DLQStream) {
			if m.Subject() == stream.DLQSubject("writer") {
				dls = append(dls, m)
			}
		}
		if len(dls) != 2 {
			return fmt.Errorf("%d writer dead letters, want 2", len(dls))
		}
		return nil
	})
	for i, want := range []struct {
		seq    string
		reason string
	}{{"1", "message is not a readable flowline.record.v1.DocumentBatch: "}, {"2", "message body is gone: " + stream.ErrPayloadMissing.Error()}} {
		h := dls[i].Headers()
		if r := h.Get(stream.HeaderDLQReason); !strings.HasPrefix(r, want.reason) {
			t.Errorf("dead letter %d: reason %q, want it to start with %q", i, r, want.reason)
		}
		if h.Get(stream.HeaderDLQSubject) != stream.DocsSubject(p) || h.Get(stream.HeaderDLQSequence) != want.seq ||
			h.Get(stream.HeaderDLQKind) != string(stream.KindDocuments) {
			t.Errorf("dead letter %d: headers %v", i, h)
		}
	}
	if !bytes.Equal(dls[0].Data(), garbage) {
		t.Errorf("dead letter of the undecodable message carries %q, want the message's bytes", dls[0].Data())
	}
	if h := dls[1].Headers(); !stream.IsReference(h) || h.Get(stream.HeaderFirstPosition) != "2" || h.Get(stream.HeaderLastPosition) != "2" {
		t.Errorf("dead letter of the message whose body is gone: headers %v, want the object's reference and the positions 2..2", h)
	}
	testenv.Eventually(t, 10*time.Second, func() error { // every message acked: the work queue is empty
		st, err := js.Stream(ctx, stream.DocsStream)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != 0 {
			return fmt.Errorf("documents stream holds %d messages", info.State.Msgs)
		}
		return nil
	})
}
