package operate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/schema"
)

func ptr[T any](v T) *T { return &v }

// strictViolations lists the fields of src that ix's strict mappings lack.
func strictViolations(ix *Index, src any) []string {
	b, _ := json.Marshal(src)
	return ix.Undeclared(b)
}

func TestProjectionsFitTheStrictMappings(t *testing.T) {
	pi := &schema.ListViewDoc{Key: 2251799813685249, ProcessDefinitionKey: 1, BpmnProcessID: "p", Version: 3, ProcessName: "P",
		State: "ACTIVE", StartDate: ptr("2026-12-06T10:00:00.000Z"), ParentProcessInstanceKey: -1, ParentFlowNodeInstanceKey: -1,
		RootProcessInstanceKey: 2251799813685249, TreePath: "PI_2251799813685249", TenantID: "<default>", PartitionID: 1, Position: 9}
	fn := &schema.FlowNodeInstanceDoc{Key: 2251799813685252, ProcessInstanceKey: pi.Key, ProcessDefinitionKey: 1, BpmnProcessID: "p",
		FlowNodeID: "task", FlowNodeName: "Task", Type: "SERVICE_TASK", State: "ACTIVE", StartDate: ptr("2026-12-06T10:00:00.001Z"),
		ScopeKey: pi.Key, TreePath: "2251799813685249/2251799813685252", Level: 1, Incident: true, IncidentKey: ptr(int64(7)), Position: 10}
	v := &schema.VariableDoc{Name: "amount", Value: `"x"`, ScopeKey: pi.Key, ProcessInstanceKey: pi.Key, ProcessDefinitionKey: 1, BpmnProcessID: "p", Position: 11}
	inc := &schema.IncidentDoc{Key: 7, ProcessInstanceKey: pi.Key, FlowNodeID: "task", FlowNodeInstanceKey: fn.Key, JobKey: ptr(int64(8)),
		ErrorType: "JOB_NO_RETRIES", ErrorMessage: "  boom \n", State: "ACTIVE", CreationTime: ptr("2026-12-06T10:00:01.000Z"),
		TreePath: "PI_2251799813685249/FN_task/FNI_2251799813685252", Position: 12}
	variable, listVar := ProjectVariable(v, 2251799813685250, 1)
	docs := []Doc{
		ProjectListViewInstance(pi),
		ProjectListViewActivity(fn, 1, ActivityExtras{ErrorMessage: &inc.ErrorMessage, PositionIncident: ptr(int64(12))}),
		ProjectFlowNodeInstance(fn, 1, false),
		variable, listVar,
		ProjectIncident(inc, 1),
		ProjectSequenceFlow(&schema.SequenceFlowDoc{ProcessInstanceKey: pi.Key, ActivityID: "flow1"}),
		ProjectProcess(&schema.ProcessDoc{Key: 1, BpmnProcessID: "p", Version: 3, Name: "P", FlowNodes: []schema.FlowNode{{ID: "task", Name: "Task"}, {ID: "end"}}}),
		ProjectDecisionRequirements(&schema.DecisionRequirementsDoc{Key: 4, DecisionRequirementsID: "drg", Name: "DRG", Version: 1}),
		ProjectDecision(&schema.DecisionDoc{Key: 5, DecisionID: "d", Name: "D", Version: 1, DecisionRequirementsKey: 4}),
		ProjectJob(&schema.JobDoc{Key: 8, ProcessInstanceKey: pi.Key, FlowNodeInstanceKey: fn.Key, FlowNodeID: "task", Type: "charge",
			Retries: 2, State: "FAILED", CustomHeaders: json.RawMessage(`{"a":"b"}`),
			Operate: schema.JobOperate{ProcessDefinitionKey: 1, BpmnProcessID: "p", FailedWithRetriesLeft: true, Timestamp: 1764000000000}}, 1),
		ProjectForm(&schema.FormDoc{Key: 9, FormID: "f", Version: 1, Schema: "{}"}),
		ProjectDecisionInstance(&schema.DecisionInstanceDoc{DecisionID: "d", DecisionKey: 5, State: "EVALUATED", Result: `"x"`,
			EvaluatedInputs: []schema.EvaluatedInput{{ID: "i", Name: "I", Value: `1`}}, EvaluatedOutputs: []schema.EvaluatedOutput{{ID: "o", Value: `"x"`, RuleID: "r", RuleIndex: 1}},
			Operate: schema.DecisionInstanceOperate{Key: 10, ExecutionIndex: 2, RootDecisionKey: 5}}, 1),
		ProjectTask(&schema.TaskDoc{Key: 11, ProcessInstanceKey: pi.Key, FlowNodeInstanceKey: 12, State: "CREATED", DueDate: ptr("2026-12-24T12:00:00+01:00"), FormKey: ptr("https://forms.example/x")}, 1),
		ProjectTasklistProcess(pi),
	}
	docs = append(docs, ProjectTasklistVariables(&schema.VariableDoc{Name: "x", Value: "1", ScopeKey: 12, ProcessInstanceKey: pi.Key}, 13, 1)...)
	for _, d := range docs {
		if bad := strictViolations(d.Index, d.Source); len(bad) > 0 {
			t.Errorf("%s document %s: fields not in the mappings: %v", d.Index.Name, d.ID, bad)
		}
	}
	for _, tc := range []struct {
		doc           Doc
		index, id, rt string
		has           []string
	}{
		{docs[0], "list-view", "2251799813685249", "", []string{`"joinRelation":{"name":"processInstance"}`, `"parentProcessInstanceKey":null`, `"startDate":"2026-12-06T10:00:00.000+0000"`, `"processVersion":3`}},
		{docs[1], "list-view", "2251799813685252", "2251799813685249", []string{`"joinRelation":{"name":"activity","parent":2251799813685249}`, `"errorMessage":"boom"`, `"activityType":"SERVICE_TASK"`, `"positionIncident":12`}},
		{docs[3], "variable", "2251799813685249-amount", "", []string{`"key":2251799813685250`, `"isPreview":false`, `"fullValue":null`}},
		{docs[4], "list-view", "2251799813685249-amount", "2251799813685249", []string{`"varValue":"\"x\""`, `"joinRelation":{"name":"variable","parent":2251799813685249}`}},
		{docs[5], "incident", "7", "", []string{`"errorMessage":"boom"`, `"errorMessageHash":3029739`, `"creationTime":"2026-12-06T10:00:01.000+0000"`}},
		{docs[6], "sequence-flow", "2251799813685249_flow1", "", []string{`"tenantId":"\u003cdefault\u003e"`}},
		{docs[7], "process", "1", "", []string{`"key":"1"`, `{"id":"end","name":null}`}},
		{docs[10], "job", "8", "", []string{`"jobFailedWithRetriesLeft":true`, `"jobKind":"BPMN_ELEMENT"`, `"endTime":"2025-11-24T16:00:00.000+0000"`, `"customHeaders":{"a":"b"}`}},
		{docs[11], "form", "9", "", []string{`"bpmnId":"f"`, `"embedded":false`, `"processDefinitionId":null`}},
		{docs[12], "decision-instance", "10-2", "", []string{`"executionIndex":2`, `"rootDecisionDefinitionId":"5"`, `"decisionType":"UNSPECIFIED"`, `"value":"1"`}},
		{docs[13], "task", "12", "2251799813685249", []string{`"join":{"name":"task","parent":2251799813685249}`, `"dueDate":"2026-12-24T11:00:00.000+0000"`, `"processInstanceId":"2251799813685249"`, `"changedAttributes":[]`, `"externalFormReference":"https://forms.example/x"`}},
		{docs[14], "task", "2251799813685249", "", []string{`"join":{"name":"process"}`}},
		{docs[15], "task", "12-x", "2251799813685249", []string{`"join":{"name":"variable","parent":2251799813685249}`, `"isTruncated":false`}},
		{docs[16], "task", "12-x-local", "2251799813685249", []string{`"join":{"name":"localVariable","parent":12}`}},
	} {
		b, _ := json.Marshal(tc.doc.Source)
		if tc.doc.Index.Name != tc.index || tc.doc.ID != tc.id || tc.doc.Routing != tc.rt {
			t.Errorf("%s: index %s, id %s, routing %q; want %s, %s, %q", tc.id, tc.doc.Index.Name, tc.doc.ID, tc.doc.Routing, tc.index, tc.id, tc.rt)
		}
		for _, want := range tc.has {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s %s: %s lacks %s", tc.index, tc.id, b, want)
			}
		}
	}
}

// The list-view variable holds the whole value where the operate-variable
// document holds a preview.
func TestProjectVariableLongValue(t *testing.T) {
	long := `"` + strings.Repeat("é", 9000) + `"`
	v := &schema.VariableDoc{Name: "big", ScopeKey: 1, ProcessInstanceKey: 1}
	v.Value, v.FullValue, v.IsPreview = schema.VariablePreview(long)
	variable, listVar := ProjectVariable(v, 2, 1)
	if got := variable.Source.(*VariableDoc); !got.IsPreview || got.FullValue == nil || *got.FullValue != long || got.Value == long {
		t.Errorf("operate-variable: preview %v, value %d bytes", got.IsPreview, len(got.Value))
	}
	if got := listVar.Source.(*ListViewVariableDoc); got.VarValue != long {
		t.Errorf("list-view varValue is %d bytes, want the whole %d", len(got.VarValue), len(long))
	}
}

func TestJavaStringFunctions(t *testing.T) {
	// "hello".hashCode() is Java's documented example; "boom" by hand:
	// ((98*31+111)*31+111)*31+109.
	// "polygenelubricants" is the well-known string whose hash wraps to
	// Integer.MIN_VALUE.
	for s, want := range map[string]int32{"": 0, "hello": 99162322, "boom": 3029739, "polygenelubricants": -2147483648} {
		if got := JavaHashCode(s); got != want {
			t.Errorf("JavaHashCode(%q) = %d, want %d", s, got, want)
		}
	}
	// Wrapping and UTF-16: "😀" is the surrogate pair d83d de00.
	if got, want := JavaHashCode("😀"), int32(0xd83d*31+0xde00); got != want {
		t.Errorf("JavaHashCode(emoji) = %d, want %d", got, want)
	}
	if got := JavaStrip("\t\u00a0x \n\u001f"); got != "\u00a0x" {
		t.Errorf("JavaStrip = %q", got)
	}
	if got := *Date(ptr("2026-12-06T10:00:00.000Z")); got != "2026-12-06T10:00:00.000+0000" {
		t.Errorf("Date = %q", got)
	}
}

// Previews count Java characters (UTF-16 code units), as Camunda's exporter
// and the mappings' ignore_above do: an emoji is two.
func TestPreviewCountsUTF16Units(t *testing.T) {
	for _, tc := range []struct {
		name      string
		value     string
		preview   int // runes kept
		isPreview bool
	}{
		{"short", "abc", 3, false},
		{"exactly the threshold", strings.Repeat("a", 8191), 8191, false},
		{"one over", strings.Repeat("a", 8192), 8191, true},
		{"emoji: 4096 fit in 8192 units, 4095 in 8191", strings.Repeat("😀", 4096), 4095, true},
		{"emoji at the edge: the pair is not split", strings.Repeat("a", 8190) + "😀", 8190, true},
	} {
		got, full, isPreview := Preview(tc.value)
		if isPreview != tc.isPreview || len([]rune(got)) != tc.preview || (isPreview && (full == nil || *full != tc.value)) || (!isPreview && full != nil) {
			t.Errorf("%s: preview of %d runes, isPreview %v, full set %v; want %d runes, %v", tc.name, len([]rune(got)), isPreview, full != nil, tc.preview, tc.isPreview)
		}
	}
}

// A task's linked form (its key) and external form reference go to their
// own fields.
func TestTaskFormFields(t *testing.T) {
	for formKey, want := range map[string]string{"2251799813685300": `"formKey":"2251799813685300"`, "camunda-forms:x": `"externalFormReference":"camunda-forms:x"`} {
		b, _ := json.Marshal(ProjectTask(&schema.TaskDoc{Key: 1, FlowNodeInstanceKey: 2, ProcessInstanceKey: 3, FormKey: ptr(formKey)}, 1).Source)
		if !strings.Contains(string(b), want) || strings.Count(string(b), formKey) != 1 {
			t.Errorf("form %q: %s; want only %s", formKey, b, want)
		}
	}
}

// An element without a name has a null flowNodeName, as Camunda writes it;
// a named one keeps its name, also one equal to its id.
func TestUnnamedFlowNode(t *testing.T) {
	for name, want := range map[string]string{"": `"flowNodeName":null`, "task": `"flowNodeName":"task"`, "Charge card": `"flowNodeName":"Charge card"`} {
		b, _ := json.Marshal(ProjectFlowNodeInstance(&schema.FlowNodeInstanceDoc{Key: 1, FlowNodeID: "task", FlowNodeName: name}, 1, false).Source)
		if !strings.Contains(string(b), want) {
			t.Errorf("name %q: %s, want %s", name, b, want)
		}
	}
}
