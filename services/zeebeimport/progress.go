package zeebeimport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flowline/flowline/pkg/stream"
	"github.com/nats-io/nats.go/jetstream"
)

// errProgressConflict: the partition's progress was written by someone else
// since we read it (another replica, or our own earlier write we did not see
// acknowledged). The worker re-reads it and redoes the round; the records
// re-read then count as duplicates.
var errProgressConflict = errors.New("zeebe import: progress written concurrently")

// ImportProgressKey is the key of partition p's progress in the progress
// bucket (FLOWLINE_ZEEBE_IMPORT_BUCKET).
func ImportProgressKey(p int32) string { return "partition." + strconv.Itoa(int(p)) }

// ImportProgress is one partition's import progress, the JSON value of its
// key. All value types of a partition share one key, so that a round's
// cursors are stored at once or not at all.
type ImportProgress struct {
	// Cursors holds, per value type (as the index names spell it), the
	// highest position that is stored, dead-lettered or dropped; the next
	// page starts after it.
	Cursors map[string]int64 `json:"cursors"`
	// Position is the highest position the import got past in any value
	// type (-1: none). A record at or below it that shows up later was not
	// searchable in time: it is dead-lettered as late.
	Position int64 `json:"position"`
	// Sequences holds, per value type, the exporter's "sequence" of the
	// record at its cursor (absent: unknown, e.g. an exporter before 8.2):
	// the next record of the value type must carry the next sequence, or
	// some record is missing (not searchable yet).
	Sequences map[string]int64 `json:"sequences,omitempty"`
	// Gaps are the sequence gaps the import waited for in vain and went
	// past; they are watched for the records missing from them until
	// FLOWLINE_ZEEBE_IMPORT_GAP_WATCH has passed.
	Gaps    []Gap     `json:"gaps,omitempty"`
	Updated time.Time `json:"updated"`
}

// Gap is a run of records of one value type missing between two positions
// (exclusive) whose sequences are SeqAfter and SeqBefore.
type Gap struct {
	ValueType string    `json:"valueType"`
	After     int64     `json:"after"`
	Before    int64     `json:"before"`
	SeqAfter  int64     `json:"seqAfter"`
	SeqBefore int64     `json:"seqBefore"`
	Since     time.Time `json:"since"` // when the import went past it
}

// missing is how many records the gap still lacks.
func (g Gap) missing() int64 { return g.SeqBefore - g.SeqAfter - 1 }

// progressStore reads and writes progress in a KV bucket; safe for
// concurrent use (each partition's key is written by its one worker).
type progressStore struct{ kv jetstream.KeyValue }

// openProgress opens or creates the progress bucket (file storage: progress
// must survive a broker restart; no TTL).
func openProgress(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (*progressStore, error) {
	kv, err := stream.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "Flowline import progress of the Zeebe exporter's indices, per partition",
		History: 5, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("zeebe import: progress bucket: %w", err)
	}
	return &progressStore{kv: kv}, nil
}

// load returns partition p's progress and its revision (0: none stored).
func (ps *progressStore) load(ctx context.Context, p int32) (ImportProgress, uint64, error) {
	fresh := ImportProgress{Cursors: map[string]int64{}, Sequences: map[string]int64{}, Position: -1}
	var prog ImportProgress
	rev, err := stream.LoadJSON(ctx, ps.kv, ImportProgressKey(p), &prog)
	if err != nil || rev == 0 {
		return fresh, 0, err
	}
	if prog.Cursors == nil {
		prog.Cursors = map[string]int64{}
	}
	if prog.Sequences == nil {
		prog.Sequences = map[string]int64{}
	}
	return prog, rev, nil
}

// save stores prog as partition p's progress if the stored revision is
// still rev (0: none stored), and returns the new revision.
func (ps *progressStore) save(ctx context.Context, p int32, prog ImportProgress, rev uint64) (uint64, error) {
	prog.Updated = time.Now().UTC()
	newRev, err := stream.SaveJSON(ctx, ps.kv, ImportProgressKey(p), prog, rev)
	if errors.Is(err, stream.ErrConflict) {
		return 0, fmt.Errorf("partition %d: %w: %w", p, errProgressConflict, err)
	}
	return newRev, err
}
