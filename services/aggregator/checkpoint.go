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

// A snapshotSave is one checkpoint being saved, across the attempts it
// takes: the checkpoint is encoded once, uploaded under one name until an
// upload succeeds (a Put under the same name replaces one whose answer was
// lost; nats.go purges the chunks of a failed Put, but not those of one
// cut off by its deadline, which stay in the object stream unreferenced),
// and then only the pointer update is tried again. Owned by the
// partition's worker.
type snapshotSave struct {
	cp       *checkpoint
	body     []byte // the encoded checkpoint
	object   string // the snapshot's name: a random claim makes it this save's alone
	uploaded bool   // an upload of object succeeded
	pointed  bool   // a pointer update naming object went unanswered: it may have been stored
}

// begin encodes cp for saving.
func (c *checkpoints) begin(cp *checkpoint) (*snapshotSave, error) {
	p := cp.State.Partition
	b, err := json.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("partition %d: encode checkpoint: %w", p, err)
	}
	claim := make([]byte, 6)
	_, _ = rand.Read(claim)
	return &snapshotSave{cp: cp, body: b, object: stream.CheckpointObject(p, cp.Seq, hex.EncodeToString(claim))}, nil
}

// size is the encoded checkpoint's length in bytes.
func (s *snapshotSave) size() int { return len(s.body) }

// upload stores the snapshot, unless an earlier attempt did.
func (c *checkpoints) upload(ctx context.Context, s *snapshotSave) error {
	if s.uploaded {
		return nil
	}
	if _, err := c.objects.Put(ctx, jetstream.ObjectMeta{Name: s.object}, bytes.NewReader(s.body)); err != nil {
		return fmt.Errorf("partition %d: save checkpoint snapshot (%d bytes): %w", s.cp.State.Partition, len(s.body), err)
	}
	s.uploaded = true
	return nil
}

// point moves the partition's pointer to the uploaded snapshot, on the
// revision the checkpoint was loaded at or last saved as, and then deletes
// the snapshot it superseded. When another writer moved the pointer since,
// the new snapshot is deleted and the error wraps lease.ErrNotHeld: this
// worker has lost the partition; unless the pointer names this save's own
// snapshot, stored by an earlier attempt whose answer was lost, which is
// adopted. An error of another kind leaves it open whether the pointer
// moved; the next attempt finds out.
func (c *checkpoints) point(ctx context.Context, s *snapshotSave) error {
	cp, p := s.cp, s.cp.State.Partition
	ptr, _ := json.Marshal(stream.CheckpointPointer{Object: s.object, Seq: cp.Seq, Position: cp.State.LastPosition})
	var rev uint64
	var err error
	if cp.rev == 0 {
		rev, err = c.pointers.Create(ctx, stream.CheckpointKey(p), ptr)
	} else {
		rev, err = c.pointers.Update(ctx, stream.CheckpointKey(p), ptr, cp.rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		pointer, prev, perr := c.pointer(ctx, s)
		switch {
		case perr != nil: // unknown yet: the next attempt looks again
			return fmt.Errorf("partition %d: checkpoint pointer moved; reading it: %w", p, perr)
		case pointer == pointerUnmoved:
			// The update was refused, so the pointer did move: this read
			// came from a replica behind it. The next attempt looks again.
			return fmt.Errorf("partition %d: checkpoint pointer moved, but a read gave revision %d: %w", p, cp.rev, errStaleRead)
		case pointer == pointerElsewhere:
			c.remove(ctx, p, s.object) // past cp.rev elsewhere: no update of this save can name it
			return fmt.Errorf("partition %d: checkpoint at sequence %d refused, another replica checkpointed since revision %d: %w (%v)",
				p, cp.Seq, cp.rev, lease.ErrNotHeld, err)
		}
		rev, err = prev, nil
	}
	if err != nil {
		s.pointed = true // the update may have been stored
		return fmt.Errorf("partition %d: save checkpoint pointer: %w", p, err)
	}
	old, legacy := cp.object, cp.legacy
	cp.rev, cp.object, cp.legacy = rev, s.object, false
	if old != "" {
		c.remove(ctx, p, old)
	}
	if legacy {
		c.remove(ctx, p, stream.CheckpointName(p))
	}
	return nil
}

// abandon cleans up after a save that was given up: its snapshot is
// deleted unless a pointer update of this save went unanswered and the
// pointer may name the snapshot now or later: it names it, it could not be
// read, or it was read at the revision the update was made on (the update
// may still be in flight, or the read came from a replica behind). Such a
// snapshot is left behind, logged at WARN. Best effort.
func (c *checkpoints) abandon(ctx context.Context, s *snapshotSave) {
	p := s.cp.State.Partition
	if s.pointed {
		if pointer, _, err := c.pointer(ctx, s); err != nil || pointer != pointerElsewhere {
			c.log.WarnContext(ctx, "a checkpoint save given up leaves its snapshot: the partition's pointer may name it",
				"partition", p, "object", s.object, "seq", s.cp.Seq)
			return
		}
	}
	c.remove(ctx, p, s.object)
}

// errStaleRead: a read of a checkpoint pointer came from a replica behind
// the one that refused an update; retryable.
var errStaleRead = errors.New("checkpoint pointer read behind its latest revision")

// What p's pointer names, as read by pointer.
type pointerState int

const (
	// pointerUnmoved: still at the revision the save's updates were made
	// on (absent, when that was a create).
	pointerUnmoved pointerState = iota
	// pointerOurs: it names the save's snapshot, which only one of the
	// save's own updates, stored although its answer was lost, can have
	// done (the name carries a random claim).
	pointerOurs
	// pointerElsewhere: past that revision, naming another snapshot: no
	// update of this save can land any more (each was made on that
	// revision), and if one had landed the snapshot is superseded.
	pointerElsewhere
)

// pointer reads p's pointer (a read that may come from any replica of the
// bucket, so possibly behind) and says what it names for s, at which
// revision.
func (c *checkpoints) pointer(ctx context.Context, s *snapshotSave) (pointerState, uint64, error) {
	e, err := c.pointers.Get(ctx, stream.CheckpointKey(s.cp.State.Partition))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if s.cp.rev == 0 {
			return pointerUnmoved, 0, nil
		}
		return 0, 0, err // it existed at s.cp.rev: not a state it can be in
	}
	if err != nil {
		return 0, 0, err
	}
	var ptr stream.CheckpointPointer
	switch {
	case e.Revision() <= s.cp.rev:
		return pointerUnmoved, e.Revision(), nil
	case json.Unmarshal(e.Value(), &ptr) == nil && ptr.Object == s.object:
		return pointerOurs, e.Revision(), nil
	}
	return pointerElsewhere, e.Revision(), nil
}

// remove deletes a snapshot no pointer references; a failure only leaves
// an unreferenced object behind, logged at WARN.
func (c *checkpoints) remove(ctx context.Context, p int32, name string) {
	if err := c.objects.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		c.log.WarnContext(ctx, "could not delete an unreferenced checkpoint snapshot", "partition", p, "object", name, "error", err)
	}
}
