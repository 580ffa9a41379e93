package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrConflict is returned by SaveJSON when the key was written by someone
// else since the revision the caller read: another replica, or a write of
// its own it did not see acknowledged. Re-read and redo.
var ErrConflict = errors.New("stream: key written concurrently")

// OpenKeyValue binds the key-value bucket cfg.Bucket, creating it with cfg
// when it does not exist (several services may race to: the loser binds).
func OpenKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream: key-value bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// LoadJSON reads key's JSON value into v and returns its revision, 0 (and v
// untouched) when the key does not exist.
func LoadJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stream: read %s/%s: %w", kv.Bucket(), key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("stream: %s/%s (revision %d) is unreadable: %w", kv.Bucket(), key, e.Revision(), err)
	}
	return e.Revision(), nil
}

// SaveJSON stores v as key's JSON value if the key's revision is still rev
// (0: the key does not exist) and returns the new revision; a write since
// then makes it fail with ErrConflict.
func SaveJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("stream: encode %s/%s: %w", kv.Bucket(), key, err)
	}
	var newRev uint64
	if rev == 0 {
		newRev, err = kv.Create(ctx, key, b)
	} else {
		newRev, err = kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("%w: %s/%s was written since revision %d", ErrConflict, kv.Bucket(), key, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("stream: write %s/%s: %w", kv.Bucket(), key, err)
	}
	return newRev, nil
}
