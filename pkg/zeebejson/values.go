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
	func(v *piV) *[]string { return &v.PresentFields }, func(v *piV) *[]int32 { return &v.PresentFieldNumbers }, func(v *piV) *string { return &v.ExtraJson },
	stringField("bpmnProcessId", func(v *piV) *string { return &v.BpmnProcessId }),
	int64Field("processInstanceKey", func(v *piV) *int64 { return &v.ProcessInstanceKey }),
	int64Field("processDefinitionKey", func(v *piV) *int64 { return &v.ProcessDefinitionKey }),
	stringField("elementId", func(v *piV) *string { return &v.ElementId }),
	int64Field("flowScopeKey", func(v *piV) *int64 { return &v.FlowScopeKey }),
	enumField("bpmnEventType", defaultUnspecified, func(v *piV) *string { return &v.BpmnEventType }),
	int64Field("parentProcessInstanceKey", func(v *piV) *int64 { return &v.ParentProcessInstanceKey }),
	int64Field("parentElementInstanceKey", func(v *piV) *int64 { return &v.ParentElementInstanceKey }),
	enumField("bpmnElementType", defaultUnspecified, func(v *piV) *string { return &v.BpmnElementType }),
	int32Field("version", func(v *piV) *int32 { return &v.Version }),
	enumField("tenantId", defaultTenantID, func(v *piV) *string { return &v.TenantId }),
	elementPathField("elementInstancePath", func(v *piV) *[]*recordv1.ElementInstancePathEntry { return &v.ElementInstancePath }),
	int64ListField("processDefinitionPath", func(v *piV) *[]int64 { return &v.ProcessDefinitionPath }),
	int32ListField("callingElementPath", func(v *piV) *[]int32 { return &v.CallingElementPath }),
	stringListField("tags", func(v *piV) *[]string { return &v.Tags }),
	int64Field("rootProcessInstanceKey", func(v *piV) *int64 { return &v.RootProcessInstanceKey }),
	stringField("businessId", func(v *piV) *string { return &v.BusinessId }),
	int64Field("elementInstanceKey", func(v *piV) *int64 { return &v.ElementInstanceKey }),
)

var processSpec = newSpec(
	func(v *prV) *[]string { return &v.PresentFields }, func(v *prV) *[]int32 { return &v.PresentFieldNumbers }, func(v *prV) *string { return &v.ExtraJson },
	stringField("bpmnProcessId", func(v *prV) *string { return &v.BpmnProcessId }),
	int32Field("version", func(v *prV) *int32 { return &v.Version }),
	int64Field("processDefinitionKey", func(v *prV) *int64 { return &v.ProcessDefinitionKey }),
	stringField("resourceName", func(v *prV) *string { return &v.ResourceName }),
	bytesField("checksum", func(v *prV) *[]byte { return &v.Checksum }),
	bytesField("resource", func(v *prV) *[]byte { return &v.Resource }),
	boolField("duplicate", func(v *prV) *bool { return &v.Duplicate }),
	enumField("tenantId", defaultTenantID, func(v *prV) *string { return &v.TenantId }),
	int64Field("deploymentKey", func(v *prV) *int64 { return &v.DeploymentKey }),
	stringField("versionTag", func(v *prV) *string { return &v.VersionTag }),
	stringField("processName", func(v *prV) *string { return &v.ProcessName }),
)

var decisionRequirementsSpec = newSpec(
	func(v *drV) *[]string { return &v.PresentFields }, func(v *drV) *[]int32 { return &v.PresentFieldNumbers }, func(v *drV) *string { return &v.ExtraJson },
	stringField("decisionRequirementsId", func(v *drV) *string { return &v.DecisionRequirementsId }),
	stringField("decisionRequirementsName", func(v *drV) *string { return &v.DecisionRequirementsName }),
	int32Field("decisionRequirementsVersion", func(v *drV) *int32 { return &v.DecisionRequirementsVersion }),
	int64Field("decisionRequirementsKey", func(v *drV) *int64 { return &v.DecisionRequirementsKey }),
	stringField("namespace", func(v *drV) *string { return &v.Namespace }),
	stringField("resourceName", func(v *drV) *string { return &v.ResourceName }),
	bytesField("resource", func(v *drV) *[]byte { return &v.Resource }),
	bytesField("checksum", func(v *drV) *[]byte { return &v.Checksum }),
	boolField("duplicate", func(v *drV) *bool { return &v.Duplicate }),
	enumField("tenantId", defaultTenantID, func(v *drV) *string { return &v.TenantId }),
	int64Field("deploymentKey", func(v *drV) *int64 { return &v.DeploymentKey }),
)

var decisionSpec = newSpec(
	func(v *dcV) *[]string { return &v.PresentFields }, func(v *dcV) *[]int32 { return &v.PresentFieldNumbers }, func(v *dcV) *string { return &v.ExtraJson },
	stringField("decisionId", func(v *dcV) *string { return &v.DecisionId }),
	stringField("decisionName", func(v *dcV) *string { return &v.DecisionName }),
	int32Field("version", func(v *dcV) *int32 { return &v.Version }),
	int64Field("decisionKey", func(v *dcV) *int64 { return &v.DecisionKey }),
	int64Field("decisionRequirementsKey", func(v *dcV) *int64 { return &v.DecisionRequirementsKey }),
	stringField("decisionRequirementsId", func(v *dcV) *string { return &v.DecisionRequirementsId }),
	boolField("duplicate", func(v *dcV) *bool { return &v.Duplicate }),
	enumField("tenantId", defaultTenantID, func(v *dcV) *string { return &v.TenantId }),
	int64Field("deploymentKey", func(v *dcV) *int64 { return &v.DeploymentKey }),
	stringField("versionTag", func(v *dcV) *string { return &v.VersionTag }),
)

var formSpec = newSpec(
	func(v *fmV) *[]string { return &v.PresentFields }, func(v *fmV) *[]int32 { return &v.PresentFieldNumbers }, func(v *fmV) *string { return &v.ExtraJson },
	stringField("formId", func(v *fmV) *string { return &v.FormId }),
	int32Field("version", func(v *fmV) *int32 { return &v.Version }),
	int64Field("formKey", func(v *fmV) *int64 { return &v.FormKey }),
	stringField("resourceName", func(v *fmV) *string { return &v.ResourceName }),
	bytesField("checksum", func(v *fmV) *[]byte { return &v.Checksum }),
	bytesField("resource", func(v *fmV) *[]byte { return &v.Resource }),
	boolField("duplicate", func(v *fmV) *bool { return &v.Duplicate }),
	enumField("tenantId", defaultTenantID, func(v *fmV) *string { return &v.TenantId }),
	int64Field("deploymentKey", func(v *fmV) *int64 { return &v.DeploymentKey }),
	stringField("versionTag", func(v *fmV) *string { return &v.VersionTag }),
)

var variableSpec = newSpec(
	func(v *varV) *[]string { return &v.PresentFields }, func(v *varV) *[]int32 { return &v.PresentFieldNumbers }, func(v *varV) *string { return &v.ExtraJson },
	stringField("name", func(v *varV) *string { return &v.Name }),
	stringField("value", func(v *varV) *string { return &v.Value }),
	int64Field("scopeKey", func(v *varV) *int64 { return &v.ScopeKey }),
	int64Field("processInstanceKey", func(v *varV) *int64 { return &v.ProcessInstanceKey }),
	int64Field("processDefinitionKey", func(v *varV) *int64 { return &v.ProcessDefinitionKey }),
	stringField("bpmnProcessId", func(v *varV) *string { return &v.BpmnProcessId }),
	enumField("tenantId", defaultTenantID, func(v *varV) *string { return &v.TenantId }),
	int64Field("rootProcessInstanceKey", func(v *varV) *int64 { return &v.RootProcessInstanceKey }),
	int64Field("elementInstanceKey", func(v *varV) *int64 { return &v.ElementInstanceKey }),
	objectField("source", func(v *varV) *string { return &v.SourceJson }),
	stringListField("protectionModes", func(v *varV) *[]string { return &v.ProtectionModes }),
)

var incidentSpec = newSpec(
	func(v *incV) *[]string { return &v.PresentFields }, func(v *incV) *[]int32 { return &v.PresentFieldNumbers }, func(v *incV) *string { return &v.ExtraJson },
	enumField("errorType", "UNKNOWN", func(v *incV) *string { return &v.ErrorType }),
	stringField("errorMessage", func(v *incV) *string { return &v.ErrorMessage }),
	stringField("bpmnProcessId", func(v *incV) *string { return &v.BpmnProcessId }),
	int64Field("processDefinitionKey", func(v *incV) *int64 { return &v.ProcessDefinitionKey }),
	int64Field("processInstanceKey", func(v *incV) *int64 { return &v.ProcessInstanceKey }),
	stringField("elementId", func(v *incV) *string { return &v.ElementId }),
	int64Field("elementInstanceKey", func(v *incV) *int64 { return &v.ElementInstanceKey }),
	int64Field("jobKey", func(v *incV) *int64 { return &v.JobKey }),
	int64Field("variableScopeKey", func(v *incV) *int64 { return &v.VariableScopeKey }),
	enumField("tenantId", defaultTenantID, func(v *incV) *string { return &v.TenantId }),
	elementPathField("elementInstancePath", func(v *incV) *[]*recordv1.ElementInstancePathEntry { return &v.ElementInstancePath }),
	int64ListField("processDefinitionPath", func(v *incV) *[]int64 { return &v.ProcessDefinitionPath }),
	int32ListField("callingElementPath", func(v *incV) *[]int32 { return &v.CallingElementPath }),
	int64Field("rootProcessInstanceKey", func(v *incV) *int64 { return &v.RootProcessInstanceKey }),
	stringField("authorizedUsername", func(v *incV) *string { return &v.AuthorizedUsername }),
	stringField("authorizedClientId", func(v *incV) *string { return &v.AuthorizedClientId }),
	boolField("authorizedAnonymousUser", func(v *incV) *bool { return &v.AuthorizedAnonymousUser }),
	int32FieldDefault("ordinalKey", 0, func(v *incV) *int32 { return &v.OrdinalKey }),
)

var jobSpec = newSpec(
	func(v *jobV) *[]string { return &v.PresentFields }, func(v *jobV) *[]int32 { return &v.PresentFieldNumbers }, func(v *jobV) *string { return &v.ExtraJson },
	stringField("type", func(v *jobV) *string { return &v.Type }),
	objectField("customHeaders", func(v *jobV) *string { return &v.CustomHeadersJson }),
	objectField("variables", func(v *jobV) *string { return &v.VariablesJson }),
	stringField("worker", func(v *jobV) *string { return &v.Worker }),
	int32Field("retries", func(v *jobV) *int32 { return &v.Retries }),
	int64FieldDefault("retryBackoff", 0, func(v *jobV) *int64 { return &v.RetryBackoff }),
	int64Field("recurringTime", func(v *jobV) *int64 { return &v.RecurringTime }),
	int64Field("deadline", func(v *jobV) *int64 { return &v.Deadline }),
	int64Field("timeout", func(v *jobV) *int64 { return &v.Timeout }),
	stringField("errorMessage", func(v *jobV) *string { return &v.ErrorMessage }),
	stringField("errorCode", func(v *jobV) *string { return &v.ErrorCode }),
	stringField("elementId", func(v *jobV) *string { return &v.ElementId }),
	int64Field("elementInstanceKey", func(v *jobV) *int64 { return &v.ElementInstanceKey }),
	int64Field("processInstanceKey", func(v *jobV) *int64 { return &v.ProcessInstanceKey }),
	stringField("bpmnProcessId", func(v *jobV) *string { return &v.BpmnProcessId }),
	int32Field("processDefinitionVersion", func(v *jobV) *int32 { return &v.ProcessDefinitionVersion }),
	int64Field("processDefinitionKey", func(v *jobV) *int64 { return &v.ProcessDefinitionKey }),
	enumField("tenantId", defaultTenantID, func(v *jobV) *string { return &v.TenantId }),
	stringListField("changedAttributes", func(v *jobV) *[]string { return &v.ChangedAttributes }),
	enumField("jobKind", "BPMN_ELEMENT", func(v *jobV) *string { return &v.JobKind }),
	enumField("jobListenerEventType", defaultUnspecified, func(v *jobV) *string { return &v.JobListenerEventType }),
	objectField("result", func(v *jobV) *string { return &v.ResultJson }),
	enumField("elementType", defaultUnspecified, func(v *jobV) *string { return &v.ElementType }),
	int32FieldDefault("priority", 0, func(v *jobV) *int32 { return &v.Priority }),
	stringListField("tags", func(v *jobV) *[]string { return &v.Tags }),
	boolField("jobToUserTaskMigration", func(v *jobV) *bool { return &v.JobToUserTaskMigration }),
	int64Field("rootProcessInstanceKey", func(v *jobV) *int64 { return &v.RootProcessInstanceKey }),
)

var userTaskSpec = newSpec(
	func(v *utV) *[]string { return &v.PresentFields }, func(v *utV) *[]int32 { return &v.PresentFieldNumbers }, func(v *utV) *string { return &v.ExtraJson },
	int64Field("userTaskKey", func(v *utV) *int64 { return &v.UserTaskKey }),
	stringField("assignee", func(v *utV) *string { return &v.Assignee }),
	stringListField("candidateGroupsList", func(v *utV) *[]string { return &v.CandidateGroupsList }),
	stringListField("candidateUsersList", func(v *utV) *[]string { return &v.CandidateUsersList }),
	stringField("dueDate", func(v *utV) *string { return &v.DueDate }),
	stringField("followUpDate", func(v *utV) *string { return &v.FollowUpDate }),
	int64Field("formKey", func(v *utV) *int64 { return &v.FormKey }),
	stringListField("changedAttributes", func(v *utV) *[]string { return &v.ChangedAttributes }),
	objectField("variables", func(v *utV) *string { return &v.VariablesJson }),
	stringField("bpmnProcessId", func(v *utV) *string { return &v.BpmnProcessId }),
	int32Field("processDefinitionVersion", func(v *utV) *int32 { return &v.ProcessDefinitionVersion }),
	int64Field("processDefinitionKey", func(v *utV) *int64 { return &v.ProcessDefinitionKey }),
	int64Field("processInstanceKey", func(v *utV) *int64 { return &v.ProcessInstanceKey }),
	stringField("elementId", func(v *utV) *string { return &v.ElementId }),
	int64Field("elementInstanceKey", func(v *utV) *int64 { return &v.ElementInstanceKey }),
	enumField("tenantId", defaultTenantID, func(v *utV) *string { return &v.TenantId }),
	int64Field("creationTimestamp", func(v *utV) *int64 { return &v.CreationTimestamp }),
	int32FieldDefault("priority", 50, func(v *utV) *int32 { return &v.Priority }),
	stringField("externalFormReference", func(v *utV) *string { return &v.ExternalFormReference }),
	objectField("customHeaders", func(v *utV) *string { return &v.CustomHeadersJson }),
	stringField("action", func(v *utV) *string { return &v.Action }),
	stringListField("tags", func(v *utV) *[]string { return &v.Tags }),
	stringField("deniedReason", func(v *utV) *string { return &v.DeniedReason }),
	int64Field("listenersConfigKey", func(v *utV) *int64 { return &v.ListenersConfigKey }),
	int64Field("rootProcessInstanceKey", func(v *utV) *int64 { return &v.RootProcessInstanceKey }),
	stringField("businessId", func(v *utV) *string { return &v.BusinessId }),
)

var evaluatedOutputSpec = newSpec(
	func(v *eoV) *[]string { return &v.PresentFields }, func(v *eoV) *[]int32 { return &v.PresentFieldNumbers }, func(v *eoV) *string { return &v.ExtraJson },
	stringField("outputId", func(v *eoV) *string { return &v.OutputId }),
	stringField("outputName", func(v *eoV) *string { return &v.OutputName }),
	stringField("outputValue", func(v *eoV) *string { return &v.OutputValue }),
)

var matchedRuleSpec = newSpec(
	func(v *mrV) *[]string { return &v.PresentFields }, func(v *mrV) *[]int32 { return &v.PresentFieldNumbers }, func(v *mrV) *string { return &v.ExtraJson },
	stringField("ruleId", func(v *mrV) *string { return &v.RuleId }),
	int32Field("ruleIndex", func(v *mrV) *int32 { return &v.RuleIndex }),
	messageListField("evaluatedOutputs", func(v *mrV) *[]*eoV { return &v.EvaluatedOutputs }, evaluatedOutputSpec),
)

var evaluatedInputSpec = newSpec(
	func(v *eiV) *[]string { return &v.PresentFields }, func(v *eiV) *[]int32 { return &v.PresentFieldNumbers }, func(v *eiV) *string { return &v.ExtraJson },
	stringField("inputId", func(v *eiV) *string { return &v.InputId }),
	stringField("inputName", func(v *eiV) *string { return &v.InputName }),
	stringField("inputValue", func(v *eiV) *string { return &v.InputValue }),
)

var evaluatedDecisionSpec = newSpec(
	func(v *edV) *[]string { return &v.PresentFields }, func(v *edV) *[]int32 { return &v.PresentFieldNumbers }, func(v *edV) *string { return &v.ExtraJson },
	stringField("decisionId", func(v *edV) *string { return &v.DecisionId }),
	stringField("decisionName", func(v *edV) *string { return &v.DecisionName }),
	int64Field("decisionKey", func(v *edV) *int64 { return &v.DecisionKey }),
	int32Field("decisionVersion", func(v *edV) *int32 { return &v.DecisionVersion }),
	enumField("decisionType", "", func(v *edV) *string { return &v.DecisionType }),
	stringField("decisionOutput", func(v *edV) *string { return &v.DecisionOutput }),
	enumField("tenantId", defaultTenantID, func(v *edV) *string { return &v.TenantId }),
	messageListField("evaluatedInputs", func(v *edV) *[]*eiV { return &v.EvaluatedInputs }, evaluatedInputSpec),
	messageListField("matchedRules", func(v *edV) *[]*mrV { return &v.MatchedRules }, matchedRuleSpec),
	stringField("decisionEvaluationInstanceKey", func(v *edV) *string { return &v.DecisionEvaluationInstanceKey }),
)

var decisionEvaluationSpec = newSpec(
	func(v *deV) *[]string { return &v.PresentFields }, func(v *deV) *[]int32 { return &v.PresentFieldNumbers }, func(v *deV) *string { return &v.ExtraJson },
	int64Field("decisionKey", func(v *deV) *int64 { return &v.DecisionKey }),
	stringField("decisionId", func(v *deV) *string { return &v.DecisionId }),
	stringField("decisionName", func(v *deV) *string { return &v.DecisionName }),
	int32Field("decisionVersion", func(v *deV) *int32 { return &v.DecisionVersion }),
	int64Field("decisionRequirementsKey", func(v *deV) *int64 { return &v.DecisionRequirementsKey }),
	stringField("decisionRequirementsId", func(v *deV) *string { return &v.DecisionRequirementsId }),
	stringFieldDefault("decisionOutput", "null", func(v *deV) *string { return &v.DecisionOutput }),
	objectField("variables", func(v *deV) *string { return &v.VariablesJson }),
	int64Field("processDefinitionKey", func(v *deV) *int64 { return &v.ProcessDefinitionKey }),
	stringField("bpmnProcessId", func(v *deV) *string { return &v.BpmnProcessId }),
	int64Field("processInstanceKey", func(v *deV) *int64 { return &v.ProcessInstanceKey }),
	int64Field("elementInstanceKey", func(v *deV) *int64 { return &v.ElementInstanceKey }),
	stringField("elementId", func(v *deV) *string { return &v.ElementId }),
	messageListField("evaluatedDecisions", func(v *deV) *[]*edV { return &v.EvaluatedDecisions }, evaluatedDecisionSpec),
	stringField("evaluationFailureMessage", func(v *deV) *string { return &v.EvaluationFailureMessage }),
	stringField("failedDecisionId", func(v *deV) *string { return &v.FailedDecisionId }),
	enumField("tenantId", defaultTenantID, func(v *deV) *string { return &v.TenantId }),
	int64Field("rootProcessInstanceKey", func(v *deV) *int64 { return &v.RootProcessInstanceKey }),
	int32FieldDefault("ordinalKey", 0, func(v *deV) *int32 { return &v.OrdinalKey }),
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
