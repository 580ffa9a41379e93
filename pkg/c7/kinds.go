// Package c7 is a client of a Camunda 7 engine's REST API for importing its
// history the way Camunda Optimize does: the Optimize endpoints
// (`<base>/engine/<name>/optimize/...`, OptimizeRestService of Camunda 7 CE)
// page every entity kind by one timestamp, and definitions come from the
// standard API. It knows the kinds (this file), the engine's date format
// (dates.go) and how to fetch a page (client.go); it does no importing of
// its own. A Client is safe for concurrent use.
package c7

import (
	"net/url"
)

// Kind is one stream of entities the engine serves in timestamp order: the
// unit of import (one import index each). Every kind is paged by a pair of
// query parameters, <Param>After (strictly after a time) and <Param>At
// (exactly at it), plus maxResults, and returns entities ordered by
// TimeField.
type Kind struct {
	// Name is the kind's name in subjects, keys, metrics and logs, e.g.
	// "activity-instance-completed".
	Name string
	// Path is the endpoint below the engine's REST base and engine name.
	Path string
	// Param names the paging parameters: Param+"After", Param+"At".
	Param string
	// TimeField is the entity's JSON field the engine orders by.
	TimeField string
	// Query holds fixed query parameters of the endpoint.
	Query url.Values
	// deployment marks the deployment kind, assembled from the standard
	// API (see Client.deployments) rather than one Optimize endpoint.
	deployment bool
}

// The kinds, in the order an import works them and the fold expects no
// particular order of: any order of arrival converges.
var (
	ProcessInstanceRunning    = Kind{Name: "process-instance-running", Path: "optimize/process-instance/running", Param: "started", TimeField: "startTime"}
	ProcessInstanceCompleted  = Kind{Name: "process-instance-completed", Path: "optimize/process-instance/completed", Param: "finished", TimeField: "endTime"}
	ActivityInstanceRunning   = Kind{Name: "activity-instance-running", Path: "optimize/activity-instance/running", Param: "started", TimeField: "startTime"}
	ActivityInstanceCompleted = Kind{Name: "activity-instance-completed", Path: "optimize/activity-instance/completed", Param: "finished", TimeField: "endTime"}
	TaskInstanceRunning       = Kind{Name: "task-instance-running", Path: "optimize/task-instance/running", Param: "started", TimeField: "startTime"}
	TaskInstanceCompleted     = Kind{Name: "task-instance-completed", Path: "optimize/task-instance/completed", Param: "finished", TimeField: "endTime"}
	VariableUpdate            = Kind{Name: "variable-update", Path: "optimize/variable-update", Param: "occurred", TimeField: "time",
		Query: url.Values{"excludeObjectValues": {"true"}}}
	IdentityLinkLog   = Kind{Name: "identity-link-log", Path: "optimize/identity-link-log", Param: "occurred", TimeField: "time"}
	IncidentOpen      = Kind{Name: "incident-open", Path: "optimize/incident/open", Param: "created", TimeField: "createTime"}
	IncidentCompleted = Kind{Name: "incident-completed", Path: "optimize/incident/completed", Param: "finished", TimeField: "endTime"}
	UserOperation     = Kind{Name: "user-operation", Path: "optimize/user-operation", Param: "occurred", TimeField: "timestamp"}
	DecisionInstance  = Kind{Name: "decision-instance", Path: "optimize/decision-instance", Param: "evaluated", TimeField: "evaluationTime"}
	// Deployment pages deployments by deployment time (the standard
	// /deployment endpoint's after and before); each entity is a
	// deployment with its process definitions and decision definitions,
	// their XML included (see DeploymentEntity).
	Deployment = Kind{Name: "deployment", Path: "deployment", Param: "deployment", TimeField: "deploymentTime", deployment: true}
)

// Kinds lists every kind. Its order is stable: an index into it is a
// kind's lease partition.
var Kinds = []Kind{
	Deployment,
	ProcessInstanceRunning, ProcessInstanceCompleted,
	ActivityInstanceRunning, ActivityInstanceCompleted,
	TaskInstanceRunning, TaskInstanceCompleted,
	VariableUpdate, IdentityLinkLog,
	IncidentOpen, IncidentCompleted,
	UserOperation, DecisionInstance,
}

// KindNamed returns the kind called name.
func KindNamed(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}
