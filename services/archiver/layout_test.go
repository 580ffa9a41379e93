package archiver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
)

// The archiver moves, per schema, the list-view and its dependents: in
// Flowline's schema the list-view documents are the instances (by id); in
// the operate schema every list-view document, child or parent, belongs to
// its instance by processInstanceKey, and Tasklist's tasks by
// processInstanceId (a keyword).
func TestLayouts(t *testing.T) {
	fl := newLayout(config.SchemaFlowline, "fl")
	op := newLayout(config.SchemaOperate, "")
	if fl.listView.runtime != "fl-list-view-1_" || fl.instances != nil || len(fl.dependents) != len(dependents) {
		t.Errorf("flowline layout %+v", fl)
	}
	if op.listView.runtime != "operate-list-view-8.3.0_" || op.instances == nil {
		t.Errorf("operate layout %+v", op)
	}
	names := map[string]string{}
	for _, f := range op.dependents {
		names[f.runtime] = f.field
	}
	for index, field := range map[string]string{"operate-flownode-instance-8.3.1_": "processInstanceKey", "operate-variable-8.3.0_": "processInstanceKey",
		"operate-incident-8.3.1_": "processInstanceKey", "operate-job-8.6.0_": "processInstanceKey", "operate-sequence-flow-8.3.0_": "processInstanceKey",
		"operate-decision-instance-8.3.0_": "processInstanceKey", "tasklist-task-8.8.0_": "processInstanceId"} {
		if names[index] != field {
			t.Errorf("operate dependent %s matched by %q, want %q", index, names[index], field)
		}
	}
	for _, tc := range []struct {
		f    family
		hit  search.Hit
		want int64
	}{
		{fl.listView, search.Hit{ID: "42", Source: json.RawMessage(`{"key":42}`)}, 42},
		{op.listView, search.Hit{ID: "42", Source: json.RawMessage(`{"processInstanceKey":42,"joinRelation":{"name":"processInstance"}}`)}, 42},
		{op.listView, search.Hit{ID: "42-amount", Routing: "42", Source: json.RawMessage(`{"processInstanceKey":42,"joinRelation":{"name":"variable","parent":42}}`)}, 42},
		{op.dependents[len(op.dependents)-1], search.Hit{ID: "7", Source: json.RawMessage(`{"processInstanceId":"42"}`)}, 42},
	} {
		if got := tc.f.instanceKey(tc.hit); got != tc.want {
			t.Errorf("%s: instance of %s = %d, want %d", tc.f.name, tc.hit.ID, got, tc.want)
		}
	}
	// The operate list-view and tasklist-task move an instance's children
	// first and its own document last, so that it never leaves a child
	// behind (a child refused keeps its instance before the instance moves).
	for f, want := range map[*family][]string{
		&op.listView: {`{"bool":{"filter":[{"terms":{"processInstanceKey":[42]}},{"terms":{"joinRelation":["activity","variable"]}}]}}`,
			`{"bool":{"filter":[{"terms":{"processInstanceKey":[42]}},{"terms":{"joinRelation":["processInstance"]}}]}}`},
		&op.dependents[len(op.dependents)-1]: {`{"bool":{"filter":[{"terms":{"processInstanceId":[42]}},{"terms":{"join":["variable","localVariable"]}}]}}`,
			`{"bool":{"filter":[{"terms":{"processInstanceId":[42]}},{"terms":{"join":["task"]}}]}}`,
			`{"bool":{"filter":[{"terms":{"processInstanceId":[42]}},{"terms":{"join":["process"]}}]}}`},
		&op.dependents[0]: {`{"terms":{"processInstanceKey":[42]}}`},
		&fl.listView:      {`{"ids":{"values":["42"]}}`},
	} {
		var got []string
		for _, q := range f.instanceQueries([]int64{42}, []string{"42"}) {
			b, _ := json.Marshal(q)
			got = append(got, string(b))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: queries\n%s\nwant\n%s", f.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
