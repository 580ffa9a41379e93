package aggregator

import (
	"strconv"

	"github.com/flowline/flowline/pkg/bpmn"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// Zeebe writes a definition's records on every partition (deployment
// distribution), and positions of different partitions cannot be compared:
// only the partition encoded in the definition key writes its document.
func ownsDefinition(partition int32, key int64) bool { return int32(key>>51) == partition }

// ownedDefinitionCreated reports whether r is the CREATED event of
// definition key on the partition that owns it; any other record of the
// definition is counted as ignored.
func (f *recordFolder) ownedDefinitionCreated(r *recordv1.Record, key int64) bool {
	if r.Intent == "CREATED" && ownsDefinition(r.PartitionId, key) {
		return true
	}
	f.ignore(r.ValueType + "." + r.Intent)
	return false
}

// process folds PROCESS CREATED / DELETED: every partition caches and
// stores the definition (names for other documents); the key's partition
// writes the process document. DELETED carries no resource: the document is
// rebuilt from the stored definition and marked deleted.
func (f *recordFolder) process(r *recordv1.Record, v *recordv1.ProcessValue) error {
	var def *processDef
	switch r.Intent {
	case "CREATED":
		intern := f.st.strs.intern // the definitions cache outlives the message
		def = &processDef{
			Key: v.ProcessDefinitionKey, BpmnProcessID: intern(v.BpmnProcessId), Version: v.Version, Name: intern(v.ProcessName),
			VersionTag: own(v.VersionTag), ResourceName: own(v.ResourceName), TenantID: intern(v.TenantId), BpmnXML: string(v.Resource),
		}
		if parsed, err := bpmn.Parse(v.Resource, def.BpmnProcessID); err == nil {
			if parsed.Name != "" {
				def.Name = parsed.Name
			}
			if def.VersionTag == "" {
				def.VersionTag = parsed.VersionTag
			}
			def.FlowNodes, def.CallActivityIDs = parsed.FlowNodes, parsed.CallActivityIDs
		} else {
			f.warn("process resource unreadable; its document has no flow nodes", "key", v.ProcessDefinitionKey, "error", err)
		}
		if err := f.defs.put(f.ctx, def); err != nil {
			return err
		}
	case "DELETED":
		if !ownsDefinition(r.PartitionId, v.ProcessDefinitionKey) {
			return nil
		}
		stored, err := f.defs.stored(f.ctx, v.ProcessDefinitionKey)
		if err != nil {
			return err
		}
		def = stored
		if def == nil {
			f.warn("deleted process was never seen; its document keeps only what the record says", "key", v.ProcessDefinitionKey)
			def = &processDef{Key: v.ProcessDefinitionKey, BpmnProcessID: f.st.strs.intern(v.BpmnProcessId), Version: v.Version,
				VersionTag: own(v.VersionTag), ResourceName: own(v.ResourceName), TenantID: f.st.strs.intern(v.TenantId)}
		}
	default:
		f.ignore(r.ValueType + "." + r.Intent)
		return nil
	}
	if !ownsDefinition(r.PartitionId, v.ProcessDefinitionKey) {
		return nil
	}
	nodes := make([]schema.FlowNode, len(def.FlowNodes))
	for i, n := range def.FlowNodes {
		nodes[i] = schema.FlowNode{ID: n.ID, Name: n.Name}
	}
	callIDs := def.CallActivityIDs
	if callIDs == nil {
		callIDs = []string{}
	}
	f.emit(schema.Process, strconv.FormatInt(def.Key, 10), &schema.ProcessDoc{
		Key: def.Key, BpmnProcessID: def.BpmnProcessID, Version: def.Version,
		VersionTag: optionalString(def.VersionTag), Name: def.Name, ResourceName: def.ResourceName,
		BpmnXML: def.BpmnXML, FlowNodes: nodes, CallActivityIDs: callIDs,
		Deleted: r.Intent == "DELETED", TenantID: def.TenantID, Position: r.Position,
	}, r)
	return nil
}

func (f *recordFolder) decisionRequirements(r *recordv1.Record, v *recordv1.DecisionRequirementsValue) {
	if !f.ownedDefinitionCreated(r, v.DecisionRequirementsKey) {
		return
	}
	f.emit(schema.DecisionRequirements, strconv.FormatInt(v.DecisionRequirementsKey, 10), &schema.DecisionRequirementsDoc{
		Key: v.DecisionRequirementsKey, DecisionRequirementsID: v.DecisionRequirementsId,
		Name: v.DecisionRequirementsName, Version: v.DecisionRequirementsVersion, ResourceName: v.ResourceName,
		XML: string(v.Resource), TenantID: v.TenantId, Position: r.Position,
	}, r)
}

func (f *recordFolder) decision(r *recordv1.Record, v *recordv1.DecisionValue) {
	if !f.ownedDefinitionCreated(r, v.DecisionKey) {
		return
	}
	f.emit(schema.Decision, strconv.FormatInt(v.DecisionKey, 10), &schema.DecisionDoc{
		Key: v.DecisionKey, DecisionID: v.DecisionId, Name: v.DecisionName, Version: v.Version,
		DecisionRequirementsKey: v.DecisionRequirementsKey, DecisionRequirementsID: v.DecisionRequirementsId,
		TenantID: v.TenantId, Position: r.Position,
	}, r)
}

func (f *recordFolder) form(r *recordv1.Record, v *recordv1.FormValue) {
	if !f.ownedDefinitionCreated(r, v.FormKey) {
		return
	}
	f.emit(schema.Form, strconv.FormatInt(v.FormKey, 10), &schema.FormDoc{
		Key: v.FormKey, FormID: v.FormId, Version: v.Version, Schema: string(v.Resource),
		TenantID: v.TenantId, Position: r.Position,
	}, r)
}
