package aggregator

import (
	"encoding/json"
	"strconv"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
)

// operateDocuments renders the changed documents of partition p as the
// documents of Camunda's Operate and Tasklist indices (pkg/schema/operate):
// a flow node instance as its operate-flownode-instance document and its
// list-view activity child, a variable as its operate-variable document and
// its list-view variable child, and so on, each with the version of the
// Flowline document it comes from. A document that cannot be rendered is
// returned in bad, the others are rendered all the same.
//
// Every Flowline family of Zeebe's records has its projection.
func (f *recordFolder) operateDocuments(p int32) (docs []*recordv1.Document, bad []unrendered) {
	docs = make([]*recordv1.Document, 0, len(f.ch.order)*2)
	var out []operate.Doc
	for _, ch := range f.ch.order {
		out = out[:0]
		switch d := ch.doc.(type) {
		case *schema.ListViewDoc:
			out = append(out, operate.ProjectListViewInstance(d), operate.ProjectTasklistProcess(d))
		case *schema.FlowNodeInstanceDoc:
			x := f.activityExtras(d)
			out = append(out, operate.ProjectFlowNodeInstance(d, p, x.CalledIncident), operate.ProjectListViewActivity(d, p, x))
		case *schema.VariableDoc:
			v, lv := operate.ProjectVariable(d, d.Key, p)
			out = append(out, v, lv)
			out = append(out, operate.ProjectTasklistVariables(d, d.Key, p)...)
		case *schema.TaskDoc:
			out = append(out, operate.ProjectTask(d, p))
		case *schema.DecisionInstanceDoc:
			out = append(out, operate.ProjectDecisionInstance(d, p))
		case *schema.IncidentDoc:
			out = append(out, operate.ProjectIncident(d, p))
		case *schema.SequenceFlowDoc:
			out = append(out, operate.ProjectSequenceFlow(d))
		case *schema.JobDoc:
			if operateJobIntents[d.State] {
				out = append(out, operate.ProjectJob(d, p))
			}
		case *schema.ProcessDoc:
			if !d.Deleted { // Camunda 8.8 keeps a deleted process's document as it was
				out = append(out, operate.ProjectProcess(d))
			}
		case *schema.DecisionRequirementsDoc:
			out = append(out, operate.ProjectDecisionRequirements(d))
		case *schema.DecisionDoc:
			out = append(out, operate.ProjectDecision(d))
		case *schema.FormDoc:
			out = append(out, operate.ProjectForm(d))
		}
		for _, od := range out {
			src, err := schema.Encode(od.Source)
			if err != nil {
				bad = append(bad, unrendered{ch, err})
				continue
			}
			docs = append(docs, &recordv1.Document{
				Family: od.Index.Family(), Id: od.ID, Routing: od.Routing, Version: ch.position,
				Source: src, PartitionId: p, RecordTimestamp: ch.timestamp,
			})
		}
	}
	for _, k := range f.ended { // their last documents are rendered
		delete(f.st.Activities, k)
		delete(f.st.JobTasks, k) // a job-based task whose element ended without its job ending
	}
	f.ended = f.ended[:0]
	return docs, bad
}

// activity is the activity state of flow node instance key, made on first
// use; operate schema only.
func (f *recordFolder) activity(key int64) *activityState {
	a := f.st.Activities[key]
	if a == nil {
		a = &activityState{}
		f.st.Activities[key] = a
	}
	return a
}

// activityJob notes a job record of an active flow node instance (not of
// the process element itself) in its activity state and re-renders its
// documents; operate schema only.
func (f *recordFolder) activityJob(r *recordv1.Record, v *recordv1.JobValue) {
	if f.schema != config.SchemaOperate || v.ElementInstanceKey == v.ProcessInstanceKey {
		return
	}
	fn := f.st.FlowNodes[v.ElementInstanceKey]
	if fn == nil {
		return
	}
	a := f.activity(fn.Key)
	pos := r.Position
	a.PositionJob = &pos
	a.JobFailedWithRetriesLeft = r.Intent == "FAILED" && v.Retries > 0 // any other job event resets it
	f.emit(schema.FlowNodeInstance, strconv.FormatInt(fn.Key, 10), fn, r)
}

// activityCalledIncident notes that the instance call activity key called
// has (or no longer has) an unresolved incident in its subtree, and
// re-renders the call activity; operate schema only.
func (f *recordFolder) activityCalledIncident(r *recordv1.Record, key int64, flag bool) {
	if f.schema != config.SchemaOperate || key <= 0 {
		return
	}
	fn := f.st.FlowNodes[key]
	if fn == nil {
		return
	}
	f.activity(key).CalledIncident = flag
	f.emit(schema.FlowNodeInstance, strconv.FormatInt(key, 10), fn, r)
}

// nodeName is the name a flow node's documents hold: in Flowline's schema
// its name or else its id; in the operate schema its name or nothing, as
// Camunda writes it.
func (f *recordFolder) nodeName(def *processDef, id string) string {
	if f.schema == config.SchemaOperate {
		return def.flowNodeNameOrEmpty(id)
	}
	return def.flowNodeName(id)
}

// jobUserTaskType is the job type of a job-based user task.
const jobUserTaskType = "io.camunda.zeebe:userTask"

// jobTaskStates are the task states of the job events Camunda's job-based
// user task handler follows (FAILED is decided by the retries).
var jobTaskStates = map[string]string{
	"CREATED": schema.StateCreated, "RECURRED_AFTER_BACKOFF": schema.StateCreated, "MIGRATED": schema.StateCreated,
	"COMPLETED": schema.StateCompleted, "CANCELED": schema.StateCanceled, "FAILED": "",
}

// jobUserTask renders a job-based user task's Tasklist document from a job
// record; operate schema only. Its assignee, candidates, dates and form
// come from the job's custom headers, as Zeebe puts them there; its
// creation time is kept from the CREATED record.
func (f *recordFolder) jobUserTask(r *recordv1.Record, v *recordv1.JobValue) {
	state, handled := jobTaskStates[r.Intent]
	if f.schema != config.SchemaOperate || v.Type != jobUserTaskType || !handled {
		return
	}
	if r.Intent == "FAILED" {
		state = "FAILED"
		if v.Retries > 0 && v.RetryBackoff <= 0 {
			state = schema.StateCreated
		}
	}
	if r.Intent == "CREATED" {
		f.st.JobTasks[v.ElementInstanceKey] = *schema.FormatDate(r.Timestamp)
	}
	var h struct {
		Assignee        string `json:"io.camunda.zeebe:assignee"`
		CandidateGroups string `json:"io.camunda.zeebe:candidateGroups"`
		CandidateUsers  string `json:"io.camunda.zeebe:candidateUsers"`
		DueDate         string `json:"io.camunda.zeebe:dueDate"`
		FollowUpDate    string `json:"io.camunda.zeebe:followUpDate"`
		FormKey         string `json:"io.camunda.zeebe:formKey"`
	}
	if v.CustomHeadersJson != "" {
		if err := json.Unmarshal([]byte(v.CustomHeadersJson), &h); err != nil {
			f.warn("job-based user task: custom headers unreadable; its task document lacks them", "job", r.Key, "position", r.Position, "error", err)
		}
	}
	list := func(name, s string) []string {
		if s == "" {
			return nil
		}
		var raw []any
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			f.warn("job-based user task: header is not a JSON array", "job", r.Key, "header", name, "error", err)
			return nil
		}
		var out []string
		for _, x := range raw {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	task := &schema.TaskDoc{
		Key: r.Key, ProcessInstanceKey: v.ProcessInstanceKey, FlowNodeInstanceKey: v.ElementInstanceKey, FlowNodeBpmnID: v.ElementId,
		BpmnProcessID: v.BpmnProcessId, ProcessDefinitionKey: v.ProcessDefinitionKey, State: state,
		Assignee: optionalString(h.Assignee), CandidateGroups: list("candidateGroups", h.CandidateGroups), CandidateUsers: list("candidateUsers", h.CandidateUsers),
		DueDate: optionalString(h.DueDate), FollowUpDate: optionalString(h.FollowUpDate), FormKey: optionalString(h.FormKey),
		TenantID: v.TenantId, Position: r.Position, Implementation: "JOB_WORKER",
	}
	if created, ok := f.st.JobTasks[v.ElementInstanceKey]; ok {
		task.CreationTime = &created
	}
	if state == schema.StateCompleted || state == schema.StateCanceled {
		task.CompletionTime = schema.FormatDate(r.Timestamp)
		delete(f.st.JobTasks, v.ElementInstanceKey)
	}
	f.emit(schema.Task, "job-"+strconv.FormatInt(r.Key, 10), task, r)
}

// activityIncident notes an incident record of flow node instance key in
// its activity state; operate schema only (the caller re-renders it).
func (f *recordFolder) activityIncident(r *recordv1.Record, key int64) {
	if f.schema != config.SchemaOperate {
		return
	}
	pos := r.Position
	f.activity(key).PositionIncident = &pos
}

// operateJobIntents are the job events Camunda's job handler writes; the
// others (YIELDED, UPDATED, TIMEOUT_UPDATED, RECURRED_AFTER_BACKOFF...)
// leave its document as it was.
var operateJobIntents = map[string]bool{
	"CREATED": true, "COMPLETED": true, "TIMED_OUT": true, "FAILED": true, "RETRIES_UPDATED": true,
	"CANCELED": true, "ERROR_THROWN": true, "MIGRATED": true,
}

// activityExtras are what a flow node instance's list-view document holds
// beyond its Flowline document: the message of its active incident, while
// the partition holds that incident.
func (f *recordFolder) activityExtras(fn *schema.FlowNodeInstanceDoc) operate.ActivityExtras {
	var x operate.ActivityExtras
	if fn.IncidentKey != nil {
		if inc := f.st.Incidents[*fn.IncidentKey]; inc != nil && inc.State == schema.StateActive {
			msg := inc.ErrorMessage
			x.ErrorMessage = &msg
		}
	}
	if a := f.st.Activities[fn.Key]; a != nil {
		x.JobFailedWithRetriesLeft, x.PositionJob, x.PositionIncident = a.JobFailedWithRetriesLeft, a.PositionJob, a.PositionIncident
		x.CalledIncident = a.CalledIncident
	}
	return x
}
