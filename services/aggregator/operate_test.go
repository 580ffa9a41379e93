package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema/operate"
)

// TestGoldenInTheOperateSchema folds every golden fixture into the
// documents of Camunda's indices: each fits its index's strict mappings,
// the list-view children are routed by their process instance, every
// flow node instance and variable of the Flowline run has its
// Operate documents, and how records are cut into messages changes nothing.
func TestGoldenInTheOperateSchema(t *testing.T) {
	byFamily := map[string]*operate.Index{}
	for i := range operate.Indices {
		byFamily[operate.Indices[i].Family()] = &operate.Indices[i]
	}
	for _, fx := range goldenFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(goldenDir, fx.name+".ndjson")
			docs := foldGoldenIn(t, path, goldenChunk, config.SchemaOperate)
			flowline := foldGolden(t, path, goldenChunk)
			counts := map[string]int{}
			for k, d := range docs {
				fam, rest, _ := strings.Cut(k, "/")
				ix := byFamily[fam]
				if ix == nil {
					t.Errorf("%s: family %s is not an operate index", k, fam)
					continue
				}
				counts[fam]++
				if bad := ix.Undeclared(d.source); len(bad) > 0 {
					t.Errorf("%s: fields not in %s's mappings: %v", k, ix.FQN(""), bad)
				}
				if fam != "operate-list-view" {
					continue
				}
				var lv struct {
					ProcessInstanceKey json.Number `json:"processInstanceKey"`
					JoinRelation       struct {
						Name   string      `json:"name"`
						Parent json.Number `json:"parent"`
					} `json:"joinRelation"`
				}
				if err := json.Unmarshal(d.source, &lv); err != nil {
					t.Fatal(err)
				}
				_, routing, routed := strings.Cut(rest, "@")
				switch lv.JoinRelation.Name {
				case "processInstance":
					if routed || lv.JoinRelation.Parent != "" {
						t.Errorf("%s: a process instance is neither routed nor a child: %s", k, d.source)
					}
				case "activity", "variable":
					if !routed || routing != string(lv.ProcessInstanceKey) || string(lv.JoinRelation.Parent) != routing {
						t.Errorf("%s: child not routed by and joined to its process instance %s: %s", k, lv.ProcessInstanceKey, d.source)
					}
				default:
					t.Errorf("%s: joinRelation %q", k, lv.JoinRelation.Name)
				}
			}
			want := map[string]int{}
			locals := 0
			for k, d := range flowline {
				fam, _, _ := strings.Cut(k, "/")
				want[fam]++
				if fam == "variable" {
					var v struct{ ScopeKey, ProcessInstanceKey int64 }
					if err := json.Unmarshal(d.source, &v); err != nil {
						t.Fatal(err)
					}
					if v.ScopeKey != v.ProcessInstanceKey {
						locals++
					}
				}
			}
			for fam, n := range map[string]int{
				"operate-flownode-instance": want["flownode-instance"], "operate-variable": want["variable"],
				"operate-incident": want["incident"], "operate-job": want["job"], "operate-process": want["process"],
				"operate-list-view":         want["list-view"] + want["flownode-instance"] + want["variable"],
				"tasklist-task":             want["list-view"] + want["variable"] + locals + want["task"],
				"operate-decision-instance": want["decision-instance"],
			} {
				if counts[fam] != n {
					t.Errorf("%d %s documents, want %d (from the Flowline run)", counts[fam], fam, n)
				}
			}
			for _, chunk := range []int{1, 7} {
				other := foldGoldenIn(t, path, chunk, config.SchemaOperate)
				if len(other) != len(docs) {
					t.Errorf("messages of %d records: %d documents, want %d", chunk, len(other), len(docs))
				}
				for k, d := range docs {
					if o, ok := other[k]; !ok || string(o.source) != string(d.source) {
						t.Errorf("messages of %d records: %s differs", chunk, k)
					}
				}
			}
		})
	}
}

// A flow node instance's list-view activity document follows its job, as
// Camunda's does: jobFailedWithRetriesLeft while the last job event is a
// failure with retries left, positionJob the last job record's position,
// positionIncident the last incident record's; kept across a checkpoint.
func TestActivityFollowsItsJob(t *testing.T) {
	const p, pi, fni, job = int32(1), int64(1)<<51 + 1, int64(1)<<51 + 3, int64(1)<<51 + 4
	ctx := context.Background()
	defs := newDefinitions(&memDefinitions{}, 10)
	st := newPartitionState(p)
	piValue := func(key int64, typ string) *recordv1.Record_ProcessInstance {
		return &recordv1.Record_ProcessInstance{ProcessInstance: &recordv1.ProcessInstanceValue{
			BpmnProcessId: "p", ProcessDefinitionKey: 9, ProcessInstanceKey: pi, ElementId: typ, BpmnElementType: typ,
			FlowScopeKey: map[bool]int64{true: -1, false: pi}[key == pi], ParentProcessInstanceKey: -1, ParentElementInstanceKey: -1}}
	}
	jobRec := func(pos int64, intent string, retries int32) *recordv1.Record {
		return &recordv1.Record{PartitionId: p, Position: pos, Key: job, RecordType: "EVENT", ValueType: "JOB", Intent: intent,
			Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "t", Retries: retries, ElementId: "SERVICE_TASK",
				ElementInstanceKey: fni, ProcessInstanceKey: pi, BpmnProcessId: "p", ProcessDefinitionKey: 9}}}
	}
	activity := func(recs ...*recordv1.Record) map[string]any {
		t.Helper()
		f := newRecordFolder(ctx, st, defs, nil, config.SchemaOperate)
		for _, r := range recs {
			if err := f.apply(r); err != nil {
				t.Fatal(err)
			}
		}
		docs, bad := f.documents(p)
		if len(bad) > 0 {
			t.Fatal(bad[0].err)
		}
		for _, d := range docs {
			if d.Family == "operate-list-view" && d.Id == strconv.FormatInt(fni, 10) {
				var m map[string]any
				if err := json.Unmarshal(d.Source, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
		t.Fatalf("no activity document among %d", len(docs))
		return nil
	}
	activity(
		&recordv1.Record{PartitionId: p, Position: 1, Key: pi, RecordType: "EVENT", ValueType: "PROCESS_INSTANCE", Intent: "ELEMENT_ACTIVATING", Value: piValue(pi, "PROCESS")},
		&recordv1.Record{PartitionId: p, Position: 2, Key: fni, RecordType: "EVENT", ValueType: "PROCESS_INSTANCE", Intent: "ELEMENT_ACTIVATING", Value: piValue(fni, "SERVICE_TASK")},
	)
	a := activity(jobRec(5, "CREATED", 3), jobRec(6, "FAILED", 2))
	if a["jobFailedWithRetriesLeft"] != true || a["positionJob"] != float64(6) {
		t.Errorf("after FAILED with retries left: %v", a)
	}
	st = restore(t, mustSnapshot(t, st)) // a checkpoint in between: the activity state survives it
	a = activity(&recordv1.Record{PartitionId: p, Position: 7, Key: int64(1)<<51 + 5, RecordType: "EVENT", ValueType: "INCIDENT", Intent: "CREATED",
		Value: &recordv1.Record_Incident{Incident: &recordv1.IncidentValue{ErrorType: "IO_MAPPING_ERROR", ErrorMessage: " boom ",
			ElementId: "SERVICE_TASK", ElementInstanceKey: fni, ProcessInstanceKey: pi, BpmnProcessId: "p", ProcessDefinitionKey: 9}}})
	if a["jobFailedWithRetriesLeft"] != true || a["positionJob"] != float64(6) || a["positionIncident"] != float64(7) || a["errorMessage"] != "boom" {
		t.Errorf("after a checkpoint and an incident: %v", a)
	}
	a = activity(jobRec(8, "RETRIES_UPDATED", 2))
	if a["jobFailedWithRetriesLeft"] != false || a["positionJob"] != float64(8) {
		t.Errorf("after RETRIES_UPDATED: %v", a)
	}
	a = activity(jobRec(9, "FAILED", 1), jobRec(10, "ERROR_THROWN", 1))
	if a["jobFailedWithRetriesLeft"] != false || a["positionJob"] != float64(10) {
		t.Errorf("after ERROR_THROWN (only FAILED with retries sets it): %v", a)
	}
}

// A call activity whose called instance has an unresolved incident is
// flagged, in its list-view activity and its flow node instance document,
// as Camunda flags every flow node instance on an incident's tree path;
// one whose called instance's incident was resolved is not.
func TestCallActivityCarriesItsCalledInstancesIncident(t *testing.T) {
	docs := foldGoldenIn(t, filepath.Join(goldenDir, "incidents.ndjson"), goldenChunk, config.SchemaOperate)
	for key, want := range map[string]bool{
		"operate-list-view/11258999068435268@11258999068435260": true, // its called instance's incident is active
		"operate-flownode-instance/11258999068435268":           true,
		"operate-list-view/11258999068435249@11258999068435241": false, // its called instance's incident was resolved
		"operate-flownode-instance/11258999068435249":           false,
	} {
		d, ok := docs[key]
		if !ok {
			t.Errorf("no document %s", key)
			continue
		}
		var v struct {
			Incident bool `json:"incident"`
		}
		if err := json.Unmarshal(d.source, &v); err != nil {
			t.Fatal(err)
		}
		if v.Incident != want {
			t.Errorf("%s: incident %v, want %v", key, v.Incident, want)
		}
	}
}

// A job-based user task (job type io.camunda.zeebe:userTask) has its
// Tasklist document: implementation JOB_WORKER, its assignee, candidates
// and form from the job's headers, its creation time kept (across a
// checkpoint) until it completes.
func TestJobBasedUserTask(t *testing.T) {
	const p, pi, fni, job = int32(1), int64(1)<<51 + 1, int64(1)<<51 + 3, int64(1)<<51 + 4
	ctx := context.Background()
	defs := newDefinitions(&memDefinitions{}, 10)
	st := newPartitionState(p)
	jobRec := func(pos int64, intent string) *recordv1.Record {
		return &recordv1.Record{PartitionId: p, Position: pos, Key: job, Timestamp: 1_764_000_000_000 + pos, RecordType: "EVENT", ValueType: "JOB", Intent: intent,
			Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "io.camunda.zeebe:userTask", Retries: 1, ElementId: "approve",
				ElementInstanceKey: fni, ProcessInstanceKey: pi, BpmnProcessId: "p", ProcessDefinitionKey: 9, TenantId: "<default>",
				CustomHeadersJson: `{"io.camunda.zeebe:assignee":"demo","io.camunda.zeebe:candidateGroups":"[\"a\",\"b\"]","io.camunda.zeebe:formKey":"camunda-forms:bpmn:form1"}`}}}
	}
	task := func(r *recordv1.Record) map[string]any {
		t.Helper()
		f := newRecordFolder(ctx, st, defs, nil, config.SchemaOperate)
		if err := f.apply(r); err != nil {
			t.Fatal(err)
		}
		docs, bad := f.documents(p)
		if len(bad) > 0 {
			t.Fatal(bad[0].err)
		}
		for _, d := range docs {
			if d.Family == "tasklist-task" {
				var m map[string]any
				if err := json.Unmarshal(d.Source, &m); err != nil {
					t.Fatal(err)
				}
				if d.Id != strconv.FormatInt(fni, 10) || d.Routing != strconv.FormatInt(pi, 10) {
					t.Errorf("task document %s routed %s", d.Id, d.Routing)
				}
				return m
			}
		}
		t.Fatalf("no tasklist-task document among %d", len(docs))
		return nil
	}
	created := task(jobRec(5, "CREATED"))
	if created["implementation"] != "JOB_WORKER" || created["state"] != "CREATED" || created["assignee"] != "demo" ||
		fmt.Sprint(created["candidateGroups"]) != "[a b]" || created["isFormEmbedded"] != true || created["creationTime"] == nil {
		t.Errorf("created: %v", created)
	}
	st = restore(t, mustSnapshot(t, st))
	done := task(jobRec(9, "COMPLETED"))
	if done["state"] != "COMPLETED" || done["creationTime"] != created["creationTime"] || done["completionTime"] == nil {
		t.Errorf("completed: %v (created %v)", done, created["creationTime"])
	}
	if len(st.JobTasks) != 0 {
		t.Errorf("job task state kept after completion: %v", st.JobTasks)
	}
}
