package writer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/deadletter"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

// esPutMapping adds the fields of mapping (a JSON body) to the mapping of
// index.
func esPutMapping(ctx context.Context, es *search.Client, index, mapping string) error {
	_, err := es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index) + "/_mapping", Body: []byte(mapping), What: "put mapping of " + index})
	return err
}

// TestRejectedDocumentRedrivenAfterTheMappingIsFixedIsIndexedOnce: a
// document the strict mapping refuses is dead-lettered with what a redrive
// needs; list shows it; once the mapping takes the field, redrive gets it
// indexed with its own version; a second redrive (of the listed dead letter
// as an interrupted run would still hold it, then by sequence) changes
// neither the index nor the dead-letter stream.
func TestRejectedDocumentRedrivenAfterTheMappingIsFixedIsIndexedOnce(t *testing.T) {
	env := testenv.NewEnv(t)
	conn := testenv.ConnectStreams(t, env.NATS)
	js := conn.JS
	ctx := context.Background()
	testenv.Run(t, writer.New(smallWriterConfig(env.NATS, env.ESConfig, env.Prefix), testenv.Deps(t)))

	index := schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance)
	testenv.PublishDocuments(t, js, 4,
		&recordv1.Document{Family: "flownode-instance", Id: "1", Version: 21, PartitionId: 4, RecordTimestamp: 1_763_884_800_000, Source: flowNode(1, "ACTIVE", `,"reviewedBy":"ops"`)},
		&recordv1.Document{Family: "flownode-instance", Id: "2", Version: 22, PartitionId: 4, Source: flowNode(2, "ACTIVE", "")},
	)
	store := deadletter.New(js, conn.Payloads)
	var letters []deadletter.Letter
	testenv.Eventually(t, 15*time.Second, func() error {
		var err error
		letters, err = store.List(ctx, deadletter.Filter{Service: "writer", Reason: "strict_dynamic_mapping"})
		if err == nil && len(letters) != 1 {
			err = fmt.Errorf("%d dead letters", len(letters))
		}
		return err
	})
	l := letters[0]
	if l.Kind != stream.KindDocument || l.Partition != 4 || l.Document == nil || l.Document.Family != "flownode-instance" ||
		l.Document.ID != "1" || l.Document.Version != 21 || l.Document.Index != index || l.Document.Timestamp != 1_763_884_800_000 {
		t.Fatalf("dead letter %+v, document %+v", l, l.Document)
	}
	count := func() int64 {
		t.Helper()
		if err := search.Refresh(ctx, env.ES, index); err != nil {
			t.Fatal(err)
		}
		n, err := search.Count(ctx, env.ES, index, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d documents before the redrive, want 1 (document 2)", n)
	}

	// Redriven before the cause is fixed: dead-lettered again, with a
	// fresh reason, and the old dead letter is gone.
	if _, err := store.Redrive(ctx, l, false); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		ls, err := store.List(ctx, deadletter.Filter{Service: "writer"})
		if err == nil && (len(ls) != 1 || ls[0].Seq == l.Seq) {
			err = fmt.Errorf("dead letters %v (the first was %d)", ls, l.Seq)
		}
		if err == nil {
			l = ls[0]
		}
		return err
	})

	// The fix: the mapping takes the field.
	if err := esPutMapping(ctx, env.ES, index, `{"properties":{"reviewedBy":{"type":"keyword"}}}`); err != nil {
		t.Fatal(err)
	}
	out, err := store.Redrive(ctx, l, false)
	if err != nil || out.Target != stream.DocsSubject(4) {
		t.Fatalf("redrive: %+v %v", out, err)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		body, err := esGet(ctx, env.ES, index, "1")
		if err != nil {
			return err
		}
		var got struct {
			Version int64          `json:"_version"`
			Source  map[string]any `json:"_source"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return err
		}
		if got.Version != 21 || got.Source["reviewedBy"] != "ops" {
			return fmt.Errorf("document 1: %s", body)
		}
		return nil
	})
	resilWaitDrained(t, js, 10*time.Second)
	if n := count(); n != 2 {
		t.Errorf("%d documents after the redrive, want 2", n)
	}

	// Redriving twice changes nothing.
	if out, err := store.Redrive(ctx, l, false); err != nil || !out.Duplicate {
		t.Errorf("repeated redrive of the listed dead letter: %+v %v", out, err)
	}
	if _, err := store.Get(ctx, l.Seq); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("dead letter %d after its redrive: %v", l.Seq, err)
	}
	resilWaitDrained(t, js, 10*time.Second)
	if ls, err := store.List(ctx, deadletter.Filter{}); err != nil || len(ls) != 0 {
		t.Errorf("dead letters after redriving twice: %v %v", ls, err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d documents after redriving twice, want 2", n)
	}
}

// TestLargeRejectedDocumentIsDeadLetteredWhole: on a NATS server with a
// real server's 1 MiB max_payload, a 2 MiB document that Elasticsearch
// rejects is dead-lettered whole (its source stored in the payload object
// store, the dead letter referencing it) instead of staying pending for
// ever; the document after it is written, and `dlq` reads the dead
// letter's whole source back and redrives it once the mapping is fixed.
func TestLargeRejectedDocumentIsDeadLetteredWhole(t *testing.T) {
	env := testenv.NewEnv(t, natsserver.WithMaxPayload(1<<20))
	conn := testenv.ConnectStreams(t, env.NATS)
	ctx := context.Background()
	testenv.Run(t, writer.New(smallWriterConfig(env.NATS, env.ESConfig, env.Prefix), testenv.Deps(t)))
	index := schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance)

	note := strings.Repeat("n", 2<<20)
	large := flowNode(1, "ACTIVE", `,"reviewedBy":"`+note+`"`)
	for i, d := range []*recordv1.Document{
		{Family: "flownode-instance", Id: "1", Version: 21, PartitionId: 4, Source: large},
		{Family: "flownode-instance", Id: "2", Version: 22, PartitionId: 4, Source: flowNode(2, "ACTIVE", "")},
	} {
		data, err := (&recordv1.DocumentBatch{PartitionId: 4, FirstPosition: d.Version, LastPosition: d.Version, Documents: []*recordv1.Document{d}}).MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		msg := stream.DocsMsg(4, d.Version, d.Version, data)
		if err := conn.Payloads.Prepare(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if i == 0 && !stream.IsReference(msg.Header) {
			t.Fatal("the 2 MiB document message was not stored as an object")
		}
		if _, err := conn.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}

	store := deadletter.New(conn.JS, conn.Payloads)
	var l deadletter.Letter
	testenv.Eventually(t, 30*time.Second, func() error {
		ls, err := store.List(ctx, deadletter.Filter{Service: "writer"})
		if err == nil && len(ls) != 1 {
			err = fmt.Errorf("%d dead letters", len(ls))
		}
		if err == nil {
			l = ls[0]
		}
		return err
	})
	if l.BodyErr != nil || !bytes.Equal(l.Data, large) || !stream.IsReference(l.Header) {
		t.Fatalf("dead letter holds %d bytes (%v), want the whole %d-byte source by reference", len(l.Data), l.BodyErr, len(large))
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		_, err := esGet(ctx, env.ES, index, "2")
		return err
	})

	if err := esPutMapping(ctx, env.ES, index, `{"properties":{"reviewedBy":{"type":"keyword","ignore_above":256}}}`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Redrive(ctx, l, false); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		body, err := esGet(ctx, env.ES, index, "1")
		if err != nil {
			return err
		}
		if !bytes.Contains(body, []byte(note)) {
			return fmt.Errorf("document 1 without its 2 MiB field (%d bytes)", len(body))
		}
		return nil
	})
}
