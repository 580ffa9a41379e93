package aggregator

import (
	"strconv"
	"strings"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// taskIntents are the USER_TASK intents whose values are applied to the
// task document, as the Camunda exporter does: CREATED, COMPLETED and
// CANCELED set the state, ASSIGNED, UPDATED and MIGRATED change fields. The
// transient *ING intents (ASSIGNING, COMPLETING, ...) only advance the
// document's position: a task listener may still deny or correct what they
// announce, so they never change the state or the fields.
var taskIntents = map[string]bool{
	"CREATED": true, "ASSIGNED": true, "UPDATED": true, "MIGRATED": true, "COMPLETED": true, "CANCELED": true,
}

// userTask folds USER_TASK events into the task document.
func (f *recordFolder) userTask(r *recordv1.Record, v *recordv1.UserTaskValue) error {
	if !taskIntents[r.Intent] {
		if task := f.st.Tasks[r.Key]; task != nil && strings.HasSuffix(r.Intent, "ING") {
			task.Position = r.Position
			f.emit(schema.Task, strconv.FormatInt(r.Key, 10), task, r)
			return nil
		}
		f.ignore(r.ValueType + "." + r.Intent)
		return nil
	}
	task := f.st.Tasks[r.Key]
	if task == nil {
		task = &schema.TaskDoc{Key: r.Key, State: schema.StateCreated}
		def, err := f.defs.get(f.ctx, v.ProcessDefinitionKey)
		if err != nil {
			return err
		}
		task.Name = f.st.strs.intern(f.nodeName(def, v.ElementId))
		f.st.Tasks[r.Key] = task
	}
	task.ProcessInstanceKey = v.ProcessInstanceKey
	task.FlowNodeInstanceKey = v.ElementInstanceKey
	strs := &f.st.strs
	task.FlowNodeBpmnID = strs.intern(v.ElementId)
	task.BpmnProcessID = strs.intern(v.BpmnProcessId)
	task.ProcessDefinitionKey = v.ProcessDefinitionKey
	task.Assignee = ownOptional(v.Assignee)
	task.CandidateGroups = strs.internAll(v.CandidateGroupsList)
	task.CandidateUsers = ownAll(v.CandidateUsersList)
	task.DueDate = ownOptional(v.DueDate)
	task.FollowUpDate = ownOptional(v.FollowUpDate)
	task.FormKey = ownOptional(v.ExternalFormReference)
	if v.FormKey > 0 {
		task.FormKey = optionalString(strconv.FormatInt(v.FormKey, 10))
	}
	task.Priority = v.Priority
	task.TenantID = strs.intern(v.TenantId)
	task.Position = r.Position
	switch {
	case v.CreationTimestamp > 0:
		task.CreationTime = schema.FormatDate(v.CreationTimestamp)
	case r.Intent == "CREATED" || task.CreationTime == nil:
		task.CreationTime = schema.FormatDate(r.Timestamp)
	}
	switch r.Intent {
	case "COMPLETED":
		task.State, task.CompletionTime = schema.StateCompleted, schema.FormatDate(r.Timestamp)
		delete(f.st.Tasks, r.Key)
	case "CANCELED":
		task.State, task.CompletionTime = schema.StateCanceled, schema.FormatDate(r.Timestamp)
		delete(f.st.Tasks, r.Key)
	}
	f.emit(schema.Task, strconv.FormatInt(r.Key, 10), task, r)
	return nil
}
