package aggregator

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

const pik = int64(5)<<51 + 1 // above 2^53

func piRecord(pos, key int64, intent, elementID, typ string) *recordv1.Record {
	return &recordv1.Record{
		PartitionId: 5, Position: pos, Key: key, Timestamp: 1_763_884_800_000 + pos, RecordType: "EVENT",
		ValueType: "PROCESS_INSTANCE", Intent: intent,
		Value: &recordv1.Record_ProcessInstance{ProcessInstance: &recordv1.ProcessInstanceValue{
			BpmnProcessId: "order", Version: 2, ProcessDefinitionKey: 77, ProcessInstanceKey: pik,
			ElementId: elementID, BpmnElementType: typ, ParentProcessInstanceKey: -1, ParentElementInstanceKey: -1,
			FlowScopeKey: flowScope(typ), TenantId: "<default>",
		}},
	}
}

func id(k int64) string { return strconv.FormatInt(k, 10) }

func flowScope(typ string) int64 {
	if typ == "PROCESS" {
		return -1
	}
	return pik
}

func TestApply(t *testing.T) {
	date := func(pos int64) *string { return schema.FormatDate(1_763_884_800_000 + pos) }
	tests := []struct {
		name    string
		records []*recordv1.Record
		want    map[changeKey]any // final documents emitted
		open    int               // entities still remembered
	}{
		{
			name: "process instance lifecycle to completion",
			records: []*recordv1.Record{
				piRecord(1, pik, "ELEMENT_ACTIVATING", "order", "PROCESS"),
				piRecord(2, pik, "ELEMENT_ACTIVATED", "order", "PROCESS"),
				piRecord(3, pik, "ELEMENT_COMPLETING", "order", "PROCESS"),
				piRecord(4, pik, "ELEMENT_COMPLETED", "order", "PROCESS"),
			},
			want: map[changeKey]any{{schema.ListView, id(pik)}: &schema.ListViewDoc{
				Key: pik, ProcessDefinitionKey: 77, BpmnProcessID: "order", Version: 2, State: schema.StateCompleted,
				StartDate: date(1), EndDate: date(4), ParentProcessInstanceKey: -1, TenantID: "<default>", PartitionID: 5, Position: 4,
				ProcessName: "order", RootProcessInstanceKey: pik, TreePath: "PI_" + id(pik), ParentFlowNodeInstanceKey: -1,
			}},
		},
		{
			name: "terminated instance is canceled, terminated flow node is terminated",
			records: []*recordv1.Record{
				piRecord(1, pik, "ELEMENT_ACTIVATING", "order", "PROCESS"),
				piRecord(2, pik+1, "ELEMENT_ACTIVATING", "task", "SERVICE_TASK"),
				piRecord(3, pik+1, "ELEMENT_TERMINATED", "task", "SERVICE_TASK"),
				piRecord(4, pik, "ELEMENT_TERMINATED", "order", "PROCESS"),
			},
			want: map[changeKey]any{
				{schema.ListView, id(pik)}: &schema.ListViewDoc{Key: pik, ProcessDefinitionKey: 77, BpmnProcessID: "order", Version: 2,
					State: schema.StateCanceled, StartDate: date(1), EndDate: date(4), ParentProcessInstanceKey: -1, TenantID: "<default>", PartitionID: 5, Position: 4,
					ProcessName: "order", RootProcessInstanceKey: pik, TreePath: "PI_" + id(pik), ParentFlowNodeInstanceKey: -1},
				{schema.FlowNodeInstance, id(pik + 1)}: &schema.FlowNodeInstanceDoc{Key: pik + 1, ProcessInstanceKey: pik, FlowNodeID: "task",
					Type: "SERVICE_TASK", State: schema.StateTerminated, StartDate: date(2), EndDate: date(3), Position: 3,
					ProcessDefinitionKey: 77, BpmnProcessID: "order", FlowNodeName: "task", ScopeKey: pik, TreePath: id(pik) + "/" + id(pik+1), Level: 1, TenantID: "<default>"},
			},
		},
		{
			name: "a taken sequence flow is a document; commands, other value types and replays change nothing",
			records: []*recordv1.Record{
				piRecord(1, pik+2, "ELEMENT_ACTIVATING", "task", "USER_TASK"),
				piRecord(2, pik+3, "SEQUENCE_FLOW_TAKEN", "flow", "SEQUENCE_FLOW"),
				func() *recordv1.Record {
					r := piRecord(3, pik+2, "ELEMENT_COMPLETED", "task", "USER_TASK")
					r.RecordType = "COMMAND"
					return r
				}(),
				func() *recordv1.Record {
					r := piRecord(4, pik+2, "CREATED", "task", "USER_TASK")
					r.ValueType = "JOB"
					return r
				}(),
				piRecord(1, pik+2, "ELEMENT_COMPLETED", "task", "USER_TASK"), // replayed old position
			},
			want: map[changeKey]any{{schema.FlowNodeInstance, id(pik + 2)}: &schema.FlowNodeInstanceDoc{Key: pik + 2, ProcessInstanceKey: pik,
				FlowNodeID: "task", Type: "USER_TASK", State: schema.StateActive, StartDate: date(1), Position: 1,
				ProcessDefinitionKey: 77, BpmnProcessID: "order", FlowNodeName: "task", ScopeKey: pik, TreePath: id(pik) + "/" + id(pik+2), Level: 1, TenantID: "<default>"},
				{schema.SequenceFlow, id(pik) + "_flow"}: &schema.SequenceFlowDoc{ProcessInstanceKey: pik, ProcessDefinitionKey: 77, BpmnProcessID: "order",
					ActivityID: "flow", TenantID: "<default>", Position: 2},
			},
			open: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newPartitionState(5)
			f := newRecordFolder(context.Background(), st, newDefinitions(&memDefinitions{}, 10), nil, config.SchemaFlowline)
			for _, r := range tt.records {
				if err := f.apply(r); err != nil {
					t.Fatal(err)
				}
			}
			ch := f.ch
			if len(ch.order) != len(tt.want) {
				t.Fatalf("%d documents changed, want %d", len(ch.order), len(tt.want))
			}
			for _, c := range ch.order {
				got, _ := json.Marshal(c.doc)
				want, _ := json.Marshal(tt.want[c.changeKey])
				if string(got) != string(want) {
					t.Errorf("%v:\n got  %s\n want %s", c.changeKey, got, want)
				}
			}
			if open := st.active(); open != tt.open {
				t.Errorf("%d entities remembered, want %d", open, tt.open)
			}
		})
	}
}

func TestDocumentsCarryVersionAndExactKeys(t *testing.T) {
	f := newRecordFolder(context.Background(), newPartitionState(5), newDefinitions(&memDefinitions{}, 10), nil, config.SchemaFlowline)
	for _, r := range []*recordv1.Record{piRecord(7, pik, "ELEMENT_ACTIVATING", "order", "PROCESS"), piRecord(9, pik, "ELEMENT_ACTIVATED", "order", "PROCESS")} {
		if err := f.apply(r); err != nil {
			t.Fatal(err)
		}
	}
	docs, bad := f.ch.documents(5)
	if len(bad) > 0 {
		t.Fatal(bad[0].err)
	}
	if len(docs) != 1 {
		t.Fatalf("got %d documents, want one merged document", len(docs))
	}
	d := docs[0]
	if d.Id != "11258999068426241" || d.Version != 9 || d.Family != "list-view" || d.RecordTimestamp != 1_763_884_800_009 {
		t.Errorf("document = %v", d)
	}
	var src map[string]json.RawMessage
	if err := json.Unmarshal(d.Source, &src); err != nil {
		t.Fatal(err)
	}
	if string(src["key"]) != "11258999068426241" || string(src["endDate"]) != "null" || string(src["startDate"]) != `"2025-11-23T08:00:00.007Z"` {
		t.Errorf("source = %s", d.Source)
	}
}
