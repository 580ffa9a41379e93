package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/elastic/go-elasticsearch/v8"
)

// Op is one full-document index operation with an external version: the
// document replaces the stored one only if Version is higher, so replays and
// reordering never regress a document.
type Op struct {
	Index   string
	ID      string
	Version int64
	Source  []byte
}

// Outcome classifies one bulk item.
type Outcome int

const (
	// Done: created or updated.
	Done Outcome = iota
	// Stale: 409 version conflict, a same or newer version is stored; the
	// operation is already applied.
	Stale
	// Retry: 429 or 5xx; send it again after a backoff.
	Retry
	// Rejected: any other 4xx (mapping or parse errors); retrying will not
	// help, the document goes to the dead-letter stream.
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case Stale:
		return "stale"
	case Retry:
		return "retry"
	case Rejected:
		return "rejected"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is the outcome of one Op, with Elasticsearch's reason when it
// failed.
type Result struct {
	Outcome Outcome
	Status  int
	Reason  string
}

// Classify maps an item status to its outcome.
func Classify(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return Done
	case status == http.StatusConflict:
		return Stale
	case status == http.StatusTooManyRequests || status >= 500:
		return Retry
	default:
		return Rejected
	}
}

// ErrTooLarge is returned when Elasticsearch refuses a bulk request as too
// large (413): split it and send the halves.
var ErrTooLarge = errors.New("bulk request too large")

// AppendOp appends op's action and source lines to a bulk body.
func AppendOp(buf []byte, op Op) []byte {
	buf = append(buf, `{"index":{"_index":`...)
	buf = strconv.AppendQuote(buf, op.Index)
	buf = append(buf, `,"_id":`...)
	buf = strconv.AppendQuote(buf, op.ID)
	buf = append(buf, `,"version":`...)
	buf = strconv.AppendInt(buf, op.Version, 10)
	buf = append(buf, `,"version_type":"external"}}`+"\n"...)
	buf = append(buf, op.Source...)
	return append(buf, '\n')
}

// Bulk sends ops in one bulk request and returns one Result per op, in
// order. A request-level failure returns an error wrapping ErrUnavailable
// (retry the whole request), ErrTooLarge (split it) or ErrRejected.
func Bulk(ctx context.Context, c *elasticsearch.Client, ops []Op) ([]Result, error) {
	var body []byte
	for _, op := range ops {
		body = AppendOp(body, op)
	}
	return BulkBody(ctx, c, body, len(ops))
}

// BulkBody sends a prepared bulk body of n operations; see Bulk.
func BulkBody(ctx context.Context, c *elasticsearch.Client, body []byte, n int) ([]Result, error) {
	b, err := read(c.Bulk(bytes.NewReader(body), c.Bulk.WithContext(ctx),
		c.Bulk.WithFilterPath("errors", "items.*.status", "items.*.error.type", "items.*.error.reason")))("bulk")
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusRequestEntityTooLarge {
			return nil, fmt.Errorf("%w (%d bytes, %d operations): %v", ErrTooLarge, len(body), n, err)
		}
		return nil, err
	}
	return parseBulkResponse(b, n)
}

type bulkResponse struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		Status int `json:"status"`
		Error  *struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	} `json:"items"`
}

func parseBulkResponse(b []byte, n int) ([]Result, error) {
	var r bulkResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: bulk: unreadable response: %v", ErrUnavailable, err)
	}
	if len(r.Items) != n {
		return nil, fmt.Errorf("%w: bulk: %d items in response for %d operations", ErrUnavailable, len(r.Items), n)
	}
	out := make([]Result, n)
	for i, item := range r.Items {
		for _, it := range item { // one key: the action
			out[i] = Result{Outcome: Classify(it.Status), Status: it.Status}
			if it.Error != nil {
				out[i].Reason = it.Error.Type + ": " + it.Error.Reason
			}
		}
	}
	return out, nil
}
