package replay

import (
	"bytes"
	"context"
	"errors"
	"net/http"
)

// Pusher posts NDJSON batches to ingest for other producers (`flowline
// generate`, `flowline dev`'s workload) with a replay's client: gzip,
// retries with backoff while ingest or its broker is unavailable (429, 503,
// 5xx, connection errors) honouring Retry-After, and batches halved at a
// line boundary while ingest answers 413. Not safe for concurrent use.
type Pusher struct{ c *client }

// NewPusher pushes to url (POST /v1/records) with bearer token (if any);
// warn is told about each retry (nil: nothing), hc nil means a default
// client.
func NewPusher(url, token string, hc *http.Client, warn func(msg string, args ...any)) *Pusher {
	if warn == nil {
		warn = func(string, ...any) {}
	}
	return &Pusher{c: newClient(url, token, hc, warn)}
}

// Uncompressed makes the pusher send bodies as they are, not gzipped: for
// a producer next to ingest, where compressing costs more CPU than it saves.
func (p *Pusher) Uncompressed() *Pusher {
	p.c.plain = true
	return p
}

// Push sends body, whole NDJSON lines, and returns ingest's answers summed.
// Errors wrap ErrRefused or ErrTooLarge (a single line too large), or are
// ctx's error.
func (p *Pusher) Push(ctx context.Context, body []byte) (Answer, error) {
	ans, err := p.c.post(ctx, body)
	if !errors.Is(err, ErrTooLarge) {
		return ans, err
	}
	mid, half := -1, len(body)/2
	if i := bytes.IndexByte(body[half:], '\n'); i >= 0 {
		mid = half + i + 1
	}
	if mid <= 0 || mid >= len(body) { // no line ends after the middle: cut after the first line
		if mid = bytes.IndexByte(body, '\n') + 1; mid <= 0 || mid >= len(body) {
			return ans, err // one line
		}
	}
	a, err := p.Push(ctx, body[:mid])
	if err != nil {
		return a, err
	}
	b, err := p.Push(ctx, body[mid:])
	return Answer{Accepted: a.Accepted + b.Accepted, Duplicates: a.Duplicates + b.Duplicates, Dropped: a.Dropped + b.Dropped}, err
}
