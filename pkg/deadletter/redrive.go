package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/wire"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// Plan is what redriving one dead letter publishes: the message, and for
// records the positions it covers.
type Plan struct {
	Msg *nats.Msg
	// Records is true for a message to the records stream, whose
	// Flowline-Last-Position header Redrive sets when publishing (see
	// publishRecords).
	Records     bool
	First, Last int64 // record positions the message covers
}

// Target is the subject the plan publishes to.
func (p Plan) Target() string { return p.Msg.Subject }

// PlanRedrive builds the message that sends l back to where it came from:
//   - records (a RecordBatch the aggregator gave up on) and zeebe-record
//     (a record the Zeebe import gave up on, re-encoded as a one-record
//     RecordBatch) go to flowline.records.<P>, marked with
//     stream.HeaderRedrive so the aggregator folds them although their
//     positions are behind its state;
//   - a document goes to flowline.docs.<P> as a one-document DocumentBatch
//     with its family, id, version (the writer indexes it with that
//     external version, so a newer document is never overwritten) and
//     timestamp;
//   - a documents message goes back to its subject unchanged.
//
// Every message carries Nats-Msg-Id stream.RedriveMsgID(l.Seq). It fails
// with ErrNotRedrivable when l does not say where it goes or its payload
// cannot be what its kind says (it would only be dead-lettered again).
func PlanRedrive(l Letter) (Plan, error) {
	fail := func(format string, args ...any) (Plan, error) {
		return Plan{}, fmt.Errorf("dead letter %d (%s, %s): %w: %s", l.Seq, l.Service, kindName(l.Kind), ErrNotRedrivable, fmt.Sprintf(format, args...))
	}
	if l.BodyErr != nil {
		return fail("its payload cannot be read: %v", l.BodyErr)
	}
	var p Plan
	switch l.Kind {
	case stream.KindRecords:
		if l.Partition < 0 {
			return fail("it names no partition")
		}
		var batch recordv1.RecordBatch
		if err := batch.UnmarshalVT(l.Data); err != nil {
			return fail("the payload is not a flowline.record.v1.RecordBatch: %v", err)
		}
		if len(batch.Records) == 0 {
			return fail("the payload holds no record")
		}
		p = Plan{Msg: &nats.Msg{Subject: stream.RecordsSubject(l.Partition), Data: l.Data}, Records: true}
		p.First, p.Last = batch.Records[0].Position, batch.Records[0].Position
		for _, r := range batch.Records {
			p.First, p.Last = min(p.First, r.Position), max(p.Last, r.Position)
		}
	case stream.KindZeebeRecord:
		r, err := zeebejson.DecodeLenient(l.Data)
		if err != nil {
			return fail("the payload is not a Zeebe record: %v", err)
		}
		if l.Partition >= 0 && r.PartitionId != l.Partition {
			return fail("the record claims partition %d but was dead-lettered for partition %d", r.PartitionId, l.Partition)
		}
		recs, err := wire.EncodeRecords([]*recordv1.Record{r})
		if err != nil {
			return fail("%v", err)
		}
		p = Plan{Msg: &nats.Msg{Subject: stream.RecordsSubject(r.PartitionId), Data: wire.AppendBatch(nil, recs)},
			Records: true, First: r.Position, Last: r.Position}
	case stream.KindDocument:
		d := l.Document
		switch {
		case d == nil || d.Family == "":
			return fail("it does not name the document's family (stored before dead letters carried it, or the family was unknown to the writer)")
		case l.Header.Get(stream.HeaderDLQVersion) == "":
			return fail("it does not carry the document's version")
		case d.Partition < 0 && !stream.IsC7DocsSubject(l.Subject):
			return fail("it names no partition")
		}
		data, err := (&recordv1.DocumentBatch{PartitionId: d.Partition, FirstPosition: d.Version, LastPosition: d.Version,
			Documents: []*recordv1.Document{{Family: d.Family, Id: d.ID, Version: d.Version, Source: l.Data,
				PartitionId: d.Partition, RecordTimestamp: d.Timestamp, Routing: d.Routing}}}).MarshalVT()
		if err != nil {
			return fail("%v", err)
		}
		if d.Partition < 0 { // a Camunda 7 source's document: back to its subject
			p = Plan{Msg: &nats.Msg{Subject: l.Subject, Data: data}, First: d.Version, Last: d.Version}
			break
		}
		p = Plan{Msg: stream.DocsMsg(d.Partition, d.Version, d.Version, data), First: d.Version, Last: d.Version}
	case stream.KindDocuments:
		subject := stream.DocsSubject(l.Partition)
		switch {
		case stream.IsC7DocsSubject(l.Subject):
			subject = l.Subject
		case l.Partition < 0:
			return fail("it names no partition")
		}
		p = Plan{Msg: &nats.Msg{Subject: subject, Data: l.Data, Header: nats.Header{}}}
		var batch recordv1.DocumentBatch
		if batch.UnmarshalVT(l.Data) == nil && len(batch.Documents) > 0 {
			p.First, p.Last = batch.FirstPosition, batch.LastPosition
			p.Msg.Header.Set(stream.HeaderFirstPosition, strconv.FormatInt(p.First, 10))
			p.Msg.Header.Set(stream.HeaderLastPosition, strconv.FormatInt(p.Last, 10))
		}
	default:
		return fail("it has no kind (%s header) and none can be derived", stream.HeaderDLQKind)
	}
	if p.Msg.Header == nil {
		p.Msg.Header = nats.Header{}
	}
	p.Msg.Header.Set(nats.MsgIdHdr, stream.RedriveMsgID(l.Seq))
	p.Msg.Header.Set(stream.HeaderRedrive, strconv.FormatUint(l.Seq, 10))
	return p, nil
}

func kindName(k stream.DeadLetterKind) string {
	if k == "" {
		return "no kind"
	}
	return string(k)
}

// Outcome is what redriving one dead letter did.
type Outcome struct {
	Seq       uint64
	Target    string // subject re-published to
	Duplicate bool   // the target stream already had it (a redrive repeated within its dedupe window)
	DryRun    bool   // nothing was published or deleted
}

// Redrive sends l back to where it came from (PlanRedrive), waits for the
// target stream's acknowledgement, then deletes l from the dead-letter
// stream. With dryRun it only plans. A dead letter another redrive deleted
// meanwhile counts as done.
func (s *Store) Redrive(ctx context.Context, l Letter, dryRun bool) (Outcome, error) {
	p, err := PlanRedrive(l)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Seq: l.Seq, Target: p.Target(), DryRun: dryRun}
	if dryRun {
		return out, nil
	}
	if s.payloads != nil { // a body over the inline limit travels as an object again
		if err := s.payloads.Prepare(ctx, p.Msg); err != nil {
			return out, fmt.Errorf("deadletter: redrive %d to %s: %w", l.Seq, p.Target(), err)
		}
	}
	var ack *jetstream.PubAck
	if p.Records {
		ack, err = s.publishRecords(ctx, p)
	} else {
		ack, err = s.js.PublishMsg(ctx, p.Msg)
	}
	if err != nil {
		return out, fmt.Errorf("deadletter: redrive %d to %s: %w", l.Seq, p.Target(), err)
	}
	out.Duplicate = ack.Duplicate
	st, err := s.dlq(ctx)
	if err != nil {
		return out, err
	}
	if err := st.DeleteMsg(ctx, l.Seq); err != nil && !gone(ctx, st, l.Seq) {
		return out, fmt.Errorf("deadletter: redrove %d to %s but could not remove it from %s (redriving it again is safe): %w",
			l.Seq, p.Target(), stream.DLQStream, err)
	}
	return out, nil
}

// gone reports whether dead letter seq is no longer stored (another redrive
// removed it: the server's answer to deleting a missing message is a
// generic failure, so it is asked).
func gone(ctx context.Context, st jetstream.Stream, seq uint64) bool {
	_, err := st.GetMsg(ctx, seq)
	return errors.Is(err, jetstream.ErrMsgNotFound)
}

// maxConflicts bounds the re-reads when the partition's subject keeps
// moving between reading its last message and publishing.
const maxConflicts = 20

// publishRecords stores a redriven record message on its partition's
// subject without breaking pkg/recordlog's rule that the subject's last
// message names, in Flowline-Last-Position, the highest stored position:
// the header is the higher of that and the redriven records' last
// position, and the publish expects the subject's last sequence read, so
// it never interleaves with an ingest append (a conflict re-reads).
func (s *Store) publishRecords(ctx context.Context, p Plan) (*jetstream.PubAck, error) {
	st, err := s.js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return nil, err
	}
	subject := p.Target()
	for attempt := 0; ; attempt++ {
		var lastSeq uint64
		lastPos := int64(-1)
		m, err := st.GetLastMsgForSubject(ctx, subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return nil, fmt.Errorf("read last message of %s: %w", subject, err)
		default:
			lastSeq = m.Sequence
			if lastPos, err = strconv.ParseInt(m.Header.Get(stream.HeaderLastPosition), 10, 64); err != nil {
				return nil, fmt.Errorf("last message of %s (seq %d) has no valid %s header", subject, m.Sequence, stream.HeaderLastPosition)
			}
		}
		p.Msg.Header.Set(stream.HeaderFirstPosition, strconv.FormatInt(p.First, 10))
		p.Msg.Header.Set(stream.HeaderLastPosition, strconv.FormatInt(max(lastPos, p.Last), 10))
		ack, err := s.js.PublishMsg(ctx, p.Msg, jetstream.WithExpectLastSequencePerSubject(lastSeq))
		var apiErr *jetstream.APIError
		if err != nil && errors.As(err, &apiErr) && attempt < maxConflicts &&
			(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			continue
		}
		return ack, err
	}
}
