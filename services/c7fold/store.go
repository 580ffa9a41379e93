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
	"strings"

	"github.com/klauspost/compress/s2"
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
	js       jetstream.JetStream
	kvStream jetstream.Stream // the bucket's stream, read directly
	subject  string           // $KV.<bucket>.
	source   string
	limit    int
	lru      *list.List               // of *cached, most recent first
	byKey    map[string]*list.Element // key -> element
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

// kvOperationHeader marks a key-value delete or purge.
const kvOperationHeader = "KV-Operation"

func newStateStore(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, source string, limit int) (*stateStore, error) {
	st, err := js.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return nil, fmt.Errorf("c7 fold: state bucket %s: %w", kv.Bucket(), err)
	}
	return &stateStore{
		js: js, kvStream: st, subject: "$KV." + kv.Bucket() + ".", source: source, limit: max(limit, 1),
		lru: list.New(), byKey: map[string]*list.Element{},
	}, nil
}

// validKeyPart is what a KV key part may hold as it is.
var validKeyPart = regexp.MustCompile(`^[-_=a-zA-Z0-9]+$`)

// key is the state key of an instance id: the id as it is when it is a
// valid key part (and does not itself start like an escaped one),
// base64url with a "b64_" prefix otherwise.
func (s *stateStore) key(instanceID string) string {
	if validKeyPart.MatchString(instanceID) && !strings.HasPrefix(instanceID, "b64_") {
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
	// One round trip: the subject's last message is the value, or the
	// marker of a delete or purge (a write must then expect its
	// sequence), or nothing.
	c := &cached{key: k, st: &instanceState{}}
	m, err := s.kvStream.GetLastMsgForSubject(ctx, s.subject+k)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return nil, fmt.Errorf("c7 fold: read state %s: %w", k, err)
	case m.Header.Get(kvOperationHeader) == "DEL" || m.Header.Get(kvOperationHeader) == "PURGE":
		c.rev = m.Sequence
	default:
		if err := decodeState(m.Data, c.st); err != nil {
			return nil, fmt.Errorf("c7 fold: state %s (revision %d) is unreadable: %w", k, m.Sequence, err)
		}
		c.rev = m.Sequence
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

// maxPutsInFlight bounds the state writes awaiting the broker's
// acknowledgement at once.
const maxPutsInFlight = 512

// errStateTooLarge: an instance's state, compressed, exceeds what one
// message may carry.
var errStateTooLarge = errors.New("c7 fold: instance state too large")

// putAll stores the states, pipelined (at most maxPutsInFlight at a time),
// each on the condition that its key is still at the revision cached, and
// sets their new revisions; it waits at most until ctx ends. A state that
// exceeds limit bytes compressed is not stored: its index in states is
// returned in tooLarge (the caller dead-letters what touched it) and its
// cache entry dropped.
func (s *stateStore) putAll(ctx context.Context, states []*cached, limit int) (tooLarge []int, err error) {
	type pending struct {
		i int
		f jetstream.PubAckFuture
	}
	var inFlight []pending
	wait := func(ps []pending) error {
		var firstErr error
		for _, p := range ps {
			select {
			case ack := <-p.f.Ok():
				states[p.i].rev = ack.Sequence
			case err := <-p.f.Err():
				var apiErr *jetstream.APIError
				if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
					apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
					err = fmt.Errorf("%w: %s: %w", errStateConflict, states[p.i].key, err)
				}
				if firstErr == nil {
					firstErr = fmt.Errorf("c7 fold: store state %s: %w", states[p.i].key, err)
				}
			case <-ctx.Done():
				return fmt.Errorf("c7 fold: store states: %w", context.Cause(ctx))
			}
		}
		return firstErr
	}
	for i, c := range states {
		b, err := encodeState(c.st)
		if err != nil {
			return nil, fmt.Errorf("c7 fold: encode state %s: %w", c.key, err)
		}
		if len(b) > limit {
			tooLarge = append(tooLarge, i)
			if el, ok := s.byKey[c.key]; ok {
				s.lru.Remove(el)
				delete(s.byKey, c.key)
			}
			continue
		}
		m := &nats.Msg{Subject: s.subject + c.key, Data: b, Header: nats.Header{}}
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(c.rev, 10))
		f, err := s.js.PublishMsgAsync(m)
		if err != nil {
			return nil, fmt.Errorf("c7 fold: store state %s: %w", c.key, err)
		}
		inFlight = append(inFlight, pending{i, f})
		if len(inFlight) == maxPutsInFlight {
			if err := wait(inFlight); err != nil {
				return nil, err
			}
			inFlight = inFlight[:0]
		}
	}
	return tooLarge, wait(inFlight)
}

// stateFormatS2 marks a state value as s2-compressed JSON: state values are
// compressed before they are sent (the bucket's own compression happens
// only after a message is accepted, and a state must fit the server's
// max_payload).
const stateFormatS2 = 1

// encodeState is a state's value in the bucket.
func encodeState(st *instanceState) ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	return append([]byte{stateFormatS2}, s2.Encode(nil, b)...), nil
}

// decodeState reads a value encodeState wrote.
func decodeState(b []byte, st *instanceState) error {
	if len(b) == 0 || b[0] != stateFormatS2 {
		return errors.New("unknown state format")
	}
	raw, err := s2.Decode(nil, b[1:])
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, st)
}

// openStateBucket binds or creates the state bucket: file storage,
// compressed, one revision per key.
func openStateBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	return stream.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "Flowline's Camunda 7 fold: what is known of each process instance, per source",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas, Compression: true,
	})
}
