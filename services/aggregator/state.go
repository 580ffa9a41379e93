package aggregator

import (
	"encoding/json"
	"strconv"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// Element lifecycle intents of PROCESS_INSTANCE records.
const (
	intentActivating  = "ELEMENT_ACTIVATING"
	intentCompleted   = "ELEMENT_COMPLETED"
	intentTerminated  = "ELEMENT_TERMINATED"
	elementProcess    = "PROCESS"
	elementSeqFlow    = "SEQUENCE_FLOW"
	valueTypeInstance = "PROCESS_INSTANCE"
)

// lifecycleIntents are the intents that move an element instance; others
// (SEQUENCE_FLOW_TAKEN, migrations, ...) do not touch these documents.
var lifecycleIntents = map[string]bool{
	intentActivating: true, "ELEMENT_ACTIVATED": true,
	"ELEMENT_COMPLETING": true, intentCompleted: true,
	"ELEMENT_TERMINATING": true, intentTerminated: true,
}

// partitionState is what one partition's aggregation remembers between
// records: the documents of element instances that have not ended yet.
// Ended instances are forgotten once their final document is emitted. It is
// owned by one partition worker; not safe for concurrent use.
type partitionState struct {
	Partition int32 `json:"partition"`
	// LastPosition is the newest record position applied; older or equal
	// positions are skipped, so a replayed record never applies twice.
	LastPosition int64                       `json:"lastPosition"`
	Instances    map[int64]*ProcessInstance  `json:"instances"`
	FlowNodes    map[int64]*FlowNodeInstance `json:"flowNodes"`
}

func newPartitionState(p int32) *partitionState {
	return &partitionState{Partition: p, LastPosition: -1, Instances: map[int64]*ProcessInstance{}, FlowNodes: map[int64]*FlowNodeInstance{}}
}

// changes collects the documents one record message changed, each once, in
// first-change order.
type changes struct {
	order []changed
	seen  map[changeKey]int
}

type changeKey struct {
	family schema.Family
	key    int64
}

type changed struct {
	changeKey
	doc       any   // *ProcessInstance or *FlowNodeInstance, final state
	position  int64 // newest record position that shaped it
	timestamp int64
}

func (c *changes) add(f schema.Family, key int64, doc any, r *recordv1.Record) {
	if c.seen == nil {
		c.seen = map[changeKey]int{}
	}
	k := changeKey{f, key}
	ch := changed{changeKey: k, doc: doc, position: r.Position, timestamp: r.Timestamp}
	if i, ok := c.seen[k]; ok {
		c.order[i] = ch
		return
	}
	c.seen[k] = len(c.order)
	c.order = append(c.order, ch)
}

// documents renders the changed documents.
func (c *changes) documents(p int32) ([]*recordv1.Document, error) {
	docs := make([]*recordv1.Document, 0, len(c.order))
	for _, ch := range c.order {
		src, err := json.Marshal(ch.doc)
		if err != nil {
			return nil, err
		}
		docs = append(docs, &recordv1.Document{
			Family: string(ch.family), Id: strconv.FormatInt(ch.key, 10), Version: ch.position,
			Source: src, PartitionId: p, RecordTimestamp: ch.timestamp,
		})
	}
	return docs, nil
}

// apply folds one record into the state and notes the documents it changed.
// Records other than PROCESS_INSTANCE lifecycle events change nothing.
func (st *partitionState) apply(r *recordv1.Record, c *changes) {
	if r.Position <= st.LastPosition {
		return
	}
	st.LastPosition = r.Position
	if r.ValueType != valueTypeInstance || r.RecordType != "EVENT" || !lifecycleIntents[r.Intent] {
		return
	}
	v := r.GetProcessInstance()
	if v == nil || v.BpmnElementType == elementSeqFlow {
		return
	}
	if v.BpmnElementType == elementProcess {
		st.applyInstance(r, v, c)
		return
	}
	st.applyFlowNode(r, v, c)
}

func (st *partitionState) applyInstance(r *recordv1.Record, v *recordv1.ProcessInstanceValue, c *changes) {
	pi := st.Instances[r.Key]
	if pi == nil || r.Intent == intentActivating {
		pi = &ProcessInstance{Key: r.Key, State: StateActive}
		st.Instances[r.Key] = pi
	}
	pi.ProcessDefinitionKey = v.ProcessDefinitionKey
	pi.BpmnProcessID = v.BpmnProcessId
	pi.Version = v.Version
	pi.ParentProcessInstanceKey = v.ParentProcessInstanceKey
	pi.TenantID = v.TenantId
	pi.PartitionID = r.PartitionId
	pi.Position = r.Position
	switch r.Intent {
	case intentActivating:
		pi.StartDate = FormatDate(r.Timestamp)
	case intentCompleted:
		pi.State, pi.EndDate = StateCompleted, FormatDate(r.Timestamp)
		delete(st.Instances, r.Key)
	case intentTerminated:
		pi.State, pi.EndDate = StateCanceled, FormatDate(r.Timestamp)
		delete(st.Instances, r.Key)
	}
	c.add(schema.ListView, r.Key, pi, r)
}

func (st *partitionState) applyFlowNode(r *recordv1.Record, v *recordv1.ProcessInstanceValue, c *changes) {
	fn := st.FlowNodes[r.Key]
	if fn == nil || r.Intent == intentActivating {
		fn = &FlowNodeInstance{Key: r.Key, State: StateActive}
		st.FlowNodes[r.Key] = fn
	}
	fn.ProcessInstanceKey = v.ProcessInstanceKey
	fn.FlowNodeID = v.ElementId
	fn.Type = v.BpmnElementType
	fn.Position = r.Position
	switch r.Intent {
	case intentActivating:
		fn.StartDate = FormatDate(r.Timestamp)
	case intentCompleted:
		fn.State, fn.EndDate = StateCompleted, FormatDate(r.Timestamp)
		delete(st.FlowNodes, r.Key)
	case intentTerminated:
		fn.State, fn.EndDate = StateTerminated, FormatDate(r.Timestamp)
		delete(st.FlowNodes, r.Key)
	}
	c.add(schema.FlowNodeInstance, r.Key, fn, r)
}
