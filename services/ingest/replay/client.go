package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/flowline/flowline/pkg/backoff"
)

// Sentinel errors of a push to ingest.
var (
	// ErrRefused: ingest refused the request for good (400, 401, 415...);
	// sending it again cannot help.
	ErrRefused = errors.New("ingest refused the records")
	// ErrTooLarge: 413; send fewer records at a time. For a single record it
	// means the record can never be stored (over
	// FLOWLINE_INGEST_MAX_RECORD_BYTES or the request size limit).
	ErrTooLarge = errors.New("request too large for ingest")
)

// Answer is ingest's 202 reply.
type Answer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Dropped    int `json:"dropped"`
}

// client posts NDJSON bodies to ingest, gzip-compressed, retrying while
// ingest or its broker is unavailable (429, 503, 5xx, connection errors)
// with backoff, honouring Retry-After, until ctx ends. Not safe for
// concurrent use (it reuses its buffer).
type client struct {
	url    string
	token  string
	http   *http.Client
	warn   func(msg string, args ...any)
	zbuf   bytes.Buffer
	zw     *gzip.Writer
	plain  bool   // send bodies uncompressed
	body   []byte // what once sends
	maxGap time.Duration
}

func newClient(url, token string, hc *http.Client, warn func(string, ...any)) *client {
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	c := &client{url: url, token: token, http: hc, warn: warn, maxGap: 30 * time.Second}
	c.zw = gzip.NewWriter(&c.zbuf)
	return c
}

// post sends body (NDJSON) and returns ingest's answer.
func (c *client) post(ctx context.Context, body []byte) (Answer, error) {
	c.body = body
	if !c.plain {
		c.zbuf.Reset()
		c.zw.Reset(&c.zbuf)
		if _, err := c.zw.Write(body); err != nil {
			return Answer{}, err
		}
		if err := c.zw.Close(); err != nil {
			return Answer{}, err
		}
		c.body = c.zbuf.Bytes()
	}
	b := backoff.New(200*time.Millisecond, c.maxGap)
	for {
		ans, retryAfter, err := c.once(ctx)
		if err == nil || errors.Is(err, ErrRefused) || errors.Is(err, ErrTooLarge) {
			return ans, err
		}
		if ctx.Err() != nil {
			return Answer{}, ctx.Err()
		}
		d := max(b.Next(), retryAfter)
		c.warn("ingest unavailable, retrying", "error", err, "retry_in", d.Round(time.Millisecond))
		if !backoff.Sleep(ctx, d) {
			return Answer{}, ctx.Err()
		}
	}
}

// once sends the prepared body once; a retryable failure comes back as a
// plain error with the server's Retry-After.
func (c *client) once(ctx context.Context) (Answer, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return Answer{}, 0, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if !c.plain {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return Answer{}, 0, err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode == http.StatusAccepted || res.StatusCode == http.StatusOK:
		var a Answer
		if err := json.Unmarshal(msg, &a); err != nil {
			return Answer{}, 0, fmt.Errorf("%w: unreadable answer %q: %v", ErrRefused, msg, err)
		}
		return a, 0, nil
	case res.StatusCode == http.StatusRequestEntityTooLarge:
		return Answer{}, 0, fmt.Errorf("%w: %s", ErrTooLarge, bytes.TrimSpace(msg))
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		return Answer{}, time.Duration(ra) * time.Second, fmt.Errorf("HTTP %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	case res.StatusCode == http.StatusUnauthorized:
		return Answer{}, 0, fmt.Errorf("%w: HTTP 401 (give the server's token with FLOWLINE_INGEST_TOKEN, FLOWLINE_INGEST_TOKEN_FILE or --token-file): %s", ErrRefused, bytes.TrimSpace(msg))
	default:
		return Answer{}, 0, fmt.Errorf("%w: HTTP %d: %s", ErrRefused, res.StatusCode, bytes.TrimSpace(msg))
	}
}
