package aggregator

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// partitionState is what one partition's aggregation remembers between
// records: the entities that are still active (see docs/design/aggregator.md).
// Ended entities are forgotten once their final document is emitted. It is
// owned by one partition worker; not safe for concurrent use.
type partitionState struct {
	Partition int32 `json:"partition"`
	// LastPosition is the newest record position applied; older or equal
	// positions are skipped, so a replayed record never applies twice.
	LastPosition int64                                 `json:"lastPosition"`
	Instances    map[int64]*instanceState              `json:"instances"`
	FlowNodes    map[int64]*schema.FlowNodeInstanceDoc `json:"flowNodes"`
	Incidents    map[int64]*schema.IncidentDoc         `json:"incidents"`
	Tasks        map[int64]*schema.TaskDoc             `json:"tasks"`
	// Activities holds, in the operate schema only, what an active flow
	// node instance's list-view activity document has beyond its Flowline
	// document (see activityState).
	Activities map[int64]*activityState `json:"activities,omitempty"`
	// JobTasks holds, in the operate schema only, the creation time of
	// each active job-based user task (by its element instance's key):
	// later job records do not carry it.
	JobTasks map[int64]string `json:"jobTasks,omitempty"`
	// strs holds the strings the documents above keep from records (see
	// detach.go); not part of a checkpoint.
	strs interned
}

// activityState is what Camunda's list-view activity document keeps from
// the job and incident records of its flow node instance: whether its job
// failed with retries left (reset by any later job event), and the
// positions of the last job and incident records.
type activityState struct {
	// CalledIncident: the instance this call activity called, or one it
	// called in turn, has an unresolved incident (Camunda flags every flow
	// node instance on an active incident's tree path).
	CalledIncident           bool   `json:"calledIncident,omitempty"`
	JobFailedWithRetriesLeft bool   `json:"jobFailedWithRetriesLeft,omitempty"`
	PositionJob              *int64 `json:"positionJob,omitempty"`
	PositionIncident         *int64 `json:"positionIncident,omitempty"`
}

// instanceState is an active process instance: its document and the number
// of unresolved incidents in it and in the instances it called.
type instanceState struct {
	Doc       *schema.ListViewDoc `json:"doc"`
	Incidents int                 `json:"incidents"`
}

func newPartitionState(p int32) *partitionState {
	st := &partitionState{Partition: p, LastPosition: -1}
	st.init()
	return st
}

// init creates missing maps (also after loading a checkpoint).
func (st *partitionState) init() {
	if st.Instances == nil {
		st.Instances = map[int64]*instanceState{}
	}
	if st.FlowNodes == nil {
		st.FlowNodes = map[int64]*schema.FlowNodeInstanceDoc{}
	}
	if st.Incidents == nil {
		st.Incidents = map[int64]*schema.IncidentDoc{}
	}
	if st.Tasks == nil {
		st.Tasks = map[int64]*schema.TaskDoc{}
	}
	if st.Activities == nil {
		st.Activities = map[int64]*activityState{}
	}
	if st.JobTasks == nil {
		st.JobTasks = map[int64]string{}
	}
}

// active counts the entities held.
func (st *partitionState) active() int {
	return len(st.Instances) + len(st.FlowNodes) + len(st.Incidents) + len(st.Tasks) + len(st.Activities) + len(st.JobTasks)
}

// recordFolder folds the records of one message into a partition's state and
// collects the documents they change. Owned by the partition worker.
type recordFolder struct {
	ctx     context.Context
	log     *slog.Logger
	st      *partitionState
	defs    *definitions
	schema  config.Schema // which documents it renders
	ch      changes
	ended   []int64        // flow node instances ended in this message: their activity state goes once rendered
	ignored map[string]int // value type -> records ignored
}

func newRecordFolder(ctx context.Context, st *partitionState, defs *definitions, log *slog.Logger, s config.Schema) *recordFolder {
	return &recordFolder{ctx: ctx, st: st, defs: defs, log: log, schema: s}
}

// documents renders the changed documents of partition p in the folder's
// schema (see changes.documents and operateDocuments).
func (f *recordFolder) documents(p int32) (docs []*recordv1.Document, bad []unrendered) {
	if f.schema == config.SchemaOperate {
		return f.operateDocuments(p)
	}
	return f.ch.documents(p)
}

// warn logs a problem with a record that does not stop its aggregation.
func (f *recordFolder) warn(msg string, args ...any) {
	if f.log != nil {
		f.log.WarnContext(f.ctx, msg, append(args, "partition", f.st.Partition)...)
	}
}

// apply folds one record. Records already applied (by position), records
// other than events, and value types Flowline does not aggregate change
// nothing; the latter are counted in ignored. An error means the state could
// not be read or stored (e.g. the definition store is unreachable): the
// caller retries the message.
func (f *recordFolder) apply(r *recordv1.Record) error {
	if r.Position <= f.st.LastPosition {
		return nil
	}
	if r.RecordType != "EVENT" {
		f.ignore(r.ValueType)
		f.st.LastPosition = r.Position
		return nil
	}
	var err error
	switch v := r.Value.(type) {
	case *recordv1.Record_ProcessInstance:
		err = f.processInstance(r, v.ProcessInstance)
	case *recordv1.Record_Process:
		err = f.process(r, v.Process)
	case *recordv1.Record_DecisionRequirements:
		f.decisionRequirements(r, v.DecisionRequirements)
	case *recordv1.Record_Decision:
		f.decision(r, v.Decision)
	case *recordv1.Record_Form:
		f.form(r, v.Form)
	case *recordv1.Record_Variable:
		f.variable(r, v.Variable)
	case *recordv1.Record_Incident:
		f.incident(r, v.Incident)
	case *recordv1.Record_Job:
		f.job(r, v.Job)
	case *recordv1.Record_UserTask:
		err = f.userTask(r, v.UserTask)
	case *recordv1.Record_DecisionEvaluation:
		f.decisionEvaluation(r, v.DecisionEvaluation)
	default:
		f.ignore(r.ValueType)
	}
	if err != nil {
		return err
	}
	f.st.LastPosition = r.Position
	return nil
}

func (f *recordFolder) ignore(valueType string) {
	if f.ignored == nil {
		f.ignored = map[string]int{}
	}
	f.ignored[valueType]++
}

// emit notes that document doc of family fam with id changed at record r.
func (f *recordFolder) emit(fam schema.Family, id string, doc any, r *recordv1.Record) {
	f.ch.add(fam, id, doc, r)
}

// changes collects the documents one record message changed, each once, in
// first-change order.
type changes struct {
	order []changed
	seen  map[changeKey]int
}

type changeKey struct {
	family schema.Family
	id     string
}

type changed struct {
	changeKey
	doc       any   // pointer to the document in its final state for this message
	position  int64 // newest record position that shaped it
	timestamp int64
}

// reserve makes room for the documents of a message of n records (they
// change about one document for every two).
func (c *changes) reserve(records int) {
	if c.seen == nil {
		docs := records/2 + 1
		c.seen = make(map[changeKey]int, docs)
		c.order = make([]changed, 0, docs)
	}
}

func (c *changes) add(f schema.Family, id string, doc any, r *recordv1.Record) {
	c.reserve(0)
	k := changeKey{f, id}
	ch := changed{changeKey: k, doc: doc, position: r.Position, timestamp: r.Timestamp}
	if i, ok := c.seen[k]; ok {
		c.order[i] = ch
		return
	}
	c.seen[k] = len(c.order)
	c.order = append(c.order, ch)
}

// unrendered is a changed document that could not be rendered, and why.
type unrendered struct {
	changed
	err error
}

// documents renders the changed documents one by one: a document that
// cannot be rendered (e.g. a job whose custom headers are not JSON) is
// returned in bad, and the others are rendered all the same.
func (c *changes) documents(p int32) (docs []*recordv1.Document, bad []unrendered) {
	docs = make([]*recordv1.Document, 0, len(c.order))
	all := make([]recordv1.Document, len(c.order)) // one allocation for the message's documents
	for i, ch := range c.order {
		src, err := schema.Encode(ch.doc)
		if err != nil {
			bad = append(bad, unrendered{ch, err})
			continue
		}
		d := &all[i]
		d.Family, d.Id, d.Version, d.Source, d.PartitionId, d.RecordTimestamp = string(ch.family), ch.id, ch.position, src, p, ch.timestamp
		docs = append(docs, d)
	}
	return docs, bad
}

// recordProblem says why a record cannot be aggregated on partition p, or "".
func recordProblem(r *recordv1.Record, p int32) string {
	if r.PartitionId != p {
		return fmt.Sprintf("record at position %d claims partition %d but was stored on partition %d", r.Position, r.PartitionId, p)
	}
	if r.Value == nil {
		return fmt.Sprintf("%s record at position %d has no value", r.ValueType, r.Position)
	}
	if r.ValueError != "" {
		return fmt.Sprintf("%s record at position %d: value does not decode: %s", r.ValueType, r.Position, r.ValueError)
	}
	if _, raw := r.Value.(*recordv1.Record_ValueJson); raw && typedValueTypes[r.ValueType] {
		return fmt.Sprintf("%s record at position %d carries raw JSON instead of its typed value", r.ValueType, r.Position)
	}
	return ""
}

// typedValueTypes are the value types whose records must arrive typed.
var typedValueTypes = map[string]bool{
	"PROCESS_INSTANCE": true, "PROCESS": true, "DECISION_REQUIREMENTS": true, "DECISION": true, "FORM": true,
	"VARIABLE": true, "INCIDENT": true, "JOB": true, "USER_TASK": true, "DECISION_EVALUATION": true,
}
