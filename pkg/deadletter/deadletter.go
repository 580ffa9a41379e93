// Package deadletter reads, shows and redrives the dead letters Flowline's
// services store on FLOWLINE_DLQ (flowline.dlq.<service>, written with
// stream.PublishDeadLetter): the logic of `flowline dlq list|show|redrive`.
//
// A dead letter is listed by its sequence in the dead-letter stream. A
// redrive re-publishes its payload to where it came from (records to
// flowline.records.<P>, documents to flowline.docs.<P>, see Redrive) and,
// once the target stream acknowledged it, deletes the dead letter, so
// redriving twice changes nothing: the second time there is nothing left to
// redrive. The re-published message carries the deterministic message id
// stream.RedriveMsgID(seq), which covers a crash between the two steps
// within the target stream's dedupe window; beyond it a second copy is
// harmless as well (documents carry external versions, and the aggregator
// folds a redriven record message into a scratch copy of its state).
//
// Deleting, rather than remembering redriven sequences elsewhere (a KV
// bucket), keeps one source of truth: what is in the dead-letter stream is
// what still needs attention, nothing has to be kept in step with it, and
// if the cause was not fixed the service dead-letters the payload again
// with a fresh reason, which `dlq list` then shows.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/stream"
)

// Sentinel errors; every error of this package that is one of them wraps it.
var (
	// ErrNotFound: no dead letter with that sequence (never stored, already
	// redriven, or past the stream's max age).
	ErrNotFound = errors.New("no such dead letter")
	// ErrNotRedrivable: the dead letter does not say enough to send it back
	// (no kind, no partition, no family), or its payload does not decode.
	ErrNotRedrivable = errors.New("dead letter cannot be redriven")
	// ErrNoDLQ: the dead-letter stream does not exist on this server.
	ErrNoDLQ = errors.New("dead-letter stream " + stream.DLQStream + " not found (is this Flowline's NATS server?)")
)

// Letter is one dead letter as stored on the dead-letter stream.
type Letter struct {
	stream.DeadLetter
	Seq  uint64    // sequence in the dead-letter stream: what the CLI names it by
	Time time.Time // when it was stored
	// BodyErr says why the payload could not be read when the dead letter
	// holds it in the payload object store (stream.Payloads) and the object
	// is gone or unreadable; Data is then nil.
	BodyErr error
}

// Filter selects dead letters; its zero value selects every one.
type Filter struct {
	Service string    // exact service name (the subject suffix); "": any
	Reason  string    // substring of the reason, case-insensitive; "": any
	Since   time.Time // stored at or after; zero: no bound
	Until   time.Time // stored at or before; zero: no bound
	Limit   int       // at most this many, oldest first; 0: no limit
}

// IsZero reports whether f selects every dead letter.
func (f Filter) IsZero() bool { return f == Filter{} }

// Match reports whether l passes f (Limit aside).
func (f Filter) Match(l Letter) bool {
	switch {
	case f.Service != "" && l.Service != f.Service:
		return false
	case f.Reason != "" && !strings.Contains(strings.ToLower(l.Reason), strings.ToLower(f.Reason)):
		return false
	case !f.Since.IsZero() && l.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && l.Time.After(f.Until):
		return false
	}
	return true
}

// ParseTime reads a --since/--until value: an RFC 3339 time, or a Go
// duration meaning that long before now ("90m": an hour and a half ago).
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-23T12:00:00Z) nor a positive duration (90m)", s)
	}
	return now.Add(-d), nil
}

// Store reads and removes dead letters through a JetStream context, and
// reads and stores payloads too large to travel inline through payloads.
// It holds no state of its own; safe for concurrent use.
type Store struct {
	js       jetstream.JetStream
	payloads *stream.Payloads // nil: no payload bucket exists, so no dead letter references one
}

// New returns a Store on js and payloads (nil when the payload bucket does
// not exist).
func New(js jetstream.JetStream, payloads *stream.Payloads) *Store {
	return &Store{js: js, payloads: payloads}
}

// body fills l.Data from the payload object store when l references an
// object; a body that cannot be read is said in l.BodyErr.
func (s *Store) body(ctx context.Context, l Letter) Letter {
	if !stream.IsReference(l.Header) {
		return l
	}
	if s.payloads == nil {
		l.BodyErr = fmt.Errorf("%w: the payload bucket %s does not exist", stream.ErrPayloadMissing, stream.PayloadBucket)
		return l
	}
	l.Data, l.BodyErr = s.payloads.Body(ctx, l.Header, l.Data)
	return l
}

func (s *Store) dlq(ctx context.Context) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, stream.DLQStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, ErrNoDLQ
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter: %s: %w", stream.DLQStream, err)
	}
	return st, nil
}

// fetchWait bounds one wait for messages the consumer said are pending.
const fetchWait = 10 * time.Second

// List returns the dead letters f selects, oldest first. It reads the
// stream through an ephemeral consumer (filtered by service, starting at
// Since), removed when it is done.
func (s *Store) List(ctx context.Context, f Filter) ([]Letter, error) {
	st, err := s.dlq(ctx)
	if err != nil {
		return nil, err
	}
	cc := jetstream.ConsumerConfig{
		Description:       "flowline dlq list",
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		FilterSubject:     stream.AllDLQ,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute,
	}
	if f.Service != "" {
		cc.FilterSubject = stream.DLQSubject(f.Service)
	}
	if !f.Since.IsZero() {
		since := f.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := st.CreateConsumer(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("deadletter: read %s: %w", stream.DLQStream, err)
	}
	defer func() { _ = st.DeleteConsumer(context.WithoutCancel(ctx), cons.CachedInfo().Name) }()

	var out []Letter
	pending := cons.CachedInfo().NumPending
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, 256)), jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			return nil, fmt.Errorf("deadletter: read %s: %w", stream.DLQStream, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return nil, fmt.Errorf("deadletter: read %s: %w", stream.DLQStream, err)
			}
			pending = meta.NumPending
			l, err := letter(msg.Subject(), meta.Sequence.Stream, meta.Timestamp, msg.Headers(), msg.Data())
			if err != nil {
				return nil, err
			}
			if f.Match(l) {
				out = append(out, s.body(ctx, l))
				if f.Limit > 0 && len(out) >= f.Limit {
					return out, nil
				}
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("deadletter: read %s: %w", stream.DLQStream, err)
		}
		if got == 0 {
			return nil, fmt.Errorf("deadletter: read %s: %d dead letters pending but none arrived within %s", stream.DLQStream, pending, fetchWait)
		}
	}
	return out, nil
}

// Get returns dead letter seq (ErrNotFound if there is none).
func (s *Store) Get(ctx context.Context, seq uint64) (Letter, error) {
	st, err := s.dlq(ctx)
	if err != nil {
		return Letter{}, err
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Letter{}, fmt.Errorf("deadletter: %d: %w (already redriven, past %s's max age, or never stored)", seq, ErrNotFound, stream.DLQStream)
	}
	if err != nil {
		return Letter{}, fmt.Errorf("deadletter: get %d: %w", seq, err)
	}
	l, err := letter(m.Subject, m.Sequence, m.Time, m.Header, m.Data)
	if err != nil {
		return Letter{}, err
	}
	return s.body(ctx, l), nil
}

func letter(subject string, seq uint64, at time.Time, h nats.Header, data []byte) (Letter, error) {
	if h == nil {
		h = nats.Header{}
	}
	d, err := stream.ParseDeadLetter(subject, h, data)
	if err != nil {
		return Letter{}, fmt.Errorf("deadletter: message %d: %w", seq, err)
	}
	return Letter{DeadLetter: d, Seq: seq, Time: at}, nil
}

// ParseSeqs reads dead-letter sequences given as arguments.
func ParseSeqs(args []string) ([]uint64, error) {
	seqs := make([]uint64, 0, len(args))
	for _, a := range args {
		seq, err := strconv.ParseUint(a, 10, 64)
		if err != nil || seq == 0 {
			return nil, fmt.Errorf("%q is not a dead-letter sequence (a positive integer, as `flowline dlq list` prints)", a)
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil
}
