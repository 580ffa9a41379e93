package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

// Large payloads use the claim-check pattern. A JetStream message is bounded
// by the server's max_payload (1 MiB by default) and the stream's
// MaxMsgSize, but a Zeebe record may be as large as the broker's maximum
// message size (4 MiB by default) and a document built from it larger
// still; a live broker cannot shrink them, so refusing them would block the
// partition for ever. A message body over the inline limit is therefore
// stored as an object in the PayloadBucket object store, and the message
// itself carries only the object's name (HeaderPayloadObject) and the
// body's size (HeaderPayloadSize), with an empty body. The message keeps
// its subject, id and every other header, so ordering, deduplication and
// acknowledgement work exactly as for an inline message; every reader gets
// the body through Payloads.Body, whichever way it was stored.
//
// Objects live as long as the longest-lived stream that can reference them
// (records, dead letters) plus a margin; consumers of the work-queue docs
// stream release a document message's object once they acked it.
const (
	// PayloadBucket is the object store holding message bodies too large to
	// travel inline.
	PayloadBucket = "FLOWLINE_PAYLOADS"
	// HeaderPayloadObject names the object holding a message's body.
	HeaderPayloadObject = "Flowline-Payload-Object"
	// HeaderPayloadSize is the size in bytes of a body held in an object.
	HeaderPayloadSize = "Flowline-Payload-Size"

	// headerRoom is kept free below the server's max_payload for a
	// message's headers (ids, positions, trace context, dead-letter
	// reasons are far smaller).
	headerRoom = 16 << 10
	// payloadTTLMargin keeps an object a little longer than the messages
	// that reference it: the object is stored just before its message.
	payloadTTLMargin = time.Hour
)

// ErrPayloadMissing is returned by Body when a message references an object
// that is gone (expired, or its bucket was deleted).
var ErrPayloadMissing = errors.New("stream: message body object is missing")

// Payloads stores and reads message bodies, inline or as objects. Create it
// with OpenPayloads once connected; safe for concurrent use.
type Payloads struct {
	store  jetstream.ObjectStore
	inline int // largest body sent inline
}

// PayloadTTL is how long the payload bucket keeps an object under cfg.
func PayloadTTL(cfg config.Streams) time.Duration {
	return max(cfg.RecordsMaxAge, cfg.DLQMaxAge).D() + payloadTTLMargin
}

// OpenPayloads binds the payload object store, creating it when missing
// (an existing bucket is left as configured). Bodies up to the connection's
// max_payload and the streams' MaxMsgSize, less room for headers, stay
// inline.
func OpenPayloads(ctx context.Context, js jetstream.JetStream, cfg config.Streams) (*Payloads, error) {
	store, err := js.ObjectStore(ctx, PayloadBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		store, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      PayloadBucket,
			Description: "message bodies too large to travel inline (records, documents, dead letters)",
			TTL:         PayloadTTL(cfg),
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			Compression: true,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another service created it first
			store, err = js.ObjectStore(ctx, PayloadBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream: payload bucket %s: %w", PayloadBucket, err)
	}
	if cfg.Manage { // the owner of the stream settings keeps the objects' lifetime in step with them
		if err := keepPayloadTTL(ctx, js, store, cfg); err != nil {
			return nil, err
		}
	}
	return payloadsOn(js, store), nil
}

// keepPayloadTTL sets the payload bucket's TTL to PayloadTTL(cfg) when it
// differs (the bucket was created under other max ages).
func keepPayloadTTL(ctx context.Context, js jetstream.JetStream, store jetstream.ObjectStore, cfg config.Streams) error {
	st, err := store.Status(ctx)
	if err != nil {
		return fmt.Errorf("stream: payload bucket %s: %w", PayloadBucket, err)
	}
	if st.TTL() == PayloadTTL(cfg) {
		return nil
	}
	if _, err := js.UpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: PayloadBucket, Description: st.Description(), TTL: PayloadTTL(cfg), Storage: jetstream.FileStorage,
		Replicas: st.Replicas(), Compression: st.IsCompressed(),
	}); err != nil {
		return fmt.Errorf("stream: payload bucket %s: TTL %s -> %s: %w", PayloadBucket, st.TTL(), PayloadTTL(cfg), err)
	}
	return nil
}

// BindPayloads binds the existing payload object store, for a tool that
// only reads and re-publishes (flowline dlq); it fails wrapping
// jetstream.ErrBucketNotFound when no service created it yet, in which case
// no message can reference an object either.
func BindPayloads(ctx context.Context, js jetstream.JetStream) (*Payloads, error) {
	store, err := js.ObjectStore(ctx, PayloadBucket)
	if err != nil {
		return nil, fmt.Errorf("stream: payload bucket %s: %w", PayloadBucket, err)
	}
	return payloadsOn(js, store), nil
}

// payloadsOn is Payloads on store with js's connection's inline limit.
func payloadsOn(js jetstream.JetStream, store jetstream.ObjectStore) *Payloads {
	limit := int64(maxMsgSize)
	if nc := js.Conn(); nc != nil && nc.MaxPayload() > 0 {
		limit = min(limit, nc.MaxPayload())
	}
	return NewPayloads(store, int(limit)-headerRoom)
}

// NewPayloads returns Payloads on store sending bodies of up to inline
// bytes inline (for tests that need a small limit).
func NewPayloads(store jetstream.ObjectStore, inline int) *Payloads {
	return &Payloads{store: store, inline: max(inline, 1)}
}

// InlineLimit is the largest body a message carries itself.
func (p *Payloads) InlineLimit() int { return p.inline }

// Prepare readies msg for publishing: a body over the inline limit is
// stored as an object and replaced by a reference. The object's name is
// the subject, the message id (if any) and the body's hash, so preparing
// the same message again overwrites the same object with the same bytes,
// and a different body under the same id gets an object of its own.
// Prepare must finish before msg is published.
func (p *Payloads) Prepare(ctx context.Context, msg *nats.Msg) error {
	if len(msg.Data) <= p.inline {
		return nil
	}
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	// The name holds the body's hash: a message re-published with the
	// same id but another body (re-rendered after a restart, then dropped
	// as a duplicate) never changes the bytes the stored message references.
	sum := sha256.Sum256(msg.Data)
	name := msg.Subject + "/" + hex.EncodeToString(sum[:16])
	if id := msg.Header.Get(nats.MsgIdHdr); id != "" {
		name = msg.Subject + "/" + id + "/" + hex.EncodeToString(sum[:8])
	}
	if _, err := p.store.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(msg.Data)); err != nil {
		return fmt.Errorf("stream: store %d-byte body of a %s message as object %q: %w", len(msg.Data), msg.Subject, name, err)
	}
	msg.Header.Set(HeaderPayloadObject, name)
	msg.Header.Set(HeaderPayloadSize, strconv.Itoa(len(msg.Data)))
	msg.Data = nil
	return nil
}

// Publisher returns a Publisher that readies each message with Prepare
// before publishing it through js: how a service publishes a message whose
// body may exceed the inline limit (a dead letter carrying a large record
// or document, for one). Safe for concurrent use if js is.
func (p *Payloads) Publisher(js Publisher) Publisher { return preparingPublisher{js: js, payloads: p} }

type preparingPublisher struct {
	js       Publisher
	payloads *Payloads
}

func (pp preparingPublisher) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if err := pp.payloads.Prepare(ctx, msg); err != nil {
		return nil, err
	}
	return pp.js.PublishMsg(ctx, msg, opts...)
}

// FailedMessageHeader returns the headers of a failed message that its dead
// letter carries besides the body: the record positions it covers and, when
// its body is held in an object, the reference to it (so the object is
// found again when the body could not be read or decoded). Nil when there
// are none.
func FailedMessageHeader(h nats.Header) nats.Header {
	var out nats.Header
	for _, k := range []string{HeaderFirstPosition, HeaderLastPosition, HeaderPayloadObject, HeaderPayloadSize} {
		if v := h.Get(k); v != "" {
			if out == nil {
				out = nats.Header{}
			}
			out.Set(k, v)
		}
	}
	return out
}

// IsReference reports whether a message's body is held in an object.
func IsReference(h nats.Header) bool { return h.Get(HeaderPayloadObject) != "" }

// Body returns a message's body: data itself, or the object its header
// references (ErrPayloadMissing when the object is gone).
func (p *Payloads) Body(ctx context.Context, h nats.Header, data []byte) ([]byte, error) {
	name := h.Get(HeaderPayloadObject)
	if name == "" {
		return data, nil
	}
	b, err := p.store.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrPayloadMissing, name)
	}
	if err != nil {
		return nil, fmt.Errorf("stream: read body object %q: %w", name, err)
	}
	if want := h.Get(HeaderPayloadSize); want != "" && want != strconv.Itoa(len(b)) {
		// Not the body this message was published with: as good as gone
		// (retrying cannot bring it back), so the caller dead-letters it.
		return nil, fmt.Errorf("%w: object %q holds %d bytes, its message says %s", ErrPayloadMissing, name, len(b), want)
	}
	return b, nil
}

// Release deletes the object a message references, if any, once no reader
// needs it (the docs stream's messages, after a writer acked them). A
// missing object is not an error.
func (p *Payloads) Release(ctx context.Context, h nats.Header) error {
	name := h.Get(HeaderPayloadObject)
	if name == "" {
		return nil
	}
	if err := p.store.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("stream: release body object %q: %w", name, err)
	}
	return nil
}
