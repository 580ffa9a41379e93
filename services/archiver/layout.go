package archiver

import (
	"encoding/json"
	"strconv"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/pkg/search"
)

// family is one index whose documents the archiver moves: from its runtime
// index to the dated index runtime+suffix.
type family struct {
	name    string // in logs and metrics
	runtime string
	// field is what ties a document to its process instance (its key);
	// "" for Flowline's list-view, whose documents are the instances
	// themselves (their id is the key).
	field string
	// join names the join field of an index holding an instance's
	// document and its children (the operate schema's list-view and
	// tasklist-task), and levels its relations from the leaves to the
	// instance's own: each level moves after the one before, so that no
	// document ever moves without its children.
	join   string
	levels [][]string
}

// root is the relation of the instance's own document in a family with a
// join.
func (f family) root() string { return f.levels[len(f.levels)-1][0] }

// layout is what the archiver selects and moves in one schema. Both
// schemas archive alike: instances are selected in the runtime list-view
// index by partition and end date; the dependents move first, the
// list-view last.
type layout struct {
	listView   family
	dependents []family
	// instances filters the list-view documents that are process
	// instances (the operate schema's list-view also holds their activity
	// and variable children); nil: every document is one.
	instances map[string]any
}

// newLayout is the layout of schema s with index prefix prefix.
//
// Flowline's schema: the dependents are the families of dependents. Its
// Camunda 7 families (schema.C7Families) are not archived: the archiver
// names every index it reads, moves or expires after a Zeebe family
// (<prefix>-<family>-1_, with * only after that), so it never reaches
// <prefix>-c7-*.
//
// The operate schema: the list-view moves with its children (every one
// of its documents carries processInstanceKey, so one query moves the
// instance and its activities and variables, their routing kept), after
// the indices Camunda's archiver moves by processInstanceKey (tasklist-task
// by processInstanceId).
func newLayout(s config.Schema, prefix string) layout {
	if s == config.SchemaOperate {
		l := layout{
			listView: family{name: operate.ListView.Family(), runtime: operate.ListView.FQN(prefix), field: schema.FieldProcessInstanceKey,
				join: "joinRelation", levels: [][]string{{"activity", "variable"}, {"processInstance"}}},
			instances: map[string]any{"term": map[string]any{"joinRelation": "processInstance"}},
		}
		for _, ix := range []operate.Index{operate.FlowNodeInstance, operate.Variable, operate.Incident, operate.Job,
			operate.SequenceFlow, operate.DecisionInstance} {
			l.dependents = append(l.dependents, family{name: ix.Family(), runtime: ix.FQN(prefix), field: schema.FieldProcessInstanceKey})
		}
		l.dependents = append(l.dependents, family{name: operate.TasklistTask.Family(), runtime: operate.TasklistTask.FQN(prefix), field: "processInstanceId",
			join: "join", levels: [][]string{{"variable", "localVariable"}, {"task"}, {"process"}}})
		return l
	}
	l := layout{listView: family{name: string(schema.ListView), runtime: schema.RuntimeIndex(prefix, schema.ListView)}}
	for _, f := range dependents {
		l.dependents = append(l.dependents, family{name: string(f), runtime: schema.RuntimeIndex(prefix, f), field: schema.FieldProcessInstanceKey})
	}
	return l
}

// all is the list-view and the dependents.
func (l layout) all() []family { return append([]family{l.listView}, l.dependents...) }

// instanceKey is the process instance a document of f belongs to (0 if it
// does not say).
func (f family) instanceKey(h search.Hit) int64 {
	if f.field == "" {
		return mustKey(h.ID)
	}
	var d map[string]json.RawMessage
	if json.Unmarshal(h.Source, &d) != nil {
		return 0
	}
	raw := d[f.field]
	var key int64
	if json.Unmarshal(raw, &key) == nil {
		return key
	}
	var s string // a keyword field (tasklist-task's processInstanceId)
	if json.Unmarshal(raw, &s) == nil {
		key, _ = strconv.ParseInt(s, 10, 64)
	}
	return key
}

// instanceQueries match f's documents of the instances keys, in the order
// they are to move: for a family with a join, level by level from the
// leaves to the instances' own documents.
func (f family) instanceQueries(keys []int64, ids []string) []map[string]any {
	switch {
	case f.field == "":
		return []map[string]any{{"ids": map[string]any{"values": ids}}}
	case f.join == "":
		return []map[string]any{{"terms": map[string]any{f.field: keys}}}
	}
	byKey := map[string]any{"terms": map[string]any{f.field: keys}}
	out := make([]map[string]any, 0, len(f.levels))
	for _, names := range f.levels {
		out = append(out, map[string]any{"bool": map[string]any{"filter": []any{byKey, map[string]any{"terms": map[string]any{f.join: names}}}}})
	}
	return out
}
