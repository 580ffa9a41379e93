package c7fold

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/schema"
)

// page is one page message of a kind: its entities as the engine sends
// them.
type page struct {
	kind c7.Kind
	ents []string
}

// history is one instance's history as the import stores it, page by page
// per kind: running versions, then completed ones, variable revisions in
// order, a task's identity links, an incident opened and resolved and one
// left open.
var history = []page{
	{c7.ProcessInstanceRunning, []string{`{"id":"pi","processDefinitionId":"p:1:x","processDefinitionKey":"p","processDefinitionVersion":1,"startTime":"2026-01-01T00:00:00.000+0000","endTime":null,"state":"ACTIVE","businessKey":"b"}`}},
	{c7.ProcessInstanceCompleted, []string{`{"id":"pi","processDefinitionId":"p:1:x","processDefinitionKey":"p","processDefinitionVersion":1,"startTime":"2026-01-01T00:00:00.000+0000","endTime":"2026-01-01T01:00:00.000+0000","durationInMillis":3600000,"state":"COMPLETED","businessKey":"b"}`}},
	{c7.ActivityInstanceRunning, []string{
		`{"id":"a1","activityId":"review","activityType":"userTask","processDefinitionKey":"p","processDefinitionId":"p:1:x","processInstanceId":"pi","parentActivityInstanceId":"pi","startTime":"2026-01-01T00:00:01.000+0000","endTime":null}`,
		`{"id":"a2","activityId":"charge","activityType":"serviceTask","processDefinitionKey":"p","processDefinitionId":"p:1:x","processInstanceId":"pi","parentActivityInstanceId":"pi","startTime":"2026-01-01T00:10:00.000+0000","endTime":null}`,
	}},
	{c7.ActivityInstanceCompleted, []string{
		`{"id":"a1","activityId":"review","activityType":"userTask","processDefinitionKey":"p","processDefinitionId":"p:1:x","processInstanceId":"pi","parentActivityInstanceId":"pi","startTime":"2026-01-01T00:00:01.000+0000","endTime":"2026-01-01T00:10:00.000+0000","durationInMillis":599000}`,
		`{"id":"a3","activityId":"cancelled","activityType":"serviceTask","processDefinitionKey":"p","processDefinitionId":"p:1:x","processInstanceId":"pi","parentActivityInstanceId":"pi","startTime":"2026-01-01T00:00:01.000+0000","endTime":"2026-01-01T00:00:02.000+0000","canceled":true}`,
	}},
	{c7.TaskInstanceRunning, []string{`{"id":"t1","processDefinitionKey":"p","processDefinitionId":"p:1:x","processInstanceId":"pi","activityInstanceId":"a1","taskDefinitionKey":"review","assignee":null,"startTime":"2026-01-01T00:00:01.000+0000"}`}},
	{c7.TaskInstanceCompleted, []string{`{"id":"t1","processDefinitionKey":"p","processDefinitionId":"p:1:x","processInstanceId":"pi","activityInstanceId":"a1","taskDefinitionKey":"review","assignee":"anna","startTime":"2026-01-01T00:00:01.000+0000","endTime":"2026-01-01T00:10:00.000+0000","duration":599000,"deleteReason":"completed"}`}},
	{c7.VariableUpdate, []string{
		`{"id":"d1","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","variableName":"n","variableInstanceId":"v1","variableType":"Integer","value":1,"revision":0,"time":"2026-01-01T00:00:00.000+0000"}`,
		`{"id":"d2","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","variableName":"s","variableInstanceId":"v2","variableType":"String","value":"x","revision":0,"time":"2026-01-01T00:00:00.000+0000"}`,
	}},
	{c7.VariableUpdate, []string{
		`{"id":"d3","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","variableName":"n","variableInstanceId":"v1","variableType":"Integer","value":2,"revision":1,"time":"2026-01-01T00:05:00.000+0000"}`,
		`{"id":"d4","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","variableName":"n","variableInstanceId":"v1","variableType":"Integer","value":3,"revision":2,"time":"2026-01-01T00:06:00.000+0000"}`,
	}},
	{c7.IdentityLinkLog, []string{
		`{"id":"l1","time":"2026-01-01T00:00:01.000+0000","type":"candidate","groupId":"sales","taskId":"t1","operationType":"add","processInstanceId":"pi"}`,
		`{"id":"l2","time":"2026-01-01T00:00:01.000+0000","type":"candidate","groupId":"ops","taskId":"t1","operationType":"add","processInstanceId":"pi"}`,
		`{"id":"l3","time":"2026-01-01T00:02:00.000+0000","type":"assignee","userId":"anna","taskId":"t1","operationType":"add","processInstanceId":"pi"}`,
		`{"id":"l4","time":"2026-01-01T00:03:00.000+0000","type":"candidate","groupId":"ops","taskId":"t1","operationType":"delete","processInstanceId":"pi"}`,
	}},
	{c7.IncidentOpen, []string{
		`{"id":"i1","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","activityId":"charge","incidentType":"failedJob","createTime":"2026-01-01T00:11:00.000+0000","open":true}`,
		`{"id":"i2","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","activityId":"charge","incidentType":"failedJob","createTime":"2026-01-01T00:12:00.000+0000","open":true}`,
	}},
	{c7.IncidentCompleted, []string{`{"id":"i1","processInstanceId":"pi","processDefinitionKey":"p","processDefinitionId":"p:1:x","activityId":"charge","incidentType":"failedJob","createTime":"2026-01-01T00:11:00.000+0000","endTime":"2026-01-01T00:20:00.000+0000","resolved":true}`}},
}

// delivery is a page delivered to the fold with its stream sequence (a
// page delivered again keeps it).
type delivery struct {
	page
	seq uint64
}

// inOrder delivers pages one after the other, page i at sequence i+1.
func inOrder(pages []page) []delivery {
	out := make([]delivery, len(pages))
	for i, p := range pages {
		out[i] = delivery{p, uint64(i + 1)}
	}
	return out
}

// foldAll folds the deliveries in the order given and renders every
// document of the instance at version 1.
func foldAll(t *testing.T, deliveries []delivery) map[string]string {
	t.Helper()
	st := &instanceState{}
	tc := &touched{}
	for _, p := range deliveries {
		a := applier{kind: p.kind, seq: p.seq,
			get:   func(string) *instanceState { return st },
			touch: func(string) *touched { return tc }}
		for _, e := range p.ents {
			if err := a.apply(json.RawMessage(e)); err != nil {
				t.Fatalf("%s %s: %v", p.kind.Name, e, err)
			}
		}
	}
	// A state survives its round trip through the state bucket.
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	st = &instanceState{}
	if err := json.Unmarshal(b, st); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range (renderer{source: "s"}).instanceDocs(st, tc, 1) {
		src, err := schema.Encode(d.source)
		if err != nil {
			t.Fatal(err)
		}
		out[string(d.family)+"/"+d.id] = string(src)
	}
	return out
}

// TestAnyArrivalOrderConvergesOnTheEnginesState: the pages of one instance
// folded in any interleaving of the kinds (each kind's pages in their
// stream order, as one subject keeps them), with pages delivered again at
// random later points, render exactly the documents the kinds folded one
// after the other render; and those say what the history says: completed
// beats running, the last revision of a variable wins, the identity links
// give the candidate groups and work time, the resolved incident no longer
// flags the flow node.
func TestAnyArrivalOrderConvergesOnTheEnginesState(t *testing.T) {
	want := foldAll(t, inOrder(history))
	for _, check := range []struct{ doc, has string }{
		{"c7-process-instance/s:pi", `"state":"COMPLETED"`},
		{"c7-list-view/s:pi", `"incident":true`}, // i2 is still open
		{"c7-flownode-instance/s:a1", `"state":"COMPLETED"`},
		{"c7-flownode-instance/s:a2", `"incident":true`},
		{"c7-flownode-instance/s:a3", `"state":"TERMINATED"`},
		{"c7-task/s:t1", `"candidateGroups":["sales"]`},
		{"c7-task/s:t1", `"assignee":"anna"`},
		{"c7-variable/s:v1", `"value":"3"`},
		{"c7-incident/s:i1", `"state":"RESOLVED"`},
		{"c7-incident/s:i2", `"state":"ACTIVE"`},
		{"c7-process-instance/s:pi", `"idleDuration":119000,"workDuration":480000`},
	} {
		if !strings.Contains(want[check.doc], check.has) {
			t.Errorf("%s = %s, want it to hold %s", check.doc, want[check.doc], check.has)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		order := interleave(rng, history)
		got := foldAll(t, order)
		for k, w := range want {
			if got[k] != w {
				var kinds []string
				for _, p := range order {
					kinds = append(kinds, p.kind.Name)
				}
				t.Fatalf("trial %d, order %v: %s =\n%s\nwant\n%s", trial, kinds, k, got[k], w)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d documents, want %d", trial, len(got), len(want))
		}
	}
}

// interleave delivers pages in a random order that keeps each kind's pages
// in their order (the stream sequence follows that order), with some pages
// delivered again later, as a batch is after a crash.
func interleave(rng *rand.Rand, pages []page) []delivery {
	queues := map[string][]page{}
	var kinds []string
	for _, p := range pages {
		if queues[p.kind.Name] == nil {
			kinds = append(kinds, p.kind.Name)
		}
		queues[p.kind.Name] = append(queues[p.kind.Name], p)
	}
	var out []delivery
	seq := uint64(0)
	for len(kinds) > 0 {
		i := rng.IntN(len(kinds))
		k := kinds[i]
		seq++
		out = append(out, delivery{queues[k][0], seq})
		if rng.IntN(4) == 0 { // redelivered after some others
			out = append(out, out[rng.IntN(len(out))])
		}
		queues[k] = queues[k][1:]
		if len(queues[k]) == 0 {
			kinds = append(kinds[:i], kinds[i+1:]...)
		}
	}
	return out
}
