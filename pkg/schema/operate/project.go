package operate

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/flowline/flowline/pkg/schema"
)

// Doc is one document of the Operate-compatible schema: its index, id,
// routing ("" unless it is a join child) and source (a struct marshalled as
// JSON, every field of it in the index's strict mappings).
type Doc struct {
	Index   *Index
	ID      string
	Routing string
	Source  any
}

// The projections below turn Flowline's documents (pkg/schema), which the
// aggregator folds from the records, into the documents Camunda 8.8's
// exporter writes for the same records (docs/design/operate-schema-handlers.md
// has what each of its handlers writes). They are pure: what a Flowline
// document does not hold comes as an argument.

// joinRelation is a list-view or tasklist-task document's place in its
// index's join.
type joinRelation struct {
	Name   string `json:"name"`
	Parent *int64 `json:"parent,omitempty"`
}

// ListViewInstanceDoc is the list-view document of a process instance
// (joinRelation processInstance, routed by its own id).
type ListViewInstanceDoc struct {
	ID                        string       `json:"id"`
	Key                       int64        `json:"key"`
	ProcessInstanceKey        int64        `json:"processInstanceKey"`
	PartitionID               int32        `json:"partitionId"`
	ProcessDefinitionKey      int64        `json:"processDefinitionKey"`
	BpmnProcessID             string       `json:"bpmnProcessId"`
	ProcessVersion            int32        `json:"processVersion"`
	ProcessName               string       `json:"processName"`
	ProcessVersionTag         *string      `json:"processVersionTag"`
	StartDate                 *string      `json:"startDate"`
	EndDate                   *string      `json:"endDate"`
	State                     string       `json:"state"`
	TreePath                  string       `json:"treePath"`
	ParentProcessInstanceKey  *int64       `json:"parentProcessInstanceKey"`
	ParentFlowNodeInstanceKey *int64       `json:"parentFlowNodeInstanceKey"`
	Incident                  bool         `json:"incident"`
	BatchOperationIDs         []string     `json:"batchOperationIds"`
	TenantID                  string       `json:"tenantId"`
	Position                  int64        `json:"position"`
	JoinRelation              joinRelation `json:"joinRelation"`
}

// ProjectListViewInstance projects a process instance's list-view document.
func ProjectListViewInstance(d *schema.ListViewDoc) Doc {
	id := strconv.FormatInt(d.Key, 10)
	return Doc{Index: &ListView, ID: id, Source: &ListViewInstanceDoc{
		ID: id, Key: d.Key, ProcessInstanceKey: d.Key, PartitionID: d.PartitionID,
		ProcessDefinitionKey: d.ProcessDefinitionKey, BpmnProcessID: d.BpmnProcessID, ProcessVersion: d.Version,
		ProcessName: d.ProcessName, ProcessVersionTag: d.VersionTag,
		StartDate: Date(d.StartDate), EndDate: Date(d.EndDate), State: d.State, TreePath: d.TreePath,
		ParentProcessInstanceKey: keyOrNull(d.ParentProcessInstanceKey), ParentFlowNodeInstanceKey: keyOrNull(d.ParentFlowNodeInstanceKey),
		Incident: d.Incident, TenantID: tenant(d.TenantID), Position: d.Position,
		JoinRelation: joinRelation{Name: "processInstance"},
	}}
}

// ListViewActivityDoc is the list-view document of a flow node instance
// (joinRelation activity, child of its process instance, routed by it).
type ListViewActivityDoc struct {
	ID                       string       `json:"id"`
	Key                      int64        `json:"key"`
	PartitionID              int32        `json:"partitionId"`
	ProcessInstanceKey       int64        `json:"processInstanceKey"`
	ActivityID               string       `json:"activityId"`
	ActivityState            string       `json:"activityState"`
	ActivityType             string       `json:"activityType"`
	ErrorMessage             *string      `json:"errorMessage"`
	Incident                 bool         `json:"incident"`
	JobFailedWithRetriesLeft bool         `json:"jobFailedWithRetriesLeft"`
	TenantID                 string       `json:"tenantId"`
	Position                 int64        `json:"position"`
	PositionIncident         *int64       `json:"positionIncident"`
	PositionJob              *int64       `json:"positionJob"`
	JoinRelation             joinRelation `json:"joinRelation"`
}

// ActivityExtras are what a flow node instance's list-view document holds
// that Flowline's flow-node document does not: the message of its active
// incident (nil when none), whether its job failed with retries left, and
// the positions of the last incident and job records applied to it.
type ActivityExtras struct {
	// CalledIncident: a call activity whose called instances have an
	// unresolved incident, flagged like the flow node of the incident.
	CalledIncident           bool
	ErrorMessage             *string
	JobFailedWithRetriesLeft bool
	PositionIncident         *int64
	PositionJob              *int64
}

// ProjectListViewActivity projects a flow node instance's list-view document.
func ProjectListViewActivity(fn *schema.FlowNodeInstanceDoc, partition int32, x ActivityExtras) Doc {
	id := strconv.FormatInt(fn.Key, 10)
	parent := fn.ProcessInstanceKey
	var msg *string
	if x.ErrorMessage != nil {
		m := JavaStrip(*x.ErrorMessage)
		msg = &m
	}
	return Doc{Index: &ListView, ID: id, Routing: strconv.FormatInt(parent, 10), Source: &ListViewActivityDoc{
		ID: id, Key: fn.Key, PartitionID: partition, ProcessInstanceKey: fn.ProcessInstanceKey,
		ActivityID: fn.FlowNodeID, ActivityState: fn.State, ActivityType: fn.Type, ErrorMessage: msg,
		Incident: fn.Incident || x.CalledIncident, JobFailedWithRetriesLeft: x.JobFailedWithRetriesLeft, TenantID: tenant(fn.TenantID),
		Position: fn.Position, PositionIncident: x.PositionIncident, PositionJob: x.PositionJob,
		JoinRelation: joinRelation{Name: "activity", Parent: &parent},
	}}
}

// ListViewVariableDoc is the list-view document of a variable (joinRelation
// variable, child of its process instance, routed by it): the value whole,
// searchable up to ignore_above.
type ListViewVariableDoc struct {
	ID                 string       `json:"id"`
	Key                int64        `json:"key"`
	PartitionID        int32        `json:"partitionId"`
	ProcessInstanceKey int64        `json:"processInstanceKey"`
	ScopeKey           int64        `json:"scopeKey"`
	VarName            string       `json:"varName"`
	VarValue           string       `json:"varValue"`
	TenantID           string       `json:"tenantId"`
	Position           int64        `json:"position"`
	JoinRelation       joinRelation `json:"joinRelation"`
}

// VariableDoc is the operate-variable document: the value cut to the
// variable size threshold, the whole value beside it when cut.
type VariableDoc struct {
	ID                   string  `json:"id"`
	Key                  int64   `json:"key"`
	PartitionID          int32   `json:"partitionId"`
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
}

// ProjectVariable projects a variable into its operate-variable document
// and its list-view child; key is the variable's key (the record key).
func ProjectVariable(v *schema.VariableDoc, key int64, partition int32) (variable, listView Doc) {
	id := strconv.FormatInt(v.ScopeKey, 10) + "-" + v.Name
	whole := v.Value
	if v.FullValue != nil {
		whole = *v.FullValue
	}
	value, full, isPreview := Preview(whole)
	parent := v.ProcessInstanceKey
	variable = Doc{Index: &Variable, ID: id, Source: &VariableDoc{
		ID: id, Key: key, PartitionID: partition, Name: v.Name, Value: value, FullValue: full, IsPreview: isPreview,
		ScopeKey: v.ScopeKey, ProcessInstanceKey: v.ProcessInstanceKey, ProcessDefinitionKey: v.ProcessDefinitionKey,
		BpmnProcessID: v.BpmnProcessID, TenantID: tenant(v.TenantID), Position: v.Position,
	}}
	listView = Doc{Index: &ListView, ID: id, Routing: strconv.FormatInt(parent, 10), Source: &ListViewVariableDoc{
		ID: id, Key: key, PartitionID: partition, ProcessInstanceKey: v.ProcessInstanceKey, ScopeKey: v.ScopeKey,
		VarName: v.Name, VarValue: whole, TenantID: tenant(v.TenantID), Position: v.Position,
		JoinRelation: joinRelation{Name: "variable", Parent: &parent},
	}}
	return variable, listView
}

// FlowNodeInstanceDoc is the operate-flownode-instance document.
type FlowNodeInstanceDoc struct {
	ID                   string  `json:"id"`
	Key                  int64   `json:"key"`
	PartitionID          int32   `json:"partitionId"`
	FlowNodeID           string  `json:"flowNodeId"`
	FlowNodeName         *string `json:"flowNodeName"`
	StartDate            *string `json:"startDate"`
	EndDate              *string `json:"endDate"`
	State                string  `json:"state"`
	Type                 string  `json:"type"`
	IncidentKey          *int64  `json:"incidentKey"`
	ProcessInstanceKey   int64   `json:"processInstanceKey"`
	ProcessDefinitionKey int64   `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	TreePath             string  `json:"treePath"`
	Level                int     `json:"level"`
	Position             int64   `json:"position"`
	Incident             bool    `json:"incident"`
	TenantID             string  `json:"tenantId"`
	ScopeKey             int64   `json:"scopeKey"`
}

// ProjectFlowNodeInstance projects a flow node instance's
// operate-flownode-instance document; calledIncident flags a call activity
// whose called instances have an unresolved incident.
func ProjectFlowNodeInstance(fn *schema.FlowNodeInstanceDoc, partition int32, calledIncident bool) Doc {
	id := strconv.FormatInt(fn.Key, 10)
	// The aggregator leaves an unnamed element's name empty in this
	// schema; Camunda writes null.
	var name *string
	if fn.FlowNodeName != "" {
		n := fn.FlowNodeName
		name = &n
	}
	return Doc{Index: &FlowNodeInstance, ID: id, Source: &FlowNodeInstanceDoc{
		ID: id, Key: fn.Key, PartitionID: partition, FlowNodeID: fn.FlowNodeID, FlowNodeName: name,
		StartDate: Date(fn.StartDate), EndDate: Date(fn.EndDate), State: fn.State, Type: fn.Type, IncidentKey: fn.IncidentKey,
		ProcessInstanceKey: fn.ProcessInstanceKey, ProcessDefinitionKey: fn.ProcessDefinitionKey, BpmnProcessID: fn.BpmnProcessID,
		TreePath: fn.TreePath, Level: fn.Level, Position: fn.Position, Incident: fn.Incident || calledIncident, TenantID: tenant(fn.TenantID),
		ScopeKey: fn.ScopeKey,
	}}
}

// IncidentDoc is the operate-incident document in its final state (ACTIVE or
// RESOLVED, as Camunda's incident post-processing leaves it).
type IncidentDoc struct {
	ID                   string  `json:"id"`
	Key                  int64   `json:"key"`
	PartitionID          int32   `json:"partitionId"`
	Position             int64   `json:"position"`
	ProcessInstanceKey   int64   `json:"processInstanceKey"`
	ProcessDefinitionKey int64   `json:"processDefinitionKey"`
	BpmnProcessID        string  `json:"bpmnProcessId"`
	FlowNodeID           string  `json:"flowNodeId"`
	FlowNodeInstanceKey  int64   `json:"flowNodeInstanceKey"`
	JobKey               *int64  `json:"jobKey"`
	ErrorType            string  `json:"errorType"`
	ErrorMessage         string  `json:"errorMessage"`
	ErrorMessageHash     int32   `json:"errorMessageHash"`
	State                string  `json:"state"`
	CreationTime         *string `json:"creationTime"`
	TreePath             string  `json:"treePath"`
	TenantID             string  `json:"tenantId"`
}

// ProjectIncident projects an incident's operate-incident document.
func ProjectIncident(inc *schema.IncidentDoc, partition int32) Doc {
	id := strconv.FormatInt(inc.Key, 10)
	msg := JavaStrip(inc.ErrorMessage)
	errorType := inc.ErrorType
	if errorType == "" {
		errorType = "UNSPECIFIED"
	}
	return Doc{Index: &Incident, ID: id, Source: &IncidentDoc{
		ID: id, Key: inc.Key, PartitionID: partition, Position: inc.Position,
		ProcessInstanceKey: inc.ProcessInstanceKey, ProcessDefinitionKey: inc.ProcessDefinitionKey, BpmnProcessID: inc.BpmnProcessID,
		FlowNodeID: inc.FlowNodeID, FlowNodeInstanceKey: inc.FlowNodeInstanceKey, JobKey: inc.JobKey,
		ErrorType: errorType, ErrorMessage: msg, ErrorMessageHash: JavaHashCode(msg), State: inc.State,
		CreationTime: Date(inc.CreationTime), TreePath: inc.TreePath, TenantID: tenant(inc.TenantID),
	}}
}

// SequenceFlowDoc is the operate-sequence-flow document of a sequence flow
// taken in a process instance (once however often it was taken).
type SequenceFlowDoc struct {
	ID                   string `json:"id"`
	ProcessInstanceKey   int64  `json:"processInstanceKey"`
	ProcessDefinitionKey int64  `json:"processDefinitionKey"`
	BpmnProcessID        string `json:"bpmnProcessId"`
	ActivityID           string `json:"activityId"`
	TenantID             string `json:"tenantId"`
}

// ProjectSequenceFlow projects a taken sequence flow.
func ProjectSequenceFlow(sf *schema.SequenceFlowDoc) Doc {
	id := strconv.FormatInt(sf.ProcessInstanceKey, 10) + "_" + sf.ActivityID
	return Doc{Index: &SequenceFlow, ID: id, Source: &SequenceFlowDoc{
		ID: id, ProcessInstanceKey: sf.ProcessInstanceKey, ProcessDefinitionKey: sf.ProcessDefinitionKey,
		BpmnProcessID: sf.BpmnProcessID, ActivityID: sf.ActivityID, TenantID: tenant(sf.TenantID),
	}}
}

// ProcessDoc is the operate-process document of a deployed process.
type ProcessDoc struct {
	ID            string        `json:"id"`
	Key           string        `json:"key"` // keyword in this index
	BpmnProcessID string        `json:"bpmnProcessId"`
	Version       int32         `json:"version"`
	VersionTag    *string       `json:"versionTag"`
	Name          *string       `json:"name"`
	BpmnXML       string        `json:"bpmnXml"`
	ResourceName  string        `json:"resourceName"`
	FlowNodes     []processNode `json:"flowNodes"`
	TenantID      string        `json:"tenantId"`
}

type processNode struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

// ProjectProcess projects a deployed process.
func ProjectProcess(p *schema.ProcessDoc) Doc {
	id := strconv.FormatInt(p.Key, 10)
	nodes := make([]processNode, 0, len(p.FlowNodes))
	for _, n := range p.FlowNodes {
		nodes = append(nodes, processNode{ID: n.ID, Name: nonEmpty(n.Name)})
	}
	return Doc{Index: &Process, ID: id, Source: &ProcessDoc{
		ID: id, Key: id, BpmnProcessID: p.BpmnProcessID, Version: p.Version, VersionTag: p.VersionTag,
		Name: nonEmpty(p.Name), BpmnXML: p.BpmnXML, ResourceName: p.ResourceName, FlowNodes: nodes, TenantID: tenant(p.TenantID),
	}}
}

// DecisionRequirementsDoc is the operate-decision-requirements document.
type DecisionRequirementsDoc struct {
	ID                     string `json:"id"`
	Key                    int64  `json:"key"`
	DecisionRequirementsID string `json:"decisionRequirementsId"`
	Name                   string `json:"name"`
	Version                int32  `json:"version"`
	ResourceName           string `json:"resourceName"`
	XML                    string `json:"xml"`
	TenantID               string `json:"tenantId"`
}

// ProjectDecisionRequirements projects a deployed DRG.
func ProjectDecisionRequirements(d *schema.DecisionRequirementsDoc) Doc {
	id := strconv.FormatInt(d.Key, 10)
	return Doc{Index: &DecisionRequirements, ID: id, Source: &DecisionRequirementsDoc{
		ID: id, Key: d.Key, DecisionRequirementsID: d.DecisionRequirementsID, Name: d.Name, Version: d.Version,
		ResourceName: d.ResourceName, XML: d.XML, TenantID: tenant(d.TenantID),
	}}
}

// DecisionDoc is the operate-decision document.
type DecisionDoc struct {
	ID                      string `json:"id"`
	Key                     int64  `json:"key"`
	DecisionID              string `json:"decisionId"`
	Name                    string `json:"name"`
	Version                 int32  `json:"version"`
	DecisionRequirementsID  string `json:"decisionRequirementsId"`
	DecisionRequirementsKey int64  `json:"decisionRequirementsKey"`
	TenantID                string `json:"tenantId"`
}

// ProjectDecision projects a deployed decision.
func ProjectDecision(d *schema.DecisionDoc) Doc {
	id := strconv.FormatInt(d.Key, 10)
	return Doc{Index: &Decision, ID: id, Source: &DecisionDoc{
		ID: id, Key: d.Key, DecisionID: d.DecisionID, Name: d.Name, Version: d.Version,
		DecisionRequirementsID: d.DecisionRequirementsID, DecisionRequirementsKey: d.DecisionRequirementsKey, TenantID: tenant(d.TenantID),
	}}
}

// JobDoc is the operate-job document: the job as its latest record left
// it (Camunda's endTime is that record's time, whatever its intent).
type JobDoc struct {
	ID                       string          `json:"id"`
	Key                      int64           `json:"key"`
	PartitionID              int32           `json:"partitionId"`
	ProcessInstanceKey       int64           `json:"processInstanceKey"`
	FlowNodeInstanceID       int64           `json:"flowNodeInstanceId"`
	FlowNodeID               string          `json:"flowNodeId"`
	ProcessDefinitionKey     int64           `json:"processDefinitionKey"`
	BpmnProcessID            string          `json:"bpmnProcessId"`
	TenantID                 string          `json:"tenantId"`
	Type                     string          `json:"type"`
	Worker                   string          `json:"worker"`
	Retries                  int32           `json:"retries"`
	State                    string          `json:"state"`
	ErrorMessage             string          `json:"errorMessage"`
	ErrorCode                string          `json:"errorCode"`
	EndTime                  *string         `json:"endTime"`
	Deadline                 *string         `json:"deadline"`
	CustomHeaders            json.RawMessage `json:"customHeaders"`
	JobKind                  string          `json:"jobKind"`
	ListenerEventType        *string         `json:"listenerEventType"`
	JobFailedWithRetriesLeft bool            `json:"jobFailedWithRetriesLeft"`
	Position                 int64           `json:"position"`
}

// ProjectJob projects a job.
func ProjectJob(j *schema.JobDoc, partition int32) Doc {
	id := strconv.FormatInt(j.Key, 10)
	kind := j.Operate.JobKind
	if kind == "" {
		kind = "BPMN_ELEMENT"
	}
	listener := nonEmpty(j.Operate.ListenerEventType)
	if listener != nil && *listener == "UNSPECIFIED" {
		listener = nil
	}
	headers := j.CustomHeaders
	if len(headers) == 0 {
		headers = json.RawMessage("{}")
	}
	return Doc{Index: &Job, ID: id, Source: &JobDoc{
		ID: id, Key: j.Key, PartitionID: partition, ProcessInstanceKey: j.ProcessInstanceKey, FlowNodeInstanceID: j.FlowNodeInstanceKey,
		FlowNodeID: j.FlowNodeID, ProcessDefinitionKey: j.Operate.ProcessDefinitionKey, BpmnProcessID: j.Operate.BpmnProcessID,
		TenantID: j.TenantID, Type: j.Type, Worker: j.Worker, Retries: j.Retries, State: j.State,
		ErrorMessage: j.ErrorMessage, ErrorCode: j.ErrorCode, EndTime: Date(schema.FormatDate(j.Operate.Timestamp)),
		Deadline: Date(j.Deadline), CustomHeaders: headers, JobKind: kind, ListenerEventType: listener,
		JobFailedWithRetriesLeft: j.Operate.FailedWithRetriesLeft, Position: j.Position,
	}}
}

// FormDoc is the tasklist-form document of a deployed (linked) form.
type FormDoc struct {
	ID                  string  `json:"id"`
	Key                 int64   `json:"key"`
	BpmnID              string  `json:"bpmnId"`
	Schema              string  `json:"schema"`
	Version             int32   `json:"version"`
	TenantID            string  `json:"tenantId"`
	Embedded            bool    `json:"embedded"`
	IsDeleted           bool    `json:"isDeleted"`
	ProcessDefinitionID *string `json:"processDefinitionId"`
}

// ProjectForm projects a deployed form.
func ProjectForm(f *schema.FormDoc) Doc {
	id := strconv.FormatInt(f.Key, 10)
	return Doc{Index: &TasklistForm, ID: id, Source: &FormDoc{
		ID: id, Key: f.Key, BpmnID: f.FormID, Schema: f.Schema, Version: f.Version, TenantID: f.TenantID,
	}}
}

// DecisionInstanceDoc is the operate-decision-instance document of one
// decision evaluated in a DECISION_EVALUATION record.
type DecisionInstanceDoc struct {
	ID                       string            `json:"id"`
	Key                      int64             `json:"key"`
	ExecutionIndex           int               `json:"executionIndex"`
	Position                 int64             `json:"position"`
	PartitionID              int32             `json:"partitionId"`
	EvaluationDate           *string           `json:"evaluationDate"`
	ProcessInstanceKey       int64             `json:"processInstanceKey"`
	ProcessDefinitionKey     int64             `json:"processDefinitionKey"`
	ElementInstanceKey       int64             `json:"elementInstanceKey"`
	BpmnProcessID            string            `json:"bpmnProcessId"`
	ElementID                string            `json:"elementId"`
	DecisionRequirementsKey  int64             `json:"decisionRequirementsKey"`
	DecisionRequirementsID   string            `json:"decisionRequirementsId"`
	RootDecisionID           string            `json:"rootDecisionId"`
	RootDecisionName         string            `json:"rootDecisionName"`
	RootDecisionDefinitionID string            `json:"rootDecisionDefinitionId"`
	DecisionID               string            `json:"decisionId"`
	DecisionDefinitionID     string            `json:"decisionDefinitionId"`
	DecisionName             string            `json:"decisionName"`
	DecisionVersion          int32             `json:"decisionVersion"`
	DecisionType             string            `json:"decisionType"`
	State                    string            `json:"state"`
	EvaluationFailure        *string           `json:"evaluationFailure"`
	EvaluationFailureMessage *string           `json:"evaluationFailureMessage"`
	Result                   string            `json:"result"`
	EvaluatedInputs          []evaluatedInput  `json:"evaluatedInputs"`
	EvaluatedOutputs         []evaluatedOutput `json:"evaluatedOutputs"`
	TenantID                 string            `json:"tenantId"`
}

type evaluatedInput struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"` // JSON text, kept whole (the mapping does not parse it)
}

type evaluatedOutput struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Value     string `json:"value"`
	RuleID    string `json:"ruleId"`
	RuleIndex int32  `json:"ruleIndex"`
}

// ProjectDecisionInstance projects one evaluated decision.
func ProjectDecisionInstance(d *schema.DecisionInstanceDoc, partition int32) Doc {
	x := d.Operate
	id := strconv.FormatInt(x.Key, 10) + "-" + strconv.Itoa(x.ExecutionIndex)
	decisionType := d.DecisionType
	if decisionType == "" {
		decisionType = "UNSPECIFIED"
	}
	ins := make([]evaluatedInput, 0, len(d.EvaluatedInputs))
	for _, in := range d.EvaluatedInputs {
		ins = append(ins, evaluatedInput{ID: in.ID, Name: in.Name, Value: in.Value})
	}
	outs := make([]evaluatedOutput, 0, len(d.EvaluatedOutputs))
	for _, o := range d.EvaluatedOutputs {
		outs = append(outs, evaluatedOutput{ID: o.ID, Name: o.Name, Value: o.Value, RuleID: o.RuleID, RuleIndex: o.RuleIndex})
	}
	return Doc{Index: &DecisionInstance, ID: id, Source: &DecisionInstanceDoc{
		ID: id, Key: x.Key, ExecutionIndex: x.ExecutionIndex, Position: d.Position, PartitionID: partition,
		EvaluationDate: Date(d.EvaluationDate), ProcessInstanceKey: d.ProcessInstanceKey, ProcessDefinitionKey: d.ProcessDefinitionKey,
		ElementInstanceKey: d.FlowNodeInstanceKey, BpmnProcessID: x.BpmnProcessID, ElementID: d.ElementID,
		DecisionRequirementsKey: d.DecisionRequirementsKey, DecisionRequirementsID: x.DecisionRequirementsID,
		RootDecisionID: x.RootDecisionID, RootDecisionName: x.RootDecisionName, RootDecisionDefinitionID: strconv.FormatInt(x.RootDecisionKey, 10),
		DecisionID: d.DecisionID, DecisionDefinitionID: strconv.FormatInt(d.DecisionKey, 10), DecisionName: d.DecisionName,
		DecisionVersion: d.DecisionVersion, DecisionType: decisionType, State: d.State, EvaluationFailure: d.EvaluationFailure,
		EvaluationFailureMessage: nonEmpty(x.EvaluationFailureMessage), Result: d.Result,
		EvaluatedInputs: ins, EvaluatedOutputs: outs, TenantID: tenant(d.TenantID),
	}}
}

// TasklistProcessDoc is tasklist-task's document of a process instance,
// the join parent of its tasks and variables.
type TasklistProcessDoc struct {
	ID                string       `json:"id"`
	ProcessInstanceID int64        `json:"processInstanceId"`
	PartitionID       int32        `json:"partitionId"`
	TenantID          string       `json:"tenantId"`
	Join              joinRelation `json:"join"`
}

// ProjectTasklistProcess projects a process instance's tasklist-task
// document.
func ProjectTasklistProcess(d *schema.ListViewDoc) Doc {
	id := strconv.FormatInt(d.Key, 10)
	return Doc{Index: &TasklistTask, ID: id, Source: &TasklistProcessDoc{
		ID: id, ProcessInstanceID: d.Key, PartitionID: d.PartitionID, TenantID: d.TenantID, Join: joinRelation{Name: "process"},
	}}
}

// TasklistVariableDoc is tasklist-task's document of a variable: joined to
// its process instance (variable), or to its scope (localVariable, the task
// whose element instance is that scope); both routed by the instance.
type TasklistVariableDoc struct {
	ID                string       `json:"id"`
	Key               int64        `json:"key"`
	PartitionID       int32        `json:"partitionId"`
	TenantID          string       `json:"tenantId"`
	Name              string       `json:"name"`
	Value             string       `json:"value"`
	FullValue         *string      `json:"fullValue,omitempty"`
	IsTruncated       bool         `json:"isTruncated"`
	ScopeKey          int64        `json:"scopeKey"`
	ProcessInstanceID int64        `json:"processInstanceId"`
	Position          int64        `json:"position"`
	Join              joinRelation `json:"join"`
}

// ProjectTasklistVariables projects a variable into tasklist-task: its
// variable document and, for a variable of a narrower scope than its
// instance, its localVariable document.
func ProjectTasklistVariables(v *schema.VariableDoc, key int64, partition int32) []Doc {
	whole := v.Value
	if v.FullValue != nil {
		whole = *v.FullValue
	}
	value, full, cut := Preview(whole)
	pi := v.ProcessInstanceKey
	routing := strconv.FormatInt(pi, 10)
	mk := func(id string, join joinRelation) Doc {
		return Doc{Index: &TasklistTask, ID: id, Routing: routing, Source: &TasklistVariableDoc{
			ID: id, Key: key, PartitionID: partition, TenantID: v.TenantID, Name: v.Name, Value: value, FullValue: full,
			IsTruncated: cut, ScopeKey: v.ScopeKey, ProcessInstanceID: pi, Position: v.Position, Join: join,
		}}
	}
	id := strconv.FormatInt(v.ScopeKey, 10) + "-" + v.Name
	out := []Doc{mk(id, joinRelation{Name: "variable", Parent: &pi})}
	if v.ScopeKey != pi {
		scope := v.ScopeKey
		out = append(out, mk(id+"-local", joinRelation{Name: "localVariable", Parent: &scope}))
	}
	return out
}

// TaskDoc is tasklist-task's document of a user task (Camunda user task,
// implementation ZEEBE_USER_TASK), joined to its process instance. Absent
// values are left out, as Tasklist's entities do.
type TaskDoc struct {
	ID                    string       `json:"id"`
	Key                   int64        `json:"key"`
	PartitionID           int32        `json:"partitionId"`
	TenantID              string       `json:"tenantId"`
	Implementation        string       `json:"implementation"`
	State                 string       `json:"state"`
	FlowNodeBpmnID        string       `json:"flowNodeBpmnId"`
	Name                  string       `json:"name,omitempty"`
	FlowNodeInstanceID    string       `json:"flowNodeInstanceId"`
	ProcessInstanceID     string       `json:"processInstanceId"`
	BpmnProcessID         string       `json:"bpmnProcessId"`
	ProcessDefinitionID   string       `json:"processDefinitionId"`
	CreationTime          *string      `json:"creationTime,omitempty"`
	CompletionTime        *string      `json:"completionTime,omitempty"`
	Assignee              *string      `json:"assignee,omitempty"`
	CandidateGroups       []string     `json:"candidateGroups,omitempty"`
	CandidateUsers        []string     `json:"candidateUsers,omitempty"`
	DueDate               *string      `json:"dueDate,omitempty"`
	FollowUpDate          *string      `json:"followUpDate,omitempty"`
	Priority              int32        `json:"priority"`
	FormKey               *string      `json:"formKey,omitempty"`
	IsFormEmbedded        *bool        `json:"isFormEmbedded,omitempty"`
	ExternalFormReference *string      `json:"externalFormReference,omitempty"`
	ChangedAttributes     []string     `json:"changedAttributes"`
	Position              int64        `json:"position"`
	Join                  joinRelation `json:"join"`
}

// ProjectTask projects a user task: its id is its element instance's key,
// so that its local variables join to it.
func ProjectTask(t *schema.TaskDoc, partition int32) Doc {
	id := strconv.FormatInt(t.FlowNodeInstanceKey, 10)
	pi := t.ProcessInstanceKey
	// Flowline's formKey is a linked form's key (decimal) or else the
	// external form reference; Tasklist keeps them apart.
	var linked, external *string
	var embedded *bool
	implementation := "ZEEBE_USER_TASK"
	if t.Implementation != "" {
		implementation = t.Implementation
	}
	if f := nonEmptyPtr(t.FormKey); f != nil {
		k, err := strconv.ParseInt(*f, 10, 64)
		switch {
		case implementation == "JOB_WORKER": // a job-based task's form key, embedded or linked
			linked = f
			e := strings.HasPrefix(*f, "camunda-forms:bpmn:")
			embedded = &e
		case err == nil && k > 0:
			linked = f
		default:
			external = f
		}
	}
	return Doc{Index: &TasklistTask, ID: id, Routing: strconv.FormatInt(pi, 10), Source: &TaskDoc{
		ID: id, Key: t.Key, PartitionID: partition, TenantID: t.TenantID, Implementation: implementation, State: t.State,
		FlowNodeBpmnID: t.FlowNodeBpmnID, Name: t.Name, FlowNodeInstanceID: id, ProcessInstanceID: strconv.FormatInt(pi, 10),
		BpmnProcessID: t.BpmnProcessID, ProcessDefinitionID: strconv.FormatInt(t.ProcessDefinitionKey, 10),
		CreationTime: Date(t.CreationTime), CompletionTime: Date(t.CompletionTime), Assignee: nonEmptyPtr(t.Assignee),
		CandidateGroups: t.CandidateGroups, CandidateUsers: t.CandidateUsers,
		DueDate: taskDate(t.DueDate), FollowUpDate: taskDate(t.FollowUpDate), Priority: t.Priority,
		FormKey: linked, IsFormEmbedded: embedded, ExternalFormReference: external,
		ChangedAttributes: []string{}, Position: t.Position, Join: joinRelation{Name: "task", Parent: &pi},
	}}
}

// taskDate re-renders a user task's due or follow-up date (ISO 8601 as the
// record has it) in Camunda's date format, UTC; nil when absent or not a
// date.
func taskDate(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil
	}
	out := t.UTC().Format("2006-01-02T15:04:05.000") + "+0000"
	return &out
}

func nonEmptyPtr(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// Date renders a Flowline document date (ISO-8601 UTC, "…Z") as Camunda's
// exporter writes dates: yyyy-MM-dd'T'HH:mm:ss.SSSZZ, "…+0000".
func Date(d *string) *string {
	if d == nil {
		return nil
	}
	s := *d
	if strings.HasSuffix(s, "Z") {
		s = s[:len(s)-1] + "+0000"
	}
	return &s
}

// Preview is what an operate-variable document holds of a value: the value
// itself, or its first variableSizeThreshold UTF-16 code units with the
// whole value beside it. Where the cut would split a surrogate pair (Java
// keeps the lone high surrogate, which UTF-8 cannot hold) it falls one
// unit earlier.
func Preview(value string) (preview string, full *string, isPreview bool) {
	units := 0
	for i, r := range value {
		n := utf16.RuneLen(r)
		if n < 0 {
			n = 1 // U+FFFD for bad UTF-8, one unit
		}
		if units+n > variableSizeThreshold {
			return value[:i], &value, true
		}
		units += n
	}
	return value, nil, false
}

// JavaStrip is Java's String.strip(): leading and trailing white space as
// Character.isWhitespace has it (not the no-break spaces) removed.
func JavaStrip(s string) string {
	return strings.TrimFunc(s, javaWhitespace)
}

func javaWhitespace(r rune) bool {
	switch r {
	case '\u00a0', '\u2007', '\u202f', '\u0085':
		return false
	case '\u001c', '\u001d', '\u001e', '\u001f':
		return true
	}
	return unicode.IsSpace(r)
}

// JavaHashCode is Java's String.hashCode() of s (over its UTF-16 code
// units, wrapping at 32 bits): the errorMessageHash Operate groups
// incidents by.
func JavaHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// tenant is a document's tenant: the record's, or <default> when empty.
func tenant(t string) string {
	if t == "" {
		return "<default>"
	}
	return t
}

// keyOrNull is a key, or null for Zeebe's -1 (none).
func keyOrNull(k int64) *int64 {
	if k <= 0 {
		return nil
	}
	return &k
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
