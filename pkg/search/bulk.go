package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/flowline/flowline/pkg/jsonstring"
)

// Op is one full-document index operation with an external version: the
// document replaces the stored one only if Version is higher, so replays and
// reordering never regress a document.
type Op struct {
	Index   string
	ID      string
	Routing string // "" routes by ID (a join child is routed by its parent)
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
	// Retry: Elasticsearch pushed back (429, 5xx), or refused the
	// operation for a condition of the cluster rather than of the document
	// (Result.Condition: 401 or 403 — credentials, privileges, a block —,
	// 404 index_not_found on an index operation, a closed index); send it
	// again after a backoff.
	Retry
	// Rejected: Elasticsearch refused the document itself (mapping and
	// parse errors: mapper_parsing_exception, document_parsing_exception,
	// strict_dynamic_mapping_exception, illegal_argument_exception...);
	// retrying will not help, the document goes to the dead-letter stream.
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
	// Err is set when the operation was refused in a bulk request of its
	// own (413 too large, 400 malformed; see BulkExecutor) rather than as
	// an item: that request's error, and Reason its text.
	Err error
	// Condition marks a Retry that is a condition of the cluster an
	// operator has to lift (see clusterConditions), not pushback under load.
	Condition bool
}

// Classify maps a status to its outcome by the status alone, whatever the
// operation. Bulk items are classified by their error type too (see
// classifyItem): a 403 or a closed index is the cluster's, not Rejected.
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

// AppendOp appends op's action and source lines to a bulk body. Index and
// ID go out as they are, escaped but not checked for UTF-8 (they are
// protobuf strings, decoded JSON or names we build): one that is not UTF-8
// makes Elasticsearch refuse the request rather than store the document
// under a repaired id.
func AppendOp(buf []byte, op Op) []byte {
	buf = append(buf, `{"index":{"_index":`...)
	buf = jsonstring.AppendUnchecked(buf, op.Index)
	buf = append(buf, `,"_id":`...)
	buf = jsonstring.AppendUnchecked(buf, op.ID)
	if op.Routing != "" {
		buf = append(buf, `,"routing":`...)
		buf = jsonstring.AppendUnchecked(buf, op.Routing)
	}
	buf = append(buf, `,"version":`...)
	buf = strconv.AppendInt(buf, op.Version, 10)
	buf = append(buf, `,"version_type":"external"}}`+"\n"...)
	buf = append(buf, op.Source...)
	return append(buf, '\n')
}

// AppendDelete appends a delete of index/id that applies only while the
// stored version is at most version (version_type external_gte), so a
// document updated since it was read is not deleted; the delete leaves a
// tombstone at version. A 404 item means the document was already gone.
// index, id and routing ("" when routed by its id) are written as AppendOp
// writes them.
func AppendDelete(buf []byte, index, id, routing string, version int64) []byte {
	buf = append(buf, `{"delete":{"_index":`...)
	buf = jsonstring.AppendUnchecked(buf, index)
	buf = append(buf, `,"_id":`...)
	buf = jsonstring.AppendUnchecked(buf, id)
	if routing != "" {
		buf = append(buf, `,"routing":`...)
		buf = jsonstring.AppendUnchecked(buf, routing)
	}
	buf = append(buf, `,"version":`...)
	buf = strconv.AppendInt(buf, version, 10)
	return append(buf, `,"version_type":"external_gte"}}`+"\n"...)
}

// OpSize is about how many bytes AppendOp adds for op, to size buffers.
func OpSize(op Op) int { return len(op.Index) + len(op.ID) + len(op.Routing) + len(op.Source) + 80 }

// clusterConditions are the error types of bulk items that Elasticsearch
// refuses for a condition of the cluster, not of the document: sending the
// same document again succeeds once the condition is lifted.
var clusterConditions = map[string]bool{
	"cluster_block_exception":   true, // a write or read-only block (403; 429 at the flood-stage disk watermark)
	"security_exception":        true, // a missing index privilege (403)
	"index_not_found_exception": true, // a missing index that may not be created (404, action.auto_create_index)
	"index_closed_exception":    true, // a closed index (400)
	"validation_exception":      true, // creating the index would pass cluster.max_shards_per_node (400)
}

// documentErrors are the error types of bulk items that Elasticsearch (or
// OpenSearch) refuses for the document itself: its source does not parse or
// does not fit the mapping, or the request for it is invalid. Sending it
// again fails the same way, so it is Rejected (dead-lettered, redriven once
// the mapping or the document is fixed). Any other error type is treated as
// a condition of the cluster: an unknown refusal keeps the documents
// pending and fails readiness, which an operator sees, rather than
// dead-lettering every document at full speed.
var documentErrors = map[string]bool{
	"mapper_parsing_exception":            true, // a value that does not fit its field's type
	"document_parsing_exception":          true, // the same, Elasticsearch 8.x
	"strict_dynamic_mapping_exception":    true, // a field a strict mapping does not have
	"mapper_exception":                    true,
	"x_content_parse_exception":           true, // a source that is not valid JSON
	"parsing_exception":                   true,
	"json_parse_exception":                true,
	"json_e_o_f_exception":                true,
	"number_format_exception":             true,
	"illegal_argument_exception":          true, // field limits, immense terms... but see clusterReasons
	"action_request_validation_exception": true, // an id over 512 bytes, an invalid version
	"routing_missing_exception":           true, // a join child without routing
	"parse_exception":                     true, // an ingest pipeline could not parse the source
	"script_exception":                    true, // a pipeline's script failed on the document
}

// clusterReasons are the beginnings of Elasticsearch's and OpenSearch's
// messages (lower case) that make an illegal_argument_exception a condition
// of the cluster, not of the document: an alias with no (or more than one)
// write index, a data stream, a missing ingest pipeline, a full shard. They
// are matched as written in the engines' sources, not as loose words, so
// that an index or field name containing "pipeline" changes nothing.
var clusterReasons = []string{
	"no write index is defined for alias",
	"can't execute a single index op",
	"allowed in data streams",
	"pipeline with id [",
	"number of documents in the index can't exceed",
}

// classifyItem maps a bulk item of action (index, delete) with status and
// error type errType and reason ("" without error) to its outcome, whether
// a Retry is a condition of the cluster, and whether that is only because
// the error type is unknown:
//
//   - 2xx, and 404 on a delete (the document, or its index, is gone): Done;
//   - 409: Stale;
//   - 401, 403, a 404 on an index operation, and the error types of
//     clusterConditions whatever their status: Retry, a condition;
//   - 429, 5xx: Retry (pushback);
//   - the error types of documentErrors (unless clusterReasons names the
//     reason): Rejected, the document itself;
//   - any other: Retry, a condition, unknown (parseBulkResponse rejects it
//     when other documents of its index were accepted).
func classifyItem(action string, status int, errType, reason string) (o Outcome, condition, unknown bool) {
	switch {
	case status >= 200 && status < 300, action == "delete" && status == http.StatusNotFound:
		return Done, false, false
	case status == http.StatusUnauthorized, status == http.StatusForbidden, clusterConditions[errType],
		action == "index" && status == http.StatusNotFound:
		return Retry, true, false
	}
	switch o := Classify(status); {
	case o != Rejected:
		return o, false, false
	case errType == "illegal_argument_exception" && namesClusterReason(reason):
		return Retry, true, false
	case documentErrors[errType]:
		return Rejected, false, false
	default:
		return Retry, true, true
	}
}

// namesClusterReason reports whether reason contains one of clusterReasons.
func namesClusterReason(reason string) bool {
	reason = strings.ToLower(reason)
	for _, phrase := range clusterReasons {
		if strings.Contains(reason, phrase) {
			return true
		}
	}
	return false
}

// BulkBody sends a prepared bulk body of n operations in one request and
// returns one Result per operation, in order. A request-level failure
// returns an error wrapping ErrUnavailable (retry the whole request),
// ErrTooLarge (split it) or ErrRejected. BulkExecutor does all that.
func BulkBody(ctx context.Context, c *Client, body []byte, n int) ([]Result, error) {
	b, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/_bulk", Body: body, NDJSON: true, What: "bulk",
		Query: url.Values{"filter_path": {"errors,items.*._index,items.*.status,items.*.error.type,items.*.error.reason"}}})
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
		Index string `json:"_index"`
	} `json:"items"`
}

func parseBulkResponse(b []byte, n int) ([]Result, error) {
	if out, ok := parseAllSucceeded(b, n); ok {
		return out, nil
	}
	var r bulkResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: bulk: unreadable response: %v", ErrUnavailable, err)
	}
	if len(r.Items) != n {
		return nil, fmt.Errorf("%w: bulk: %d items in response for %d operations", ErrUnavailable, len(r.Items), n)
	}
	out := make([]Result, n)
	// An item refused with an unknown error type is the document's own
	// fault when other documents of its index were accepted in the same
	// request: the cluster takes writes there.
	accepted := map[string]bool{}
	var unknown []int
	indexOf := make([]string, n)
	for i, item := range r.Items {
		if len(item) != 1 {
			return nil, fmt.Errorf("%w: bulk: item %d of the response has %d actions", ErrUnavailable, i, len(item))
		}
		for action, it := range item { // one key: the action
			var errType, reason string
			if it.Error != nil {
				errType, reason = it.Error.Type, it.Error.Reason
				out[i].Reason = it.Error.Type + ": " + it.Error.Reason
			}
			var isUnknown bool
			out[i].Outcome, out[i].Condition, isUnknown = classifyItem(action, it.Status, errType, reason)
			out[i].Status = it.Status
			indexOf[i] = it.Index
			if out[i].Outcome == Done && action == "index" {
				accepted[it.Index] = true
			}
			if isUnknown {
				unknown = append(unknown, i)
			}
		}
	}
	for _, i := range unknown {
		if indexOf[i] != "" && accepted[indexOf[i]] {
			out[i].Outcome, out[i].Condition = Rejected, false
			out[i].Reason += " (other documents of the index were accepted)"
		}
	}
	return out, nil
}

// parseAllSucceeded is the fast path of parseBulkResponse for the common
// response in which no item failed: {"errors":false,"items":[{"index":
// {"status":201}},...]} (as filtered by BulkBody). Without errors there are
// no error objects, so every "status": is an item's; it reports false for
// anything else, which the full parser then reads.
func parseAllSucceeded(b []byte, n int) ([]Result, bool) {
	const head, key = `{"errors":false,"items":[`, `"status":`
	if !bytes.HasPrefix(b, []byte(head)) {
		return nil, false
	}
	out := make([]Result, 0, n)
	rest := b[len(head):]
	for {
		i := bytes.Index(rest, []byte(key))
		if i < 0 {
			break
		}
		rest = rest[i+len(key):]
		status, j := 0, 0
		for ; j < len(rest) && j < 4 && rest[j] >= '0' && rest[j] <= '9'; j++ {
			status = status*10 + int(rest[j]-'0')
		}
		if j == 0 || j == len(rest) || (rest[j] != '}' && rest[j] != ',') || Classify(status) != Done || len(out) == n {
			return nil, false
		}
		out = append(out, Result{Outcome: Done, Status: status})
		rest = rest[j:]
	}
	return out, len(out) == n
}
