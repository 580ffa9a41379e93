package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/c7enginetest"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/c7fold"
)

// TestCamunda7HistoryEndToEnd: a real Camunda 7 engine runs orders
// (c7enginetest.RunOrders); the import, the fold and the writer put them
// into Elasticsearch, where every document of every c7 family says what the
// engine's history API says, field by field. One query over
// <prefix>-list-view,<prefix>-c7-list-view by bpmnProcessId then lists the
// process's instances from both engines: the six C7 orders and a Zeebe
// instance of a process with the same id.
func TestCamunda7HistoryEndToEnd(t *testing.T) {
	engine := c7enginetest.Shared(t)
	key := "e2e" + strings.ReplaceAll(testenv.IndexPrefix(t), "-", "")
	orders := c7enginetest.RunOrders(t, engine, key)
	s := stack.Start(t, stack.Options{ArchiveAfter: time.Millisecond, C7: &stack.C7{URL: engine, Source: "e2e"}})

	// A Zeebe instance of a process with the C7 definition key as its id.
	zeebe := int64(3)<<51 + 7
	line := fmt.Sprintf(`{"partitionId":3,"value":{"bpmnProcessId":%q,"version":1,"processDefinitionKey":%d,"processInstanceKey":%d,"elementId":%q,"flowScopeKey":-1,"bpmnElementType":"PROCESS","bpmnEventType":"UNSPECIFIED","parentProcessInstanceKey":-1,"parentElementInstanceKey":-1,"tenantId":"<default>","elementInstancePath":[],"processDefinitionPath":[],"callingElementPath":[]},"rejectionType":"NULL_VAL","rejectionReason":"","sourceRecordPosition":-1,"key":%d,"timestamp":%d,"position":1,"valueType":"PROCESS_INSTANCE","intent":"ELEMENT_ACTIVATING","recordType":"EVENT","brokerVersion":"8.8.0","recordVersion":1,"operationReference":-1,"batchOperationReference":-1,"authorizations":{}}`,
		key, int64(3)<<51+100, zeebe, key, zeebe, time.Now().UnixMilli())
	if code, body := post(t, s.IngestURL(), "application/x-ndjson", line+"\n"); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, body)
	}

	testenv.Eventually(t, 90*time.Second, func() error {
		cache := map[schema.Family]map[string]map[string]any{}
		diffs := c7enginetest.Compare(t, engine, key, orders, func(f schema.Family, id string) map[string]any {
			if cache[f] == nil {
				cache[f] = c7Documents(t, s, f) // every document: a shared engine holds other tests' too
			}
			return cache[f][c7fold.DocID("e2e", id)]
		})
		if len(diffs) > 0 {
			return fmt.Errorf("%d differences:\n%s", len(diffs), strings.Join(diffs, "\n"))
		}
		return nil
	})

	// One query, both engines.
	indices := schema.Alias(s.Prefix, schema.ListView) + "," + schema.Alias(s.Prefix, schema.C7ListView)
	var both []string
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := search.Refresh(context.Background(), s.ES, indices); err != nil {
			return err
		}
		b, err := s.ES.Do(context.Background(), search.Request{Method: http.MethodPost, Path: "/" + indices + "/_search",
			Query: url.Values{"size": {"100"}}, Body: fmt.Appendf(nil, `{"query":{"term":{"bpmnProcessId":%q}}}`, key), What: "search " + indices})
		if err != nil {
			return err
		}
		var r struct {
			Hits struct {
				Hits []struct {
					Index  string         `json:"_index"`
					Source map[string]any `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		both = both[:0]
		for _, h := range r.Hits.Hits {
			both = append(both, fmt.Sprintf("%s:%v", h.Index[len(s.Prefix)+1:], h.Source["key"]))
		}
		if len(r.Hits.Hits) != 7 {
			return fmt.Errorf("%d instances of %s in %s: %v; want the 6 C7 orders and the Zeebe one", len(r.Hits.Hits), key, indices, both)
		}
		return nil
	})
	zeebeHits, c7Hits := 0, 0
	for _, h := range both {
		switch {
		case strings.HasPrefix(h, "list-view"):
			zeebeHits++
		case strings.HasPrefix(h, "c7-list-view"):
			c7Hits++
		}
	}
	if zeebeHits != 1 || c7Hits != 6 {
		t.Errorf("hits %v: %d Zeebe and %d C7 instances, want 1 and 6", both, zeebeHits, c7Hits)
	}
	// The archiver (waiting a millisecond here) leaves the C7 documents in
	// their runtime indices.
	ours := map[string]any{"terms": map[string]any{"bpmnProcessId": []string{key, key + "-ship"}}}
	if n, err := search.Count(context.Background(), s.ES, schema.RuntimeIndex(s.Prefix, schema.C7ListView), ours); err != nil || n != 9 {
		t.Errorf("runtime c7-list-view holds %d documents (%v), want all 6 orders and 3 shipments, ended or not", n, err)
	}
}
