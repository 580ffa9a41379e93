package aggregator

import (
	"strconv"
	"unicode/utf8"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// previewLimit is the most characters a variable document's value holds;
// longer values are cut, and kept whole in fullValue.
const previewLimit = 8191

// variable folds VARIABLE CREATED / UPDATED (and MIGRATED): the record
// holds the whole variable, so no state is needed.
func (f *recordFolder) variable(r *recordv1.Record, v *recordv1.VariableValue) {
	doc := &schema.VariableDoc{
		Name: v.Name, Value: v.Value, ScopeKey: v.ScopeKey, ProcessInstanceKey: v.ProcessInstanceKey,
		ProcessDefinitionKey: v.ProcessDefinitionKey, BpmnProcessID: v.BpmnProcessId, TenantID: v.TenantId,
		Position: r.Position,
	}
	if utf8.RuneCountInString(v.Value) > previewLimit {
		full := v.Value
		doc.FullValue, doc.IsPreview = &full, true
		doc.Value = cutRunes(v.Value, previewLimit)
	}
	f.emit(schema.Variable, strconv.FormatInt(v.ScopeKey, 10)+"-"+v.Name, doc, r)
}

// cutRunes returns the first n characters of s.
func cutRunes(s string, n int) string {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}
