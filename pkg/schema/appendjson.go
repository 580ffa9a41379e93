package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/flowline/flowline/pkg/jsonstring"
)

// The documents most records produce (flow-node instances, sequence flows,
// variables, jobs, list-view) write their own JSON source: the aggregator
// renders one for almost every record, and encoding/json's reflection was
// most of that work. Each AppendJSON writes what encoding/json writes for the
// struct (fields in struct order, null for a nil pointer, a RawMessage
// checked and compacted), except that U+2028 and U+2029 stay as they are
// rather than escaped: the same JSON value.
// TestAppendJSONAgreesWithEncodingJSON holds them together; a field added to
// one of these structs fails it until AppendJSON writes it too.

// jsonAppender is a document that writes its own JSON source.
type jsonAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// object appends one JSON object's members to b. Not safe for concurrent
// use; the caller owns b.
type object struct {
	b       []byte
	members int
}

func openObject(dst []byte) object { return object{b: append(dst, '{')} }

func (o *object) close() []byte { return append(o.b, '}') }

func (o *object) key(k string) {
	if o.members > 0 {
		o.b = append(o.b, ',')
	}
	o.members++
	o.b = append(o.b, '"')
	o.b = append(o.b, k...) // field names are plain ASCII
	o.b = append(o.b, '"', ':')
}

func (o *object) str(k, v string) {
	o.key(k)
	o.b = jsonstring.Append(o.b, v)
}

func (o *object) optStr(k string, v *string) {
	o.key(k)
	if v == nil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = jsonstring.Append(o.b, *v)
}

func (o *object) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *object) optInt(k string, v *int64) {
	o.key(k)
	if v == nil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = strconv.AppendInt(o.b, *v, 10)
}

func (o *object) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

// raw writes JSON text compacted, null when nil, as encoding/json writes a
// json.RawMessage; text that is not JSON (an empty one included) is an
// error naming the field.
func (o *object) raw(k string, v json.RawMessage) error {
	o.key(k)
	if v == nil {
		o.b = append(o.b, "null"...)
		return nil
	}
	buf := bytes.NewBuffer(o.b)
	if err := json.Compact(buf, v); err != nil {
		return fmt.Errorf("field %s is not JSON: %w", k, err)
	}
	o.b = buf.Bytes()
	return nil
}

// AppendJSON implements jsonAppender.
func (d *ListViewDoc) AppendJSON(dst []byte) ([]byte, error) {
	o := openObject(dst)
	o.int("key", d.Key)
	o.int("processDefinitionKey", d.ProcessDefinitionKey)
	o.str("bpmnProcessId", d.BpmnProcessID)
	o.int("version", int64(d.Version))
	o.optStr("versionTag", d.VersionTag)
	o.str("processName", d.ProcessName)
	o.str("state", d.State)
	o.optStr("startDate", d.StartDate)
	o.optStr("endDate", d.EndDate)
	o.int("parentProcessInstanceKey", d.ParentProcessInstanceKey)
	o.int("parentFlowNodeInstanceKey", d.ParentFlowNodeInstanceKey)
	o.int("rootProcessInstanceKey", d.RootProcessInstanceKey)
	o.str("treePath", d.TreePath)
	o.bool("incident", d.Incident)
	o.str("tenantId", d.TenantID)
	o.int("partitionId", int64(d.PartitionID))
	o.int("position", d.Position)
	return o.close(), nil
}

// AppendJSON implements jsonAppender.
func (d *FlowNodeInstanceDoc) AppendJSON(dst []byte) ([]byte, error) {
	o := openObject(dst)
	o.int("key", d.Key)
	o.int("processInstanceKey", d.ProcessInstanceKey)
	o.int("processDefinitionKey", d.ProcessDefinitionKey)
	o.str("bpmnProcessId", d.BpmnProcessID)
	o.str("flowNodeId", d.FlowNodeID)
	o.str("flowNodeName", d.FlowNodeName)
	o.str("type", d.Type)
	o.str("state", d.State)
	o.optStr("startDate", d.StartDate)
	o.optStr("endDate", d.EndDate)
	o.int("scopeKey", d.ScopeKey)
	o.str("treePath", d.TreePath)
	o.int("level", int64(d.Level))
	o.bool("incident", d.Incident)
	o.optInt("incidentKey", d.IncidentKey)
	o.str("tenantId", d.TenantID)
	o.int("position", d.Position)
	return o.close(), nil
}

// AppendJSON implements jsonAppender.
func (d *SequenceFlowDoc) AppendJSON(dst []byte) ([]byte, error) {
	o := openObject(dst)
	o.int("processInstanceKey", d.ProcessInstanceKey)
	o.int("processDefinitionKey", d.ProcessDefinitionKey)
	o.str("bpmnProcessId", d.BpmnProcessID)
	o.str("activityId", d.ActivityID)
	o.str("tenantId", d.TenantID)
	o.int("position", d.Position)
	return o.close(), nil
}

// AppendJSON implements jsonAppender.
func (d *VariableDoc) AppendJSON(dst []byte) ([]byte, error) {
	o := openObject(dst)
	o.str("name", d.Name)
	o.str("value", d.Value)
	o.optStr("fullValue", d.FullValue)
	o.bool("isPreview", d.IsPreview)
	o.int("scopeKey", d.ScopeKey)
	o.int("processInstanceKey", d.ProcessInstanceKey)
	o.int("processDefinitionKey", d.ProcessDefinitionKey)
	o.str("bpmnProcessId", d.BpmnProcessID)
	o.str("tenantId", d.TenantID)
	o.int("position", d.Position)
	return o.close(), nil
}

// AppendJSON implements jsonAppender.
func (d *JobDoc) AppendJSON(dst []byte) ([]byte, error) {
	o := openObject(dst)
	o.int("key", d.Key)
	o.int("processInstanceKey", d.ProcessInstanceKey)
	o.int("flowNodeInstanceKey", d.FlowNodeInstanceKey)
	o.str("flowNodeId", d.FlowNodeID)
	o.str("type", d.Type)
	o.str("worker", d.Worker)
	o.int("retries", int64(d.Retries))
	o.str("state", d.State)
	o.str("errorMessage", d.ErrorMessage)
	o.str("errorCode", d.ErrorCode)
	o.optStr("deadline", d.Deadline)
	if err := o.raw("customHeaders", d.CustomHeaders); err != nil {
		return nil, fmt.Errorf("job %d: %w", d.Key, err)
	}
	o.optStr("endTime", d.EndTime)
	o.str("tenantId", d.TenantID)
	o.int("position", d.Position)
	return o.close(), nil
}
