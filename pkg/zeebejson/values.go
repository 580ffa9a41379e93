package zeebejson

import (
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// The typed value types: Zeebe's valueType, the Record oneof member and the
// spec of its message. Field lists follow Zeebe's protocol (the
// *RecordValue interfaces and the JSON its records serialize to, up to
// 8.10), in the order Encode writes them; fields older engines wrote are
// kept too. Absent fields decode to Zeebe's defaults: -1 for keys, versions,
// timestamps and indexes unless noted, "" for strings, "<default>" for
// tenantId, the enum's default for enum-like strings, false, empty lists
// and bytes, "" (absent) for JSON object text.

// Value types with a typed message.
const (
	valueTypeProcessInstance      = "PROCESS_INSTANCE"
	valueTypeProcess              = "PROCESS"
	valueTypeDecisionRequirements = "DECISION_REQUIREMENTS"
	valueTypeDecision             = "DECISION"
	valueTypeForm                 = "FORM"
	valueTypeVariable             = "VARIABLE"
	valueTypeIncident             = "INCIDENT"
	valueTypeJob                  = "JOB"
	valueTypeUserTask             = "USER_TASK"
	valueTypeDecisionEvaluation   = "DECISION_EVALUATION"
)

// Zeebe's defaults for absent fields.
const (
	defaultRejectionType = "NULL_VAL"
	defaultUnspecified   = "UNSPECIFIED"
	defaultTenantID      = "<default>"
)

type (
	piV  = recordv1.ProcessInstanceValue
	prV  = recordv1.ProcessValue
	drV  = recordv1.DecisionRequirementsValue
	dcV  = recordv1.DecisionValue
	fmV  = recordv1.FormValue
	varV = recordv1.VariableValue
	incV = recordv1.IncidentValue
	jobV = recordv1.JobValue
	utV  = recordv1.UserTaskValue
	deV  = recordv1.DecisionEvaluationValue
	edV  = recordv1.EvaluatedDecisionValue
	eiV  = recordv1.EvaluatedInputValue
	mrV  = recordv1.MatchedRuleValue
	eoV  = recordv1.EvaluatedOutputValue
)

var piSpec = newSpec(
	func(v *piV) *[]string { return &v.PresentFields }, func(v *piV) *string { return &v.ExtraJson },
	strF("bpmnProcessId", func(v *piV) *string { return &v.BpmnProcessId }),
	i64F("processInstanceKey", func(v *piV) *int64 { return &v.ProcessInstanceKey }),
	i64F("processDefinitionKey", func(v *piV) *int64 { return &v.ProcessDefinitionKey }),
	strF("elementId", func(v *piV) *string { return &v.ElementId }),
	i64F("flowScopeKey", func(v *piV) *int64 { return &v.FlowScopeKey }),
	enumF("bpmnEventType", defaultUnspecified, func(v *piV) *string { return &v.BpmnEventType }),
	i64F("parentProcessInstanceKey", func(v *piV) *int64 { return &v.ParentProcessInstanceKey }),
	i64F("parentElementInstanceKey", func(v *piV) *int64 { return &v.ParentElementInstanceKey }),
	enumF("bpmnElementType", defaultUnspecified, func(v *piV) *string { return &v.BpmnElementType }),
	i32F("version", func(v *piV) *int32 { return &v.Version }),
	enumF("tenantId", defaultTenantID, func(v *piV) *string { return &v.TenantId }),
	pathF("elementInstancePath", func(v *piV) *[]*recordv1.ElementInstancePathEntry { return &v.ElementInstancePath }),
	i64sF("processDefinitionPath", func(v *piV) *[]int64 { return &v.ProcessDefinitionPath }),
	i32sF("callingElementPath", func(v *piV) *[]int32 { return &v.CallingElementPath }),
	strsF("tags", func(v *piV) *[]string { return &v.Tags }),
	i64F("rootProcessInstanceKey", func(v *piV) *int64 { return &v.RootProcessInstanceKey }),
	strF("businessId", func(v *piV) *string { return &v.BusinessId }),
	i64F("elementInstanceKey", func(v *piV) *int64 { return &v.ElementInstanceKey }),
)

var processSpec = newSpec(
	func(v *prV) *[]string { return &v.PresentFields }, func(v *prV) *string { return &v.ExtraJson },
	strF("bpmnProcessId", func(v *prV) *string { return &v.BpmnProcessId }),
	i32F("version", func(v *prV) *int32 { return &v.Version }),
	i64F("processDefinitionKey", func(v *prV) *int64 { return &v.ProcessDefinitionKey }),
	strF("resourceName", func(v *prV) *string { return &v.ResourceName }),
	bytesF("checksum", func(v *prV) *[]byte { return &v.Checksum }),
	bytesF("resource", func(v *prV) *[]byte { return &v.Resource }),
	boolF("duplicate", func(v *prV) *bool { return &v.Duplicate }),
	enumF("tenantId", defaultTenantID, func(v *prV) *string { return &v.TenantId }),
	i64F("deploymentKey", func(v *prV) *int64 { return &v.DeploymentKey }),
	strF("versionTag", func(v *prV) *string { return &v.VersionTag }),
	strF("processName", func(v *prV) *string { return &v.ProcessName }),
)

var decisionRequirementsSpec = newSpec(
	func(v *drV) *[]string { return &v.PresentFields }, func(v *drV) *string { return &v.ExtraJson },
	strF("decisionRequirementsId", func(v *drV) *string { return &v.DecisionRequirementsId }),
	strF("decisionRequirementsName", func(v *drV) *string { return &v.DecisionRequirementsName }),
	i32F("decisionRequirementsVersion", func(v *drV) *int32 { return &v.DecisionRequirementsVersion }),
	i64F("decisionRequirementsKey", func(v *drV) *int64 { return &v.DecisionRequirementsKey }),
	strF("namespace", func(v *drV) *string { return &v.Namespace }),
	strF("resourceName", func(v *drV) *string { return &v.ResourceName }),
	bytesF("resource", func(v *drV) *[]byte { return &v.Resource }),
	bytesF("checksum", func(v *drV) *[]byte { return &v.Checksum }),
	boolF("duplicate", func(v *drV) *bool { return &v.Duplicate }),
	enumF("tenantId", defaultTenantID, func(v *drV) *string { return &v.TenantId }),
	i64F("deploymentKey", func(v *drV) *int64 { return &v.DeploymentKey }),
)

var decisionSpec = newSpec(
	func(v *dcV) *[]string { return &v.PresentFields }, func(v *dcV) *string { return &v.ExtraJson },
	strF("decisionId", func(v *dcV) *string { return &v.DecisionId }),
	strF("decisionName", func(v *dcV) *string { return &v.DecisionName }),
	i32F("version", func(v *dcV) *int32 { return &v.Version }),
	i64F("decisionKey", func(v *dcV) *int64 { return &v.DecisionKey }),
	i64F("decisionRequirementsKey", func(v *dcV) *int64 { return &v.DecisionRequirementsKey }),
	strF("decisionRequirementsId", func(v *dcV) *string { return &v.DecisionRequirementsId }),
	boolF("duplicate", func(v *dcV) *bool { return &v.Duplicate }),
	enumF("tenantId", defaultTenantID, func(v *dcV) *string { return &v.TenantId }),
	i64F("deploymentKey", func(v *dcV) *int64 { return &v.DeploymentKey }),
	strF("versionTag", func(v *dcV) *string { return &v.VersionTag }),
)

var formSpec = newSpec(
	func(v *fmV) *[]string { return &v.PresentFields }, func(v *fmV) *string { return &v.ExtraJson },
	strF("formId", func(v *fmV) *string { return &v.FormId }),
	i32F("version", func(v *fmV) *int32 { return &v.Version }),
	i64F("formKey", func(v *fmV) *int64 { return &v.FormKey }),
	strF("resourceName", func(v *fmV) *string { return &v.ResourceName }),
	bytesF("checksum", func(v *fmV) *[]byte { return &v.Checksum }),
	bytesF("resource", func(v *fmV) *[]byte { return &v.Resource }),
	boolF("duplicate", func(v *fmV) *bool { return &v.Duplicate }),
	enumF("tenantId", defaultTenantID, func(v *fmV) *string { return &v.TenantId }),
	i64F("deploymentKey", func(v *fmV) *int64 { return &v.DeploymentKey }),
	strF("versionTag", func(v *fmV) *string { return &v.VersionTag }),
)

var variableSpec = newSpec(
	func(v *varV) *[]string { return &v.PresentFields }, func(v *varV) *string { return &v.ExtraJson },
	strF("name", func(v *varV) *string { return &v.Name }),
	strF("value", func(v *varV) *string { return &v.Value }),
	i64F("scopeKey", func(v *varV) *int64 { return &v.ScopeKey }),
	i64F("processInstanceKey", func(v *varV) *int64 { return &v.ProcessInstanceKey }),
	i64F("processDefinitionKey", func(v *varV) *int64 { return &v.ProcessDefinitionKey }),
	strF("bpmnProcessId", func(v *varV) *string { return &v.BpmnProcessId }),
	enumF("tenantId", defaultTenantID, func(v *varV) *string { return &v.TenantId }),
	i64F("rootProcessInstanceKey", func(v *varV) *int64 { return &v.RootProcessInstanceKey }),
	i64F("elementInstanceKey", func(v *varV) *int64 { return &v.ElementInstanceKey }),
	objF("source", func(v *varV) *string { return &v.SourceJson }),
	strsF("protectionModes", func(v *varV) *[]string { return &v.ProtectionModes }),
)

var incidentSpec = newSpec(
	func(v *incV) *[]string { return &v.PresentFields }, func(v *incV) *string { return &v.ExtraJson },
	enumF("errorType", "UNKNOWN", func(v *incV) *string { return &v.ErrorType }),
	strF("errorMessage", func(v *incV) *string { return &v.ErrorMessage }),
	strF("bpmnProcessId", func(v *incV) *string { return &v.BpmnProcessId }),
	i64F("processDefinitionKey", func(v *incV) *int64 { return &v.ProcessDefinitionKey }),
	i64F("processInstanceKey", func(v *incV) *int64 { return &v.ProcessInstanceKey }),
	strF("elementId", func(v *incV) *string { return &v.ElementId }),
	i64F("elementInstanceKey", func(v *incV) *int64 { return &v.ElementInstanceKey }),
	i64F("jobKey", func(v *incV) *int64 { return &v.JobKey }),
	i64F("variableScopeKey", func(v *incV) *int64 { return &v.VariableScopeKey }),
	enumF("tenantId", defaultTenantID, func(v *incV) *string { return &v.TenantId }),
	pathF("elementInstancePath", func(v *incV) *[]*recordv1.ElementInstancePathEntry { return &v.ElementInstancePath }),
	i64sF("processDefinitionPath", func(v *incV) *[]int64 { return &v.ProcessDefinitionPath }),
	i32sF("callingElementPath", func(v *incV) *[]int32 { return &v.CallingElementPath }),
	i64F("rootProcessInstanceKey", func(v *incV) *int64 { return &v.RootProcessInstanceKey }),
	strF("authorizedUsername", func(v *incV) *string { return &v.AuthorizedUsername }),
	strF("authorizedClientId", func(v *incV) *string { return &v.AuthorizedClientId }),
	boolF("authorizedAnonymousUser", func(v *incV) *bool { return &v.AuthorizedAnonymousUser }),
	i32D("ordinalKey", 0, func(v *incV) *int32 { return &v.OrdinalKey }),
)

var jobSpec = newSpec(
	func(v *jobV) *[]string { return &v.PresentFields }, func(v *jobV) *string { return &v.ExtraJson },
	strF("type", func(v *jobV) *string { return &v.Type }),
	objF("customHeaders", func(v *jobV) *string { return &v.CustomHeadersJson }),
	objF("variables", func(v *jobV) *string { return &v.VariablesJson }),
	strF("worker", func(v *jobV) *string { return &v.Worker }),
	i32F("retries", func(v *jobV) *int32 { return &v.Retries }),
	i64D("retryBackoff", 0, func(v *jobV) *int64 { return &v.RetryBackoff }),
	i64F("recurringTime", func(v *jobV) *int64 { return &v.RecurringTime }),
	i64F("deadline", func(v *jobV) *int64 { return &v.Deadline }),
	i64F("timeout", func(v *jobV) *int64 { return &v.Timeout }),
	strF("errorMessage", func(v *jobV) *string { return &v.ErrorMessage }),
	strF("errorCode", func(v *jobV) *string { return &v.ErrorCode }),
	strF("elementId", func(v *jobV) *string { return &v.ElementId }),
	i64F("elementInstanceKey", func(v *jobV) *int64 { return &v.ElementInstanceKey }),
	i64F("processInstanceKey", func(v *jobV) *int64 { return &v.ProcessInstanceKey }),
	strF("bpmnProcessId", func(v *jobV) *string { return &v.BpmnProcessId }),
	i32F("processDefinitionVersion", func(v *jobV) *int32 { return &v.ProcessDefinitionVersion }),
	i64F("processDefinitionKey", func(v *jobV) *int64 { return &v.ProcessDefinitionKey }),
	enumF("tenantId", defaultTenantID, func(v *jobV) *string { return &v.TenantId }),
	strsF("changedAttributes", func(v *jobV) *[]string { return &v.ChangedAttributes }),
	enumF("jobKind", "BPMN_ELEMENT", func(v *jobV) *string { return &v.JobKind }),
	enumF("jobListenerEventType", defaultUnspecified, func(v *jobV) *string { return &v.JobListenerEventType }),
	objF("result", func(v *jobV) *string { return &v.ResultJson }),
	enumF("elementType", defaultUnspecified, func(v *jobV) *string { return &v.ElementType }),
	i32D("priority", 0, func(v *jobV) *int32 { return &v.Priority }),
	strsF("tags", func(v *jobV) *[]string { return &v.Tags }),
	boolF("jobToUserTaskMigration", func(v *jobV) *bool { return &v.JobToUserTaskMigration }),
	i64F("rootProcessInstanceKey", func(v *jobV) *int64 { return &v.RootProcessInstanceKey }),
)

var userTaskSpec = newSpec(
	func(v *utV) *[]string { return &v.PresentFields }, func(v *utV) *string { return &v.ExtraJson },
	i64F("userTaskKey", func(v *utV) *int64 { return &v.UserTaskKey }),
	strF("assignee", func(v *utV) *string { return &v.Assignee }),
	strsF("candidateGroupsList", func(v *utV) *[]string { return &v.CandidateGroupsList }),
	strsF("candidateUsersList", func(v *utV) *[]string { return &v.CandidateUsersList }),
	strF("dueDate", func(v *utV) *string { return &v.DueDate }),
	strF("followUpDate", func(v *utV) *string { return &v.FollowUpDate }),
	i64F("formKey", func(v *utV) *int64 { return &v.FormKey }),
	strsF("changedAttributes", func(v *utV) *[]string { return &v.ChangedAttributes }),
	objF("variables", func(v *utV) *string { return &v.VariablesJson }),
	strF("bpmnProcessId", func(v *utV) *string { return &v.BpmnProcessId }),
	i32F("processDefinitionVersion", func(v *utV) *int32 { return &v.ProcessDefinitionVersion }),
	i64F("processDefinitionKey", func(v *utV) *int64 { return &v.ProcessDefinitionKey }),
	i64F("processInstanceKey", func(v *utV) *int64 { return &v.ProcessInstanceKey }),
	strF("elementId", func(v *utV) *string { return &v.ElementId }),
	i64F("elementInstanceKey", func(v *utV) *int64 { return &v.ElementInstanceKey }),
	enumF("tenantId", defaultTenantID, func(v *utV) *string { return &v.TenantId }),
	i64F("creationTimestamp", func(v *utV) *int64 { return &v.CreationTimestamp }),
	i32D("priority", 50, func(v *utV) *int32 { return &v.Priority }),
	strF("externalFormReference", func(v *utV) *string { return &v.ExternalFormReference }),
	objF("customHeaders", func(v *utV) *string { return &v.CustomHeadersJson }),
	strF("action", func(v *utV) *string { return &v.Action }),
	strsF("tags", func(v *utV) *[]string { return &v.Tags }),
	strF("deniedReason", func(v *utV) *string { return &v.DeniedReason }),
	i64F("listenersConfigKey", func(v *utV) *int64 { return &v.ListenersConfigKey }),
	i64F("rootProcessInstanceKey", func(v *utV) *int64 { return &v.RootProcessInstanceKey }),
	strF("businessId", func(v *utV) *string { return &v.BusinessId }),
)

var evaluatedOutputSpec = newSpec(
	func(v *eoV) *[]string { return &v.PresentFields }, func(v *eoV) *string { return &v.ExtraJson },
	strF("outputId", func(v *eoV) *string { return &v.OutputId }),
	strF("outputName", func(v *eoV) *string { return &v.OutputName }),
	strF("outputValue", func(v *eoV) *string { return &v.OutputValue }),
)

var matchedRuleSpec = newSpec(
	func(v *mrV) *[]string { return &v.PresentFields }, func(v *mrV) *string { return &v.ExtraJson },
	strF("ruleId", func(v *mrV) *string { return &v.RuleId }),
	i32F("ruleIndex", func(v *mrV) *int32 { return &v.RuleIndex }),
	listF("evaluatedOutputs", func(v *mrV) *[]*eoV { return &v.EvaluatedOutputs }, evaluatedOutputSpec),
)

var evaluatedInputSpec = newSpec(
	func(v *eiV) *[]string { return &v.PresentFields }, func(v *eiV) *string { return &v.ExtraJson },
	strF("inputId", func(v *eiV) *string { return &v.InputId }),
	strF("inputName", func(v *eiV) *string { return &v.InputName }),
	strF("inputValue", func(v *eiV) *string { return &v.InputValue }),
)

var evaluatedDecisionSpec = newSpec(
	func(v *edV) *[]string { return &v.PresentFields }, func(v *edV) *string { return &v.ExtraJson },
	strF("decisionId", func(v *edV) *string { return &v.DecisionId }),
	strF("decisionName", func(v *edV) *string { return &v.DecisionName }),
	i64F("decisionKey", func(v *edV) *int64 { return &v.DecisionKey }),
	i32F("decisionVersion", func(v *edV) *int32 { return &v.DecisionVersion }),
	enumF("decisionType", "", func(v *edV) *string { return &v.DecisionType }),
	strF("decisionOutput", func(v *edV) *string { return &v.DecisionOutput }),
	enumF("tenantId", defaultTenantID, func(v *edV) *string { return &v.TenantId }),
	listF("evaluatedInputs", func(v *edV) *[]*eiV { return &v.EvaluatedInputs }, evaluatedInputSpec),
	listF("matchedRules", func(v *edV) *[]*mrV { return &v.MatchedRules }, matchedRuleSpec),
	strF("decisionEvaluationInstanceKey", func(v *edV) *string { return &v.DecisionEvaluationInstanceKey }),
)

var decisionEvaluationSpec = newSpec(
	func(v *deV) *[]string { return &v.PresentFields }, func(v *deV) *string { return &v.ExtraJson },
	i64F("decisionKey", func(v *deV) *int64 { return &v.DecisionKey }),
	strF("decisionId", func(v *deV) *string { return &v.DecisionId }),
	strF("decisionName", func(v *deV) *string { return &v.DecisionName }),
	i32F("decisionVersion", func(v *deV) *int32 { return &v.DecisionVersion }),
	i64F("decisionRequirementsKey", func(v *deV) *int64 { return &v.DecisionRequirementsKey }),
	strF("decisionRequirementsId", func(v *deV) *string { return &v.DecisionRequirementsId }),
	strD("decisionOutput", "null", func(v *deV) *string { return &v.DecisionOutput }),
	objF("variables", func(v *deV) *string { return &v.VariablesJson }),
	i64F("processDefinitionKey", func(v *deV) *int64 { return &v.ProcessDefinitionKey }),
	strF("bpmnProcessId", func(v *deV) *string { return &v.BpmnProcessId }),
	i64F("processInstanceKey", func(v *deV) *int64 { return &v.ProcessInstanceKey }),
	i64F("elementInstanceKey", func(v *deV) *int64 { return &v.ElementInstanceKey }),
	strF("elementId", func(v *deV) *string { return &v.ElementId }),
	listF("evaluatedDecisions", func(v *deV) *[]*edV { return &v.EvaluatedDecisions }, evaluatedDecisionSpec),
	strF("evaluationFailureMessage", func(v *deV) *string { return &v.EvaluationFailureMessage }),
	strF("failedDecisionId", func(v *deV) *string { return &v.FailedDecisionId }),
	enumF("tenantId", defaultTenantID, func(v *deV) *string { return &v.TenantId }),
	i64F("rootProcessInstanceKey", func(v *deV) *int64 { return &v.RootProcessInstanceKey }),
	i32D("ordinalKey", 0, func(v *deV) *int32 { return &v.OrdinalKey }),
)

// decodeValue decodes the members of the value object (validated in line)
// into a new Record of the typed value type, or returns nil for a value type
// without a typed message. Errors are *FieldError relative to the value.
//
// Each case allocates the Record together with its oneof wrapper and value
// message; the protobuf runtime only ever sees pointers to them.
func decodeValue(valueType string, line []byte, ms []member) (*recordv1.Record, error) {
	switch valueType {
	case valueTypeProcessInstance:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_ProcessInstance
			v    piV
		})
		a.wrap.ProcessInstance, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(piSpec, &a.v, line, ms)
	case valueTypeProcess:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_Process
			v    prV
		})
		a.wrap.Process, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(processSpec, &a.v, line, ms)
	case valueTypeDecisionRequirements:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_DecisionRequirements
			v    drV
		})
		a.wrap.DecisionRequirements, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(decisionRequirementsSpec, &a.v, line, ms)
	case valueTypeDecision:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_Decision
			v    dcV
		})
		a.wrap.Decision, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(decisionSpec, &a.v, line, ms)
	case valueTypeForm:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_Form
			v    fmV
		})
		a.wrap.Form, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(formSpec, &a.v, line, ms)
	case valueTypeVariable:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_Variable
			v    varV
		})
		a.wrap.Variable, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(variableSpec, &a.v, line, ms)
	case valueTypeIncident:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_Incident
			v    incV
		})
		a.wrap.Incident, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(incidentSpec, &a.v, line, ms)
	case valueTypeJob:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_Job
			v    jobV
		})
		a.wrap.Job, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(jobSpec, &a.v, line, ms)
	case valueTypeUserTask:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_UserTask
			v    utV
		})
		a.wrap.UserTask, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(userTaskSpec, &a.v, line, ms)
	case valueTypeDecisionEvaluation:
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_DecisionEvaluation
			v    deV
		})
		a.wrap.DecisionEvaluation, a.rec.Value = &a.v, &a.wrap
		return &a.rec, decodeMembers(decisionEvaluationSpec, &a.v, line, ms)
	}
	return nil, nil
}

// appendValue appends the record's typed value object. It reports false for
// a value that is not one of the typed messages. The record's value type
// must be the one the message belongs to.
func appendValue(dst []byte, r *recordv1.Record) ([]byte, bool, error) {
	var err error
	switch v := r.Value.(type) {
	case *recordv1.Record_ProcessInstance:
		dst, err = appendTyped(dst, r.ValueType, valueTypeProcessInstance, piSpec, v.ProcessInstance, "process_instance")
	case *recordv1.Record_Process:
		dst, err = appendTyped(dst, r.ValueType, valueTypeProcess, processSpec, v.Process, "process")
	case *recordv1.Record_DecisionRequirements:
		dst, err = appendTyped(dst, r.ValueType, valueTypeDecisionRequirements, decisionRequirementsSpec, v.DecisionRequirements, "decision_requirements")
	case *recordv1.Record_Decision:
		dst, err = appendTyped(dst, r.ValueType, valueTypeDecision, decisionSpec, v.Decision, "decision")
	case *recordv1.Record_Form:
		dst, err = appendTyped(dst, r.ValueType, valueTypeForm, formSpec, v.Form, "form")
	case *recordv1.Record_Variable:
		dst, err = appendTyped(dst, r.ValueType, valueTypeVariable, variableSpec, v.Variable, "variable")
	case *recordv1.Record_Incident:
		dst, err = appendTyped(dst, r.ValueType, valueTypeIncident, incidentSpec, v.Incident, "incident")
	case *recordv1.Record_Job:
		dst, err = appendTyped(dst, r.ValueType, valueTypeJob, jobSpec, v.Job, "job")
	case *recordv1.Record_UserTask:
		dst, err = appendTyped(dst, r.ValueType, valueTypeUserTask, userTaskSpec, v.UserTask, "user_task")
	case *recordv1.Record_DecisionEvaluation:
		dst, err = appendTyped(dst, r.ValueType, valueTypeDecisionEvaluation, decisionEvaluationSpec, v.DecisionEvaluation, "decision_evaluation")
	default:
		return dst, false, nil
	}
	return dst, true, err
}

func appendTyped[T any](dst []byte, valueType, want string, sp *msgSpec[T], m *T, name string) ([]byte, error) {
	if valueType != want {
		// Decode would not read it back as this message.
		return dst, encodeError("value_type", "%q does not match a %s value (value type %s)", valueType, name, want)
	}
	if m == nil {
		return dst, encodeError(name, "nil value")
	}
	dst, err := appendMsg(dst, sp, m)
	if err != nil {
		return dst, prefixError(err, name+".")
	}
	return dst, nil
}

// valueSize estimates the JSON length of a typed value (0 for others).
func valueSize(r *recordv1.Record) int {
	switch v := r.Value.(type) {
	case *recordv1.Record_ProcessInstance:
		return sizeTyped(piSpec, v.ProcessInstance)
	case *recordv1.Record_Process:
		return sizeTyped(processSpec, v.Process)
	case *recordv1.Record_DecisionRequirements:
		return sizeTyped(decisionRequirementsSpec, v.DecisionRequirements)
	case *recordv1.Record_Decision:
		return sizeTyped(decisionSpec, v.Decision)
	case *recordv1.Record_Form:
		return sizeTyped(formSpec, v.Form)
	case *recordv1.Record_Variable:
		return sizeTyped(variableSpec, v.Variable)
	case *recordv1.Record_Incident:
		return sizeTyped(incidentSpec, v.Incident)
	case *recordv1.Record_Job:
		return sizeTyped(jobSpec, v.Job)
	case *recordv1.Record_UserTask:
		return sizeTyped(userTaskSpec, v.UserTask)
	case *recordv1.Record_DecisionEvaluation:
		return sizeTyped(decisionEvaluationSpec, v.DecisionEvaluation)
	}
	return 0
}

func sizeTyped[T any](sp *msgSpec[T], m *T) int {
	if m == nil {
		return 0
	}
	return sizeMsg(sp, m)
}
