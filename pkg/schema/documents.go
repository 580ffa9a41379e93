package schema

import (
	"encoding/json"
	"time"
)

// Documents, one struct per family, named after it: the family F's
// documents are FDoc, and their JSON fields are exactly the properties of
// F's mapping (mappings/F.json; a test holds them together). Nullable values
// are pointers so that an unset value is an explicit null. Every document
// carries the position of the newest record folded into it, which is also
// its external version.

// ListViewDoc is the list-view document of a process instance.
type ListViewDoc struct {
	Key                       int64   `json:"key"`
	ProcessDefinitionKey      int64   `json:"processDefinitionKey"`
	BpmnProcessID             string  `json:"bpmnProcessId"`
	Version                   int32   `json:"version"`
	VersionTag                *string `json:"versionTag"`
	ProcessName               string  `json:"processName"`
	State                     string  `json:"state"`
	StartDate                 *string `json:"startDate"`
	EndDate                   *string `json:"endDate"`
	ParentProcessInstanceKey  int64   `json:"parentProcessInstanceKey"`
	ParentFlowNodeInstanceKey int64   `json:"parentFlowNodeInstanceKey"`
	RootProcessInstanceKey    int64   `json:"rootProcessInstanceKey"`
	TreePath                  string  `json:"treePath"`
	Incident                  bool    `json:"incident"`
	TenantID                  string  `json:"tenantId"`
	PartitionID               int32   `json:"partitionId"`
	Position                  int64   `json:"position"`
}

// FlowNodeInstanceDoc is the flownode-instance document of one element
// instance (every element but the process itself and sequence flows).
type FlowNodeInstanceDoc struct {
	Key                  int64   `json:"key"`
	ProcessInstanceKey   int64   `json:"processInstanceKey"`
	ProcessDefinitionKey int64   `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	FlowNodeID           string  `json:"flowNodeId"`
	FlowNodeName         string  `json:"flowNodeName"`
	Type                 string  `json:"type"`
	State                string  `json:"state"`
	StartDate            *string `json:"startDate"`
	EndDate              *string `json:"endDate"`
	ScopeKey             int64   `json:"scopeKey"`
	TreePath             string  `json:"treePath"`
	Level                int     `json:"level"`
	Incident             bool    `json:"incident"`
	IncidentKey          *int64  `json:"incidentKey"`
	TenantID             string  `json:"tenantId"`
	Position             int64   `json:"position"`
}

// SequenceFlowDoc is a taken sequence flow of a process instance.
type SequenceFlowDoc struct {
	ProcessInstanceKey   int64  `json:"processInstanceKey"`
	ProcessDefinitionKey int64  `json:"processDefinitionKey"`
	BpmnProcessID        string `json:"bpmnProcessId"`
	ActivityID           string `json:"activityId"`
	TenantID             string `json:"tenantId"`
	Position             int64  `json:"position"`
}

// VariableDoc is a variable of a scope; id <scopeKey>-<name>.
type VariableDoc struct {
	Name                 string  `json:"name"`
	Value                string  `json:"value"`
	FullValue            *string `json:"fullValue"`
	IsPreview            bool    `json:"isPreview"`
	ScopeKey             int64   `json:"scopeKey"`
	ProcessInstanceKey   int64   `json:"processInstanceKey"`
	ProcessDefinitionKey int64   `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	TenantID             string  `json:"tenantId"`
	Position             int64   `json:"position"`

	// Key is the variable's key (the record key): not in Flowline's
	// schema, for the Operate-compatible one.
	Key int64 `json:"-"`
}

// IncidentDoc is an incident of a flow-node instance.
type IncidentDoc struct {
	Key                  int64   `json:"key"`
	ProcessInstanceKey   int64   `json:"processInstanceKey"`
	ProcessDefinitionKey int64   `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	FlowNodeID           string  `json:"flowNodeId"`
	FlowNodeInstanceKey  int64   `json:"flowNodeInstanceKey"`
	JobKey               *int64  `json:"jobKey"` // null when no job caused it
	ErrorType            string  `json:"errorType"`
	ErrorMessage         string  `json:"errorMessage"`
	State                string  `json:"state"`
	CreationTime         *string `json:"creationTime"`
	ResolutionTime       *string `json:"resolutionTime"`
	TreePath             string  `json:"treePath"`
	TenantID             string  `json:"tenantId"`
	Position             int64   `json:"position"`
}

// JobDoc is a job of a service-like task.
type JobDoc struct {
	Key                 int64           `json:"key"`
	ProcessInstanceKey  int64           `json:"processInstanceKey"`
	FlowNodeInstanceKey int64           `json:"flowNodeInstanceKey"`
	FlowNodeID          string          `json:"flowNodeId"`
	Type                string          `json:"type"`
	Worker              string          `json:"worker"`
	Retries             int32           `json:"retries"`
	State               string          `json:"state"`
	ErrorMessage        string          `json:"errorMessage"`
	ErrorCode           string          `json:"errorCode"`
	Deadline            *string         `json:"deadline"`
	CustomHeaders       json.RawMessage `json:"customHeaders"`
	EndTime             *string         `json:"endTime"`
	TenantID            string          `json:"tenantId"`
	Position            int64           `json:"position"`

	// Operate holds what the Operate-compatible schema's job document has
	// and Flowline's does not: not in Flowline's schema.
	Operate JobOperate `json:"-"`
}

// DecisionInstanceOperate is what the Operate-compatible schema's decision
// instance document holds beyond Flowline's.
type DecisionInstanceOperate struct {
	Key                      int64 // the evaluation record's key
	ExecutionIndex           int   // 1-based place among the evaluated decisions
	BpmnProcessID            string
	DecisionRequirementsID   string
	RootDecisionID           string // the decision called
	RootDecisionName         string
	RootDecisionKey          int64
	EvaluationFailureMessage string
}

// JobOperate is what the Operate-compatible schema's job document holds
// beyond Flowline's.
type JobOperate struct {
	ProcessDefinitionKey int64
	BpmnProcessID        string
	JobKind              string
	ListenerEventType    string
	// FailedWithRetriesLeft: the record is a FAILED or ERROR_THROWN with
	// retries left.
	FailedWithRetriesLeft bool
	// Timestamp is the record's (epoch ms): Operate's endTime is that of
	// the latest job record.
	Timestamp int64
}

// TaskDoc is a user task (Tasklist's task).
type TaskDoc struct {
	Key                  int64    `json:"key"`
	ProcessInstanceKey   int64    `json:"processInstanceKey"`
	FlowNodeInstanceKey  int64    `json:"flowNodeInstanceKey"`
	FlowNodeBpmnID       string   `json:"flowNodeBpmnId"`
	BpmnProcessID        string   `json:"bpmnProcessId"`
	ProcessDefinitionKey int64    `json:"processDefinitionKey"`
	Name                 string   `json:"name"`
	State                string   `json:"state"`
	Assignee             *string  `json:"assignee"`
	CandidateGroups      []string `json:"candidateGroups"`
	CandidateUsers       []string `json:"candidateUsers"`
	DueDate              *string  `json:"dueDate"`
	FollowUpDate         *string  `json:"followUpDate"`
	FormKey              *string  `json:"formKey"`
	Priority             int32    `json:"priority"`
	CreationTime         *string  `json:"creationTime"`
	CompletionTime       *string  `json:"completionTime"`
	TenantID             string   `json:"tenantId"`
	Position             int64    `json:"position"`

	// Implementation is Tasklist's: "" for a Camunda user task
	// (ZEEBE_USER_TASK), JOB_WORKER for a job-based one, which only the
	// Operate-compatible schema writes; not in Flowline's schema.
	Implementation string `json:"-"`
}

// DecisionInstanceDoc is one evaluated decision of a DECISION_EVALUATION.
type DecisionInstanceDoc struct {
	DecisionID              string            `json:"decisionId"`
	DecisionName            string            `json:"decisionName"`
	DecisionType            string            `json:"decisionType"`
	DecisionVersion         int32             `json:"decisionVersion"`
	DecisionKey             int64             `json:"decisionKey"`
	DecisionRequirementsKey int64             `json:"decisionRequirementsKey"`
	State                   string            `json:"state"`
	EvaluationDate          *string           `json:"evaluationDate"`
	EvaluationFailure       *string           `json:"evaluationFailure"`
	ProcessInstanceKey      int64             `json:"processInstanceKey"`
	ProcessDefinitionKey    int64             `json:"processDefinitionKey"`
	FlowNodeInstanceKey     int64             `json:"flowNodeInstanceKey"`
	ElementID               string            `json:"elementId"`
	EvaluatedInputs         []EvaluatedInput  `json:"evaluatedInputs"`
	EvaluatedOutputs        []EvaluatedOutput `json:"evaluatedOutputs"`
	Result                  string            `json:"result"`
	TenantID                string            `json:"tenantId"`
	Position                int64             `json:"position"`

	// Operate holds what the Operate-compatible schema's document has and
	// Flowline's does not: not in Flowline's schema.
	Operate DecisionInstanceOperate `json:"-"`
}

// EvaluatedInput is one input of an evaluated decision.
type EvaluatedInput struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EvaluatedOutput is one output of a matched rule.
type EvaluatedOutput struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Value     string `json:"value"`
	RuleID    string `json:"ruleId"`
	RuleIndex int32  `json:"ruleIndex"`
}

// ProcessDoc is a deployed process definition.
type ProcessDoc struct {
	Key             int64      `json:"key"`
	BpmnProcessID   string     `json:"bpmnProcessId"`
	Version         int32      `json:"version"`
	VersionTag      *string    `json:"versionTag"`
	Name            string     `json:"name"`
	ResourceName    string     `json:"resourceName"`
	BpmnXML         string     `json:"bpmnXml"`
	FlowNodes       []FlowNode `json:"flowNodes"`
	CallActivityIDs []string   `json:"callActivityIds"`
	Deleted         bool       `json:"deleted"`
	TenantID        string     `json:"tenantId"`
	Position        int64      `json:"position"`
}

// FlowNode is a flow node's id and name within a process document.
type FlowNode struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// DecisionRequirementsDoc is a deployed DRG (a DMN resource).
type DecisionRequirementsDoc struct {
	Key                    int64  `json:"key"`
	DecisionRequirementsID string `json:"decisionRequirementsId"`
	Name                   string `json:"name"`
	Version                int32  `json:"version"`
	ResourceName           string `json:"resourceName"`
	XML                    string `json:"xml"`
	TenantID               string `json:"tenantId"`
	Position               int64  `json:"position"`
}

// DecisionDoc is a deployed decision.
type DecisionDoc struct {
	Key                     int64  `json:"key"`
	DecisionID              string `json:"decisionId"`
	Name                    string `json:"name"`
	Version                 int32  `json:"version"`
	DecisionRequirementsKey int64  `json:"decisionRequirementsKey"`
	DecisionRequirementsID  string `json:"decisionRequirementsId"`
	TenantID                string `json:"tenantId"`
	Position                int64  `json:"position"`
}

// FormDoc is a deployed form.
type FormDoc struct {
	Key      int64  `json:"key"`
	FormID   string `json:"formId"`
	Version  int32  `json:"version"`
	Schema   string `json:"schema"`
	TenantID string `json:"tenantId"`
	Position int64  `json:"position"`
}

// Names of the fields that code queries, sorts or reads documents by (the
// archiver); a test holds each to the document types above.
const (
	FieldKey                = "key"                // entity key; a list-view document's id
	FieldPartitionID        = "partitionId"        // list-view
	FieldEndDate            = "endDate"            // list-view, flownode-instance
	FieldPosition           = "position"           // every family: the newest record folded in
	FieldProcessInstanceKey = "processInstanceKey" // the families of a process instance's parts
)

// States of process instances, flow-node instances, incidents and tasks.
const (
	StateActive     = "ACTIVE"
	StateCompleted  = "COMPLETED"
	StateCanceled   = "CANCELED"   // process instance terminated, task canceled
	StateTerminated = "TERMINATED" // flow node terminated
	StateResolved   = "RESOLVED"   // incident
	StateCreated    = "CREATED"    // task
	StateEvaluated  = "EVALUATED"  // decision instance
	StateFailed     = "FAILED"     // decision instance
)

// dateLayout is ISO-8601 UTC with milliseconds, e.g. 2026-11-23T06:00:00.000Z.
const dateLayout = "2006-01-02T15:04:05.000Z"

// FormatDate renders an epoch-millisecond timestamp as a document date.
func FormatDate(epochMillis int64) *string {
	s := formatDate(epochMillis)
	return &s
}

// formatDate is time.UnixMilli(epochMillis).UTC().Format(dateLayout),
// computed directly for the years 0 to 9999 (a few times faster: every
// document has dates); other years go to package time.
func formatDate(epochMillis int64) string {
	const (
		msPerDay = 86_400_000
		minMs    = -62_167_219_200_000 // 0000-01-01T00:00:00Z
		maxMs    = 253_402_300_799_999 // 9999-12-31T23:59:59.999Z
	)
	if epochMillis < minMs || epochMillis > maxMs {
		return time.UnixMilli(epochMillis).UTC().Format(dateLayout)
	}
	days, ms := epochMillis/msPerDay, epochMillis%msPerDay
	if ms < 0 {
		days, ms = days-1, ms+msPerDay
	}
	// Civil date from days since 1970-01-01 (proleptic Gregorian; Howard
	// Hinnant's days_from_civil inverted).
	z := days + 719_468
	era := z / 146_097
	if z < 0 && z%146_097 != 0 {
		era--
	}
	doe := z - era*146_097
	yoe := (doe - doe/1460 + doe/36_524 - doe/146_096) / 365
	year := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if month > 12 {
		month -= 12
	}
	if month <= 2 {
		year++
	}
	var b [24]byte
	put := func(at int, v int64, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, month, 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, ms/3_600_000, 2)
	b[13] = ':'
	put(14, ms/60_000%60, 2)
	b[16] = ':'
	put(17, ms/1000%60, 2)
	b[19] = '.'
	put(20, ms%1000, 3)
	b[23] = 'Z'
	return string(b[:])
}
