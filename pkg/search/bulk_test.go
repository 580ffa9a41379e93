package search

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		want   Outcome
	}{
		{200, Done}, {201, Done}, {409, Stale}, {429, Retry}, {500, Retry}, {503, Retry},
		{400, Rejected}, {404, Rejected}, {413, Rejected},
	}
	for _, tt := range tests {
		if got := Classify(tt.status); got != tt.want {
			t.Errorf("Classify(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestAppendOpIsValidNDJSON(t *testing.T) {
	b := AppendOp(nil, Op{Index: "i", ID: `we"ird`, Version: 9007199254740993, Source: []byte(`{"a":1}`)})
	lines := splitLines(b)
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	var action struct {
		Index struct {
			Index       string      `json:"_index"`
			ID          string      `json:"_id"`
			Version     json.Number `json:"version"`
			VersionType string      `json:"version_type"`
		} `json:"index"`
	}
	if err := json.Unmarshal(lines[0], &action); err != nil {
		t.Fatal(err)
	}
	if action.Index.ID != `we"ird` || action.Index.Version != "9007199254740993" || action.Index.VersionType != "external" {
		t.Errorf("action = %+v", action)
	}
}

// A routed operation names its routing; an unrouted one names none.
func TestAppendOpRouting(t *testing.T) {
	for _, routing := range []string{"", "2251799813685249"} {
		b := AppendOp(nil, Op{Index: "i", ID: "1", Routing: routing, Version: 1, Source: []byte(`{}`)})
		var action struct {
			Index map[string]any `json:"index"`
		}
		if err := json.Unmarshal(splitLines(b)[0], &action); err != nil {
			t.Fatal(err)
		}
		got, set := action.Index["routing"]
		if set != (routing != "") || (set && got != routing) {
			t.Errorf("routing %q: action %v", routing, action.Index)
		}
	}
}

func TestParseBulkResponse(t *testing.T) {
	body := `{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"old"}}},{"index":{"status":400,"error":{"type":"strict_dynamic_mapping_exception","reason":"no field x"}}},{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}]}`
	got, err := parseBulkResponse([]byte(body), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{Done, Stale, Rejected, Retry}
	for i := range want {
		if got[i].Outcome != want[i] {
			t.Errorf("item %d: %v, want %v", i, got[i].Outcome, want[i])
		}
	}
	if got[2].Reason != "strict_dynamic_mapping_exception: no field x" {
		t.Errorf("reason = %q", got[2].Reason)
	}
	if _, err := parseBulkResponse([]byte(body), 3); !errors.Is(err, ErrUnavailable) {
		t.Errorf("item count mismatch: err = %v", err)
	}
}

func TestAppendOpEscapesAsJSON(t *testing.T) {
	for _, id := range []string{"6755399441059750", `a"b\c`, "tab\there\nnewline\x01", "grüße-日本"} {
		b := AppendOp(nil, Op{Index: "flowline-job-1_", ID: id, Version: 1, Source: []byte(`{}`)})
		var action struct {
			Index struct {
				Index string `json:"_index"`
				ID    string `json:"_id"`
			} `json:"index"`
		}
		if err := json.Unmarshal(splitLines(b)[0], &action); err != nil {
			t.Fatalf("id %q: %v: %s", id, err, b)
		}
		if action.Index.ID != id || action.Index.Index != "flowline-job-1_" {
			t.Errorf("id %q: read back %+v", id, action.Index)
		}
	}
}

func TestParseBulkResponseWithoutErrors(t *testing.T) {
	body := `{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}},{"index":{"status":201}}]}`
	got, err := parseBulkResponse([]byte(body), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r.Outcome != Done || (r.Status != 201 && r.Status != 200) {
			t.Errorf("item %d: %+v", i, r)
		}
	}
	if _, ok := parseAllSucceeded([]byte(body), 3); !ok {
		t.Error("fast path not taken")
	}
	for _, n := range []int{2, 4} {
		if _, err := parseBulkResponse([]byte(body), n); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%d operations: err = %v", n, err)
		}
	}
	// Anything unusual goes to the full parser.
	for _, odd := range []string{
		`{"errors":false,"items":[{"index":{"status":201,"_id":"x"}},{"index":{"status":409}}]}`,
		`{"items":[{"index":{"status":201}},{"index":{"status":201}}],"errors":false}`,
		`{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":"201"}}]}`,
	} {
		if _, ok := parseAllSucceeded([]byte(odd), 2); ok {
			t.Errorf("fast path taken for %s", odd)
		}
	}
}

func BenchmarkParseBulkResponse(b *testing.B) {
	body := []byte(`{"errors":false,"items":[` + strings.Repeat(`{"index":{"status":201}},`, 4999) + `{"index":{"status":201}}]}`)
	for b.Loop() {
		if _, err := parseBulkResponse(body, 5000); err != nil {
			b.Fatal(err)
		}
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return out
}

// Items Elasticsearch refuses for a condition of the cluster — 401 and 403
// (credentials, privileges, blocks) on any operation, 404 on an index
// operation (a missing index that may not be created), a closed index, a
// flood-stage block (429) — are retried and marked as conditions; 429 and
// 5xx pushback is retried but is no condition; a 404 on a delete means the
// document is gone (done); only what the document itself causes is
// rejected.
func TestParseBulkResponseRetriesClusterConditions(t *testing.T) {
	items := []struct {
		item      string
		want      Outcome
		condition bool
	}{
		{`{"index":{"status":403,"error":{"type":"cluster_block_exception","reason":"index [x] blocked by: [FORBIDDEN/8/index write (api)];"}}}`, Retry, true},
		{`{"index":{"status":403,"error":{"type":"security_exception","reason":"action [indices:data/write/bulk[s]] is unauthorized for user [w]"}}}`, Retry, true},
		{`{"index":{"status":404,"error":{"type":"index_not_found_exception","reason":"no such index [x]"}}}`, Retry, true},
		{`{"index":{"status":400,"error":{"type":"index_closed_exception","reason":"closed"}}}`, Retry, true},
		{`{"index":{"status":400,"error":{"type":"validation_exception","reason":"Validation Failed: 1: this action would add [2] shards, but this cluster currently has [1000]/[1000] maximum normal shards open;"}}}`, Retry, true},
		{`{"index":{"status":429,"error":{"type":"cluster_block_exception","reason":"index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];"}}}`, Retry, true},
		{`{"delete":{"status":403,"error":{"type":"cluster_block_exception","reason":"blocked"}}}`, Retry, true},
		{`{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}`, Retry, false},
		{`{"index":{"status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}`, Retry, false},
		{`{"delete":{"status":404}}`, Done, false},
		{`{"delete":{"status":404,"error":{"type":"index_not_found_exception","reason":"no such index [x]"}}}`, Done, false},
		{`{"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"old"}}}`, Stale, false},
		{`{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"strict_dynamic_mapping_exception","reason":"no field x"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"Limit of total fields [1000] has been exceeded"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"x_content_parse_exception","reason":"[1:2] Unexpected character"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"action_request_validation_exception","reason":"Validation Failed: 1: id [x] is too long, must be no longer than 512 bytes"}}}`, Rejected, false},
		// An alias without a write index, a data stream, a missing pipeline:
		// illegal arguments of the cluster's configuration, not the document's.
		{`{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"no write index is defined for alias [x]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"}}}`, Retry, true},
		{`{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"only write ops with an op_type of create are allowed in data streams"}}}`, Retry, true},
		{`{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"pipeline with id [p] does not exist"}}}`, Retry, true},
		{`{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"Number of documents in the index can't exceed [2147483519]"}}}`, Retry, true},
		// Words of an index or field name are no cluster reason.
		{`{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"Limit of total fields [1000] in index [ci-pipeline-list-view-1_] has been exceeded"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"parse_exception","reason":"could not parse the source"}}}`, Rejected, false},
		{`{"index":{"status":400,"error":{"type":"script_exception","reason":"runtime error"}}}`, Rejected, false},
		// An error type we do not know to be the document's: kept and
		// reported, not dead-lettered.
		{`{"index":{"status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [X], must be lowercase"}}}`, Retry, true},
		{`{"index":{"status":400,"error":{"type":"some_future_exception","reason":"?"}}}`, Retry, true},
		{`{"index":{"status":400}}`, Retry, true},
	}
	bodies := make([]string, len(items))
	for i, it := range items {
		bodies[i] = it.item
	}
	got, err := parseBulkResponse([]byte(`{"errors":true,"items":[`+strings.Join(bodies, ",")+`]}`), len(items))
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		if got[i].Outcome != it.want || got[i].Condition != it.condition {
			t.Errorf("%s: %v (condition %v), want %v (condition %v)", it.item, got[i].Outcome, got[i].Condition, it.want, it.condition)
		}
	}
	if got[0].Status != 403 || got[0].Reason != "cluster_block_exception: index [x] blocked by: [FORBIDDEN/8/index write (api)];" {
		t.Errorf("status or reason lost: %+v", got[0])
	}
}

// An item refused with an error type not known to be the document's is a
// condition of the cluster, unless other documents of the same index were
// accepted in the same request: then the cluster takes writes there and the
// document itself is at fault (rejected, dead-lettered) rather than keeping
// its writer stuck for ever.
func TestParseBulkResponseRejectsUnknownRefusalsWhereTheIndexAcceptsOthers(t *testing.T) {
	body := `{"errors":true,"items":[` +
		`{"index":{"_index":"a","status":400,"error":{"type":"some_future_exception","reason":"?"}}},` +
		`{"index":{"_index":"a","status":201}},` +
		`{"index":{"_index":"b","status":400,"error":{"type":"some_future_exception","reason":"?"}}},` +
		`{"index":{"_index":"c","status":201}}]}`
	got, err := parseBulkResponse([]byte(body), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Outcome != Rejected || got[0].Condition || !strings.Contains(got[0].Reason, "some_future_exception") {
		t.Errorf("unknown refusal in an index that accepted another document: %+v, want Rejected naming the type", got[0])
	}
	if got[2].Outcome != Retry || !got[2].Condition {
		t.Errorf("unknown refusal in an index that accepted nothing: %+v, want a Retry condition", got[2])
	}
}

// A response item that is not one action with its result is an unreadable
// response (retried whole), never an item taken as written.
func TestParseBulkResponseRefusesItemsWithoutOneAction(t *testing.T) {
	for _, body := range []string{
		`{"errors":true,"items":[{}]}`,
		`{"errors":true,"items":[{"index":{"status":201},"delete":{"status":200}}]}`,
	} {
		if got, err := parseBulkResponse([]byte(body), 1); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %+v, %v; want ErrUnavailable", body, got, err)
		}
	}
}
