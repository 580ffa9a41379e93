package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// EachStored calls fn with every message stored on subject in stream name
// right now, in stream order, read one by one with the get-message API (a
// work-queue stream admits no second consumer on its subjects, so a
// consumer cannot be used). A message removed meanwhile (acked by a
// worker) is skipped; one added meanwhile may or may not be seen. A
// missing stream has no messages. It stops at fn's first error and returns
// it. Safe for concurrent use.
func EachStored(ctx context.Context, js jetstream.JetStream, name, subject string, fn func(*jetstream.RawStreamMsg) error) error {
	st, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	for seq := uint64(1); ; {
		msg, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("stream %s: message of %s at or after sequence %d: %w", name, subject, seq, err)
		}
		if err := fn(msg); err != nil {
			return err
		}
		seq = msg.Sequence + 1
	}
}
