package c7import

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/stream"
)

// ImportIndex is one kind's import index, the JSON value of its key in the
// index bucket (see IndexKey): how far the kind is durably stored on the
// C7 stream. The next round fetches the page after Time; before that, when
// the page that reached Time was full (a page boundary may have split the
// entities sharing that millisecond) or nothing is settled (SETTLE 0), it
// fetches the entities at Time again and stores those IDsAt does not hold.
// Comparing ids, not counts, matters for the running and open kinds: the
// engine lists only entities still running at Time, so their number can
// shrink while unseen ones remain.
type ImportIndex struct {
	// Time is the timestamp (epoch ms) of the newest entity stored; -1
	// before the first.
	Time int64 `json:"time"`
	// IDsAt are the ids of the entities at Time stored, and CountAt their
	// number.
	IDsAt   []string `json:"idsAt,omitempty"`
	CountAt int      `json:"countAt"`
	// Full says the page that reached Time was full.
	Full bool `json:"full,omitempty"`
	// Imported counts the entities stored, for progress displays.
	Imported int64     `json:"imported"`
	Updated  time.Time `json:"updated"`
}

// fresh is the index of a kind never imported.
func fresh() ImportIndex { return ImportIndex{Time: -1} }

// IndexKey is the key of source's kind in the index bucket.
func IndexKey(source, kind string) string { return source + "." + kind }

// indexStore reads and writes import indices in a KV bucket, each key
// conditionally on the revision its writer last read or wrote. Safe for
// concurrent use; each key has one writer at a time (the kind's lease
// holder), and a stale one is refused.
type indexStore struct {
	kv     jetstream.KeyValue
	source string
}

// openIndexStore binds or creates the index bucket (file storage: the
// indices must survive a broker restart; no TTL).
func openIndexStore(ctx context.Context, js jetstream.JetStream, bucket, source string, replicas int) (*indexStore, error) {
	kv, err := stream.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "Flowline import indices of Camunda 7 engines, per source and entity kind",
		History: 5, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("c7 import: %w", err)
	}
	return &indexStore{kv: kv, source: source}, nil
}

// load returns kind's index and its revision (0: none stored yet).
func (s *indexStore) load(ctx context.Context, kind string) (ImportIndex, uint64, error) {
	idx := fresh()
	rev, err := stream.LoadJSON(ctx, s.kv, IndexKey(s.source, kind), &idx)
	if err != nil {
		return fresh(), 0, fmt.Errorf("c7 import: %w", err)
	}
	return idx, rev, nil
}

// save stores idx as kind's index if its revision is still rev, and returns
// the new revision; stream.ErrConflict when another writer moved it.
func (s *indexStore) save(ctx context.Context, kind string, idx ImportIndex, rev uint64) (uint64, error) {
	idx.Updated = time.Now().UTC()
	return stream.SaveJSON(ctx, s.kv, IndexKey(s.source, kind), idx, rev)
}
