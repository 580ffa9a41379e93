package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is one thing a service gives up on: the original payload and
// where it came from, and why.
type DeadLetter struct {
	Service string // dead-letter subject suffix: ingest, aggregator, writer, ...
	Reason  string
	Data    []byte
	// Subject and Sequence of the message that failed, when there is one.
	Subject  string
	Sequence uint64
	// Extra headers (e.g. HeaderDLQIndex, HeaderDLQID).
	Header nats.Header
}

// Publisher is the part of a JetStream context that stores a message and
// waits for the broker's acknowledgement: what a component that only
// publishes (dead letters, for one) is given instead of a whole context.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// PublishDeadLetter stores d on the dead-letter stream and waits for the
// broker's acknowledgement; a caller acks the failed input only after this
// returned nil.
func PublishDeadLetter(ctx context.Context, js Publisher, d DeadLetter) error {
	h := nats.Header{}
	for k, v := range d.Header {
		h[k] = v
	}
	h.Set(HeaderDLQReason, d.Reason)
	if d.Subject != "" {
		h.Set(HeaderDLQSubject, d.Subject)
	}
	if d.Sequence != 0 {
		h.Set(HeaderDLQSequence, strconv.FormatUint(d.Sequence, 10))
	}
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: DLQSubject(d.Service), Header: h, Data: d.Data}); err != nil {
		return fmt.Errorf("stream: dead-letter to %s: %w", DLQSubject(d.Service), err)
	}
	return nil
}
