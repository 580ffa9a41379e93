package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a dead letter besides HeaderDLQReason, HeaderDLQSubject,
// HeaderDLQSequence, HeaderDLQIndex and HeaderDLQID (subjects.go): what
// `flowline dlq redrive` (pkg/deadletter) needs to send the payload back to
// where it came from.
const (
	// HeaderDLQKind says what the payload is (a DeadLetterKind).
	HeaderDLQKind = "Flowline-Dlq-Kind"
	// HeaderDLQPartition is the partition the payload belongs to.
	HeaderDLQPartition = "Flowline-Dlq-Partition"
	// HeaderDLQFamily, HeaderDLQVersion and HeaderDLQTimestamp describe a
	// dead-lettered document (KindDocument), with HeaderDLQIndex and
	// HeaderDLQID: its family, external version (the position of the newest
	// record folded into it) and record timestamp (epoch ms).
	HeaderDLQFamily    = "Flowline-Dlq-Family"
	HeaderDLQVersion   = "Flowline-Dlq-Version"
	HeaderDLQTimestamp = "Flowline-Dlq-Record-Timestamp"
	// HeaderDLQRouting is a dead-lettered document's routing, when it has
	// one (a join child of the operate schema's list-view).
	HeaderDLQRouting = "Flowline-Dlq-Routing"
	// HeaderDLQClass is a dead letter's class: a short fixed name of why
	// (DeadLetter.Class).
	HeaderDLQClass = "Flowline-Dlq-Class"
	// HeaderRedrive marks a message re-published from the dead-letter
	// stream; its value is the dead letter's stream sequence. The aggregator
	// folds a redriven record message although its positions are behind its
	// state (services/aggregator/redrive.go).
	HeaderRedrive = "Flowline-Redrive"
)

// DeadLetterKind is what a dead letter's payload is, which decides where a
// redrive sends it.
type DeadLetterKind string

// The kinds of dead letters.
const (
	// KindRecords: an encoded RecordBatch of the partition (a whole record
	// message, or the records given up on), redriven to
	// flowline.records.<P> marked with HeaderRedrive.
	KindRecords DeadLetterKind = "records"
	// KindDocuments: a document message as it was stored on
	// flowline.docs.<P> (an encoded DocumentBatch, or what claimed to be
	// one), redriven there unchanged.
	KindDocuments DeadLetterKind = "documents"
	// KindDocument: one document's source (JSON); the headers name its
	// family, id, version and partition. Redriven as a one-document
	// DocumentBatch to flowline.docs.<P>.
	KindDocument DeadLetterKind = "document"
	// KindZeebeRecord: one record as Zeebe's Elasticsearch exporter stored
	// it (a zeebe-record_* document, Zeebe JSON), redriven as a one-record
	// RecordBatch to flowline.records.<P> marked with HeaderRedrive.
	KindZeebeRecord DeadLetterKind = "zeebe-record"
)

// DeadDocument names a dead-lettered document: where it was to be indexed
// and what it is.
type DeadDocument struct {
	Index     string // the index Elasticsearch refused it for ("" if none)
	Family    string // schema family ("" if the producer did not know it)
	ID        string
	Version   int64 // external version: position of the newest record folded into it
	Partition int32
	Timestamp int64  // record timestamp, epoch ms
	Routing   string // "" when routed by its id
}

// DeadLetter is one thing a service gives up on: the original payload, what
// it is and where it came from, and why. The producers fill what they know;
// PublishDeadLetter derives the rest (Kind from Document or Subject,
// Partition from Subject or Document).
type DeadLetter struct {
	Service string // dead-letter subject suffix: ingest, aggregator, writer, ...
	Reason  string
	// Class is a short fixed name of why, one of the Class constants
	// ("" for none): what metrics count dead letters by, where Reason is
	// free text.
	Class string
	Data  []byte
	// Kind is what Data is. When empty, PublishDeadLetter takes it from
	// Document (KindDocument) or from Subject's stream (KindRecords,
	// KindDocuments); a dead letter with none of them has no kind and
	// cannot be redriven.
	Kind DeadLetterKind
	// Partition the payload belongs to. PublishDeadLetter takes it from
	// Subject or Document when they have one; the producer sets it for
	// KindZeebeRecord. ParseDeadLetter returns -1 when a dead letter names
	// none.
	Partition int32
	// Subject and Sequence of the message that failed, when there is one.
	Subject  string
	Sequence uint64
	// Document describes a dead-lettered document (KindDocument).
	Document *DeadDocument
	// Extra headers, copied as they are.
	Header nats.Header
}

// Classes of dead letters (DeadLetter.Class).
const (
	ClassUndecodable   = "undecodable"    // a message that is not what its stream carries
	ClassBodyMissing   = "body_missing"   // a message whose body object is gone
	ClassRecord        = "record"         // a record the aggregator cannot fold
	ClassUnrenderable  = "unrenderable"   // a document that cannot be rendered
	ClassTooLarge      = "too_large"      // a record, state or document over its limit
	ClassRejected      = "rejected"       // a document Elasticsearch refused
	ClassUnknownFamily = "unknown_family" // a document of a family the writer has no index for
	ClassEntity        = "entity"         // a Camunda 7 entity or page that cannot be imported
)

// Publisher is the part of a JetStream context that stores a message and
// waits for the broker's acknowledgement: what a component that only
// publishes (dead letters, for one) is given instead of a whole context.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// PublishDeadLetter stores d on the dead-letter stream and waits for the
// broker's acknowledgement; a caller acks the failed input only after this
// returned nil. A dead letter of a stored message (Subject and Sequence)
// carries a message id derived from what it is (see msgID), unless the
// producer set one in Header: publishing it again after an answer was lost
// stores it once within the stream's dedupe window.
func PublishDeadLetter(ctx context.Context, js Publisher, d DeadLetter) error {
	h := nats.Header{}
	for k, v := range d.Header {
		h[k] = v
	}
	d = d.complete()
	h.Set(HeaderDLQReason, d.Reason)
	if d.Class != "" {
		h.Set(HeaderDLQClass, d.Class)
	}
	if d.Kind != "" {
		h.Set(HeaderDLQKind, string(d.Kind))
	}
	if d.Partition >= 0 {
		h.Set(HeaderDLQPartition, strconv.Itoa(int(d.Partition)))
	}
	if d.Subject != "" {
		h.Set(HeaderDLQSubject, d.Subject)
	}
	if d.Sequence != 0 {
		h.Set(HeaderDLQSequence, strconv.FormatUint(d.Sequence, 10))
	}
	if doc := d.Document; doc != nil {
		h.Set(HeaderDLQIndex, doc.Index)
		h.Set(HeaderDLQID, doc.ID)
		if doc.Family != "" {
			h.Set(HeaderDLQFamily, doc.Family)
		}
		h.Set(HeaderDLQVersion, strconv.FormatInt(doc.Version, 10))
		h.Set(HeaderDLQTimestamp, strconv.FormatInt(doc.Timestamp, 10))
		if doc.Routing != "" {
			h.Set(HeaderDLQRouting, doc.Routing)
		}
	}
	if h.Get(nats.MsgIdHdr) == "" {
		if id := d.msgID(h); id != "" {
			h.Set(nats.MsgIdHdr, id)
		}
	}
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: DLQSubject(d.Service), Header: h, Data: d.Data}); err != nil {
		return fmt.Errorf("stream: dead-letter to %s: %w", DLQSubject(d.Service), err)
	}
	return nil
}

// msgID identifies a dead letter by where its payload came from and the
// payload itself: the service, the failed message's subject and sequence,
// the document it names (Document, or the producer's HeaderDLQIndex,
// HeaderDLQFamily and HeaderDLQID: one record can shape several documents
// that cannot be published) and a hash of Data (one message can yield
// several dead letters, one per record or document given up on). "" when
// d names no stored message: nothing then tells a retry from a second
// failure of the same input, such as the same document redriven (a redrive
// publishes a new message, so its dead letter has a new id).
func (d DeadLetter) msgID(h nats.Header) string {
	if d.Subject == "" || d.Sequence == 0 {
		return ""
	}
	sum := sha256.New()
	field := func(s string) { sum.Write([]byte(s)); sum.Write([]byte{0}) }
	field(d.Service)
	field(d.Subject)
	field(strconv.FormatUint(d.Sequence, 10))
	for _, k := range []string{HeaderDLQIndex, HeaderDLQFamily, HeaderDLQID, HeaderDLQVersion} {
		field(h.Get(k))
	}
	sum.Write(d.Data)
	return "dlq-" + hex.EncodeToString(sum.Sum(nil)[:16])
}

// complete derives Kind and Partition where the producer left them to
// PublishDeadLetter; Partition is -1 when nothing names one.
func (d DeadLetter) complete() DeadLetter {
	fromSubject, subjectErr := PartitionOf(d.Subject)
	switch {
	case d.Document != nil:
		d.Partition = d.Document.Partition
	case d.Subject != "" && subjectErr == nil:
		d.Partition = fromSubject
	case d.Kind != KindZeebeRecord:
		d.Partition = -1
	}
	if d.Kind == "" {
		switch {
		case d.Document != nil:
			d.Kind = KindDocument
		case strings.HasPrefix(d.Subject, recordsRoot):
			d.Kind = KindRecords
		case strings.HasPrefix(d.Subject, docsRoot):
			d.Kind = KindDocuments
		}
	}
	return d
}

// ParseDeadLetter reads a dead letter back from a message of the
// dead-letter stream (its subject, headers and data): the inverse of
// PublishDeadLetter. Dead letters stored before the kind and partition
// headers existed get them derived as far as they can be: from the failed
// message's subject (records, documents), or from the index and id headers
// (a zeebe-record document of the import, service ingest, or a document of
// the writer, which then lacks its family and version). Header keeps every
// header of the message. It fails only when subject is not a dead-letter
// subject.
func ParseDeadLetter(subject string, h nats.Header, data []byte) (DeadLetter, error) {
	service, ok := strings.CutPrefix(subject, dlqRoot)
	if !ok || service == "" {
		return DeadLetter{}, fmt.Errorf("stream: %q is not a dead-letter subject (%s)", subject, AllDLQ)
	}
	d := DeadLetter{
		Service: service, Reason: h.Get(HeaderDLQReason), Class: h.Get(HeaderDLQClass), Data: data, Header: h,
		Kind: DeadLetterKind(h.Get(HeaderDLQKind)), Subject: h.Get(HeaderDLQSubject), Partition: -1,
	}
	d.Sequence, _ = strconv.ParseUint(h.Get(HeaderDLQSequence), 10, 64)
	if p, err := strconv.ParseInt(h.Get(HeaderDLQPartition), 10, 32); err == nil && p >= 0 {
		d.Partition = int32(p)
	}
	if index, id := h.Get(HeaderDLQIndex), h.Get(HeaderDLQID); index != "" || id != "" {
		if d.Kind == "" && service == "ingest" {
			d.Kind = KindZeebeRecord
		}
		if d.Kind == "" || d.Kind == KindDocument {
			doc := &DeadDocument{Index: index, ID: id, Family: h.Get(HeaderDLQFamily), Partition: d.Partition, Routing: h.Get(HeaderDLQRouting)}
			doc.Version, _ = strconv.ParseInt(h.Get(HeaderDLQVersion), 10, 64)
			doc.Timestamp, _ = strconv.ParseInt(h.Get(HeaderDLQTimestamp), 10, 64)
			d.Document = doc
		}
	}
	if d.Kind == "" || d.Partition < 0 {
		c := d.complete()
		if d.Kind == "" {
			d.Kind = c.Kind
		}
		if d.Partition < 0 {
			d.Partition = c.Partition
		}
	}
	return d, nil
}

// RedriveMsgID is the Nats-Msg-Id of the message that redrives dead letter
// seq: deterministic, so a redrive repeated within the target stream's
// dedupe window (a crash between re-publishing and removing the dead
// letter) is a duplicate, not a second copy.
func RedriveMsgID(seq uint64) string { return "redrive-" + strconv.FormatUint(seq, 10) }

// RedriveOf reports the dead-letter sequence a message was redriven from
// (HeaderRedrive), and whether it was redriven at all.
func RedriveOf(h nats.Header) (uint64, bool) {
	v := h.Get(HeaderRedrive)
	if v == "" {
		return 0, false
	}
	seq, err := strconv.ParseUint(v, 10, 64)
	return seq, err == nil
}
