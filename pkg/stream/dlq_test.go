package stream

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

// capture is a Publisher that keeps what it is given (a unit-test fake:
// the integration tests of pkg/deadletter use a real server).
type capture struct{ msgs []*nats.Msg }

func (c *capture) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	c.msgs = append(c.msgs, m)
	return &jetstream.PubAck{}, nil
}

// TestDeadLetterCarriesWhatRedriveNeeds: every kind of dead letter the
// services publish reads back with its kind, partition and, for a
// document, family, id, version and timestamp; kind and partition are
// derived from the failed message's subject when the producer did not set
// them.
func TestDeadLetterCarriesWhatRedriveNeeds(t *testing.T) {
	doc := &DeadDocument{Index: "flowline-job-1_", Family: "job", ID: "42", Version: 17, Partition: 2, Timestamp: 1_763_884_800_000}
	routed := &DeadDocument{Index: "operate-list-view-8.3.0_", Family: "operate-list-view", ID: "43", Version: 18, Partition: 2, Timestamp: 1, Routing: "41"}
	for _, tt := range []struct {
		name string
		in   DeadLetter
		want DeadLetter // Service, Data and Header aside
	}{
		{"aggregator record message", DeadLetter{Service: "aggregator", Reason: "r", Subject: RecordsSubject(3), Sequence: 9},
			DeadLetter{Reason: "r", Kind: KindRecords, Partition: 3, Subject: RecordsSubject(3), Sequence: 9}},
		{"writer document message", DeadLetter{Service: "writer", Reason: "r", Subject: DocsSubject(0), Sequence: 1},
			DeadLetter{Reason: "r", Kind: KindDocuments, Partition: 0, Subject: DocsSubject(0), Sequence: 1}},
		{"writer document", DeadLetter{Service: "writer", Reason: "mapping", Document: doc},
			DeadLetter{Reason: "mapping", Kind: KindDocument, Partition: 2, Document: doc}},
		{"writer routed document", DeadLetter{Service: "writer", Reason: "mapping", Document: routed},
			DeadLetter{Reason: "mapping", Kind: KindDocument, Partition: 2, Document: routed}},
		{"zeebe import record", DeadLetter{Service: "ingest", Reason: "late", Kind: KindZeebeRecord, Partition: 0,
			Header: nats.Header{HeaderDLQIndex: {"zeebe-record_job_8.8.0"}, HeaderDLQID: {"0-5"}}},
			DeadLetter{Reason: "late", Kind: KindZeebeRecord, Partition: 0}},
		{"nothing known", DeadLetter{Service: "x", Reason: "why"}, DeadLetter{Reason: "why", Partition: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c capture
			tt.in.Data = []byte("payload")
			if err := PublishDeadLetter(context.Background(), &c, tt.in); err != nil {
				t.Fatal(err)
			}
			m := c.msgs[0]
			if m.Subject != DLQSubject(tt.in.Service) {
				t.Errorf("subject %s", m.Subject)
			}
			got, err := ParseDeadLetter(m.Subject, m.Header, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Service != tt.in.Service || string(got.Data) != "payload" {
				t.Errorf("service %q data %q", got.Service, got.Data)
			}
			got.Service, got.Data, got.Header = "", nil, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read back %+v (document %+v)\nwant      %+v (document %+v)", got, got.Document, tt.want, tt.want.Document)
			}
		})
	}
}

// TestDeadLettersFromBeforeKindsAreClassified: dead letters stored before
// the kind and partition headers are read with what can be derived.
func TestDeadLettersFromBeforeKindsAreClassified(t *testing.T) {
	h := nats.Header{HeaderDLQReason: {"r"}, HeaderDLQSubject: {RecordsSubject(5)}, HeaderDLQSequence: {"3"}}
	if d, _ := ParseDeadLetter(DLQSubject("aggregator"), h, nil); d.Kind != KindRecords || d.Partition != 5 {
		t.Errorf("old aggregator dead letter: kind %q partition %d", d.Kind, d.Partition)
	}
	h = nats.Header{HeaderDLQReason: {"r"}, HeaderDLQIndex: {"zeebe-record_job_8.8.0"}, HeaderDLQID: {"1-7"}}
	if d, _ := ParseDeadLetter(DLQSubject("ingest"), h, nil); d.Kind != KindZeebeRecord || d.Partition != -1 || d.Document != nil {
		t.Errorf("old import dead letter: kind %q partition %d document %v", d.Kind, d.Partition, d.Document)
	}
	h = nats.Header{HeaderDLQReason: {"r"}, HeaderDLQIndex: {"flowline-job-1_"}, HeaderDLQID: {"7"}}
	d, _ := ParseDeadLetter(DLQSubject("writer"), h, nil)
	if d.Kind != KindDocument || d.Document == nil || d.Document.ID != "7" || d.Document.Family != "" {
		t.Errorf("old writer dead letter: kind %q document %+v", d.Kind, d.Document)
	}
	if _, err := ParseDeadLetter(RecordsSubject(1), h, nil); err == nil {
		t.Error("a records subject parsed as a dead letter")
	}
}

func TestRedriveMarker(t *testing.T) {
	if seq, ok := RedriveOf(nats.Header{HeaderRedrive: {"12"}}); !ok || seq != 12 {
		t.Errorf("RedriveOf = %d, %v", seq, ok)
	}
	for _, h := range []nats.Header{nil, {}, {HeaderRedrive: {"x"}}} {
		if _, ok := RedriveOf(h); ok {
			t.Errorf("RedriveOf(%v) reports a redrive", h)
		}
	}
	if RedriveMsgID(12) != "redrive-12" {
		t.Errorf("RedriveMsgID(12) = %q", RedriveMsgID(12))
	}
}

// TestDeadLetterMessageIDs: a dead letter published again (an answer lost)
// carries the same message id; dead letters of different inputs carry
// different ones; one that names no stored message carries none, and a
// producer's own id is kept.
func TestDeadLetterMessageIDs(t *testing.T) {
	rec := DeadLetter{Service: "aggregator", Reason: "r", Subject: RecordsSubject(1), Sequence: 7, Data: []byte("record a")}
	doc := DeadLetter{Service: "writer", Reason: "r", Data: []byte("{}"), Subject: DocsSubject(1), Sequence: 3,
		Document: &DeadDocument{Index: "flowline-job-1_", ID: "42", Version: 17, Partition: 1}}
	id := func(t *testing.T, d DeadLetter) string {
		t.Helper()
		var c capture
		if err := PublishDeadLetter(context.Background(), &c, d); err != nil {
			t.Fatal(err)
		}
		return c.msgs[0].Header.Get(nats.MsgIdHdr)
	}
	with := func(d DeadLetter, change func(*DeadLetter)) DeadLetter {
		if d.Document != nil {
			doc := *d.Document
			d.Document = &doc
		}
		change(&d)
		return d
	}
	for _, tt := range []struct {
		name string
		a, b DeadLetter
		same bool
	}{
		{"record again", rec, rec, true},
		{"record, another reason", rec, with(rec, func(d *DeadLetter) { d.Reason = "other" }), true},
		{"another record of the message", rec, with(rec, func(d *DeadLetter) { d.Data = []byte("record b") }), false},
		{"another message", rec, with(rec, func(d *DeadLetter) { d.Sequence = 8 }), false},
		{"another service", rec, with(rec, func(d *DeadLetter) { d.Service = "writer" }), false},
		{"document again", doc, doc, true},
		{"document, newer version", doc, with(doc, func(d *DeadLetter) { d.Document.Version = 18 }), false},
		{"document, another index", doc, with(doc, func(d *DeadLetter) { d.Document.Index = "flowline-job-2_" }), false},
		{"another document shaped by the record", with(rec, func(d *DeadLetter) { d.Header = nats.Header{HeaderDLQFamily: {"incident"}, HeaderDLQID: {"1"}} }),
			with(rec, func(d *DeadLetter) {
				d.Header = nats.Header{HeaderDLQFamily: {"flow-node-instance"}, HeaderDLQID: {"1"}}
			}), false},
		{"same document shaped by the record", with(rec, func(d *DeadLetter) { d.Header = nats.Header{HeaderDLQFamily: {"incident"}, HeaderDLQID: {"1"}} }),
			with(rec, func(d *DeadLetter) { d.Header = nats.Header{HeaderDLQFamily: {"incident"}, HeaderDLQID: {"1"}} }), true},
		{"document redriven (a new message)", doc, with(doc, func(d *DeadLetter) { d.Sequence = 900 }), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := id(t, tt.a), id(t, tt.b)
			if a == "" || b == "" {
				t.Fatalf("ids %q %q, want both set", a, b)
			}
			if (a == b) != tt.same {
				t.Errorf("ids %q %q: same %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
	for _, d := range []DeadLetter{
		{Service: "c7-import", Reason: "r", Data: []byte("x")},
		with(doc, func(d *DeadLetter) { d.Sequence = 0 }),
	} {
		if got := id(t, d); got != "" {
			t.Errorf("a dead letter naming no stored message has id %q", got)
		}
	}
	own := with(rec, func(d *DeadLetter) { d.Header = nats.Header{nats.MsgIdHdr: {"mine"}} })
	if got := id(t, own); got != "mine" {
		t.Errorf("producer's id replaced by %q", got)
	}
}

// TestDeadLetterPublishedAgainIsStoredOnce: on a real server, the second
// publication of one dead letter (its first answer lost) is a duplicate.
func TestDeadLetterPublishedAgainIsStoredOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := authServer(t, server.Options{})
	cfg := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(2 * time.Hour)}
	conn, err := Connect(ctx, config.NATS{URL: url, ConnectTimeout: config.Duration(time.Second)}, "dlq-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := EnsureStreams(ctx, conn.JS, cfg); err != nil {
		t.Fatal(err)
	}
	d := DeadLetter{Service: "aggregator", Reason: "r", Subject: RecordsSubject(1), Sequence: 7, Data: []byte("record")}
	for range 2 {
		if err := PublishDeadLetter(ctx, conn.JS, d); err != nil {
			t.Fatal(err)
		}
	}
	d.Data = []byte("another record")
	if err := PublishDeadLetter(ctx, conn.JS, d); err != nil {
		t.Fatal(err)
	}
	s, err := conn.JS.Stream(ctx, DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 2 {
		t.Errorf("dead-letter stream holds %d messages, want 2 (one per record)", n)
	}
}
