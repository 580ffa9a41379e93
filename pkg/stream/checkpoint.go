package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// The aggregator keeps one checkpoint object per partition in a JetStream
// object store. Its metadata says up to which record position the
// partition is aggregated for good: records at or below it are never
// aggregated again, so no document of theirs is ever published again. The
// archiver relies on that (see services/archiver).
const checkpointPositionKey = "position"

// CheckpointName is the name of partition p's checkpoint object.
func CheckpointName(p int32) string { return "partition-" + strconv.Itoa(int(p)) }

// CheckpointMeta is the object metadata of a checkpoint of partition p
// covering every record up to position.
func CheckpointMeta(p int32, position int64) jetstream.ObjectMeta {
	return jetstream.ObjectMeta{Name: CheckpointName(p), Metadata: map[string]string{checkpointPositionKey: strconv.FormatInt(position, 10)}}
}

// ErrNoCheckpoint is returned by CheckpointPosition when the partition has
// no checkpoint (or the bucket does not exist).
var ErrNoCheckpoint = errors.New("no aggregator checkpoint")

// CheckpointPosition reads partition p's checkpointed record position from
// the checkpoint's metadata in bucket, without reading the checkpoint.
func CheckpointPosition(ctx context.Context, js jetstream.JetStream, bucket string, p int32) (int64, error) {
	store, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0, ErrNoCheckpoint
	}
	if err != nil {
		return 0, fmt.Errorf("stream: checkpoint bucket %s: %w", bucket, err)
	}
	info, err := store.GetInfo(ctx, CheckpointName(p))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, ErrNoCheckpoint
	}
	if err != nil {
		return 0, fmt.Errorf("stream: checkpoint of partition %d: %w", p, err)
	}
	v, ok := info.Metadata[checkpointPositionKey]
	if !ok {
		return 0, fmt.Errorf("stream: checkpoint of partition %d has no %q metadata (written by an older aggregator; it is added at the next checkpoint)", p, checkpointPositionKey)
	}
	pos, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stream: checkpoint of partition %d: position %q: %w", p, v, err)
	}
	return pos, nil
}
