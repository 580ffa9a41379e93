// Package e2e runs all four services end to end on a real NATS JetStream
// server and a real Elasticsearch.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/c7enginetest"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

func TestMain(m *testing.M) { testenv.Main(m, c7enginetest.StopShared) }

func timeString(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

const tenYears = 10 * 365 * 24 * time.Hour

// startStack starts ingest, aggregator, writer and an archiver that
// archives nothing (its wait period is ten years).
func startStack(t *testing.T) *stack.Stack { return startStackWith(t, true) }

// startStackWith is startStack, with the aggregator only when
// withAggregator; Stack.NewAggregator builds further aggregators (for
// restarts) on the same broker.
func startStackWith(t *testing.T, withAggregator bool) *stack.Stack {
	return stack.Start(t, stack.Options{WithoutAggregator: !withAggregator, ArchiveAfter: tenYears})
}

func post(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %d is not JSON: %s", res.StatusCode, b)
	}
	return res.StatusCode, out
}

// hit is a search hit with its source decoded exactly (numbers as literals).
type hit struct {
	ID     string         `json:"_id"`
	SeqNo  int64          `json:"_seq_no"`
	Source map[string]any `json:"_source"`
}

func searchAll(t *testing.T, s *stack.Stack, f schema.Family) map[string]hit {
	t.Helper()
	ctx := context.Background()
	alias := schema.Alias(s.Prefix, f)
	if err := search.Refresh(ctx, s.ES, alias); err != nil {
		t.Fatal(err)
	}
	b, err := s.ES.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + alias + "/_search",
		Query: url.Values{"size": {"1000"}, "seq_no_primary_term": {"true"}}, What: "search " + alias})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var r struct {
		Hits struct {
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	out := map[string]hit{}
	for _, h := range r.Hits.Hits {
		out[h.ID] = h
	}
	return out
}

// doc builds an expected document; numbers are json.Number literals so
// keys above 2^53 compare exactly.
func doc(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		v := kv[i+1]
		switch n := v.(type) {
		case int64:
			v = json.Number(fmt.Sprint(n))
		case int:
			v = json.Number(fmt.Sprint(n))
		}
		m[kv[i].(string)] = v
	}
	return m
}

func id(k int64) string { return fmt.Sprint(k) }

func expectedInstances() map[string]map[string]any {
	pi := func(key int64, p int32, state string, endPos int64, pos int64) map[string]any {
		var end any
		if endPos > 0 {
			end = date(endPos)
		}
		return doc("key", key, "processDefinitionKey", int64(p)<<51+100, "bpmnProcessId", fmt.Sprintf("order-%d", p),
			"version", 3, "state", state, "startDate", date(1), "endDate", end, "parentProcessInstanceKey", -1,
			"tenantId", "<default>", "partitionId", int(p), "position", pos,
			// No deployment in this fixture: the name falls back to the
			// process id, and there is no version tag.
			"processName", fmt.Sprintf("order-%d", p), "versionTag", nil, "parentFlowNodeInstanceKey", -1,
			"rootProcessInstanceKey", key, "treePath", fmt.Sprintf("PI_%d", key), "incident", false)
	}
	return map[string]map[string]any{
		id(keyP1): pi(keyP1, 1, "COMPLETED", 21, 21),
		id(keyP2): pi(keyP2, 2, "CANCELED", 13, 13),
		id(keyP5): pi(keyP5, 5, "ACTIVE", 0, 2),
	}
}

func expectedFlowNodes() map[string]map[string]any {
	fn := func(key, pi int64, flowNode, typ, state string, start, end, pos int64) map[string]any {
		var e any
		if end > 0 {
			e = date(end)
		}
		p := pi >> 51
		return doc("key", key, "processInstanceKey", pi, "flowNodeId", flowNode, "type", typ, "state", state,
			"startDate", date(start), "endDate", e, "position", pos,
			"processDefinitionKey", p<<51+100, "bpmnProcessId", fmt.Sprintf("order-%d", p),
			"flowNodeName", flowNode, "scopeKey", pi, "treePath", fmt.Sprintf("%d/%d", pi, key), "level", 1,
			"incident", false, "incidentKey", nil, "tenantId", "<default>")
	}
	return map[string]map[string]any{
		id(keyP1 + 1): fn(keyP1+1, keyP1, "start", "START_EVENT", "COMPLETED", 3, 6, 6),
		id(keyP1 + 3): fn(keyP1+3, keyP1, "pay", "SERVICE_TASK", "COMPLETED", 8, 14, 14),
		id(keyP1 + 6): fn(keyP1+6, keyP1, "end", "END_EVENT", "COMPLETED", 16, 19, 19),
		id(keyP2 + 1): fn(keyP2+1, keyP2, "start", "START_EVENT", "COMPLETED", 3, 6, 6),
		id(keyP2 + 3): fn(keyP2+3, keyP2, "pay", "SERVICE_TASK", "TERMINATED", 8, 11, 11),
		id(keyP5 + 1): fn(keyP5+1, keyP5, "start", "START_EVENT", "COMPLETED", 3, 6, 6),
		id(keyP5 + 3): fn(keyP5+3, keyP5, "approve", "USER_TASK", "ACTIVE", 8, 0, 9),
	}
}

func expectedSequenceFlows() map[string]map[string]any {
	sf := func(pi int64, flow string, pos int64) (string, map[string]any) {
		p := pi >> 51
		return fmt.Sprintf("%d_%s", pi, flow), doc("processInstanceKey", pi, "processDefinitionKey", p<<51+100,
			"bpmnProcessId", fmt.Sprintf("order-%d", p), "activityId", flow, "tenantId", "<default>", "position", pos)
	}
	out := map[string]map[string]any{}
	for _, f := range []struct {
		pi   int64
		flow string
		pos  int64
	}{{keyP1, "flow-1", 7}, {keyP1, "flow-2", 15}, {keyP2, "flow-1", 7}, {keyP5, "flow-1", 7}} {
		id, d := sf(f.pi, f.flow, f.pos)
		out[id] = d
	}
	return out
}

// sources strips hits to their sources.
func sources(hits map[string]hit) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, h := range hits {
		out[id] = h.Source
	}
	return out
}

func waitForDocs(t *testing.T, s *stack.Stack, f schema.Family, want map[string]map[string]any) map[string]hit {
	t.Helper()
	var got map[string]hit
	testenv.Eventually(t, 30*time.Second, func() error {
		got = searchAll(t, s, f)
		if !reflect.DeepEqual(sources(got), want) {
			return fmt.Errorf("%s documents:\n got  %v\n want %v", f, sources(got), want)
		}
		return nil
	})
	return got
}

func TestRecordsBecomeDocumentsEndToEnd(t *testing.T) {
	s := startStack(t)
	body := ndjson(fixture())

	code, res := post(t, s.IngestURL(), "application/x-ndjson", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, res)
	}
	if res["accepted"] != float64(42) || res["duplicates"] != float64(0) || res["dropped"] != float64(1) {
		t.Fatalf("POST answer = %v, want 42 accepted, 0 duplicates, 1 dropped (the command)", res)
	}

	instances := waitForDocs(t, s, schema.ListView, expectedInstances())
	flowNodes := waitForDocs(t, s, schema.FlowNodeInstance, expectedFlowNodes())
	waitForDocs(t, s, schema.SequenceFlow, expectedSequenceFlows())

	// One trace spans ingest -> aggregator -> writer: the trace context
	// rides in the NATS message headers.
	byTrace := map[string]map[string]bool{}
	for _, sp := range s.Spans.Ended() {
		id := sp.SpanContext().TraceID().String()
		if byTrace[id] == nil {
			byTrace[id] = map[string]bool{}
		}
		byTrace[id][sp.Name()] = true
	}
	connected := false
	for _, names := range byTrace {
		if names["ingest POST /v1/records"] && names["aggregator.process"] && names["writer.index"] {
			connected = true
		}
	}
	if !connected {
		t.Errorf("no trace holds ingest, aggregator and writer spans: %v", byTrace)
	}
	// The writer's requests to Elasticsearch are client spans too.
	bulks := 0
	for _, sp := range s.Spans.Ended() {
		if sp.Name() == "elasticsearch POST /_bulk" && sp.SpanKind() == trace.SpanKindClient {
			bulks++
		}
	}
	if bulks == 0 {
		t.Error("no client span of a bulk request to Elasticsearch")
	}

	// Re-sending the same records: all duplicates, nothing stored, nothing
	// rewritten in Elasticsearch.
	js := testenv.Connect(t, s.NATS).JS
	before := testenv.StreamMessages(t, js, stream.RecordsStream)
	code, res = post(t, s.IngestURL(), "application/x-ndjson", body)
	if code != http.StatusAccepted || res["accepted"] != float64(0) || res["duplicates"] != float64(42) {
		t.Fatalf("re-send: %d %v, want 0 accepted and 42 duplicates", code, res)
	}
	if after := testenv.StreamMessages(t, js, stream.RecordsStream); after != before {
		t.Fatalf("re-send stored messages: %d before, %d after", before, after)
	}
	// Give a (wrong) pipeline time to rewrite documents, then compare
	// sequence numbers: an index operation would bump them.
	time.Sleep(2 * time.Second)
	for f, was := range map[schema.Family]map[string]hit{schema.ListView: instances, schema.FlowNodeInstance: flowNodes} {
		now := searchAll(t, s, f)
		for id, h := range was {
			if now[id].SeqNo != h.SeqNo || !reflect.DeepEqual(now[id].Source, h.Source) {
				t.Errorf("%s %s changed after re-send: seq_no %d -> %d", f, id, h.SeqNo, now[id].SeqNo)
			}
		}
	}
}
