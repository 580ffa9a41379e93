package zeebejson

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Small but real deployment resources, shipped base64-encoded in PROCESS,
// DECISION_REQUIREMENTS and FORM records.
const (
	orderBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="order-process" name="Order process" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay" />
    <bpmn:serviceTask id="pay" name="Pay">
      <bpmn:extensionElements><zeebe:taskDefinition type="payment" retries="3" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
`
	discountDMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="discounts" name="Discounts" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="customer-tier" name="Customer tier">
    <decisionTable id="tierTable" hitPolicy="FIRST">
      <input id="in_orders" label="Orders"><inputExpression typeRef="number"><text>orders</text></inputExpression></input>
      <output id="out_tier" name="tier" typeRef="string" />
      <rule id="r_gold"><inputEntry><text>&gt;= 10</text></inputEntry><outputEntry><text>"gold"</text></outputEntry></rule>
      <rule id="r_basic"><inputEntry><text>-</text></inputEntry><outputEntry><text>"basic"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="discount" name="Discount">
    <informationRequirement><requiredDecision href="#customer-tier" /></informationRequirement>
    <decisionTable id="discountTable" hitPolicy="RULE ORDER">
      <input id="in_tier" label="Tier"><inputExpression typeRef="string"><text>tier</text></inputExpression></input>
      <input id="in_total" label="Total"><inputExpression typeRef="number"><text>total</text></inputExpression></input>
      <output id="out_pct" name="discount" typeRef="number" />
      <rule id="r1"><inputEntry><text>"gold"</text></inputEntry><inputEntry><text>&gt; 100</text></inputEntry><outputEntry><text>15</text></outputEntry></rule>
      <rule id="r2"><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>0</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
`
	approveForm = `{"components":[{"label":"Approved","type":"checkbox","id":"Field_approved","key":"approved"},{"label":"Comment","type":"textarea","id":"Field_comment","key":"comment"}],"type":"default","id":"approve-order","executionPlatform":"Camunda Cloud","executionPlatformVersion":"8.6.0","schemaVersion":16}`
)

func b64s(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func md5s(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// longJSONValue is a variable's value: JSON text with nesting, escapes,
// non-ASCII and a number no float64 holds.
var longJSONValue = func() string {
	var b strings.Builder
	b.WriteString(`{"orderId":"A-4711","customer":{"id":9007199254740993,"name":"Zoë \"Z\" Müller","tags":["vip","eu-west"]},"note":"line 1\nline 2\ttabbed \\ backslash \u2603","lines":[`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%04d","qty":%d,"price":%d.%02d,"gift":%t,"meta":null}`, i, i%7+1, 10+i, i%100, i%3 == 0)
	}
	b.WriteString(`],"total":1234.50}`)
	return b.String()
}()

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// envelope returns the envelope members that follow the value, as the
// exporter writes them.
func envelope(valueType, intent string, key int64, position int64) string {
	return fmt.Sprintf(`"rejectionType":"NULL_VAL","rejectionReason":"","sourceRecordPosition":%d,"key":%d,"timestamp":1760000000123,"position":%d,"valueType":%q,"intent":%q,"recordType":"EVENT","brokerVersion":"8.8.0","recordVersion":1,"operationReference":-1,"batchOperationReference":-1,"authorizations":{}`,
		position-1, key, position, valueType, intent)
}

// Realistic records of the typed value types, with the fields Zeebe's
// JsonSerializableToJsonTest shows, partition 5 keys (above 2^53).
var (
	processLine = `{"partitionId":5,"value":{"resourceName":"order.bpmn","resource":"` + b64s(orderBPMN) + `","checksum":"` + md5s(orderBPMN) +
		`","bpmnProcessId":"order-process","version":3,"processDefinitionKey":11258999068426241,"duplicate":false,"tenantId":"<default>","deploymentKey":11258999068426239,"versionTag":"v1.2","processName":"Order process"},` +
		envelope("PROCESS", "CREATED", 11258999068426241, 9007199254741001) + `}`

	decisionRequirementsLine = `{"partitionId":5,"value":{"decisionRequirementsId":"discounts","decisionRequirementsName":"Discounts","decisionRequirementsVersion":2,"decisionRequirementsKey":11258999068426243,"namespace":"http://camunda.org/schema/1.0/dmn","resourceName":"discount.dmn","resource":"` +
		b64s(discountDMN) + `","checksum":"` + md5s(discountDMN) + `","duplicate":false,"tenantId":"<default>","deploymentKey":11258999068426239},` +
		envelope("DECISION_REQUIREMENTS", "CREATED", 11258999068426243, 9007199254741003) + `}`

	decisionLine = `{"partitionId":5,"value":{"decisionId":"discount","decisionName":"Discount","version":2,"decisionKey":11258999068426245,"decisionRequirementsKey":11258999068426243,"decisionRequirementsId":"discounts","duplicate":true,"tenantId":"<default>","deploymentKey":11258999068426239,"versionTag":"2025-10"},` +
		envelope("DECISION", "CREATED", 11258999068426245, 9007199254741005) + `}`

	formLine = `{"partitionId":5,"value":{"formId":"approve-order","version":1,"formKey":11258999068426247,"resourceName":"approve.form","checksum":"` + md5s(approveForm) +
		`","resource":"` + b64s(approveForm) + `","tenantId":"tenant-a","deploymentKey":11258999068426239,"versionTag":"","duplicate":false},` +
		envelope("FORM", "CREATED", 11258999068426247, 9007199254741007) + `}`

	// Newer broker: elementInstanceKey, source.
	varLongLine = `{"partitionId":5,"value":{"name":"order","value":` + jsonString(longJSONValue) +
		`,"scopeKey":11258999068426251,"processInstanceKey":11258999068426249,"processDefinitionKey":11258999068426241,"bpmnProcessId":"order-process","tenantId":"<default>","rootProcessInstanceKey":11258999068426249,"elementInstanceKey":11258999068426251,"source":{"type":"API"}},` +
		envelope("VARIABLE", "CREATED", 11258999068426253, 9007199254741009) + `}`

	incidentLine = `{"partitionId":5,"value":{"errorType":"JOB_NO_RETRIES","errorMessage":"No more retries left: \"payment service\" returned 503\n","bpmnProcessId":"order-process","processDefinitionKey":11258999068426241,"processInstanceKey":11258999068426249,"elementId":"pay","elementInstanceKey":11258999068426255,"jobKey":11258999068426257,"variableScopeKey":11258999068426255,"tenantId":"<default>","elementInstancePath":[[11258999068426249,11258999068426255]],"processDefinitionPath":[11258999068426241],"callingElementPath":[],"rootProcessInstanceKey":11258999068426249},` +
		envelope("INCIDENT", "CREATED", 11258999068426259, 9007199254741011) + `}`

	// A JOB of a newer broker, in the field order of Zeebe's JSON test.
	jobNewLine = `{"partitionId":5,"value":{"bpmnProcessId":"order-process","processDefinitionKey":11258999068426241,"processDefinitionVersion":3,"processInstanceKey":11258999068426249,"elementId":"pay","elementInstanceKey":11258999068426255,"elementType":"SERVICE_TASK","worker":"payment-worker-1","type":"payment","variables":{"amount":12.50,"currency":"EUR","items":[{"sku":"A","qty":2}]},"retries":3,"priority":42,"jobKind":"BPMN_ELEMENT","jobListenerEventType":"UNSPECIFIED","retryBackoff":1000,"recurringTime":-1,"errorMessage":"","errorCode":"","customHeaders":{"workerVersion":"42","region":"eu"},"deadline":1760000300000,"timeout":300000,"tenantId":"<default>","rootProcessInstanceKey":11258999068426249,"tags":["vip","rush"],"jobToUserTaskMigration":false,"changedAttributes":["retries","timeout"],"result":{"type":"USER_TASK","denied":false,"deniedReason":"","correctedAttributes":[],"corrections":{"assignee":"","dueDate":"","followUpDate":"","candidateGroupsList":[],"candidateUsersList":[],"priority":-1},"activateElements":[],"completionConditionFulfilled":false,"cancelRemainingInstances":false}},` +
		envelope("JOB", "CREATED", 11258999068426257, 9007199254741013) + `}`

	userTaskLine = `{"partitionId":5,"value":{"bpmnProcessId":"order-process","processDefinitionKey":11258999068426241,"processDefinitionVersion":3,"processInstanceKey":11258999068426249,"elementId":"approve","elementInstanceKey":11258999068426261,"assignee":"demo","candidateGroupsList":["sales","managers"],"candidateUsersList":["anna"],"creationTimestamp":1760000000100,"dueDate":"2025-11-11T11:11:00+01:00","followUpDate":"","changedAttributes":["assignee"],"externalFormReference":"","variables":{"approved":false,"comment":null},"customHeaders":{"team":"sales"},"action":"assign","formKey":11258999068426247,"userTaskKey":11258999068426263,"tenantId":"<default>","priority":80,"tags":["vip"],"deniedReason":"","listenersConfigKey":-1,"rootProcessInstanceKey":11258999068426249,"businessId":"order-4711"},` +
		envelope("USER_TASK", "ASSIGNED", 11258999068426263, 9007199254741015) + `}`

	// Two evaluated decisions (the required one first), with inputs,
	// matched rules and outputs.
	decisionEvaluationLine = `{"partitionId":5,"value":{"decisionKey":11258999068426245,"decisionId":"discount","decisionName":"Discount","decisionVersion":2,"decisionRequirementsKey":11258999068426243,"decisionRequirementsId":"discounts","decisionOutput":"[15,0]","variables":{"orders":12,"total":250.0},"processDefinitionKey":11258999068426241,"bpmnProcessId":"order-process","processInstanceKey":11258999068426249,"elementInstanceKey":11258999068426265,"elementId":"decide-discount","evaluatedDecisions":[` +
		`{"decisionId":"customer-tier","decisionName":"Customer tier","decisionKey":11258999068426267,"decisionVersion":2,"decisionOutput":"\"gold\"","decisionType":"DECISION_TABLE","tenantId":"<default>","evaluatedInputs":[{"inputId":"in_orders","inputName":"Orders","inputValue":"12"}],"matchedRules":[{"ruleId":"r_gold","ruleIndex":1,"evaluatedOutputs":[{"outputId":"out_tier","outputName":"tier","outputValue":"\"gold\""}]}],"decisionEvaluationInstanceKey":"11258999068426269-1"},` +
		`{"decisionId":"discount","decisionName":"Discount","decisionKey":11258999068426245,"decisionVersion":2,"decisionOutput":"[15,0]","decisionType":"DECISION_TABLE","tenantId":"<default>","evaluatedInputs":[{"inputId":"in_tier","inputName":"Tier","inputValue":"\"gold\""},{"inputId":"in_total","inputName":"Total","inputValue":"250.0"}],"matchedRules":[{"ruleId":"r1","ruleIndex":1,"evaluatedOutputs":[{"outputId":"out_pct","outputName":"discount","outputValue":"15"}]},{"ruleId":"r2","ruleIndex":2,"evaluatedOutputs":[{"outputId":"out_pct","outputName":"discount","outputValue":"0"}]}],"decisionEvaluationInstanceKey":"11258999068426269-2"}` +
		`],"evaluationFailureMessage":"","failedDecisionId":"","tenantId":"<default>","rootProcessInstanceKey":11258999068426249},` +
		envelope("DECISION_EVALUATION", "EVALUATED", 11258999068426269, 9007199254741017) + `}`

	// Empty values, as Zeebe's Empty*Record JSON shows them and as {}.
	emptyJobLine                = `{"partitionId":1,"position":1,"key":1,"timestamp":1,"recordType":"EVENT","valueType":"JOB","intent":"CREATED","value":{"type":"","processDefinitionVersion":-1,"elementId":"","bpmnProcessId":"","processDefinitionKey":-1,"processInstanceKey":-1,"elementInstanceKey":-1,"elementType":"UNSPECIFIED","variables":{},"worker":"","retries":-1,"priority":0,"jobKind":"BPMN_ELEMENT","jobListenerEventType":"UNSPECIFIED","retryBackoff":0,"recurringTime":-1,"errorMessage":"","errorCode":"","customHeaders":{},"deadline":-1,"timeout":-1,"tenantId":"<default>","rootProcessInstanceKey":-1,"tags":[],"jobToUserTaskMigration":false,"changedAttributes":[],"result":{"type":"USER_TASK","denied":false,"deniedReason":"","correctedAttributes":[],"corrections":{"assignee":"","dueDate":"","followUpDate":"","candidateGroupsList":[],"candidateUsersList":[],"priority":-1},"activateElements":[],"completionConditionFulfilled":false,"cancelRemainingInstances":false}}}`
	emptyDecisionEvaluationLine = `{"partitionId":1,"position":1,"key":1,"timestamp":1,"recordType":"EVENT","valueType":"DECISION_EVALUATION","intent":"EVALUATED","value":{"decisionKey":-1,"decisionId":"","decisionName":"","decisionVersion":-1,"decisionRequirementsKey":-1,"decisionRequirementsId":"","decisionOutput":"null","variables":{},"processDefinitionKey":-1,"bpmnProcessId":"","processInstanceKey":-1,"elementInstanceKey":-1,"elementId":"","evaluatedDecisions":[],"evaluationFailureMessage":"","failedDecisionId":"","tenantId":"<default>","rootProcessInstanceKey":-1}}`
	emptyIncidentLine           = `{"partitionId":1,"position":1,"key":1,"timestamp":1,"recordType":"COMMAND","valueType":"INCIDENT","intent":"RESOLVE","value":{}}`

	// Unknown fields at every level, values before the envelope's valueType
	// and after it, pretty printed.
	decisionEvaluationExtraLine = "{\"valueType\" : \"DECISION_EVALUATION\",\n \"value\" : {\"decisionId\" : \"d\", \"evaluatedDecisions\" : [ {\"decisionId\" : \"d\", \"future\" : [1, {\"a\" : 2}],\n \"matchedRules\" : [ {\"ruleIndex\" : 3, \"evaluatedOutputs\" : [ {\"outputValue\" : \"1\", \"x\" : null} ], \"y\" : true} ],\n \"evaluatedInputs\" : [ {\"z\" : {}} ] } ], \"later\" : \"v\"},\n \"partitionId\":1,\"position\":1,\"key\":1,\"timestamp\":1,\"recordType\":\"EVENT\",\"intent\":\"EVALUATED\"}"
)

// typedLines are realistic records of every typed value type other than
// PROCESS_INSTANCE, with the Record oneof member they decode into.
var typedLines = []struct{ name, line, value string }{
	{"process with BPMN resource", processLine, "process"},
	{"decision requirements with DMN resource", decisionRequirementsLine, "decision_requirements"},
	{"decision", decisionLine, "decision"},
	{"form with form schema resource", formLine, "form"},
	{"variable with long JSON text value", varLongLine, "variable"},
	{"incident with paths", incidentLine, "incident"},
	{"job of a newer broker with result", jobNewLine, "job"},
	{"user task", userTaskLine, "user_task"},
	{"decision evaluation with two decisions", decisionEvaluationLine, "decision_evaluation"},
	{"job with Zeebe's empty values", emptyJobLine, "job"},
	{"decision evaluation with Zeebe's empty values", emptyDecisionEvaluationLine, "decision_evaluation"},
	{"incident empty value", emptyIncidentLine, "incident"},
	{"decision evaluation with unknown fields, pretty", decisionEvaluationExtraLine, "decision_evaluation"},
}

// valueMember names the Record oneof member that is set.
func valueMember(r *recordv1.Record) string {
	m := r.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("value"))
	if fd == nil {
		return ""
	}
	return string(fd.Name())
}

func TestDecodeTypedValues(t *testing.T) {
	pr := mustDecode(t, processLine).GetProcess()
	if string(pr.Resource) != orderBPMN || md5.Sum(pr.Resource) != [16]byte(pr.Checksum) {
		t.Errorf("process resource or checksum wrong: %q %x", pr.Resource, pr.Checksum)
	}
	if pr.ProcessDefinitionKey != 11258999068426241 || pr.DeploymentKey != 11258999068426239 || pr.Version != 3 ||
		pr.VersionTag != "v1.2" || pr.ProcessName != "Order process" || pr.Duplicate || pr.TenantId != "<default>" {
		t.Errorf("process = %v", pr)
	}

	dr := mustDecode(t, decisionRequirementsLine).GetDecisionRequirements()
	if string(dr.Resource) != discountDMN || md5.Sum(dr.Resource) != [16]byte(dr.Checksum) ||
		dr.DecisionRequirementsKey != 11258999068426243 || dr.Namespace != "http://camunda.org/schema/1.0/dmn" {
		t.Errorf("decision requirements = %v", dr)
	}
	dc := mustDecode(t, decisionLine).GetDecision()
	if !dc.Duplicate || dc.DecisionKey != 11258999068426245 || dc.VersionTag != "2025-10" {
		t.Errorf("decision = %v", dc)
	}
	fm := mustDecode(t, formLine).GetForm()
	if string(fm.Resource) != approveForm || fm.FormKey != 11258999068426247 || fm.TenantId != "tenant-a" {
		t.Errorf("form = %v", fm)
	}

	v := mustDecode(t, varLongLine).GetVariable()
	if v.Value != longJSONValue || !json.Valid([]byte(v.Value)) {
		t.Errorf("variable value changed:\n got %s\nwant %s", v.Value, longJSONValue)
	}
	if v.SourceJson != `{"type":"API"}` || v.ElementInstanceKey != 11258999068426251 || v.RootProcessInstanceKey != 11258999068426249 {
		t.Errorf("variable = %v", v)
	}

	inc := mustDecode(t, incidentLine).GetIncident()
	if inc.ErrorType != "JOB_NO_RETRIES" || inc.ErrorMessage != "No more retries left: \"payment service\" returned 503\n" ||
		inc.JobKey != 11258999068426257 || len(inc.ElementInstancePath) != 1 || inc.ElementInstancePath[0].Keys[1] != 11258999068426255 ||
		inc.CallingElementPath != nil || inc.OrdinalKey != 0 || !strings.Contains(strings.Join(presentNames(incidentSpec, inc), ","), "callingElementPath") {
		t.Errorf("incident = %v", inc)
	}

	j := mustDecode(t, jobNewLine).GetJob()
	if j.CustomHeadersJson != `{"workerVersion":"42","region":"eu"}` || j.VariablesJson != `{"amount":12.50,"currency":"EUR","items":[{"sku":"A","qty":2}]}` ||
		!strings.HasPrefix(j.ResultJson, `{"type":"USER_TASK","denied":false`) || j.Priority != 42 || j.ElementType != "SERVICE_TASK" ||
		j.Deadline != 1760000300000 || j.Timeout != 300000 || j.RetryBackoff != 1000 || j.Retries != 3 ||
		strings.Join(j.Tags, ",") != "vip,rush" || strings.Join(j.ChangedAttributes, ",") != "retries,timeout" {
		t.Errorf("job = %v", j)
	}

	ut := mustDecode(t, userTaskLine).GetUserTask()
	if ut.UserTaskKey != 11258999068426263 || strings.Join(ut.CandidateGroupsList, ",") != "sales,managers" || ut.Priority != 80 ||
		ut.VariablesJson != `{"approved":false,"comment":null}` || ut.CustomHeadersJson != `{"team":"sales"}` || ut.BusinessId != "order-4711" ||
		ut.ListenersConfigKey != -1 || ut.CreationTimestamp != 1760000000100 {
		t.Errorf("user task = %v", ut)
	}

	de := mustDecode(t, decisionEvaluationLine).GetDecisionEvaluation()
	want := &recordv1.DecisionEvaluationValue{
		DecisionKey: 11258999068426245, DecisionId: "discount", DecisionName: "Discount", DecisionVersion: 2,
		DecisionRequirementsKey: 11258999068426243, DecisionRequirementsId: "discounts", DecisionOutput: "[15,0]",
		VariablesJson: `{"orders":12,"total":250.0}`, ProcessDefinitionKey: 11258999068426241, BpmnProcessId: "order-process",
		ProcessInstanceKey: 11258999068426249, ElementInstanceKey: 11258999068426265, ElementId: "decide-discount",
		TenantId: "<default>", RootProcessInstanceKey: 11258999068426249,
		// Listed: the present fields that hold their default (Encode
		// writes the others because they differ from it).
		PresentFieldNumbers: presentNumbers(decisionEvaluationSpec, "evaluationFailureMessage", "failedDecisionId", "tenantId"),
		EvaluatedDecisions: []*recordv1.EvaluatedDecisionValue{{
			DecisionId: "customer-tier", DecisionName: "Customer tier", DecisionKey: 11258999068426267, DecisionVersion: 2,
			DecisionType: "DECISION_TABLE", DecisionOutput: `"gold"`, TenantId: "<default>",
			DecisionEvaluationInstanceKey: "11258999068426269-1",
			EvaluatedInputs:               []*recordv1.EvaluatedInputValue{{InputId: "in_orders", InputName: "Orders", InputValue: "12"}},
			MatchedRules: []*recordv1.MatchedRuleValue{{RuleId: "r_gold", RuleIndex: 1,
				EvaluatedOutputs: []*recordv1.EvaluatedOutputValue{{OutputId: "out_tier", OutputName: "tier", OutputValue: `"gold"`}}}},
			PresentFieldNumbers: presentNumbers(evaluatedDecisionSpec, "tenantId"),
		}, {
			DecisionId: "discount", DecisionName: "Discount", DecisionKey: 11258999068426245, DecisionVersion: 2,
			DecisionType: "DECISION_TABLE", DecisionOutput: "[15,0]", TenantId: "<default>",
			DecisionEvaluationInstanceKey: "11258999068426269-2",
			EvaluatedInputs: []*recordv1.EvaluatedInputValue{
				{InputId: "in_tier", InputName: "Tier", InputValue: `"gold"`},
				{InputId: "in_total", InputName: "Total", InputValue: "250.0"},
			},
			MatchedRules: []*recordv1.MatchedRuleValue{
				{RuleId: "r1", RuleIndex: 1,
					EvaluatedOutputs: []*recordv1.EvaluatedOutputValue{{OutputId: "out_pct", OutputName: "discount", OutputValue: "15"}}},
				{RuleId: "r2", RuleIndex: 2,
					EvaluatedOutputs: []*recordv1.EvaluatedOutputValue{{OutputId: "out_pct", OutputName: "discount", OutputValue: "0"}}},
			},
			PresentFieldNumbers: presentNumbers(evaluatedDecisionSpec, "tenantId"),
		}},
	}
	if !proto.Equal(de, want) {
		t.Errorf("decision evaluation mismatch\n got: %v\nwant: %v", de, want)
	}

	// Unknown fields are kept at every level.
	de = mustDecode(t, decisionEvaluationExtraLine).GetDecisionEvaluation()
	ed := de.GetEvaluatedDecisions()[0]
	if de.ExtraJson != `{"later":"v"}` || ed.ExtraJson != `{"future":[1,{"a":2}]}` ||
		ed.MatchedRules[0].ExtraJson != `{"y":true}` || ed.MatchedRules[0].EvaluatedOutputs[0].ExtraJson != `{"x":null}` ||
		ed.EvaluatedInputs[0].ExtraJson != `{"z":{}}` || ed.EvaluatedInputs[0].PresentFields != nil ||
		ed.MatchedRules[0].RuleIndex != 3 || ed.MatchedRules[0].RuleId != "" || ed.DecisionKey != -1 {
		t.Errorf("decision evaluation with extras = %v", de)
	}
}

func TestDecodeTypedDefaults(t *testing.T) {
	for _, tc := range []struct {
		valueType string
		check     func(r *recordv1.Record) bool
	}{
		{"PROCESS", func(r *recordv1.Record) bool {
			v := r.GetProcess()
			return v.Version == -1 && v.ProcessDefinitionKey == -1 && v.DeploymentKey == -1 && v.TenantId == "<default>" && v.Resource == nil
		}},
		{"DECISION_REQUIREMENTS", func(r *recordv1.Record) bool {
			v := r.GetDecisionRequirements()
			return v.DecisionRequirementsVersion == -1 && v.DecisionRequirementsKey == -1 && v.TenantId == "<default>"
		}},
		{"DECISION", func(r *recordv1.Record) bool {
			v := r.GetDecision()
			return v.Version == -1 && v.DecisionKey == -1 && v.DecisionRequirementsKey == -1 && !v.Duplicate
		}},
		{"FORM", func(r *recordv1.Record) bool { v := r.GetForm(); return v.FormKey == -1 && v.Version == -1 }},
		{"VARIABLE", func(r *recordv1.Record) bool {
			v := r.GetVariable()
			return v.ScopeKey == -1 && v.ElementInstanceKey == -1 && v.SourceJson == "" && v.Value == ""
		}},
		{"INCIDENT", func(r *recordv1.Record) bool {
			v := r.GetIncident()
			return v.ErrorType == "UNKNOWN" && v.JobKey == -1 && v.OrdinalKey == 0 && !v.AuthorizedAnonymousUser
		}},
		{"JOB", func(r *recordv1.Record) bool {
			v := r.GetJob()
			return v.Retries == -1 && v.RetryBackoff == 0 && v.Deadline == -1 && v.Timeout == -1 && v.JobKind == "BPMN_ELEMENT" &&
				v.JobListenerEventType == "UNSPECIFIED" && v.ElementType == "UNSPECIFIED" && v.Priority == 0 &&
				v.VariablesJson == "" && v.ProcessDefinitionVersion == -1
		}},
		{"USER_TASK", func(r *recordv1.Record) bool {
			v := r.GetUserTask()
			return v.Priority == 50 && v.UserTaskKey == -1 && v.FormKey == -1 && v.CreationTimestamp == -1 && v.ListenersConfigKey == -1
		}},
		{"DECISION_EVALUATION", func(r *recordv1.Record) bool {
			v := r.GetDecisionEvaluation()
			return v.DecisionOutput == "null" && v.DecisionVersion == -1 && v.EvaluatedDecisions == nil && v.OrdinalKey == 0
		}},
	} {
		line := `{"partitionId":1,"position":1,"key":1,"timestamp":1,"recordType":"EVENT","valueType":"` + tc.valueType + `","intent":"X","value":{}}`
		r := mustDecode(t, line)
		if !tc.check(r) {
			t.Errorf("%s: defaults wrong: %v", tc.valueType, r)
		}
		out, err := Encode(r)
		if err != nil || !bytes.HasSuffix(out, []byte(`"value":{}}`)) {
			t.Errorf("%s: empty value not reproduced: %s (%v)", tc.valueType, out, err)
		}
	}
}

// TestMistypedTypedFields: a field that does not fit its type is an error
// naming its path, at every level.
func TestMistypedTypedFields(t *testing.T) {
	const ed = `{"decisionId":"d","matchedRules":[{"ruleIndex":1},{"ruleId":"r","ruleIndex":"2"}]}`
	tests := []struct {
		valueType, value, field, msg string
	}{
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[` + ed + `]}`, "value.evaluatedDecisions[0].matchedRules[1].ruleIndex", `expected integer, got string "2"`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[{},{"evaluatedInputs":[{"inputId":"a"},{"inputValue":5}]}]}`, "value.evaluatedDecisions[1].evaluatedInputs[1].inputValue", `expected string, got number 5`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[{"matchedRules":[{"evaluatedOutputs":[{"outputName":null}]}]}]}`, "value.evaluatedDecisions[0].matchedRules[0].evaluatedOutputs[0].outputName", `expected string, got null`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[{"matchedRules":[{"ruleIndex":2147483648}]}]}`, "value.evaluatedDecisions[0].matchedRules[0].ruleIndex", `out of range`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[{"matchedRules":{}}]}`, "value.evaluatedDecisions[0].matchedRules", `expected array, got object`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[{},"x"]}`, "value.evaluatedDecisions[1]", `expected object, got string "x"`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":{}}`, "value.evaluatedDecisions", `expected array, got object`},
		{"DECISION_EVALUATION", `{"evaluatedDecisions":[{"decisionId":"a","decisionId":"b"}]}`, "value.evaluatedDecisions[0].decisionId", `duplicate`},
		{"DECISION_EVALUATION", `{"decisionKey":1.5}`, "value.decisionKey", `expected integer, got number 1.5`},
		{"DECISION_EVALUATION", `{"variables":"{}"}`, "value.variables", `expected object, got string`},
		{"DECISION_EVALUATION", `{"decisionOutput":{"a":1}}`, "value.decisionOutput", `expected string, got object`},
		{"JOB", `{"customHeaders":[]}`, "value.customHeaders", `expected object, got array`},
		{"JOB", `{"variables":null}`, "value.variables", `expected object, got null`},
		{"JOB", `{"result":"x"}`, "value.result", `expected object`},
		{"JOB", `{"retries":"3"}`, "value.retries", `expected integer, got string "3"`},
		{"JOB", `{"deadline":1e12}`, "value.deadline", `expected integer, got number 1e12`},
		{"JOB", `{"jobToUserTaskMigration":"false"}`, "value.jobToUserTaskMigration", `expected boolean, got string "false"`},
		{"JOB", `{"jobToUserTaskMigration":0}`, "value.jobToUserTaskMigration", `expected boolean, got number 0`},
		{"JOB", `{"tags":["a",{}]}`, "value.tags[1]", `expected string, got object`},
		{"JOB", `{"type":"a","type":"b"}`, "value.type", `duplicate`},
		{"USER_TASK", `{"candidateGroupsList":"sales"}`, "value.candidateGroupsList", `expected array, got string`},
		{"USER_TASK", `{"priority":2147483648}`, "value.priority", `out of range`},
		{"INCIDENT", `{"elementInstancePath":[[1],["2"]]}`, "value.elementInstancePath[1][0]", `expected integer, got string "2"`},
		{"INCIDENT", `{"authorizedAnonymousUser":null}`, "value.authorizedAnonymousUser", `expected boolean, got null`},
		{"VARIABLE", `{"value":{"a":1}}`, "value.value", `expected string, got object`},
		{"VARIABLE", `{"source":"API"}`, "value.source", `expected object, got string "API"`},
		{"VARIABLE", `{"protectionModes":[1]}`, "value.protectionModes[0]", `expected string, got number 1`},
		{"PROCESS", `{"resource":"PGJwbW4v"}`, "", ""}, // valid, the base of the next cases
		{"PROCESS", `{"resource":12}`, "value.resource", `expected base64 string, got number 12`},
		{"PROCESS", `{"resource":"PGJwbW4"}`, "value.resource", `invalid base64`},     // padding missing
		{"PROCESS", `{"checksum":"YR=="}`, "value.checksum", `invalid base64`},        // non-zero padding bits
		{"PROCESS", `{"checksum":"YQ==\n"}`, "value.checksum", `line breaks`},         // would not come back
		{"PROCESS", `{"checksum":"Y\u0051=="}`, "", ""},                               // an escape is fine
		{"PROCESS", `{"resource":"PGJw-bW4v"}`, "value.resource", `invalid base64`},   // URL alphabet
		{"FORM", `{"resource":"eyJh Ijox fQ=="}`, "value.resource", `invalid base64`}, // space
		{"DECISION_REQUIREMENTS", `{"checksum":[]}`, "value.checksum", `expected base64 string, got array`},
		{"DECISION", `{"duplicate":"true"}`, "value.duplicate", `expected boolean`},
	}
	for _, tc := range tests {
		t.Run(tc.valueType+" "+tc.value, func(t *testing.T) {
			m := validEnvelope()
			m["valueType"] = `"` + tc.valueType + `"`
			m["value"] = tc.value
			r, err := Decode([]byte(buildLine(m)))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				out, err := Encode(r)
				if err != nil {
					t.Fatal(err)
				}
				checkSemantic(t, []byte(buildLine(m)), out)
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("err = %v, want *FieldError for %q", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), `"`+tc.field+`"`) {
				t.Errorf("message %q should name %q and contain %q", err, tc.field, tc.msg)
			}
		})
	}
}

// TestBase64Fidelity: resources come back as the same base64 text.
func TestBase64Fidelity(t *testing.T) {
	for _, payload := range []string{"", "a", "ab", "abc", "abcd", "\x00\xff\xfe", orderBPMN, discountDMN} {
		enc := b64s(payload)
		line := `{"partitionId":1,"position":1,"key":1,"timestamp":1,"recordType":"EVENT","valueType":"FORM","intent":"CREATED","value":{"resource":"` + enc + `","checksum":"` + md5s(payload) + `"}}`
		r := mustDecode(t, line)
		if string(r.GetForm().Resource) != payload {
			t.Errorf("resource %q decoded as %q", payload, r.GetForm().Resource)
		}
		out, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`"resource":"`+enc+`"`)) || !bytes.Contains(out, []byte(`"checksum":"`+md5s(payload)+`"`)) {
			t.Errorf("base64 not reproduced for %q:\n%s", payload, out)
		}
	}
}

// TestSpecsMatchSchema checks the field tables against the generated
// messages: every field is covered once, under the protobuf name derived
// from its JSON name, with an accessor that reaches that very field.
func TestSpecsMatchSchema(t *testing.T) {
	checkSpec(t, piSpec)
	checkSpec(t, processSpec)
	checkSpec(t, decisionRequirementsSpec)
	checkSpec(t, decisionSpec)
	checkSpec(t, formSpec)
	checkSpec(t, variableSpec)
	checkSpec(t, incidentSpec)
	checkSpec(t, jobSpec)
	checkSpec(t, userTaskSpec)
	checkSpec(t, decisionEvaluationSpec)
	checkSpec(t, evaluatedDecisionSpec)
	checkSpec(t, evaluatedInputSpec)
	checkSpec(t, matchedRuleSpec)
	checkSpec(t, evaluatedOutputSpec)

	// Every typed oneof member of Record is handled by Decode and Encode.
	rd := (&recordv1.Record{}).ProtoReflect().Descriptor()
	members := rd.Oneofs().ByName("value").Fields()
	handled := map[string]bool{"value_json": true}
	for _, tl := range typedLines {
		handled[tl.value] = true
	}
	handled["process_instance"] = true
	for i := range members.Len() {
		if name := string(members.Get(i).Name()); !handled[name] {
			t.Errorf("oneof member %s has no test record", name)
		}
	}
}

func checkSpec[T any](t *testing.T, sp *msgSpec[T]) {
	t.Helper()
	m := any(new(T)).(proto.Message)
	md := m.ProtoReflect().Descriptor()
	seen := map[protoreflect.Name]bool{}
	for i := range sp.fields {
		fd := &sp.fields[i]
		pf := md.Fields().ByName(protoreflect.Name(fd.proto))
		if pf == nil {
			t.Errorf("%s: no field %s for JSON %q", md.Name(), fd.proto, fd.name)
			continue
		}
		seen[pf.Name()] = true
		// Set the field through the accessor, read it through reflection.
		msg := new(T)
		var want any
		switch fd.kind {
		case kString, kEnum, kObject:
			*fd.str(msg) = "x"
			want = "x"
		case kInt64:
			*fd.i64(msg) = 7
			want = int64(7)
		case kInt32:
			*fd.i32(msg) = 7
			want = int32(7)
		case kBool:
			*fd.bln(msg) = true
			want = true
		case kBytes:
			*fd.byt(msg) = []byte("x")
			want = "x"
		case kStrings:
			*fd.strs(msg) = []string{"x"}
			want = 1
		case kInt64s:
			*fd.i64s(msg) = []int64{7}
			want = 1
		case kInt32s:
			*fd.i32s(msg) = []int32{7}
			want = 1
		case kPath:
			*fd.path(msg) = []*recordv1.ElementInstancePathEntry{{}}
			want = 1
		case kList:
			want = 0 // checked by the nested spec and the round trips
		}
		v := any(msg).(proto.Message).ProtoReflect().Get(pf)
		var got any
		switch {
		case pf.IsList():
			got = v.List().Len()
		case pf.Kind() == protoreflect.BytesKind:
			got = string(v.Bytes())
		default:
			got = v.Interface()
		}
		if got != want {
			t.Errorf("%s.%s: accessor of %q reaches another field (got %v, want %v)", md.Name(), pf.Name(), fd.name, got, want)
		}
	}
	for _, name := range []protoreflect.Name{"present_fields", "present_field_numbers", "extra_json"} {
		if md.Fields().ByName(name) == nil {
			t.Errorf("%s has no %s", md.Name(), name)
		}
		seen[name] = true
	}
	msg := new(T)
	*sp.present(msg) = []string{"p"}
	*sp.presentNums(msg) = []int32{1, 2}
	*sp.extra(msg) = "e"
	rm := any(msg).(proto.Message).ProtoReflect()
	if rm.Get(md.Fields().ByName("present_fields")).List().Len() != 1 || rm.Get(md.Fields().ByName("present_field_numbers")).List().Len() != 2 ||
		rm.Get(md.Fields().ByName("extra_json")).String() != "e" {
		t.Errorf("%s: present/extra accessors wrong", md.Name())
	}
	for i := range md.Fields().Len() {
		if f := md.Fields().Get(i); !seen[f.Name()] {
			t.Errorf("%s.%s is not in the spec", md.Name(), f.Name())
		}
	}
}

// TestEncodeTypedHandBuilt: records built in Go without present_fields get
// the fields that differ from the absent-defaults; errors name the path.
func TestEncodeTypedHandBuilt(t *testing.T) {
	r := &recordv1.Record{
		PartitionId: 1, Position: 2, SourceRecordPosition: -1, Key: 3, Timestamp: 4,
		RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
		RejectionType: "NULL_VAL", OperationReference: -1, BatchOperationReference: -1,
		Value: &recordv1.Record_Job{Job: &recordv1.JobValue{
			Type: "payment", VariablesJson: ` { "a" : 1 } `, Retries: 3, RetryBackoff: 0, Deadline: -1, Timeout: -1,
			RecurringTime: -1, ElementInstanceKey: -1, ProcessInstanceKey: -1, ProcessDefinitionVersion: -1,
			ProcessDefinitionKey: -1, TenantId: "<default>", JobKind: "BPMN_ELEMENT", JobListenerEventType: "UNSPECIFIED",
			ElementType: "UNSPECIFIED", RootProcessInstanceKey: -1, Tags: []string{"x"}, JobToUserTaskMigration: true,
		}},
	}
	out, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `"value":{"type":"payment","variables":{"a":1},"retries":3,"tags":["x"],"jobToUserTaskMigration":true}}`
	if !bytes.HasSuffix(out, []byte(want)) {
		t.Errorf("got %s\nwant suffix %s", out, want)
	}

	de := func(ed *recordv1.EvaluatedDecisionValue) *recordv1.Record {
		return &recordv1.Record{RecordType: "EVENT", ValueType: "DECISION_EVALUATION", Intent: "EVALUATED",
			Value: &recordv1.Record_DecisionEvaluation{DecisionEvaluation: &recordv1.DecisionEvaluationValue{
				EvaluatedDecisions: []*recordv1.EvaluatedDecisionValue{{}, ed},
			}}}
	}
	for _, tc := range []struct {
		r     *recordv1.Record
		field string
	}{
		{de(nil), "decision_evaluation.evaluated_decisions[1]"},
		{de(&recordv1.EvaluatedDecisionValue{PresentFields: []string{"nope"}}), "decision_evaluation.evaluated_decisions[1].present_fields"},
		{de(&recordv1.EvaluatedDecisionValue{MatchedRules: []*recordv1.MatchedRuleValue{{ExtraJson: `{"ruleId":"x"}`}}}),
			"decision_evaluation.evaluated_decisions[1].matched_rules[0].extra_json"},
		{de(&recordv1.EvaluatedDecisionValue{MatchedRules: []*recordv1.MatchedRuleValue{{EvaluatedOutputs: []*recordv1.EvaluatedOutputValue{nil}}}}),
			"decision_evaluation.evaluated_decisions[1].matched_rules[0].evaluated_outputs[0]"},
		{&recordv1.Record{RecordType: "E", ValueType: "JOB", Intent: "I", Value: &recordv1.Record_Job{Job: &recordv1.JobValue{VariablesJson: "[]"}}}, "job.variables_json"},
		{&recordv1.Record{RecordType: "E", ValueType: "JOB", Intent: "I", Value: &recordv1.Record_Job{Job: &recordv1.JobValue{PresentFields: []string{"variables"}}}}, "job.variables_json"},
		{&recordv1.Record{RecordType: "E", ValueType: "JOB", Intent: "I", Value: &recordv1.Record_Job{Job: &recordv1.JobValue{ExtraJson: `{"type":"x"}`}}}, "job.extra_json"},
		{&recordv1.Record{RecordType: "E", ValueType: "JOB", Intent: "I", Value: &recordv1.Record_Job{}}, "job"},
		{&recordv1.Record{RecordType: "E", ValueType: "FORM", Intent: "I", Value: &recordv1.Record_Form{}}, "form"},
		{&recordv1.Record{RecordType: "E", ValueType: "VARIABLE", Intent: "I", Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{SourceJson: "{"}}}, "variable.source_json"},
	} {
		out, err := Encode(tc.r)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("Encode = %s, %v; want *FieldError for %q", out, err, tc.field)
		}
	}
}

// TestTypedGolden pins the output of a typed record: key order, defaults,
// compaction of JSON object text.
func TestTypedGolden(t *testing.T) {
	in := `{"partitionId":2,"value":{"value":"{\"a\": [1, 2]}","name":"v","source" : { "type" : "API" },"scopeKey":4503599627370497,"x":[ 1 ]},"key":4503599627370499,"timestamp":1,"position":2,"valueType":"VARIABLE","intent":"CREATED","recordType":"EVENT"}`
	const want = `{"partitionId":2,"position":2,"sourceRecordPosition":-1,"key":4503599627370499,"timestamp":1,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","rejectionType":"NULL_VAL","rejectionReason":"","brokerVersion":"","recordVersion":0,"operationReference":-1,"batchOperationReference":-1,"value":{"name":"v","value":"{\"a\": [1, 2]}","scopeKey":4503599627370497,"source":{"type":"API"},"x":[1]}}`
	out, err := Encode(mustDecode(t, in))
	if err != nil || string(out) != want {
		t.Errorf("Encode:\n got %s (%v)\nwant %s", out, err, want)
	}
}

// TestFastInts checks the fast path for integer arrays against the
// validating one: same values where it accepts, and it refuses whatever the
// slow path would reject or read differently.
func TestFastInts(t *testing.T) {
	for _, in := range []string{
		`[]`, `[ ]`, `[1]`, `[ 1 , -2 ,3 ]`, "[\n1,\t2\r]", `[0]`, `[-0]`, `[9223372036854775807]`, `[-9223372036854775808]`,
		`[9223372036854775808]`, `[-9223372036854775809]`, `[12345678901234567890]`, `[2147483648]`, `[-2147483649]`,
		`[01]`, `[1.0]`, `[1e3]`, `[1E3]`, `["1"]`, `[null]`, `[[1]]`, `[1,]`, `[,1]`, `[1 2]`, `[-]`, `[`, `[1`, `[1,`, `1`, `[true]`,
	} {
		for _, r := range [][2]int64{{math.MinInt64, math.MaxInt64}, {math.MinInt32, math.MaxInt32}} {
			fast, end, ok := fastInts([]byte(in), 0, nil, r[0], r[1])
			s := scanner{data: []byte(in)}
			slow, err := s.appendInts(nil, "f", r[0], r[1]) // takes the fast path first
			ref := scanner{data: []byte(in)}
			var want []int64
			var wantErr error
			func() { // the slow path alone
				more, e := ref.openArray("f")
				for i := 0; more && e == nil; i++ {
					var v int64
					if v, e = ref.readInt("", r[0], r[1]); e != nil {
						break
					}
					want = append(want, v)
					more, e = ref.nextElement()
				}
				wantErr = e
			}()
			if ok {
				if wantErr != nil || fmt.Sprint(fast) != fmt.Sprint(want) || end != ref.pos {
					t.Errorf("%s %v: fast path accepted %v (end %d), slow path gives %v, %v (end %d)", in, r, fast, end, want, wantErr, ref.pos)
				}
			}
			if (err == nil) != (wantErr == nil) || (err == nil && fmt.Sprint(slow) != fmt.Sprint(want)) {
				t.Errorf("%s %v: appendInts = %v, %v; want %v, %v", in, r, slow, err, want, wantErr)
			}
		}
	}
}

func TestDecodeLenientKeepsAMistypedValueVerbatim(t *testing.T) {
	line := []byte(`{"partitionId":3,"position":7,"key":6755399441055745,"timestamp":1,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","value":{"name":"amount","value":5,"scopeKey":1}}`)
	if _, err := Decode(line); err == nil || !strings.Contains(err.Error(), "value.value") {
		t.Fatalf("strict Decode: %v", err)
	}
	r, err := DecodeLenient(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetValueJson() != `{"name":"amount","value":5,"scopeKey":1}` || !strings.Contains(r.ValueError, "value.value") || r.Position != 7 || r.Key != 6755399441055745 {
		t.Fatalf("lenient record: value %q error %q", r.GetValueJson(), r.ValueError)
	}
	back, err := Encode(r)
	if err != nil || !strings.Contains(string(back), `"value":{"name":"amount","value":5,"scopeKey":1}`) {
		t.Fatalf("re-encoded %s, %v", back, err)
	}
	// Envelope errors stay errors.
	if _, err := DecodeLenient([]byte(`{"partitionId":"3"}`)); err == nil {
		t.Fatal("lenient decode accepted a mistyped envelope")
	}
}

// TestMemberOrderIsLearnedNotAssumed: the decoder learns the order
// producers write members in; objects whose members come in another order,
// alternating with the first, decode to the same records every time.
func TestMemberOrderIsLearnedNotAssumed(t *testing.T) {
	typed := 0
	for _, bl := range benchLines {
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(bl.line), &top); err != nil {
			t.Fatal(err)
		}
		var value map[string]json.RawMessage
		if err := json.Unmarshal(top["value"], &value); err != nil {
			continue // not an object
		}
		// encoding/json writes map keys sorted: another member order than
		// the line's, in the record and in its value.
		sortedValue, _ := json.Marshal(value)
		top["value"] = sortedValue
		sorted, _ := json.Marshal(top)
		want, err := Decode([]byte(bl.line))
		if err != nil {
			t.Fatalf("%s: %v", bl.name, err)
		}
		if want.GetValueJson() != "" {
			continue // an untyped value is kept as its text, in its order
		}
		for i, line := range []string{string(sorted), bl.line, string(sorted), string(sorted), bl.line} {
			got, err := Decode([]byte(line))
			if err != nil {
				t.Fatalf("%s #%d: %v", bl.name, i, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("%s #%d: decoded\n%v\nwant\n%v", bl.name, i, got, want)
			}
		}
		typed++
	}
	if typed < 8 {
		t.Errorf("only %d typed lines checked", typed)
	}
}

// presentNumbers is the present_field_numbers of the named fields of sp.
func presentNumbers[T any](sp *msgSpec[T], names ...string) []int32 {
	var out []int32
	for _, n := range names {
		out = append(out, sp.fields[sp.index[n]].num)
	}
	return out
}

// presentNames lists the fields m names present, by JSON name, from both
// present_fields and present_field_numbers.
func presentNames[T any](sp *msgSpec[T], m *T) []string {
	names := slices.Clone(*sp.present(m))
	for _, num := range *sp.presentNums(m) {
		names = append(names, sp.fields[sp.byNum[num]].name)
	}
	return names
}
