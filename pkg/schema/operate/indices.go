package operate

// The indices of Camunda 8.8's exporter for Operate and Tasklist, one per
// fact file in testdata/camunda-8.8 (facts_test.go checks them field by
// field). Options both engines' templates carry are in Options; options only
// one engine's template carries are in OnlyES or OnlyOS.

// dateFormat is the format of every date field.
const dateFormat = "date_time || epoch_millis"

// variableSizeThreshold is the ignore_above of variable values (Camunda's
// default variable size threshold; values are truncated to it on export).
const variableSizeThreshold = 8191

// Process is operate-process, the process definitions (a plain index, also
// read by Tasklist for its start-process forms).
var Process = Index{
	Component: "operate",
	Name:      "process",
	Version:   "8.3.0",
	Fields: []Field{
		keyword("bpmnProcessId").with("eager_global_ordinals", true),
		text("bpmnXml").with("index", false),
		object("flowNodes"),
		keyword("flowNodes.id"),
		keyword("flowNodes.name"),
		keyword("formId"),
		keyword("formKey"),
		keyword("id"),
		boolean("isFormEmbedded"),
		boolean("isPublic"),
		keyword("key"), // keyword, not long, in this index
		keyword("name"),
		integer("partitionId"),
		keyword("resourceName"),
		keyword("tenantId"),
		long("version"),
		keyword("versionTag"),
	},
}

// DecisionRequirements is operate-decision-requirements, the deployed DRG
// (DMN resource) definitions (a plain index).
var DecisionRequirements = Index{
	Component: "operate",
	Name:      "decision-requirements",
	Version:   "8.3.0",
	Fields: []Field{
		keyword("decisionDefinitionId").with("eager_global_ordinals", true),
		keyword("decisionRequirementsId"),
		keyword("id"),
		long("key"),
		keyword("name"),
		integer("partitionId"),
		keyword("resourceName"),
		keyword("tenantId"),
		long("version"),
		text("xml").with("index", false),
	},
}

// Decision is operate-decision, the decision definitions (a plain index).
var Decision = Index{
	Component: "operate",
	Name:      "decision",
	Version:   "8.3.0",
	Fields: []Field{
		keyword("decisionId").with("eager_global_ordinals", true),
		keyword("decisionRequirementsId"),
		long("decisionRequirementsKey"),
		keyword("decisionRequirementsName"),
		long("decisionRequirementsVersion"),
		keyword("id"),
		long("key"),
		keyword("name"),
		integer("partitionId"),
		keyword("tenantId"),
		long("version"),
	},
}

// TasklistForm is tasklist-form, the deployed and embedded user task forms
// (a plain index).
var TasklistForm = Index{
	Component: "tasklist",
	Name:      "form",
	Version:   "8.4.0",
	Fields: []Field{
		keyword("bpmnId"),
		boolean("embedded"),
		keyword("id"),
		boolean("isDeleted"),
		long("key"),
		keyword("processDefinitionId"),
		text("schema").with("index", false),
		keyword("tenantId"),
		long("version"),
	},
}

// ListView is operate-list-view: process instance documents and, joined to
// them through joinRelation, their activity (flow node instance) and
// variable documents.
var ListView = Index{
	Component:         "operate",
	Name:              "list-view",
	Version:           "8.3.0",
	Template:          true,
	Analysis:          PathTree | CaseInsensitive,
	RefreshIntervalES: "2s",
	Fields: []Field{
		keyword("activityId").with("eager_global_ordinals", true),
		keyword("activityState"),
		keyword("activityType"),
		keyword("batchOperationIds"),
		keyword("bpmnProcessId"),
		date("endDate"),
		text("errorMessage"),
		keyword("id"),
		boolean("incident"),
		long("incidentKeys"),
		boolean("jobFailedWithRetriesLeft"),
		join("joinRelation", map[string]any{
			"processInstance": []string{"activity", "variable"},
		}).onlyES("eager_global_ordinals", true),
		long("key"),
		long("parentFlowNodeInstanceKey"),
		long("parentProcessInstanceKey"),
		integer("partitionId"),
		boolean("pendingIncident"),
		long("position"),
		long("positionIncident").with("index", false),
		long("positionJob").with("index", false),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		keyword("processName").with("normalizer", "case_insensitive"),
		long("processVersion"),
		keyword("processVersionTag"),
		long("scopeKey"),
		date("startDate"),
		keyword("state"),
		keyword("tags"),
		keyword("tenantId"),
		text("treePath").with("analyzer", "ca_path_tree").with("fielddata", true),
		keyword("varName"),
		keyword("varValue").with("ignore_above", variableSizeThreshold),
	},
}

// FlowNodeInstance is operate-flownode-instance, one document per flow
// node instance.
var FlowNodeInstance = Index{
	Component: "operate",
	Name:      "flownode-instance",
	Version:   "8.3.1",
	Template:  true,
	Fields: []Field{
		keyword("bpmnProcessId"),
		date("endDate"),
		keyword("flowNodeId"),
		keyword("flowNodeName"),
		keyword("id"),
		boolean("incident"),
		long("incidentKey"),
		long("key"),
		long("level"),
		integer("partitionId"),
		long("position"),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		long("scopeKey"),
		date("startDate"),
		keyword("state"),
		keyword("tenantId"),
		keyword("treePath"),
		keyword("type"),
	},
}

// Variable is operate-variable, one document per variable and scope.
var Variable = Index{
	Component: "operate",
	Name:      "variable",
	Version:   "8.3.0",
	Template:  true,
	Fields: []Field{
		keyword("bpmnProcessId"),
		keyword("fullValue").with("ignore_above", variableSizeThreshold),
		keyword("id"),
		boolean("isPreview"),
		long("key"),
		keyword("name"),
		integer("partitionId"),
		long("position"),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		long("scopeKey"),
		keyword("tenantId"),
		keyword("value").with("ignore_above", variableSizeThreshold),
	},
}

// Incident is operate-incident, one document per incident.
var Incident = Index{
	Component: "operate",
	Name:      "incident",
	Version:   "8.3.1",
	Template:  true,
	Analysis:  PathTree,
	Fields: []Field{
		keyword("bpmnProcessId"),
		date("creationTime"),
		text("errorMessage"),
		integer("errorMessageHash"),
		keyword("errorType"),
		keyword("flowNodeId"),
		long("flowNodeInstanceKey"),
		keyword("id"),
		long("jobKey"),
		long("key"),
		integer("partitionId"),
		long("position"),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		keyword("state"),
		keyword("tenantId"),
		text("treePath").with("analyzer", "ca_path_tree").with("fielddata", true),
	},
}

// SequenceFlow is operate-sequence-flow, one document per taken sequence
// flow.
var SequenceFlow = Index{
	Component: "operate",
	Name:      "sequence-flow",
	Version:   "8.3.0",
	Template:  true,
	Fields: []Field{
		keyword("activityId"),
		keyword("bpmnProcessId"),
		keyword("id"),
		long("key"),
		integer("partitionId"),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		keyword("tenantId"),
	},
}

// Job is operate-job, one document per job (service tasks, listeners...).
var Job = Index{
	Component: "operate",
	Name:      "job",
	Version:   "8.6.0",
	Template:  true,
	Fields: []Field{
		keyword("bpmnProcessId"),
		object("customHeaders").with("enabled", false),
		date("deadline"),
		boolean("denied"),
		keyword("deniedReason"),
		date("endTime"),
		keyword("errorCode"),
		keyword("errorMessage"),
		keyword("flowNodeId"),
		long("flowNodeInstanceId"),
		keyword("id"),
		boolean("jobFailedWithRetriesLeft"),
		keyword("jobKind"),
		long("key"),
		keyword("listenerEventType"),
		integer("partitionId"),
		long("position"),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		integer("retries"),
		keyword("state"),
		keyword("tenantId"),
		keyword("type"),
		keyword("worker"),
	},
}

// Message is operate-message, one document per published message.
var Message = Index{
	Component: "operate",
	Name:      "message",
	Version:   "8.5.0",
	Template:  true,
	Fields: []Field{
		keyword("correlationKey"),
		date("deadline"),
		date("expireDate"),
		keyword("id"),
		long("key"),
		keyword("messageId"),
		keyword("messageName"),
		integer("partitionId"),
		date("publishDate"),
		keyword("tenantId"),
		long("timeToLive"),
		text("variables"),
	},
}

// DecisionInstance is operate-decision-instance, one document per
// evaluated decision.
var DecisionInstance = Index{
	Component: "operate",
	Name:      "decision-instance",
	Version:   "8.3.0",
	Template:  true,
	Fields: []Field{
		keyword("bpmnProcessId"),
		keyword("decisionDefinitionId"),
		keyword("decisionId"),
		keyword("decisionName"),
		keyword("decisionRequirementsId"),
		long("decisionRequirementsKey"),
		keyword("decisionType"),
		keyword("decisionVersion"),
		keyword("elementId"),
		long("elementInstanceKey"),
		object("evaluatedInputs"),
		keyword("evaluatedInputs.id"),
		keyword("evaluatedInputs.name"),
		object("evaluatedInputs.value").with("enabled", false),
		object("evaluatedOutputs"),
		keyword("evaluatedOutputs.id"),
		keyword("evaluatedOutputs.name"),
		keyword("evaluatedOutputs.ruleId"),
		integer("evaluatedOutputs.ruleIndex"),
		object("evaluatedOutputs.value").with("enabled", false),
		date("evaluationDate"),
		keyword("evaluationFailure"),
		keyword("evaluationFailureMessage").with("ignore_above", 1024),
		integer("executionIndex"),
		keyword("id"),
		long("key"),
		integer("partitionId"),
		long("position"),
		long("processDefinitionKey"),
		long("processInstanceKey"),
		text("result").with("index", false),
		keyword("rootDecisionDefinitionId"),
		keyword("rootDecisionId"),
		keyword("rootDecisionName"),
		keyword("state"),
		keyword("tenantId"),
	},
}

// TasklistTask is tasklist-task: process documents, user task documents
// and, joined to them through join, their variable documents (name, value,
// fullValue, scopeKey, isTruncated).
var TasklistTask = Index{
	Component: "tasklist",
	Name:      "task",
	Version:   "8.8.0",
	Template:  true,
	Fields: []Field{
		keyword("action"),
		keyword("assignee"),
		keyword("bpmnProcessId"),
		keyword("candidateGroups"),
		keyword("candidateUsers"),
		keyword("changedAttributes"),
		date("completionTime"),
		date("creationTime"),
		object("customHeaders").with("enabled", false),
		date("dueDate"),
		keyword("externalFormReference"),
		keyword("flowNodeBpmnId"),
		keyword("flowNodeInstanceId"),
		date("followUpDate"),
		keyword("formId"),
		keyword("formKey"),
		long("formVersion"),
		keyword("fullValue").with("ignore_above", variableSizeThreshold),
		keyword("id"),
		keyword("implementation"),
		boolean("isFormEmbedded"),
		boolean("isTruncated"),
		join("join", map[string]any{
			"process": []string{"task", "variable"},
			"task":    []string{"localVariable"},
		}).onlyES("eager_global_ordinals", true),
		long("key"),
		keyword("name"),
		integer("partitionId"),
		long("position"),
		integer("priority"),
		keyword("processDefinitionId"),
		integer("processDefinitionVersion"),
		keyword("processInstanceId"),
		keyword("scopeKey"),
		keyword("state"),
		keyword("tenantId"),
		keyword("value").with("ignore_above", variableSizeThreshold),
	},
}

// Indices are all the indices of the Operate-compatible schema:
// definitions first, then the list view, then the indices that refer to
// process instances, then Tasklist's tasks.
var Indices = []Index{
	Process,
	DecisionRequirements,
	Decision,
	TasklistForm,
	ListView,
	FlowNodeInstance,
	Variable,
	Incident,
	SequenceFlow,
	Job,
	Message,
	DecisionInstance,
	TasklistTask,
}

func keyword(path string) Field { return Field{Path: path, Type: "keyword"} }
func text(path string) Field    { return Field{Path: path, Type: "text"} }
func long(path string) Field    { return Field{Path: path, Type: "long"} }
func integer(path string) Field { return Field{Path: path, Type: "integer"} }
func boolean(path string) Field { return Field{Path: path, Type: "boolean"} }
func object(path string) Field  { return Field{Path: path, Type: "object"} }

// date is a date field in the format every Camunda date field has.
func date(path string) Field {
	return Field{Path: path, Type: "date"}.with("format", dateFormat)
}

// join is a join field; relations maps each parent relation to its child
// relations.
func join(path string, relations map[string]any) Field {
	return Field{Path: path, Type: "join"}.with("relations", relations)
}

// with returns f with option key set for both engines.
func (f Field) with(key string, v any) Field {
	f.Options = withOption(f.Options, key, v)
	return f
}

// onlyES returns f with option key set for Elasticsearch only.
func (f Field) onlyES(key string, v any) Field {
	f.OnlyES = withOption(f.OnlyES, key, v)
	return f
}

// withOption returns a copy of m with key set to v.
func withOption(m map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, x := range m {
		out[k] = x
	}
	out[key] = v
	return out
}
