package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/stream"
)

// checkpoint is a partition's aggregation state as of a stream sequence:
// every record message up to and including Seq is folded into State.
type checkpoint struct {
	Seq   uint64          `json:"seq"`
	State *partitionState `json:"state"`
}

func objectName(p int32) string { return stream.CheckpointName(p) }

// loadCheckpoint returns partition p's checkpoint, or an empty one at
// sequence 0 when there is none.
func loadCheckpoint(ctx context.Context, store jetstream.ObjectStore, p int32) (*checkpoint, error) {
	b, err := store.GetBytes(ctx, objectName(p))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return &checkpoint{State: newPartitionState(p)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("partition %d: load checkpoint: %w", p, err)
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("partition %d: checkpoint %q is unreadable: %w", p, objectName(p), err)
	}
	if cp.State == nil {
		cp.State = newPartitionState(p)
	}
	cp.State.init()
	return &cp, nil
}

// saveCheckpoint stores cp durably (the object store writes through
// JetStream and returns after the broker acknowledged it).
func saveCheckpoint(ctx context.Context, store jetstream.ObjectStore, cp *checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("partition %d: encode checkpoint: %w", cp.State.Partition, err)
	}
	// The metadata carries the position for readers that need only it
	// (the archiver).
	if _, err := store.Put(ctx, stream.CheckpointMeta(cp.State.Partition, cp.State.LastPosition), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("partition %d: save checkpoint: %w", cp.State.Partition, err)
	}
	return nil
}
