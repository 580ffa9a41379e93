package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// The aggregator's checkpoints live in its state bucket, which is two
// JetStream buckets of the same name:
//
//   - an object store holding snapshots, one object per checkpoint
//     (CheckpointObject), written before it is referenced and deleted once
//     a newer one is;
//   - a key-value bucket holding, per partition, the pointer to the current
//     snapshot (key CheckpointKey, value a CheckpointPointer). The pointer
//     is the checkpoint: it is only ever written with kv.Create or kv.Update
//     on the revision its writer read when it loaded the checkpoint, so a
//     replica that lost the partition (its lease expired while it was slow)
//     cannot overwrite the checkpoint of the owner that came after it.
//
// The pointer says up to which record position the partition is aggregated
// for good: records at or below it are never aggregated again, so no
// document of theirs is ever published again. The archiver relies on that
// (see services/archiver).
//
// Before pointers, a checkpoint was one object per partition named
// CheckpointName with its position in the object's metadata (CheckpointMeta);
// such a legacy checkpoint is read while a partition has no pointer yet, and
// replaced by the aggregator's first checkpoint.
const checkpointPositionKey = "position"

// CheckpointName is the name of partition p's legacy checkpoint object.
func CheckpointName(p int32) string { return "partition-" + strconv.Itoa(int(p)) }

// CheckpointMeta is the object metadata of a legacy checkpoint of partition
// p covering every record up to position.
func CheckpointMeta(p int32, position int64) jetstream.ObjectMeta {
	return jetstream.ObjectMeta{Name: CheckpointName(p), Metadata: map[string]string{checkpointPositionKey: strconv.FormatInt(position, 10)}}
}

// CheckpointKey is the key of partition p's checkpoint pointer in the state
// bucket's key-value store.
func CheckpointKey(p int32) string { return CheckpointName(p) }

// CheckpointObject names a snapshot of partition p covering the records
// stream up to sequence seq, written by claim (a token unique to the
// writer, so that two writers never write the same object).
func CheckpointObject(p int32, seq uint64, claim string) string {
	return CheckpointName(p) + "/" + strconv.FormatUint(seq, 10) + "-" + claim
}

// CheckpointPointer is the value of a partition's checkpoint key.
type CheckpointPointer struct {
	// Object is the snapshot's name in the state bucket's object store.
	Object string `json:"object"`
	// Seq is the records stream sequence of the last record message folded
	// into the snapshot.
	Seq uint64 `json:"seq"`
	// Position is the newest record position folded into the snapshot.
	Position int64 `json:"position"`
}

// ErrNoCheckpoint is returned by CheckpointPosition when the partition has
// no checkpoint (or the bucket does not exist).
var ErrNoCheckpoint = errors.New("no aggregator checkpoint")

// ReadCheckpointPointer returns partition p's checkpoint pointer from kv
// and its revision; ErrNoCheckpoint when there is none.
func ReadCheckpointPointer(ctx context.Context, kv jetstream.KeyValue, p int32) (CheckpointPointer, uint64, error) {
	e, err := kv.Get(ctx, CheckpointKey(p))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return CheckpointPointer{}, 0, ErrNoCheckpoint
	}
	if err != nil {
		return CheckpointPointer{}, 0, fmt.Errorf("stream: checkpoint pointer of partition %d: %w", p, err)
	}
	var ptr CheckpointPointer
	if err := json.Unmarshal(e.Value(), &ptr); err != nil || ptr.Object == "" {
		return CheckpointPointer{}, 0, fmt.Errorf("stream: checkpoint pointer of partition %d (revision %d) is unreadable: %q", p, e.Revision(), e.Value())
	}
	return ptr, e.Revision(), nil
}

// CheckpointPosition reads partition p's checkpointed record position from
// its pointer in bucket (or, while it has none, from a legacy checkpoint's
// metadata), without reading the snapshot.
func CheckpointPosition(ctx context.Context, js jetstream.JetStream, bucket string, p int32) (int64, error) {
	kv, err := js.KeyValue(ctx, bucket)
	switch {
	case err == nil:
		ptr, _, err := ReadCheckpointPointer(ctx, kv, p)
		if err == nil {
			return ptr.Position, nil
		}
		if !errors.Is(err, ErrNoCheckpoint) {
			return 0, err
		}
	case !errors.Is(err, jetstream.ErrBucketNotFound):
		return 0, fmt.Errorf("stream: checkpoint bucket %s: %w", bucket, err)
	}
	return legacyCheckpointPosition(ctx, js, bucket, p)
}

// legacyCheckpointPosition reads the position of a legacy checkpoint.
func legacyCheckpointPosition(ctx context.Context, js jetstream.JetStream, bucket string, p int32) (int64, error) {
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
