package simulate

import "strconv"

// Simulated job workers and users.
const (
	workerName    = "flowline-worker"
	jobTimeout    = int64(300_000)
	incidentError = "simulated failure: downstream service unavailable (HTTP 503)"
	taskAssignee  = "demo"
)

// jobValue is the value of a JOB record of e's job.
func (t *tree) jobValue(e *elemInst, worker string, deadline int64, vars []kv, errMsg string) map[string]any {
	def := e.pi.def
	return map[string]any{
		"bpmnProcessId": def.g.ID, "processDefinitionKey": def.key, "processDefinitionVersion": def.version,
		"processInstanceKey": e.pi.key, "elementId": e.n.ID, "elementInstanceKey": e.key,
		"worker": worker, "type": e.n.JobType, "variables": document(vars), "retries": e.job.retries,
		"jobKind": "BPMN_ELEMENT", "jobListenerEventType": "UNSPECIFIED", "retryBackoff": 0, "recurringTime": int64(-1),
		"errorMessage": errMsg, "errorCode": "", "customHeaders": emptyObject, "deadline": deadline,
		"timeout": jobTimeout, "tenantId": tenant, "changedAttributes": noStrings,
	}
}

// createJob: JOB CREATED for a service task being activated.
func (t *tree) createJob(e *elemInst) {
	e.job = &job{key: t.p.NextKey(), retries: e.n.Retries}
	t.p.emit(t.src, e.job.key, "JOB", "CREATED", t.jobValue(e, "", -1, nil, ""))
}

// workJob: a worker activated the job and completes it (the task completes
// with its output) or, for the IncidentRate share of first attempts, fails
// it without retries left (an incident is raised).
func (t *tree) workJob(e *elemInst) {
	j := e.job
	deadline := t.p.clock.UnixMilli() + jobTimeout
	if !j.failed && t.g.cfg.IncidentRate > 0 && t.rng.Float64() < t.g.cfg.IncidentRate {
		j.failed, j.retries = true, 0
		t.p.emit(t.src, j.key, "JOB", "FAILED", t.jobValue(e, workerName, deadline, nil, incidentError))
		e.incident = t.p.NextKey()
		t.p.emit(t.src, e.incident, "INCIDENT", "CREATED", t.incidentValue(e))
		t.g.stats.Incidents++
		t.waitFor(e, waitRetries)
		return
	}
	out := t.g.spec.jobOutput(t.rng, e.n.JobType, e.n.ID, j.key, func(name string) string { return t.lookup(e, name) })
	t.p.emit(t.src, j.key, "JOB", "COMPLETED", t.jobValue(e, workerName, deadline, out, ""))
	e.job = nil
	t.complete(e, out)
}

// resolveIncident: an operator updates the job's retries and resolves the
// incident; the job is worked again.
func (t *tree) resolveIncident(e *elemInst) {
	e.job.retries = e.n.Retries
	t.p.emit(t.src, e.job.key, "JOB", "RETRIES_UPDATED", t.jobValue(e, workerName, -1, nil, incidentError))
	t.p.emit(t.src, e.incident, "INCIDENT", "RESOLVED", t.incidentValue(e))
	e.incident = 0
	t.waitFor(e, waitJob)
}

// incidentValue is the value of e's job incident.
func (t *tree) incidentValue(e *elemInst) map[string]any {
	eip, pdp, cep := paths(e)
	def := e.pi.def
	return map[string]any{
		"errorType": "JOB_NO_RETRIES", "errorMessage": incidentError, "bpmnProcessId": def.g.ID,
		"processDefinitionKey": def.key, "processInstanceKey": e.pi.key, "elementId": e.n.ID,
		"elementInstanceKey": e.key, "jobKey": e.job.key, "variableScopeKey": e.key, "tenantId": tenant,
		"elementInstancePath": eip, "processDefinitionPath": pdp, "callingElementPath": cep,
	}
}

// taskValue is the value of a USER_TASK record of e's task.
func (t *tree) taskValue(e *elemInst, assignee, action string, vars []kv, changed []string) map[string]any {
	def := e.pi.def
	groups := noStrings
	if e.n.CandidateGroup != "" {
		groups = []string{e.n.CandidateGroup}
	}
	return map[string]any{
		"bpmnProcessId": def.g.ID, "processDefinitionKey": def.key, "processDefinitionVersion": def.version,
		"processInstanceKey": e.pi.key, "elementId": e.n.ID, "elementInstanceKey": e.key,
		"assignee": assignee, "candidateGroupsList": groups, "candidateUsersList": noStrings,
		"creationTimestamp": e.taskTS, "dueDate": "", "followUpDate": "", "changedAttributes": changed,
		"externalFormReference": "", "variables": document(vars), "customHeaders": emptyObject, "action": action,
		"formKey": int64(-1), "userTaskKey": e.taskKey, "tenantId": tenant, "priority": 50, "deniedReason": "",
	}
}

// createTask: USER_TASK CREATING, CREATED for a user task being activated.
func (t *tree) createTask(e *elemInst) {
	e.taskKey, e.taskTS = t.p.NextKey(), t.p.clock.UnixMilli()
	t.p.emit(t.src, e.taskKey, "USER_TASK", "CREATING", t.taskValue(e, "", "", nil, noStrings))
	t.p.emit(t.src, e.taskKey, "USER_TASK", "CREATED", t.taskValue(e, "", "", nil, noStrings))
}

// assignTask: a user claims the task.
func (t *tree) assignTask(e *elemInst) {
	changed := []string{"assignee"}
	e.assignee = taskAssignee
	t.p.emit(t.src, e.taskKey, "USER_TASK", "ASSIGNING", t.taskValue(e, taskAssignee, "claim", nil, changed))
	t.p.emit(t.src, e.taskKey, "USER_TASK", "ASSIGNED", t.taskValue(e, taskAssignee, "claim", nil, changed))
	t.waitFor(e, waitComplete)
}

// completeTask: the user completes the task with variables; the element
// completes with them.
func (t *tree) completeTask(e *elemInst) {
	out := t.g.spec.taskOutput(t.rng)
	t.p.emit(t.src, e.taskKey, "USER_TASK", "COMPLETING", t.taskValue(e, taskAssignee, "complete", out, noStrings))
	t.p.emit(t.src, e.taskKey, "USER_TASK", "COMPLETED", t.taskValue(e, taskAssignee, "complete", out, noStrings))
	e.taskKey = 0
	t.complete(e, out)
}

// evaluateDecision: DECISION_EVALUATION EVALUATED for a business rule task
// being activated; returns the result (JSON text).
func (t *tree) evaluateDecision(e *elemInst) string {
	dec := t.g.dep.decisions[e.n.DecisionID]
	ev := t.g.spec.evaluate(dec.id, func(name string) string { return t.lookup(e, name) })
	key := t.p.NextKey()
	def := e.pi.def
	t.p.emit(t.src, key, "DECISION_EVALUATION", "EVALUATED", map[string]any{
		"decisionKey": dec.key, "decisionId": dec.id, "decisionName": dec.name, "decisionVersion": dec.version,
		"decisionRequirementsKey": dec.drgKey, "decisionRequirementsId": dec.drgID, "decisionOutput": ev.Output,
		"variables": emptyObject, "processDefinitionKey": def.key, "bpmnProcessId": def.g.ID,
		"processInstanceKey": e.pi.key, "elementInstanceKey": e.key, "elementId": e.n.ID,
		"evaluatedDecisions": []map[string]any{{
			"decisionId": dec.id, "decisionName": dec.name, "decisionKey": dec.key, "decisionVersion": dec.version,
			"decisionType": "DECISION_TABLE", "decisionOutput": ev.Output, "tenantId": tenant,
			"evaluatedInputs": []map[string]any{{"inputId": ev.InputID, "inputName": ev.InputName, "inputValue": ev.Input}},
			"matchedRules": []map[string]any{{"ruleId": ev.RuleID, "ruleIndex": ev.RuleIndex, "evaluatedOutputs": []map[string]any{
				{"outputId": ev.OutputID, "outputName": ev.OutputName, "outputValue": ev.Output}}}},
			"decisionEvaluationInstanceKey": strconv.FormatInt(key, 10) + "-1",
		}},
		"evaluationFailureMessage": "", "failedDecisionId": "", "tenantId": tenant,
	})
	t.g.stats.Decisions++
	return ev.Output
}
