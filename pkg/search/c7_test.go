package search_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// fullC7Documents are a document of every Camunda 7 family with every
// field set (no null, no empty list), of one instance of process "order".
func fullC7Documents() map[schema.Family]any {
	const (
		day1, day2 = "2026-11-23T06:00:00.000Z", "2026-11-23T07:30:00.000Z"
		pi, def    = "7c1a-42", "order:3:9f2e"
	)
	return map[schema.Family]any{
		schema.C7Process: schema.C7ProcessDoc{Key: def, BpmnProcessID: "order", Version: 3, VersionTag: new("v3"), Name: new("Order"),
			ResourceName: new("order.bpmn"), BpmnXML: "<definitions/>", FlowNodes: []schema.FlowNode{{ID: "approve", Name: "Approve"}},
			DeploymentID: new("d-1"), TenantID: "t1", Source: "eu", Position: 1},
		schema.C7Decision: schema.C7DecisionDoc{Key: "risk:1:ab", DecisionID: "risk", Name: new("Risk"), Version: 1, VersionTag: new("r1"),
			DecisionRequirementsKey: new("drd:1:cd"), DecisionRequirementsID: new("drd"), ResourceName: new("risk.dmn"), XML: "<definitions/>",
			DeploymentID: new("d-1"), TenantID: "t1", Source: "eu", Position: 2},
		schema.C7ProcessInstance: schema.C7ProcessInstanceDoc{ProcessInstanceID: pi, ProcessDefinitionKey: "order", ProcessDefinitionVersion: 3,
			ProcessDefinitionID: def, BusinessKey: new("b-1"), StartDate: new(day1), EndDate: new(day2), Duration: new(int64(5_400_000)),
			State: "COMPLETED", TenantID: new("t1"), Source: "eu",
			FlowNodeInstances: []schema.C7FlowNode{
				{ID: "a-1", ActivityID: "approve", ActivityName: new("Approve"), ActivityType: "userTask", StartDate: new(day1), EndDate: new(day2), Duration: new(int64(5_400_000)), Canceled: false},
				{ID: "a-2", ActivityID: "notify", ActivityName: new("Notify"), ActivityType: "serviceTask", StartDate: new(day1), EndDate: new(day2), Duration: new(int64(1)), Canceled: true},
			},
			UserTasks: []schema.C7UserTask{{ID: "task-1", ActivityID: "approve", ActivityInstanceID: new("a-1"), Assignee: new("demo"),
				CandidateGroups: []string{"clerks"}, StartDate: new(day1), EndDate: new(day2), ClaimDate: new(day1), Duration: new(int64(5_400_000)),
				IdleDuration: new(int64(0)), WorkDuration: new(int64(5_400_000)), DeleteReason: new("completed")}},
			Variables: []schema.C7VariableValue{{ID: "v-1", Name: "amount", Type: "Long", Value: new("42"), Version: 2}},
			Incidents: []schema.C7IncidentEntry{{ID: "i-1", IncidentType: "failedJob", ActivityID: new("notify"), CreateTime: new(day1),
				EndTime: new(day2), State: "resolved", Message: new("boom")}},
			Position: 3},
		schema.C7ListView: schema.C7ListViewDoc{Key: pi, ProcessDefinitionKey: def, BpmnProcessID: "order", Version: 3, ProcessName: new("Order"),
			State: "COMPLETED", StartDate: new(day1), EndDate: new(day2), BusinessKey: new("b-1"), ParentProcessInstanceKey: new("7c1a-41"),
			RootProcessInstanceKey: new("7c1a-41"), Incident: true, TenantID: "t1", Source: "eu", Position: 4},
		schema.C7FlowNodeInstance: schema.C7FlowNodeInstanceDoc{Key: "a-1", ProcessInstanceKey: pi, ProcessDefinitionKey: def, BpmnProcessID: "order",
			FlowNodeID: "approve", FlowNodeName: new("Approve"), Type: "USER_TASK", State: "COMPLETED", StartDate: new(day1), EndDate: new(day2),
			ScopeKey: new(pi), Incident: false, TenantID: "t1", Source: "eu", Position: 5},
		schema.C7Variable: schema.C7VariableDoc{Name: "amount", Type: "Long", Value: "42", FullValue: new("42"), IsPreview: false, ScopeKey: new(pi),
			ProcessInstanceKey: pi, ProcessDefinitionKey: def, BpmnProcessID: "order", TenantID: "t1", Source: "eu", Position: 6},
		schema.C7Incident: schema.C7IncidentDoc{Key: "i-1", ProcessInstanceKey: pi, ProcessDefinitionKey: def, BpmnProcessID: "order",
			FlowNodeID: new("notify"), ErrorType: "failedJob", ErrorMessage: new("boom"), State: "RESOLVED", CreationTime: new(day1),
			ResolutionTime: new(day2), TenantID: "t1", Source: "eu", Position: 7},
		schema.C7Task: schema.C7TaskDoc{Key: "task-1", ProcessInstanceKey: pi, FlowNodeInstanceKey: new("a-1"), FlowNodeBpmnID: "approve",
			BpmnProcessID: "order", ProcessDefinitionKey: def, Name: new("Approve"), State: "COMPLETED", Assignee: new("demo"),
			CandidateGroups: []string{"clerks"}, CandidateUsers: []string{"demo"}, DueDate: new(day2), FollowUpDate: new(day2), Priority: 50,
			CreationTime: new(day1), CompletionTime: new(day2), TenantID: "t1", Source: "eu", Position: 8},
		schema.C7DecisionInstance: schema.C7DecisionInstanceDoc{Key: "e-1", DecisionID: "risk", DecisionKey: "risk:1:ab", DecisionName: new("Risk"),
			State: "EVALUATED", EvaluationDate: new(day1), ProcessInstanceKey: new(pi), ProcessDefinitionKey: new(def), BpmnProcessID: new("order"),
			FlowNodeInstanceKey: new("a-3"), ElementID: new("assess"), RootDecisionKey: new("e-1"),
			EvaluatedInputs:  []schema.EvaluatedInput{{ID: "in", Name: "Amount", Value: "42"}},
			EvaluatedOutputs: []schema.EvaluatedOutput{{ID: "out", Name: "Risk", Value: `"low"`, RuleID: "r1", RuleIndex: 1}},
			TenantID:         "t1", Source: "eu", Position: 9},
	}
}

// TestC7DocumentsIndexBesideZeebe: the writer's schema takes a full
// document of every Camunda 7 family (dynamic:strict refuses any field its
// mapping lacks, a date it cannot parse, an object where it wants nested);
// one query over the Zeebe and the C7 list-view aliases filters and sorts
// both engines' instances by bpmnProcessId, state, dates and tenantId; and
// the parts of a C7 process instance are nested: a condition on two fields
// of one part matches only when one part meets both.
func TestC7DocumentsIndexBesideZeebe(t *testing.T) {
	es, _ := testenv.Elasticsearch(t)
	ctx := context.Background()
	idx := config.Index{Prefix: testenv.IndexPrefix(t), Shards: 1, RefreshInterval: "1s"}
	testenv.DropIndices(t, es, idx.Prefix)
	if err := search.EnsureSchema(ctx, es, idx); err != nil {
		t.Fatal(err)
	}

	var ops []search.Op
	for f, doc := range fullC7Documents() {
		src, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if where := emptyValue(src); where != "" {
			t.Fatalf("%s: the test document is not full: %s", f, where)
		}
		ops = append(ops, search.Op{Index: schema.RuntimeIndex(idx.Prefix, f), ID: "c7-" + string(f), Version: 1, Source: src})
	}
	zeebe := `{"key":2251799813685249,"processDefinitionKey":2251799813685200,"bpmnProcessId":"order","version":1,"versionTag":null,"processName":"Order","state":"COMPLETED","startDate":"2026-11-23T05:00:00.000Z","endDate":"2026-11-23T08:00:00.000Z","parentProcessInstanceKey":-1,"parentFlowNodeInstanceKey":-1,"rootProcessInstanceKey":2251799813685249,"treePath":"PI_2251799813685249","incident":false,"tenantId":"t1","partitionId":1,"position":5}`
	ops = append(ops, search.Op{Index: schema.RuntimeIndex(idx.Prefix, schema.ListView), ID: "2251799813685249", Version: 5, Source: []byte(zeebe)})
	err := search.NewBulkExecutor(es, search.BulkPolicy{MaxAttempts: 1}).Do(ctx, len(ops), func(buf []byte, i int) []byte {
		return search.AppendOp(buf, ops[i])
	}, func(i int, r search.Result) bool {
		if r.Outcome != search.Done {
			t.Errorf("index %s: %d %s", ops[i].Index, r.Status, r.Reason)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := search.Refresh(ctx, es, idx.Prefix+"-*"); err != nil {
		t.Fatal(err)
	}

	both := schema.Alias(idx.Prefix, schema.ListView) + "," + schema.Alias(idx.Prefix, schema.C7ListView)
	res, err := search.SearchWhole[struct {
		search.ShardsAnswer
		Hits struct {
			Hits []search.Hit `json:"hits"`
		} `json:"hits"`
	}](ctx, es, "both list views", both, map[string]any{
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"bpmnProcessId": "order"}},
			map[string]any{"term": map[string]any{"state": schema.StateCompleted}},
			map[string]any{"term": map[string]any{"tenantId": "t1"}},
			map[string]any{"range": map[string]any{"startDate": map[string]any{"gte": "2026-11-23T00:00:00.000Z"}}},
			map[string]any{"range": map[string]any{"endDate": map[string]any{"lt": "2026-11-24T00:00:00.000Z"}}},
		}}},
		"sort": []any{map[string]string{"endDate": "asc"}, map[string]string{"startDate": "asc"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range res.Hits.Hits {
		got = append(got, h.Index)
	}
	want := []string{schema.RuntimeIndex(idx.Prefix, schema.C7ListView), schema.RuntimeIndex(idx.Prefix, schema.ListView)} // by endDate
	if !slices.Equal(got, want) {
		t.Errorf("instances over both list views, by end date: from %v, want %v", got, want)
	}

	pi := schema.Alias(idx.Prefix, schema.C7ProcessInstance)
	for _, tt := range []struct {
		name  string
		path  string
		match []any
		want  int64
	}{
		{"one flow node meets both", "flowNodeInstances", []any{
			map[string]any{"term": map[string]any{"flowNodeInstances.activityId": "notify"}},
			map[string]any{"term": map[string]any{"flowNodeInstances.canceled": true}}}, 1},
		{"two flow nodes meet one each", "flowNodeInstances", []any{
			map[string]any{"term": map[string]any{"flowNodeInstances.activityId": "approve"}},
			map[string]any{"term": map[string]any{"flowNodeInstances.canceled": true}}}, 0},
		{"a user task by assignee and group", "userTasks", []any{
			map[string]any{"term": map[string]any{"userTasks.assignee": "demo"}},
			map[string]any{"term": map[string]any{"userTasks.candidateGroups": "clerks"}}}, 1},
		{"a variable by name and value", "variables", []any{
			map[string]any{"term": map[string]any{"variables.name": "amount"}},
			map[string]any{"term": map[string]any{"variables.value": "42"}}}, 1},
		{"no open incident of the type", "incidents", []any{
			map[string]any{"term": map[string]any{"incidents.incidentType": "failedJob"}},
			map[string]any{"term": map[string]any{"incidents.state": "open"}}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := search.Count(ctx, es, pi, map[string]any{"nested": map[string]any{
				"path": tt.path, "query": map[string]any{"bool": map[string]any{"filter": tt.match}}}})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("%d process instances, want %d", n, tt.want)
			}
		})
	}
}

// emptyValue names the first null or empty list in the JSON document src
// ("" when there is none).
func emptyValue(src []byte) string {
	var v any
	if err := json.Unmarshal(src, &v); err != nil {
		return err.Error()
	}
	var walk func(path string, v any) string
	walk = func(path string, v any) string {
		switch v := v.(type) {
		case nil:
			return path + " is null"
		case []any:
			if len(v) == 0 {
				return path + " is empty"
			}
			for i, e := range v {
				if w := walk(fmt.Sprintf("%s[%d]", path, i), e); w != "" {
					return w
				}
			}
		case map[string]any:
			for k, e := range v {
				if w := walk(path+"."+k, e); w != "" {
					return w
				}
			}
		}
		return ""
	}
	return walk("", v)
}
