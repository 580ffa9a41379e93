package aggregator

import (
	"strconv"
	"strings"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// Element lifecycle intents and element types of PROCESS_INSTANCE records.
const (
	intentActivating    = "ELEMENT_ACTIVATING"
	intentCompleted     = "ELEMENT_COMPLETED"
	intentTerminated    = "ELEMENT_TERMINATED"
	intentSequenceTaken = "SEQUENCE_FLOW_TAKEN"
	elementProcess      = "PROCESS"
)

// lifecycleIntents are the intents that move an element instance.
var lifecycleIntents = map[string]bool{
	intentActivating: true, "ELEMENT_ACTIVATED": true,
	"ELEMENT_COMPLETING": true, intentCompleted: true,
	"ELEMENT_TERMINATING": true, intentTerminated: true,
}

func (f *recordFolder) processInstance(r *recordv1.Record, v *recordv1.ProcessInstanceValue) error {
	switch {
	case r.Intent == intentSequenceTaken:
		f.sequenceFlow(r, v)
		return nil
	case !lifecycleIntents[r.Intent]:
		f.ignore(r.ValueType + "." + r.Intent)
		return nil
	case v.BpmnElementType == elementProcess:
		return f.instance(r, v)
	default:
		return f.flowNode(r, v)
	}
}

// instance folds a lifecycle record of the process element itself.
func (f *recordFolder) instance(r *recordv1.Record, v *recordv1.ProcessInstanceValue) error {
	is := f.st.Instances[r.Key]
	if is == nil || r.Intent == intentActivating {
		is = &instanceState{Doc: &schema.ListViewDoc{Key: r.Key, State: schema.StateActive}}
		if old := f.st.Instances[r.Key]; old != nil {
			is.Incidents = old.Incidents
		}
		f.st.Instances[r.Key] = is
		pi := is.Doc
		pi.ParentProcessInstanceKey = v.ParentProcessInstanceKey
		pi.ParentFlowNodeInstanceKey = v.ParentElementInstanceKey
		pi.RootProcessInstanceKey, pi.TreePath = f.instanceTree(r.Key, v)
		def, err := f.defs.get(f.ctx, v.ProcessDefinitionKey)
		if err != nil {
			return err
		}
		pi.ProcessName = f.st.strs.intern(v.BpmnProcessId)
		if def != nil {
			if def.Name != "" {
				pi.ProcessName = def.Name
			}
			pi.VersionTag = optionalString(def.VersionTag)
		}
	}
	pi := is.Doc
	pi.ProcessDefinitionKey = v.ProcessDefinitionKey
	pi.BpmnProcessID = f.st.strs.intern(v.BpmnProcessId)
	pi.Version = v.Version
	pi.TenantID = f.st.strs.intern(v.TenantId)
	pi.PartitionID = r.PartitionId
	pi.Position = r.Position
	pi.Incident = is.Incidents > 0
	if elementLifecycle(r, &pi.State, &pi.StartDate, &pi.EndDate, schema.StateCanceled) {
		delete(f.st.Instances, r.Key)
	}
	f.emit(schema.ListView, strconv.FormatInt(r.Key, 10), pi, r)
	return nil
}

// elementLifecycle applies a lifecycle record of an element (the process
// or a flow node) to its document's state and dates: ELEMENT_ACTIVATING
// sets the start date, ELEMENT_COMPLETED and ELEMENT_TERMINATED the end
// date and the state COMPLETED or terminatedState (the list view says
// CANCELED, flow nodes TERMINATED). It reports whether the element ended,
// so that its state can be let go.
func elementLifecycle(r *recordv1.Record, state *string, start, end **string, terminatedState string) (ended bool) {
	switch r.Intent {
	case intentActivating:
		*start = schema.FormatDate(r.Timestamp)
	case intentCompleted:
		*state, *end = schema.StateCompleted, schema.FormatDate(r.Timestamp)
		return true
	case intentTerminated:
		*state, *end = terminatedState, schema.FormatDate(r.Timestamp)
		return true
	}
	return false
}

// instanceTree returns the root instance key and the tree path
// PI_<root>/FN_<callActivityId>/FNI_<callActivityInstanceKey>/.../PI_<self>
// of a process instance: from its calling instance's state when that is
// held (always, when the aggregator saw the tree start), else from the
// record's element instance and calling element paths, else as a root.
func (f *recordFolder) instanceTree(self int64, v *recordv1.ProcessInstanceValue) (int64, string) {
	selfPart := "PI_" + strconv.FormatInt(self, 10)
	if v.ParentProcessInstanceKey > 0 {
		parent := f.st.Instances[v.ParentProcessInstanceKey]
		call := f.st.FlowNodes[v.ParentElementInstanceKey]
		if parent != nil && call != nil {
			return parent.Doc.RootProcessInstanceKey, parent.Doc.TreePath + "/FN_" + call.FlowNodeID +
				"/FNI_" + strconv.FormatInt(v.ParentElementInstanceKey, 10) + "/" + selfPart
		}
		if path, root, ok := f.pathFromRecord(v); ok {
			return root, path
		}
	}
	root := self
	if v.RootProcessInstanceKey > 0 {
		root = v.RootProcessInstanceKey
	}
	if root != self {
		return root, "PI_" + strconv.FormatInt(root, 10) + "/" + selfPart
	}
	return root, selfPart
}

// pathFromRecord builds an instance's tree path from elementInstancePath
// (one key chain per instance of the call chain, root first: the instance
// key first, the calling element's instance key last) and
// callingElementPath (per calling instance, the index of the call activity
// among its process's sorted call activity ids).
func (f *recordFolder) pathFromRecord(v *recordv1.ProcessInstanceValue) (string, int64, bool) {
	eip, cep, pdp := v.ElementInstancePath, v.CallingElementPath, v.ProcessDefinitionPath
	if len(eip) < 2 || len(cep) < len(eip)-1 || len(pdp) < len(eip)-1 {
		return "", 0, false
	}
	var parts []string
	for i, chain := range eip {
		if len(chain.Keys) == 0 {
			return "", 0, false
		}
		parts = append(parts, "PI_"+strconv.FormatInt(chain.Keys[0], 10))
		if i == len(eip)-1 {
			break
		}
		def, err := f.defs.get(f.ctx, pdp[i])
		idx := int(cep[i])
		if err != nil || def == nil || idx < 0 || idx >= len(def.CallActivityIDs) {
			return "", 0, false
		}
		parts = append(parts, "FN_"+def.CallActivityIDs[idx], "FNI_"+strconv.FormatInt(chain.Keys[len(chain.Keys)-1], 10))
	}
	return strings.Join(parts, "/"), eip[0].Keys[0], true
}

// flowNode folds a lifecycle record of an element other than the process.
func (f *recordFolder) flowNode(r *recordv1.Record, v *recordv1.ProcessInstanceValue) error {
	fn := f.st.FlowNodes[r.Key]
	if fn == nil || r.Intent == intentActivating {
		fn = &schema.FlowNodeInstanceDoc{Key: r.Key, State: schema.StateActive}
		if old := f.st.FlowNodes[r.Key]; old != nil {
			fn.Incident, fn.IncidentKey = old.Incident, old.IncidentKey
		}
		f.st.FlowNodes[r.Key] = fn
		fn.TreePath = f.flowNodePath(r.Key, v)
		fn.Level = strings.Count(fn.TreePath, "/")
		def, err := f.defs.get(f.ctx, v.ProcessDefinitionKey)
		if err != nil {
			return err
		}
		fn.FlowNodeName = f.st.strs.intern(f.nodeName(def, v.ElementId))
	}
	fn.ProcessInstanceKey = v.ProcessInstanceKey
	fn.ProcessDefinitionKey = v.ProcessDefinitionKey
	fn.BpmnProcessID = f.st.strs.intern(v.BpmnProcessId)
	fn.FlowNodeID = f.st.strs.intern(v.ElementId)
	fn.Type = f.st.strs.intern(v.BpmnElementType)
	fn.ScopeKey = v.FlowScopeKey
	fn.TenantID = f.st.strs.intern(v.TenantId)
	fn.Position = r.Position
	if elementLifecycle(r, &fn.State, &fn.StartDate, &fn.EndDate, schema.StateTerminated) {
		delete(f.st.FlowNodes, r.Key)
		if f.schema == config.SchemaOperate {
			f.ended = append(f.ended, r.Key) // its activity state goes once rendered
		}
	}
	f.emit(schema.FlowNodeInstance, strconv.FormatInt(r.Key, 10), fn, r)
	return nil
}

// flowNodePath is the element instance keys from the process instance down
// to self, joined by "/": its flow scope's path plus itself when the scope is
// held, else the record's own chain, else instance/self.
func (f *recordFolder) flowNodePath(self int64, v *recordv1.ProcessInstanceValue) string {
	selfKey := strconv.FormatInt(self, 10)
	if scope := f.st.FlowNodes[v.FlowScopeKey]; scope != nil {
		return scope.TreePath + "/" + selfKey
	}
	if n := len(v.ElementInstancePath); n > 0 && len(v.ElementInstancePath[n-1].Keys) > 0 {
		keys := v.ElementInstancePath[n-1].Keys
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.FormatInt(k, 10)
		}
		if keys[len(keys)-1] != self {
			parts = append(parts, selfKey)
		}
		return strings.Join(parts, "/")
	}
	return strconv.FormatInt(v.ProcessInstanceKey, 10) + "/" + selfKey
}

// sequenceFlow emits the document of a taken sequence flow.
func (f *recordFolder) sequenceFlow(r *recordv1.Record, v *recordv1.ProcessInstanceValue) {
	id := strconv.FormatInt(v.ProcessInstanceKey, 10) + "_" + v.ElementId
	f.emit(schema.SequenceFlow, id, &schema.SequenceFlowDoc{
		ProcessInstanceKey: v.ProcessInstanceKey, ProcessDefinitionKey: v.ProcessDefinitionKey,
		BpmnProcessID: v.BpmnProcessId, ActivityID: v.ElementId, TenantID: v.TenantId, Position: r.Position,
	}, r)
}
