package schema

// The Camunda 7 families: documents built from a Camunda 7 engine's history
// (services/c7fold), written to <prefix>-c7-<family>-<version>_ like the
// Zeebe families. The engine's ids are strings and stay strings (keyword).
// Field names are those of the Zeebe families wherever the concept is the
// same, so that one query over <prefix>-list-view,<prefix>-c7-list-view
// lists a process's instances from both engines: bpmnProcessId is the C7
// process definition key, processDefinitionKey the unique definition id
// (as Zeebe's processDefinitionKey is the deployed definition's unique
// key). Every document carries source, the label of the engine it came
// from (FLOWLINE_C7_SOURCE), and position, its external version (see
// docs/design/c7import.md: what orders the updates of a document).
const (
	// C7ProcessInstance is Optimize's analysis view: one document per
	// process instance with its flow-node instances, user tasks, variables
	// and incidents nested.
	C7ProcessInstance  Family = "c7-process-instance"
	C7Process          Family = "c7-process"
	C7Decision         Family = "c7-decision"
	C7ListView         Family = "c7-list-view"
	C7FlowNodeInstance Family = "c7-flownode-instance"
	C7Variable         Family = "c7-variable"
	C7Incident         Family = "c7-incident"
	C7Task             Family = "c7-task"
	C7DecisionInstance Family = "c7-decision-instance"
)

// C7Families lists the Camunda 7 families (part of Families).
var C7Families = []Family{
	C7Process, C7Decision, C7ProcessInstance, C7ListView, C7FlowNodeInstance,
	C7Variable, C7Incident, C7Task, C7DecisionInstance,
}

// C7ProcessInstanceDoc is Optimize's view of a process instance: the
// historic instance with all its parts, the latest value of each variable.
// processDefinitionKey is the definition key here, as Optimize names it.
type C7ProcessInstanceDoc struct {
	ProcessInstanceID        string            `json:"processInstanceId"`
	ProcessDefinitionKey     string            `json:"processDefinitionKey"`
	ProcessDefinitionVersion int32             `json:"processDefinitionVersion"`
	ProcessDefinitionID      string            `json:"processDefinitionId"`
	BusinessKey              *string           `json:"businessKey"`
	StartDate                *string           `json:"startDate"`
	EndDate                  *string           `json:"endDate"`
	Duration                 *int64            `json:"duration"` // ms, once ended
	State                    string            `json:"state"`    // the engine's: ACTIVE, SUSPENDED, COMPLETED, EXTERNALLY_TERMINATED, INTERNALLY_TERMINATED
	TenantID                 *string           `json:"tenantId"`
	Source                   string            `json:"source"`
	FlowNodeInstances        []C7FlowNode      `json:"flowNodeInstances"`
	UserTasks                []C7UserTask      `json:"userTasks"`
	Variables                []C7VariableValue `json:"variables"`
	Incidents                []C7IncidentEntry `json:"incidents"`
	Position                 int64             `json:"position"`
}

// C7FlowNode is an activity instance within C7ProcessInstanceDoc.
type C7FlowNode struct {
	ID           string  `json:"id"`
	ActivityID   string  `json:"activityId"`
	ActivityName *string `json:"activityName"`
	ActivityType string  `json:"activityType"` // the engine's, e.g. userTask
	StartDate    *string `json:"startDate"`
	EndDate      *string `json:"endDate"`
	Duration     *int64  `json:"duration"`
	Canceled     bool    `json:"canceled"`
}

// C7UserTask is a user task within C7ProcessInstanceDoc: assignee and
// candidate groups as they ended (or are), when it was first claimed, and
// how long it waited without an assignee (idle) and was worked on with one
// (work), once it ended.
type C7UserTask struct {
	ID                 string   `json:"id"`
	ActivityID         string   `json:"activityId"`
	ActivityInstanceID *string  `json:"activityInstanceId"`
	Assignee           *string  `json:"assignee"`
	CandidateGroups    []string `json:"candidateGroups"`
	StartDate          *string  `json:"startDate"`
	EndDate            *string  `json:"endDate"`
	ClaimDate          *string  `json:"claimDate"`
	Duration           *int64   `json:"duration"`
	IdleDuration       *int64   `json:"idleDuration"`
	WorkDuration       *int64   `json:"workDuration"`
	DeleteReason       *string  `json:"deleteReason"`
}

// C7VariableValue is a variable's latest value within
// C7ProcessInstanceDoc: primitive types, dates and JSON or XML text, as a
// string; version is the variable's revision in the engine.
type C7VariableValue struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Value   *string `json:"value"`
	Version int64   `json:"version"`
}

// C7IncidentEntry is an incident within C7ProcessInstanceDoc; state is
// Optimize's: open, resolved or deleted.
type C7IncidentEntry struct {
	ID           string  `json:"id"`
	IncidentType string  `json:"incidentType"`
	ActivityID   *string `json:"activityId"`
	CreateTime   *string `json:"createTime"`
	EndTime      *string `json:"endTime"`
	State        string  `json:"state"`
	Message      *string `json:"message"`
}

// C7ListViewDoc is the list-view document of a C7 process instance.
type C7ListViewDoc struct {
	Key                      string  `json:"key"`
	ProcessDefinitionKey     string  `json:"processDefinitionKey"`
	BpmnProcessID            string  `json:"bpmnProcessId"`
	Version                  int32   `json:"version"`
	ProcessName              *string `json:"processName"`
	State                    string  `json:"state"` // ACTIVE, COMPLETED, CANCELED
	StartDate                *string `json:"startDate"`
	EndDate                  *string `json:"endDate"`
	BusinessKey              *string `json:"businessKey"`
	ParentProcessInstanceKey *string `json:"parentProcessInstanceKey"`
	RootProcessInstanceKey   *string `json:"rootProcessInstanceKey"`
	Incident                 bool    `json:"incident"` // an incident is open
	TenantID                 string  `json:"tenantId"`
	Source                   string  `json:"source"`
	Position                 int64   `json:"position"`
}

// C7FlowNodeInstanceDoc is an activity instance of a C7 process instance.
type C7FlowNodeInstanceDoc struct {
	Key                  string  `json:"key"`
	ProcessInstanceKey   string  `json:"processInstanceKey"`
	ProcessDefinitionKey string  `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	FlowNodeID           string  `json:"flowNodeId"`
	FlowNodeName         *string `json:"flowNodeName"`
	Type                 string  `json:"type"`  // Zeebe's element type names: USER_TASK, SERVICE_TASK, ...
	State                string  `json:"state"` // ACTIVE, COMPLETED, TERMINATED
	StartDate            *string `json:"startDate"`
	EndDate              *string `json:"endDate"`
	ScopeKey             *string `json:"scopeKey"` // the parent activity instance
	Incident             bool    `json:"incident"` // an incident is open on it
	TenantID             string  `json:"tenantId"`
	Source               string  `json:"source"`
	Position             int64   `json:"position"`
}

// C7VariableDoc is a variable of a C7 process instance, its latest value
// as JSON text (as in the Zeebe variable family); id: the engine's variable
// instance id.
type C7VariableDoc struct {
	Name                 string  `json:"name"`
	Type                 string  `json:"type"` // the engine's value type
	Value                string  `json:"value"`
	FullValue            *string `json:"fullValue"`
	IsPreview            bool    `json:"isPreview"`
	ScopeKey             *string `json:"scopeKey"` // the activity instance that holds it
	ProcessInstanceKey   string  `json:"processInstanceKey"`
	ProcessDefinitionKey string  `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	TenantID             string  `json:"tenantId"`
	Source               string  `json:"source"`
	Position             int64   `json:"position"`
}

// C7IncidentDoc is an incident of a C7 process instance.
type C7IncidentDoc struct {
	Key                  string  `json:"key"`
	ProcessInstanceKey   string  `json:"processInstanceKey"`
	ProcessDefinitionKey string  `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	FlowNodeID           *string `json:"flowNodeId"`
	ErrorType            string  `json:"errorType"`
	ErrorMessage         *string `json:"errorMessage"`
	State                string  `json:"state"` // ACTIVE, RESOLVED
	CreationTime         *string `json:"creationTime"`
	ResolutionTime       *string `json:"resolutionTime"`
	TenantID             string  `json:"tenantId"`
	Source               string  `json:"source"`
	Position             int64   `json:"position"`
}

// C7TaskDoc is a user task of a C7 process instance.
type C7TaskDoc struct {
	Key                  string   `json:"key"`
	ProcessInstanceKey   string   `json:"processInstanceKey"`
	FlowNodeInstanceKey  *string  `json:"flowNodeInstanceKey"`
	FlowNodeBpmnID       string   `json:"flowNodeBpmnId"`
	BpmnProcessID        string   `json:"bpmnProcessId"`
	ProcessDefinitionKey string   `json:"processDefinitionKey"`
	Name                 *string  `json:"name"`
	State                string   `json:"state"` // CREATED, COMPLETED, CANCELED
	Assignee             *string  `json:"assignee"`
	CandidateGroups      []string `json:"candidateGroups"`
	CandidateUsers       []string `json:"candidateUsers"`
	DueDate              *string  `json:"dueDate"`
	FollowUpDate         *string  `json:"followUpDate"`
	Priority             int32    `json:"priority"`
	CreationTime         *string  `json:"creationTime"`
	CompletionTime       *string  `json:"completionTime"`
	TenantID             string   `json:"tenantId"`
	Source               string   `json:"source"`
	Position             int64    `json:"position"`
}

// C7ProcessDoc is a deployed C7 process definition.
type C7ProcessDoc struct {
	Key           string     `json:"key"` // the definition id
	BpmnProcessID string     `json:"bpmnProcessId"`
	Version       int32      `json:"version"`
	VersionTag    *string    `json:"versionTag"`
	Name          *string    `json:"name"`
	ResourceName  *string    `json:"resourceName"`
	BpmnXML       string     `json:"bpmnXml"`
	FlowNodes     []FlowNode `json:"flowNodes"`
	DeploymentID  *string    `json:"deploymentId"`
	TenantID      string     `json:"tenantId"`
	Source        string     `json:"source"`
	Position      int64      `json:"position"`
}

// C7DecisionDoc is a deployed C7 decision definition with its DMN.
type C7DecisionDoc struct {
	Key                     string  `json:"key"` // the decision definition id
	DecisionID              string  `json:"decisionId"`
	Name                    *string `json:"name"`
	Version                 int32   `json:"version"`
	VersionTag              *string `json:"versionTag"`
	DecisionRequirementsKey *string `json:"decisionRequirementsKey"`
	DecisionRequirementsID  *string `json:"decisionRequirementsId"`
	ResourceName            *string `json:"resourceName"`
	XML                     string  `json:"xml"`
	DeploymentID            *string `json:"deploymentId"`
	TenantID                string  `json:"tenantId"`
	Source                  string  `json:"source"`
	Position                int64   `json:"position"`
}

// C7DecisionInstanceDoc is one evaluated decision of a C7 engine; values
// are JSON text, as in the Zeebe decision-instance family.
type C7DecisionInstanceDoc struct {
	Key                  string            `json:"key"`
	DecisionID           string            `json:"decisionId"`  // the decision definition key
	DecisionKey          string            `json:"decisionKey"` // the decision definition id
	DecisionName         *string           `json:"decisionName"`
	State                string            `json:"state"` // EVALUATED
	EvaluationDate       *string           `json:"evaluationDate"`
	ProcessInstanceKey   *string           `json:"processInstanceKey"`
	ProcessDefinitionKey *string           `json:"processDefinitionKey"`
	BpmnProcessID        *string           `json:"bpmnProcessId"`
	FlowNodeInstanceKey  *string           `json:"flowNodeInstanceKey"`
	ElementID            *string           `json:"elementId"`
	RootDecisionKey      *string           `json:"rootDecisionInstanceKey"`
	EvaluatedInputs      []EvaluatedInput  `json:"evaluatedInputs"`
	EvaluatedOutputs     []EvaluatedOutput `json:"evaluatedOutputs"`
	TenantID             string            `json:"tenantId"`
	Source               string            `json:"source"`
	Position             int64             `json:"position"`
}
