package stream

import (
	"context"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
