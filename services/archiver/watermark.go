package archiver

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
)

// safePosition is how the archiver never fights the writer. It returns the
// highest record position of partition p at or below which no document can
// reach the writer any more, so that an instance whose every document is at
// or below it (its list-view document's position: an instance's records all
// precede its end) can be moved without a late document bringing part of it
// back into the runtime index:
//
//   - the aggregator never aggregates records at or below its checkpointed
//     position again (their documents are never published again): with a
//     checkpoint, the bound is its position; without one, unbounded if the
//     partition has no records (documents written by something else), and
//     nothing (-1) while records wait for their first checkpoint;
//   - documents already published but not yet written are still in the
//     work-queue documents stream (a message leaves it only when the writer
//     acks it, after writing): the oldest one of the partition bounds it to
//     below its lowest version.
//
// The documents stream is read after the checkpoint, so a document
// published in between is either covered by the checkpoint or seen.
func (s *Service) safePosition(ctx context.Context, p int32) (int64, error) {
	safe := int64(math.MaxInt64)
	pos, err := stream.CheckpointPosition(ctx, s.js, s.cfg.StateBucket, p)
	switch {
	case err == nil:
		safe = pos
	case errors.Is(err, stream.ErrNoCheckpoint):
		withRecords, err := stream.Partitions(ctx, s.js, stream.RecordsStream, stream.RecordsSubject(p))
		if err != nil {
			return 0, err
		}
		if len(withRecords) > 0 {
			return -1, nil
		}
	default:
		return 0, err
	}
	low, err := lowestPending(ctx, s.js, p)
	if err != nil {
		return 0, err
	}
	return min(safe, low-1), nil
}

// lowestPending is the lowest document version in partition p's oldest
// message in the documents stream (math.MaxInt64 if it has none). An
// undecodable message (the writer dead-letters it) counts as version 0:
// nothing is safe until it is gone.
func lowestPending(ctx context.Context, js jetstream.JetStream, p int32) (int64, error) {
	st, err := js.Stream(ctx, stream.DocsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return math.MaxInt64, nil
	}
	if err != nil {
		return 0, fmt.Errorf("documents stream: %w", err)
	}
	msg, err := st.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(stream.DocsSubject(p)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return math.MaxInt64, nil
	}
	if err != nil {
		return 0, fmt.Errorf("documents stream: oldest message of partition %d: %w", p, err)
	}
	var batch recordv1.DocumentBatch
	if err := proto.Unmarshal(msg.Data, &batch); err != nil {
		return 0, nil
	}
	low := int64(math.MaxInt64)
	for _, d := range batch.Documents {
		low = min(low, d.Version)
	}
	return low, nil
}
