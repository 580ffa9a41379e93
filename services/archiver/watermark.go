package archiver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

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
//     acks it, after writing): every pending message of the partition
//     bounds it to below its first position. Not just the oldest: stream
//     order is not position order when a batch is re-published after a
//     reconnect or by an aggregator that already lost its lease.
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

// lowestPending is the lowest first position of all of partition p's
// pending messages in the documents stream (math.MaxInt64 if there are
// none): the Flowline-First-Position header, or for a message without one
// the lowest version of its documents. An undecodable message (the writer
// dead-letters it) counts as 0: nothing is safe until it is gone. Every
// pending message is read (one request each): the stream holds only what
// the writers have not acked yet.
func lowestPending(ctx context.Context, js jetstream.JetStream, p int32) (int64, error) {
	low := int64(math.MaxInt64)
	err := stream.EachStored(ctx, js, stream.DocsStream, stream.DocsSubject(p), func(msg *jetstream.RawStreamMsg) error {
		low = min(low, firstPosition(msg))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("documents stream: pending messages of partition %d: %w", p, err)
	}
	return low, nil
}

// firstPosition is the lowest record position a documents message may
// carry a document of.
func firstPosition(msg *jetstream.RawStreamMsg) int64 {
	if v, err := strconv.ParseInt(msg.Header.Get(stream.HeaderFirstPosition), 10, 64); err == nil {
		return v
	}
	var batch recordv1.DocumentBatch
	if err := proto.Unmarshal(msg.Data, &batch); err != nil {
		return 0
	}
	low := int64(math.MaxInt64)
	for _, d := range batch.Documents {
		low = min(low, d.Version)
	}
	return low
}
