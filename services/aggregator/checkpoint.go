package aggregator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/stream"
)

// checkpoint is a partition's aggregation state as of a stream sequence:
// every record message up to and including Seq is folded into State.
type checkpoint struct {
	Seq   uint64          `json:"seq"`
	State *partitionState `json:"state"`

	// Where it came from (not stored): the pointer revision it was loaded
	// at or last saved as (0: the partition had no pointer), and the
	// snapshot object that revision references ("" none).
	rev    uint64
	object string
	// legacy: loaded from a checkpoint written before pointers; the object
	// is deleted once the first pointer is written.
	legacy bool
	// tried: snapshot objects written by earlier attempts at saving this
	// same state whose pointer update gave no answer: one of them may be
	// what the pointer names now.
	tried []string
}

// checkpoints stores partition checkpoints in the state bucket (see
// pkg/stream/checkpoint.go): snapshot objects in its object store, and per
// partition a pointer in its key-value store that is only ever written on
// the revision its writer loaded. That write is the fence: a replica that
// lost the partition cannot replace a newer owner's checkpoint. Shared by
// every partition's worker; safe for concurrent use (each partition's
// checkpoint is used by its one worker).
type checkpoints struct {
	objects  jetstream.ObjectStore
	pointers jetstream.KeyValue
	log      *slog.Logger
}

// load returns partition p's checkpoint, or an empty one at sequence 0 when
// there is none. A pointer whose snapshot is gone (the object store was
// lost) yields an empty one too, logged at ERROR: the partition is then
// aggregated again from the start of the records stream, and the pointer's
// revision still fences the next save.
func (c *checkpoints) load(ctx context.Context, p int32) (*checkpoint, error) {
	ptr, rev, err := stream.ReadCheckpointPointer(ctx, c.pointers, p)
	switch {
	case errors.Is(err, stream.ErrNoCheckpoint):
		return c.loadLegacy(ctx, p)
	case err != nil:
		return nil, fmt.Errorf("partition %d: load checkpoint: %w", p, err)
	}
	cp := &checkpoint{rev: rev}
	b, err := c.objects.GetBytes(ctx, ptr.Object)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		c.log.ErrorContext(ctx, "checkpoint snapshot is missing; aggregating the partition again from the start of the records stream",
			"partition", p, "object", ptr.Object, "seq", ptr.Seq, "position", ptr.Position)
		cp.State = newPartitionState(p)
		return cp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("partition %d: load checkpoint %q: %w", p, ptr.Object, err)
	}
	if err := json.Unmarshal(b, cp); err != nil {
		return nil, fmt.Errorf("partition %d: checkpoint %q is unreadable: %w", p, ptr.Object, err)
	}
	cp.object = ptr.Object
	if cp.State == nil {
		cp.State = newPartitionState(p)
	}
	cp.State.init()
	return cp, nil
}

// loadLegacy reads a checkpoint written before pointers, if any.
func (c *checkpoints) loadLegacy(ctx context.Context, p int32) (*checkpoint, error) {
	name := stream.CheckpointName(p)
	b, err := c.objects.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return &checkpoint{State: newPartitionState(p)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("partition %d: load checkpoint: %w", p, err)
	}
	cp := &checkpoint{legacy: true}
	if err := json.Unmarshal(b, cp); err != nil {
		return nil, fmt.Errorf("partition %d: checkpoint %q is unreadable: %w", p, name, err)
	}
	if cp.State == nil {
		cp.State = newPartitionState(p)
	}
	cp.State.init()
	return cp, nil
}

// save stores cp as a new snapshot and points the partition's key at it,
// on the revision cp was loaded at or last saved as. When another writer
// moved the pointer since, the new snapshot is deleted and the error wraps
// lease.ErrNotHeld: this worker has lost the partition. Only after the
// pointer moved is the superseded snapshot deleted. An error of another
// kind leaves it open whether the pointer moved; the caller reloads.
func (c *checkpoints) save(ctx context.Context, cp *checkpoint) error {
	p := cp.State.Partition
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("partition %d: encode checkpoint: %w", p, err)
	}
	claim := make([]byte, 6)
	_, _ = rand.Read(claim)
	name := stream.CheckpointObject(p, cp.Seq, hex.EncodeToString(claim))
	if _, err := c.objects.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("partition %d: save checkpoint: %w", p, err)
	}
	ptr, _ := json.Marshal(stream.CheckpointPointer{Object: name, Seq: cp.Seq, Position: cp.State.LastPosition})
	var rev uint64
	if cp.rev == 0 {
		rev, err = c.pointers.Create(ctx, stream.CheckpointKey(p), ptr)
	} else {
		rev, err = c.pointers.Update(ctx, stream.CheckpointKey(p), ptr, cp.rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		// An earlier attempt at this very save may have been stored
		// although its answer was lost: then the pointer names its object.
		adopted, arev, aerr := c.adopt(ctx, p, cp.tried)
		c.remove(ctx, p, name)
		switch {
		case aerr != nil: // unknown yet: the next attempt looks again
			return fmt.Errorf("partition %d: checkpoint pointer moved; reading it: %w", p, aerr)
		case adopted == "":
			return fmt.Errorf("partition %d: checkpoint at sequence %d refused, another replica checkpointed since revision %d: %w (%v)",
				p, cp.Seq, cp.rev, lease.ErrNotHeld, err)
		}
		name, rev, err = adopted, arev, nil
	}
	if err != nil {
		cp.tried = append(cp.tried, name) // its pointer update may have been stored
		return fmt.Errorf("partition %d: save checkpoint pointer: %w", p, err)
	}
	for _, t := range cp.tried {
		if t != name {
			c.remove(ctx, p, t)
		}
	}
	old, legacy := cp.object, cp.legacy
	cp.rev, cp.object, cp.legacy, cp.tried = rev, name, false, nil
	if old != "" {
		c.remove(ctx, p, old)
	}
	if legacy {
		c.remove(ctx, p, stream.CheckpointName(p))
	}
	return nil
}

// adopt reads p's pointer and returns the object and revision it holds
// when the object is one of tried (written by an earlier attempt at the
// same save: object names carry a random claim, so no other writer names
// them), "" when it is not, or the error that kept it from reading.
func (c *checkpoints) adopt(ctx context.Context, p int32, tried []string) (string, uint64, error) {
	if len(tried) == 0 {
		return "", 0, nil
	}
	e, err := c.pointers.Get(ctx, stream.CheckpointKey(p))
	if err != nil {
		return "", 0, err
	}
	var ptr stream.CheckpointPointer
	if json.Unmarshal(e.Value(), &ptr) != nil || !slices.Contains(tried, ptr.Object) {
		return "", 0, nil
	}
	return ptr.Object, e.Revision(), nil
}

// remove deletes a snapshot no pointer references; a failure only leaves
// an unreferenced object behind, logged at WARN.
func (c *checkpoints) remove(ctx context.Context, p int32, name string) {
	if err := c.objects.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		c.log.WarnContext(ctx, "could not delete an unreferenced checkpoint snapshot", "partition", p, "object", name, "error", err)
	}
}
