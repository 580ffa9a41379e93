package aggregator

import (
	"strconv"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// variable folds VARIABLE CREATED / UPDATED (and MIGRATED): the record
// holds the whole variable, so no state is needed.
func (f *recordFolder) variable(r *recordv1.Record, v *recordv1.VariableValue) {
	doc := &schema.VariableDoc{
		Name: v.Name, ScopeKey: v.ScopeKey, ProcessInstanceKey: v.ProcessInstanceKey,
		ProcessDefinitionKey: v.ProcessDefinitionKey, BpmnProcessID: v.BpmnProcessId, TenantID: v.TenantId,
		Position: r.Position, Key: r.Key,
	}
	doc.Value, doc.FullValue, doc.IsPreview = schema.VariablePreview(v.Value)
	f.emit(schema.Variable, strconv.FormatInt(v.ScopeKey, 10)+"-"+v.Name, doc, r)
}
