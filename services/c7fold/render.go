package c7fold

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode"

	"github.com/flowline/flowline/pkg/bpmn"
	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/schema"
)

// doc is one document to publish: its family, id (DocID: the source and
// the engine's id), version and source (rendered later, one by one).
type doc struct {
	family  schema.Family
	id      string
	version int64
	source  any
}

// renderer turns states and definitions into documents of one source.
type renderer struct {
	source string // FLOWLINE_C7_SOURCE of the engine
}

// id is the document id of the engine's entity id: DocID.
func (r renderer) id(engineID string) string { return DocID(r.source, engineID) }

// DocID is the Elasticsearch _id of a c7 document: its source's label and
// the engine's id, <source>:<id>, so that two engines whose ids coincide
// (two databases with the default id generator both have instance "101")
// never overwrite each other's documents. The document's own fields keep
// the engine's ids.
func DocID(source, engineID string) string { return source + ":" + engineID }

// instanceDocs returns the documents of st that t touched, each with
// version position (the revision of st that holds what it shows).
func (r renderer) instanceDocs(st *instanceState, t *touched, position int64) []doc {
	var out []doc
	if t.instance && st.Instance != nil {
		out = append(out,
			doc{schema.C7ProcessInstance, r.id(st.Instance.E.ID), position, r.analysisView(st, position)},
			doc{schema.C7ListView, r.id(st.Instance.E.ID), position, r.listView(st, position)})
	}
	flowNodes := map[string]bool{}
	for id := range t.activities {
		flowNodes[id] = true
	}
	if len(t.activityIDs) > 0 {
		for id, a := range st.Activities {
			if t.activityIDs[a.E.ActivityID] {
				flowNodes[id] = true
			}
		}
	}
	for _, id := range sortedKeys(flowNodes) {
		if a := st.Activities[id]; a != nil {
			out = append(out, doc{schema.C7FlowNodeInstance, r.id(id), position, r.flowNode(st, a, position)})
		}
	}
	for _, id := range sortedKeys(t.tasks) {
		if tk := st.Tasks[id]; tk != nil {
			out = append(out, doc{schema.C7Task, r.id(id), position, r.task(st, tk, position)})
		}
	}
	for _, id := range sortedKeys(t.variables) {
		if v := st.Variables[id]; v != nil {
			out = append(out, doc{schema.C7Variable, r.id(id), position, r.variable(v.E, position)})
		}
	}
	for _, id := range sortedKeys(t.incidents) {
		if in := st.Incidents[id]; in != nil {
			out = append(out, doc{schema.C7Incident, r.id(id), position, r.incident(in, position)})
		}
	}
	return out
}

// analysisView is Optimize's document of the instance.
func (r renderer) analysisView(st *instanceState, position int64) *schema.C7ProcessInstanceDoc {
	pi := st.Instance.E
	d := &schema.C7ProcessInstanceDoc{
		ProcessInstanceID: pi.ID, ProcessDefinitionKey: pi.ProcessDefinitionKey,
		ProcessDefinitionVersion: pi.ProcessDefinitionVersion, ProcessDefinitionID: pi.ProcessDefinitionID,
		BusinessKey: pi.BusinessKey, StartDate: date(pi.StartTime), EndDate: date(pi.EndTime),
		Duration: pi.DurationInMillis, State: engineState(st), TenantID: pi.TenantID, Source: r.source,
		FlowNodeInstances: []schema.C7FlowNode{}, UserTasks: []schema.C7UserTask{},
		Variables: []schema.C7VariableValue{}, Incidents: []schema.C7IncidentEntry{},
		Position: position,
	}
	for _, id := range sortedKeys(st.Activities) {
		a := st.Activities[id].E
		d.FlowNodeInstances = append(d.FlowNodeInstances, schema.C7FlowNode{
			ID: a.ID, ActivityID: a.ActivityID, ActivityName: a.ActivityName, ActivityType: a.ActivityType,
			StartDate: date(a.StartTime), EndDate: date(a.EndTime), Duration: a.DurationInMillis, Canceled: a.Canceled,
		})
	}
	for _, id := range sortedKeys(st.Tasks) {
		tk := st.Tasks[id]
		w := work(tk, st.Links)
		d.UserTasks = append(d.UserTasks, schema.C7UserTask{
			ID: tk.E.ID, ActivityID: deref(tk.E.TaskDefinitionKey), ActivityInstanceID: tk.E.ActivityInstanceID,
			Assignee: w.assignee, CandidateGroups: w.groups, StartDate: date(tk.E.StartTime), EndDate: date(tk.E.EndTime),
			ClaimDate: w.claim, Duration: tk.E.Duration, IdleDuration: w.idle, WorkDuration: w.work, DeleteReason: tk.E.DeleteReason,
		})
	}
	for _, id := range sortedKeys(st.Variables) {
		v := st.Variables[id].E
		d.Variables = append(d.Variables, schema.C7VariableValue{
			ID: v.VariableInstanceID, Name: v.VariableName, Type: v.VariableType, Value: plainValue(v), Version: v.Revision,
		})
	}
	for _, id := range sortedKeys(st.Incidents) {
		in := st.Incidents[id].E
		state := "open"
		switch {
		case in.Deleted:
			state = "deleted"
		case in.Resolved || in.EndTime != nil:
			state = "resolved"
		}
		d.Incidents = append(d.Incidents, schema.C7IncidentEntry{
			ID: in.ID, IncidentType: in.IncidentType, ActivityID: in.ActivityID, CreateTime: date(in.CreateTime),
			EndTime: date(in.EndTime), State: state, Message: in.IncidentMessage,
		})
	}
	return d
}

// engineState is the engine's state of the instance: its latest known
// state, for a running instance the latest suspension or activation in the
// user operation log when there is one.
func engineState(st *instanceState) string {
	pi := st.Instance.E
	if st.Instance.Ended || len(st.Operations) == 0 {
		return pi.State
	}
	var latest *userOperation
	var latestAt int64
	for _, op := range st.Operations {
		at, err := c7.ParseDate(op.Timestamp)
		if err != nil {
			continue
		}
		if latest == nil || at > latestAt || (at == latestAt && op.ID > latest.ID) {
			op := op
			latest, latestAt = &op, at
		}
	}
	switch {
	case latest == nil:
		return pi.State
	case latest.OperationType == "Suspend":
		return "SUSPENDED"
	default:
		return "ACTIVE"
	}
}

// listView is the list-view document of the instance.
func (r renderer) listView(st *instanceState, position int64) *schema.C7ListViewDoc {
	pi := st.Instance.E
	state := schema.StateActive
	switch pi.State {
	case "COMPLETED":
		state = schema.StateCompleted
	case "EXTERNALLY_TERMINATED", "INTERNALLY_TERMINATED":
		state = schema.StateCanceled
	}
	open := false
	for _, in := range st.Incidents {
		open = open || !in.Ended
	}
	return &schema.C7ListViewDoc{
		Key: pi.ID, ProcessDefinitionKey: pi.ProcessDefinitionID, BpmnProcessID: pi.ProcessDefinitionKey,
		Version: pi.ProcessDefinitionVersion, ProcessName: pi.ProcessDefinitionName, State: state,
		StartDate: date(pi.StartTime), EndDate: date(pi.EndTime), BusinessKey: pi.BusinessKey,
		ParentProcessInstanceKey: pi.SuperProcessInstanceID, RootProcessInstanceKey: pi.RootProcessInstanceID,
		Incident: open, TenantID: tenant(pi.TenantID), Source: r.source, Position: position,
	}
}

// flowNode is the flownode-instance document of activity instance a.
func (r renderer) flowNode(st *instanceState, a *entry[activityInstance], position int64) *schema.C7FlowNodeInstanceDoc {
	e := a.E
	state := schema.StateActive
	if a.Ended {
		state = schema.StateCompleted
		if e.Canceled {
			state = schema.StateTerminated
		}
	}
	open := false
	if !a.Ended {
		for _, in := range st.Incidents {
			open = open || (!in.Ended && in.E.ActivityID != nil && *in.E.ActivityID == e.ActivityID)
		}
	}
	return &schema.C7FlowNodeInstanceDoc{
		Key: e.ID, ProcessInstanceKey: deref(e.ProcessInstanceID), ProcessDefinitionKey: e.ProcessDefinitionID,
		BpmnProcessID: e.ProcessDefinitionKey, FlowNodeID: e.ActivityID, FlowNodeName: e.ActivityName,
		Type: elementType(e.ActivityType), State: state, StartDate: date(e.StartTime), EndDate: date(e.EndTime),
		ScopeKey: e.ParentActivityInstanceID, Incident: open, TenantID: tenant(e.TenantID), Source: r.source, Position: position,
	}
}

// task is the task document of user task tk.
func (r renderer) task(st *instanceState, tk *entry[taskInstance], position int64) *schema.C7TaskDoc {
	e := tk.E
	state := schema.StateCreated
	if tk.Ended {
		state = schema.StateCanceled
		if e.DeleteReason != nil && *e.DeleteReason == "completed" {
			state = schema.StateCompleted
		}
	}
	w := work(tk, st.Links)
	return &schema.C7TaskDoc{
		Key: e.ID, ProcessInstanceKey: deref(e.ProcessInstanceID), FlowNodeInstanceKey: e.ActivityInstanceID,
		FlowNodeBpmnID: deref(e.TaskDefinitionKey), BpmnProcessID: deref(e.ProcessDefinitionKey),
		ProcessDefinitionKey: deref(e.ProcessDefinitionID), Name: e.Name, State: state, Assignee: w.assignee,
		CandidateGroups: w.groups, CandidateUsers: w.users, DueDate: date(e.Due), FollowUpDate: date(e.FollowUp),
		Priority: e.Priority, CreationTime: date(e.StartTime), CompletionTime: date(e.EndTime),
		TenantID: tenant(e.TenantID), Source: r.source, Position: position,
	}
}

// variable is the variable document of a variable's latest update.
func (r renderer) variable(v variableUpdate, position int64) *schema.C7VariableDoc {
	d := &schema.C7VariableDoc{
		Name: v.VariableName, Type: v.VariableType, ScopeKey: v.ActivityInstanceID,
		ProcessInstanceKey: deref(v.ProcessInstanceID), ProcessDefinitionKey: deref(v.ProcessDefinitionID),
		BpmnProcessID: deref(v.ProcessDefinitionKey), TenantID: tenant(v.TenantID), Source: r.source, Position: position,
	}
	d.Value, d.FullValue, d.IsPreview = schema.VariablePreview(jsonValue(v))
	return d
}

// incident is the incident document.
func (r renderer) incident(in *entry[incident], position int64) *schema.C7IncidentDoc {
	e := in.E
	state := schema.StateActive
	if in.Ended {
		state = schema.StateResolved
	}
	return &schema.C7IncidentDoc{
		Key: e.ID, ProcessInstanceKey: deref(e.ProcessInstanceID), ProcessDefinitionKey: deref(e.ProcessDefinitionID),
		BpmnProcessID: deref(e.ProcessDefinitionKey), FlowNodeID: e.ActivityID, ErrorType: e.IncidentType,
		ErrorMessage: e.IncidentMessage, State: state, CreationTime: date(e.CreateTime), ResolutionTime: date(e.EndTime),
		TenantID: tenant(e.TenantID), Source: r.source, Position: position,
	}
}

// definitionDocs are the documents of a deployment's definitions.
func (r renderer) definitionDocs(d deployment, position int64) []doc {
	var out []doc
	for _, p := range d.ProcessDefinitions {
		xml := deref(p.BpmnXML)
		pd := &schema.C7ProcessDoc{
			Key: p.ID, BpmnProcessID: p.Key, Version: p.Version, VersionTag: p.VersionTag, Name: p.Name,
			ResourceName: p.Resource, BpmnXML: xml, FlowNodes: []schema.FlowNode{}, DeploymentID: p.DeploymentID,
			TenantID: tenant(p.TenantID), Source: r.source, Position: position,
		}
		if parsed, err := bpmn.Parse([]byte(xml), p.Key); err == nil {
			for _, n := range parsed.FlowNodes {
				pd.FlowNodes = append(pd.FlowNodes, schema.FlowNode{ID: n.ID, Name: n.Name})
			}
		}
		out = append(out, doc{schema.C7Process, r.id(p.ID), position, pd})
	}
	for _, dd := range d.DecisionDefinitions {
		out = append(out, doc{schema.C7Decision, r.id(dd.ID), position, &schema.C7DecisionDoc{
			Key: dd.ID, DecisionID: dd.Key, Name: dd.Name, Version: dd.Version, VersionTag: dd.VersionTag,
			DecisionRequirementsKey: dd.DecisionRequirementsDefinitionID, DecisionRequirementsID: dd.DecisionRequirementsDefinitionKey,
			ResourceName: dd.Resource, XML: deref(dd.DmnXML), DeploymentID: dd.DeploymentID,
			TenantID: tenant(dd.TenantID), Source: r.source, Position: position,
		}})
	}
	return out
}

// decisionDoc is the document of an evaluated decision.
func (r renderer) decisionDoc(e decisionInstance, position int64) doc {
	d := &schema.C7DecisionInstanceDoc{
		Key: e.ID, DecisionID: e.DecisionDefinitionKey, DecisionKey: e.DecisionDefinitionID, DecisionName: e.DecisionDefinitionName,
		State: schema.StateEvaluated, EvaluationDate: date(e.EvaluationTime), ProcessInstanceKey: e.ProcessInstanceID,
		ProcessDefinitionKey: e.ProcessDefinitionID, BpmnProcessID: e.ProcessDefinitionKey,
		FlowNodeInstanceKey: e.ActivityInstanceID, ElementID: e.ActivityID, RootDecisionKey: e.RootDecisionInstanceID,
		EvaluatedInputs: []schema.EvaluatedInput{}, EvaluatedOutputs: []schema.EvaluatedOutput{},
		TenantID: tenant(e.TenantID), Source: r.source, Position: position,
	}
	for _, in := range e.Inputs {
		d.EvaluatedInputs = append(d.EvaluatedInputs, schema.EvaluatedInput{ID: deref(in.ClauseID), Name: deref(in.ClauseName), Value: rawText(in.Value)})
	}
	for _, out := range e.Outputs {
		o := schema.EvaluatedOutput{ID: deref(out.ClauseID), Name: deref(out.ClauseName), Value: rawText(out.Value), RuleID: deref(out.RuleID)}
		if out.RuleOrder != nil {
			o.RuleIndex = *out.RuleOrder
		}
		d.EvaluatedOutputs = append(d.EvaluatedOutputs, o)
	}
	return doc{schema.C7DecisionInstance, r.id(e.ID), position, d}
}

// taskWork is what a task's identity link log says about it.
type taskWork struct {
	assignee   *string
	groups     []string
	users      []string
	claim      *string
	idle, work *int64
}

// work replays the identity link log of task tk: its assignee and
// candidates (the engine's final assignee once it ended), when it was first
// assigned, and, once it ended, how long it was without an assignee (idle)
// and with one (work) between its start and end.
func work(tk *entry[taskInstance], links map[string]identityLink) taskWork {
	var log []identityLink
	for _, l := range links {
		if l.TaskID != nil && *l.TaskID == tk.E.ID {
			log = append(log, l)
		}
	}
	at := func(s string) int64 {
		ms, _ := c7.ParseDate(s)
		return ms
	}
	sort.Slice(log, func(i, j int) bool {
		ti, tj := at(log[i].Time), at(log[j].Time)
		return ti < tj || (ti == tj && log[i].ID < log[j].ID)
	})
	var w taskWork
	groups, users := map[string]bool{}, map[string]bool{}
	var assignee *string
	start, end := int64(0), int64(0)
	if tk.E.StartTime != nil {
		start = at(*tk.E.StartTime)
	}
	if tk.E.EndTime != nil {
		end = at(*tk.E.EndTime)
	}
	var idle, busy int64
	last := start
	account := func(until int64) {
		until = max(until, last)
		if tk.E.EndTime != nil {
			until = min(until, end)
		}
		if until > last {
			if assignee == nil {
				idle += until - last
			} else {
				busy += until - last
			}
			last = until
		}
	}
	for _, l := range log {
		t := at(l.Time)
		switch l.Type {
		case "assignee":
			account(t)
			if l.OperationType == "add" {
				assignee = l.UserID
				if w.claim == nil {
					w.claim = date(&l.Time)
				}
			} else {
				assignee = nil
			}
		case "candidate":
			set, id := groups, l.GroupID
			if l.UserID != nil {
				set, id = users, l.UserID
			}
			if id != nil {
				set[*id] = l.OperationType == "add"
			}
		}
	}
	w.assignee = assignee
	if tk.Ended {
		account(end)
		w.idle, w.work = &idle, &busy
		w.assignee = tk.E.Assignee
	} else if len(log) == 0 {
		w.assignee = tk.E.Assignee
	}
	w.groups, w.users = members(groups), members(users)
	return w
}

// members lists the names set to true, sorted.
func members(set map[string]bool) []string {
	out := []string{}
	for name, in := range set {
		if in {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// jsonValue is a variable's value as JSON text, as the Zeebe variable
// family holds values: a string "\"abc\"", a number 12.5, true, a date as
// its string, JSON text as it is, null.
func jsonValue(v variableUpdate) string {
	raw := strings.TrimSpace(string(v.Value))
	if raw == "" {
		return "null"
	}
	if v.VariableType == "Json" {
		var text string
		if json.Unmarshal(v.Value, &text) == nil && json.Valid([]byte(text)) {
			return text
		}
	}
	return raw
}

// plainValue is a variable's value as Optimize keeps it: a string, the
// number's or boolean's text, JSON or XML text; nil for null.
func plainValue(v variableUpdate) *string {
	raw := strings.TrimSpace(string(v.Value))
	if raw == "" || raw == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(v.Value, &s) == nil {
		return &s
	}
	return &raw
}

// rawText is a decision clause's value as JSON text.
func rawText(raw json.RawMessage) string {
	if t := strings.TrimSpace(string(raw)); t != "" {
		return t
	}
	return "null"
}

// date renders an engine date as a document date, nil for none (or one
// that does not parse).
func date(s *string) *string {
	if s == nil {
		return nil
	}
	ms, err := c7.ParseDate(*s)
	if err != nil {
		return nil
	}
	return schema.FormatDate(ms)
}

// tenant is a tenant id as the families hold it: the engine's, or
// "<default>" (as Zeebe names no tenant) when it has none.
func tenant(t *string) string {
	if t == nil || *t == "" {
		return "<default>"
	}
	return *t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// elementTypes maps the engine's activity types to Zeebe's element type
// names where they differ from the upper-snake spelling of the C7 type.
var elementTypes = map[string]string{
	"startTimerEvent": "START_EVENT", "startMessageEvent": "START_EVENT", "startSignalEvent": "START_EVENT",
	"startErrorEvent": "START_EVENT", "startConditionalEvent": "START_EVENT", "startEscalationEvent": "START_EVENT",
	"startCompensationEvent": "START_EVENT",
	"noneEndEvent":           "END_EVENT", "errorEndEvent": "END_EVENT", "cancelEndEvent": "END_EVENT", "terminateEndEvent": "END_EVENT",
	"messageEndEvent": "END_EVENT", "signalEndEvent": "END_EVENT", "compensationEndEvent": "END_EVENT", "escalationEndEvent": "END_EVENT",
	"intermediateTimer": "INTERMEDIATE_CATCH_EVENT", "intermediateMessageCatch": "INTERMEDIATE_CATCH_EVENT",
	"intermediateSignalCatch": "INTERMEDIATE_CATCH_EVENT", "intermediateConditional": "INTERMEDIATE_CATCH_EVENT",
	"intermediateLinkCatch":   "INTERMEDIATE_CATCH_EVENT",
	"intermediateSignalThrow": "INTERMEDIATE_THROW_EVENT", "intermediateMessageThrowEvent": "INTERMEDIATE_THROW_EVENT",
	"intermediateNoneThrowEvent": "INTERMEDIATE_THROW_EVENT", "intermediateCompensationThrowEvent": "INTERMEDIATE_THROW_EVENT",
	"intermediateEscalationThrowEvent": "INTERMEDIATE_THROW_EVENT",
	"boundaryTimer":                    "BOUNDARY_EVENT", "boundaryMessage": "BOUNDARY_EVENT", "boundarySignal": "BOUNDARY_EVENT",
	"boundaryError": "BOUNDARY_EVENT", "boundaryCompensation": "BOUNDARY_EVENT", "boundaryCancel": "BOUNDARY_EVENT",
	"boundaryEscalation": "BOUNDARY_EVENT", "boundaryConditional": "BOUNDARY_EVENT",
}

// elementType is Zeebe's name of the engine's activity type: from
// elementTypes, else its upper-snake spelling (userTask: USER_TASK).
func elementType(activityType string) string {
	if t, ok := elementTypes[activityType]; ok {
		return t
	}
	var b strings.Builder
	for i, r := range activityType {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
