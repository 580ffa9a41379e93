package c7fold

import (
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/stream"
)

// stateStore keeps the instance states of one source in the state bucket
// (key <source>.<instance id>), with an LRU cache of the most recently
// used. Every write is conditional on the revision last read or written,
// so a replica that lost the source's lease cannot overwrite the new
// owner's states; the revision a write gets is the version of the
// documents rendered from it. Owned by one worker goroutine.
type stateStore struct {
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	subject string // $KV.<bucket>.
	source  string
	limit   int
	lru     *list.List               // of *cached, most recent first
	byKey   map[string]*list.Element // key -> element
}

// cached is a state with its revision (0: not stored yet).
type cached struct {
	key string
	st  *instanceState
	rev uint64
}

// errStateConflict: a state was written by someone else since this worker
// read it: another replica holds the source now.
var errStateConflict = errors.New("c7 fold: instance state written concurrently")

func newStateStore(js jetstream.JetStream, kv jetstream.KeyValue, source string, limit int) *stateStore {
	return &stateStore{
		js: js, kv: kv, subject: "$KV." + kv.Bucket() + ".", source: source, limit: max(limit, 1),
		lru: list.New(), byKey: map[string]*list.Element{},
	}
}

// validKeyPart is what a KV key part may hold as it is.
var validKeyPart = regexp.MustCompile(`^[-_=a-zA-Z0-9]+$`)

// key is the state key of an instance id: the id as it is when it is a
// valid key part, base64url with a "b64_" prefix otherwise.
func (s *stateStore) key(instanceID string) string {
	if validKeyPart.MatchString(instanceID) {
		return s.source + "." + instanceID
	}
	return s.source + ".b64_" + base64.RawURLEncoding.EncodeToString([]byte(instanceID))
}

// get returns the state of instanceID (empty when none is stored).
func (s *stateStore) get(ctx context.Context, instanceID string) (*cached, error) {
	k := s.key(instanceID)
	if el, ok := s.byKey[k]; ok {
		s.lru.MoveToFront(el)
		return el.Value.(*cached), nil
	}
	c := &cached{key: k, st: &instanceState{}}
	e, err := s.kv.Get(ctx, k)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, fmt.Errorf("c7 fold: read state %s: %w", k, err)
	default:
		if err := json.Unmarshal(e.Value(), c.st); err != nil {
			return nil, fmt.Errorf("c7 fold: state %s (revision %d) is unreadable: %w", k, e.Revision(), err)
		}
		c.rev = e.Revision()
	}
	s.byKey[k] = s.lru.PushFront(c)
	for s.lru.Len() > s.limit {
		old := s.lru.Remove(s.lru.Back()).(*cached)
		delete(s.byKey, old.key)
	}
	return c, nil
}

// forget drops the cache (after a failure: the stored states are the truth).
func (s *stateStore) forget() {
	s.lru.Init()
	clear(s.byKey)
}

// putAll stores the states, pipelined, each on the condition that its key
// is still at the revision cached, and sets their new revisions; it waits
// at most until ctx ends.
func (s *stateStore) putAll(ctx context.Context, states []*cached) error {
	futures := make([]jetstream.PubAckFuture, len(states))
	for i, c := range states {
		b, err := json.Marshal(c.st)
		if err != nil {
			return fmt.Errorf("c7 fold: encode state %s: %w", c.key, err)
		}
		m := &nats.Msg{Subject: s.subject + c.key, Data: b, Header: nats.Header{}}
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(c.rev, 10))
		if futures[i], err = s.js.PublishMsgAsync(m); err != nil {
			return fmt.Errorf("c7 fold: store state %s: %w", c.key, err)
		}
	}
	var firstErr error
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			states[i].rev = ack.Sequence
		case err := <-f.Err():
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
				apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
				err = fmt.Errorf("%w: %s: %w", errStateConflict, states[i].key, err)
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("c7 fold: store state %s: %w", states[i].key, err)
			}
		case <-ctx.Done():
			return fmt.Errorf("c7 fold: store states: %w", context.Cause(ctx))
		}
	}
	return firstErr
}

// openStateBucket binds or creates the state bucket: file storage,
// compressed, one revision per key.
func openStateBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	return stream.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "Flowline's Camunda 7 fold: what is known of each process instance, per source",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas, Compression: true,
	})
}
