package aggregator

import (
	"strconv"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// incident folds INCIDENT CREATED / RESOLVED: the incident document, and
// the incident flag of its flow node and of its process instance and every
// calling instance (set while any incident in the subtree is unresolved).
func (f *recordFolder) incident(r *recordv1.Record, v *recordv1.IncidentValue) {
	switch r.Intent {
	case "CREATED":
		intern := f.st.strs.intern
		inc := &schema.IncidentDoc{
			Key: r.Key, ProcessInstanceKey: v.ProcessInstanceKey, ProcessDefinitionKey: v.ProcessDefinitionKey,
			BpmnProcessID: intern(v.BpmnProcessId), FlowNodeID: intern(v.ElementId), FlowNodeInstanceKey: v.ElementInstanceKey,
			JobKey: optionalKey(v.JobKey), ErrorType: intern(v.ErrorType), ErrorMessage: own(v.ErrorMessage), State: schema.StateActive,
			CreationTime: schema.FormatDate(r.Timestamp), TreePath: f.incidentPath(v), TenantID: intern(v.TenantId), Position: r.Position,
		}
		fresh := f.st.Incidents[r.Key] == nil
		f.st.Incidents[r.Key] = inc
		f.emit(schema.Incident, strconv.FormatInt(r.Key, 10), inc, r)
		if fn := f.st.FlowNodes[v.ElementInstanceKey]; fn != nil {
			key := r.Key
			fn.Incident, fn.IncidentKey, fn.Position = true, &key, r.Position
			f.activityIncident(r, fn.Key)
			f.emit(schema.FlowNodeInstance, strconv.FormatInt(fn.Key, 10), fn, r)
		}
		if fresh {
			f.countIncident(r, v.ProcessInstanceKey, +1)
		}
	case "RESOLVED":
		inc := f.st.Incidents[r.Key]
		held := inc != nil
		if !held {
			inc = &schema.IncidentDoc{
				Key: r.Key, ProcessInstanceKey: v.ProcessInstanceKey, ProcessDefinitionKey: v.ProcessDefinitionKey,
				BpmnProcessID: v.BpmnProcessId, FlowNodeID: v.ElementId, FlowNodeInstanceKey: v.ElementInstanceKey,
				JobKey: optionalKey(v.JobKey), ErrorType: v.ErrorType, ErrorMessage: v.ErrorMessage,
				TreePath: f.incidentPath(v), TenantID: v.TenantId,
			}
		}
		delete(f.st.Incidents, r.Key)
		inc.State, inc.ResolutionTime, inc.Position = schema.StateResolved, schema.FormatDate(r.Timestamp), r.Position
		f.emit(schema.Incident, strconv.FormatInt(r.Key, 10), inc, r)
		if fn := f.st.FlowNodes[v.ElementInstanceKey]; fn != nil && !(fn.IncidentKey != nil && *fn.IncidentKey == r.Key) {
			f.activityIncident(r, fn.Key) // not its current incident: only the activity's positionIncident moves
			if f.schema == config.SchemaOperate {
				f.emit(schema.FlowNodeInstance, strconv.FormatInt(fn.Key, 10), fn, r)
			}
		}
		if fn := f.st.FlowNodes[v.ElementInstanceKey]; fn != nil && fn.IncidentKey != nil && *fn.IncidentKey == r.Key {
			fn.Incident, fn.IncidentKey, fn.Position = false, nil, r.Position
			f.activityIncident(r, fn.Key)
			f.emit(schema.FlowNodeInstance, strconv.FormatInt(fn.Key, 10), fn, r)
		}
		if held {
			f.countIncident(r, v.ProcessInstanceKey, -1)
		}
	default:
		f.ignore(r.ValueType + "." + r.Intent)
	}
}

// countIncident adds delta to the unresolved-incident count of instance pi
// and of every instance that called it, emitting each whose flag flips.
func (f *recordFolder) countIncident(r *recordv1.Record, pi int64, delta int) {
	for seen := 0; pi > 0 && seen < 1000; seen++ { // the bound guards against a corrupt cycle
		is := f.st.Instances[pi]
		if is == nil {
			return
		}
		is.Incidents = max(0, is.Incidents+delta)
		if flag := is.Incidents > 0; flag != is.Doc.Incident {
			is.Doc.Incident, is.Doc.Position = flag, r.Position
			f.emit(schema.ListView, strconv.FormatInt(pi, 10), is.Doc, r)
			f.activityCalledIncident(r, is.Doc.ParentFlowNodeInstanceKey, flag)
		}
		pi = is.Doc.ParentProcessInstanceKey
	}
}

// incidentPath is the instance's tree path followed by the flow node:
// .../PI_<instance>/FN_<elementId>/FNI_<elementInstanceKey>.
func (f *recordFolder) incidentPath(v *recordv1.IncidentValue) string {
	base := "PI_" + strconv.FormatInt(v.ProcessInstanceKey, 10)
	if is := f.st.Instances[v.ProcessInstanceKey]; is != nil && is.Doc.TreePath != "" {
		base = is.Doc.TreePath
	}
	return base + "/FN_" + v.ElementId + "/FNI_" + strconv.FormatInt(v.ElementInstanceKey, 10)
}

// optionalKey is nil for Zeebe's unset keys (-1, 0).
func optionalKey(k int64) *int64 {
	if k <= 0 {
		return nil
	}
	return &k
}
