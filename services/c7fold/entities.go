package c7fold

import "encoding/json"

// The entities of the engine's pages, as the REST API returns them (only
// the fields the documents use). Dates stay the engine's strings until
// rendered; *string is a JSON null or a string.

// processInstance is a historic process instance (process-instance-running
// and -completed).
type processInstance struct {
	ID                       string  `json:"id"`
	BusinessKey              *string `json:"businessKey"`
	ProcessDefinitionID      string  `json:"processDefinitionId"`
	ProcessDefinitionKey     string  `json:"processDefinitionKey"`
	ProcessDefinitionName    *string `json:"processDefinitionName"`
	ProcessDefinitionVersion int32   `json:"processDefinitionVersion"`
	StartTime                *string `json:"startTime"`
	EndTime                  *string `json:"endTime"`
	DurationInMillis         *int64  `json:"durationInMillis"`
	SuperProcessInstanceID   *string `json:"superProcessInstanceId"`
	RootProcessInstanceID    *string `json:"rootProcessInstanceId"`
	TenantID                 *string `json:"tenantId"`
	State                    string  `json:"state"`
}

// activityInstance is a historic activity instance.
type activityInstance struct {
	ID                       string  `json:"id"`
	ParentActivityInstanceID *string `json:"parentActivityInstanceId"`
	ActivityID               string  `json:"activityId"`
	ActivityName             *string `json:"activityName"`
	ActivityType             string  `json:"activityType"`
	ProcessDefinitionKey     string  `json:"processDefinitionKey"`
	ProcessDefinitionID      string  `json:"processDefinitionId"`
	ProcessInstanceID        *string `json:"processInstanceId"`
	TaskID                   *string `json:"taskId"`
	StartTime                *string `json:"startTime"`
	EndTime                  *string `json:"endTime"`
	DurationInMillis         *int64  `json:"durationInMillis"`
	Canceled                 bool    `json:"canceled"`
	TenantID                 *string `json:"tenantId"`
}

// taskInstance is a historic user task.
type taskInstance struct {
	ID                   string  `json:"id"`
	ProcessDefinitionKey *string `json:"processDefinitionKey"`
	ProcessDefinitionID  *string `json:"processDefinitionId"`
	ProcessInstanceID    *string `json:"processInstanceId"`
	ActivityInstanceID   *string `json:"activityInstanceId"`
	Name                 *string `json:"name"`
	DeleteReason         *string `json:"deleteReason"`
	Assignee             *string `json:"assignee"`
	StartTime            *string `json:"startTime"`
	EndTime              *string `json:"endTime"`
	Duration             *int64  `json:"duration"`
	TaskDefinitionKey    *string `json:"taskDefinitionKey"`
	Priority             int32   `json:"priority"`
	Due                  *string `json:"due"`
	FollowUp             *string `json:"followUp"`
	TenantID             *string `json:"tenantId"`
}

// variableUpdate is one update of a variable instance (variable-update).
type variableUpdate struct {
	ID                   string          `json:"id"`
	ProcessDefinitionKey *string         `json:"processDefinitionKey"`
	ProcessDefinitionID  *string         `json:"processDefinitionId"`
	ProcessInstanceID    *string         `json:"processInstanceId"`
	ActivityInstanceID   *string         `json:"activityInstanceId"`
	TenantID             *string         `json:"tenantId"`
	Time                 string          `json:"time"`
	VariableName         string          `json:"variableName"`
	VariableInstanceID   string          `json:"variableInstanceId"`
	VariableType         string          `json:"variableType"`
	Value                json.RawMessage `json:"value"`
	Revision             int64           `json:"revision"`
	SequenceCounter      int64           `json:"sequenceCounter"`
}

// identityLink is an entry of the identity link log: a user or group added
// to or deleted from a task as assignee, candidate or owner.
type identityLink struct {
	ID                string  `json:"id"`
	Time              string  `json:"time"`
	Type              string  `json:"type"` // assignee, candidate, owner
	UserID            *string `json:"userId"`
	GroupID           *string `json:"groupId"`
	TaskID            *string `json:"taskId"`
	OperationType     string  `json:"operationType"` // add, delete
	ProcessInstanceID *string `json:"processInstanceId"`
}

// incident is a historic incident (incident-open and -completed).
type incident struct {
	ID                   string  `json:"id"`
	ProcessDefinitionKey *string `json:"processDefinitionKey"`
	ProcessDefinitionID  *string `json:"processDefinitionId"`
	ProcessInstanceID    *string `json:"processInstanceId"`
	CreateTime           *string `json:"createTime"`
	EndTime              *string `json:"endTime"`
	IncidentType         string  `json:"incidentType"`
	ActivityID           *string `json:"activityId"`
	IncidentMessage      *string `json:"incidentMessage"`
	TenantID             *string `json:"tenantId"`
	Open                 bool    `json:"open"`
	Deleted              bool    `json:"deleted"`
	Resolved             bool    `json:"resolved"`
}

// userOperation is an entry of the user operation log; suspensions and
// activations of a process instance change its state.
type userOperation struct {
	ID                string  `json:"id"`
	Timestamp         string  `json:"timestamp"`
	OperationType     string  `json:"operationType"` // Suspend, Activate, ...
	EntityType        string  `json:"entityType"`    // ProcessInstance, ...
	ProcessInstanceID *string `json:"processInstanceId"`
	Property          *string `json:"property"`
	NewValue          *string `json:"newValue"`
}

// decisionInstance is a historic decision instance with its inputs and
// outputs.
type decisionInstance struct {
	ID                     string           `json:"id"`
	DecisionDefinitionID   string           `json:"decisionDefinitionId"`
	DecisionDefinitionKey  string           `json:"decisionDefinitionKey"`
	DecisionDefinitionName *string          `json:"decisionDefinitionName"`
	EvaluationTime         *string          `json:"evaluationTime"`
	ProcessDefinitionID    *string          `json:"processDefinitionId"`
	ProcessDefinitionKey   *string          `json:"processDefinitionKey"`
	ProcessInstanceID      *string          `json:"processInstanceId"`
	ActivityID             *string          `json:"activityId"`
	ActivityInstanceID     *string          `json:"activityInstanceId"`
	RootDecisionInstanceID *string          `json:"rootDecisionInstanceId"`
	TenantID               *string          `json:"tenantId"`
	Inputs                 []decisionClause `json:"inputs"`
	Outputs                []decisionClause `json:"outputs"`
}

// decisionClause is an input or output of a decision instance.
type decisionClause struct {
	ID         string          `json:"id"`
	ClauseID   *string         `json:"clauseId"`
	ClauseName *string         `json:"clauseName"`
	RuleID     *string         `json:"ruleId"`
	RuleOrder  *int32          `json:"ruleOrder"`
	Type       string          `json:"type"`
	Value      json.RawMessage `json:"value"`
}

// processDefinition and decisionDefinition are the definitions of a
// deployment (c7.DeploymentEntity), with their XML.
type processDefinition struct {
	ID           string  `json:"id"`
	Key          string  `json:"key"`
	Name         *string `json:"name"`
	Version      int32   `json:"version"`
	VersionTag   *string `json:"versionTag"`
	Resource     *string `json:"resource"`
	DeploymentID *string `json:"deploymentId"`
	TenantID     *string `json:"tenantId"`
	BpmnXML      *string `json:"bpmn20Xml"`
}

type decisionDefinition struct {
	ID                                string  `json:"id"`
	Key                               string  `json:"key"`
	Name                              *string `json:"name"`
	Version                           int32   `json:"version"`
	VersionTag                        *string `json:"versionTag"`
	Resource                          *string `json:"resource"`
	DeploymentID                      *string `json:"deploymentId"`
	DecisionRequirementsDefinitionID  *string `json:"decisionRequirementsDefinitionId"`
	DecisionRequirementsDefinitionKey *string `json:"decisionRequirementsDefinitionKey"`
	TenantID                          *string `json:"tenantId"`
	DmnXML                            *string `json:"dmnXml"`
}

// deployment is the deployment kind's entity (c7.DeploymentEntity).
type deployment struct {
	ProcessDefinitions  []processDefinition  `json:"processDefinitions"`
	DecisionDefinitions []decisionDefinition `json:"decisionDefinitions"`
}
