package c7enginetest

// Comparing Flowline's c7 documents with the engine's own history API,
// field by field: what the fold's, the end-to-end and the restart tests
// check.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/schema"
)

// Documents returns the source of the document of family with id, nil
// when there is none.
type Documents func(family schema.Family, id string) map[string]any

// Compare compares the documents of everything RunOrders(key) made (the
// orders, their shipments, the deployment's definitions, the evaluated
// decisions) with the engine's history, and returns the differences (none
// when they agree).
func Compare(t testing.TB, engine, key string, orders Orders, docs Documents) []string {
	t.Helper()
	c := &checker{t: t, docs: docs}
	pis := history(t, engine, "/history/process-instance?processDefinitionKeyIn="+key+","+key+"-ship")
	if len(pis) != 9 {
		t.Fatalf("c7enginetest: the engine has %d instances of %s, want 6 orders and 3 shipments", len(pis), key)
	}
	for _, pi := range pis {
		c.checkInstance(engine, pi["id"].(string), pi)
	}
	if len(c.errs) > 0 {
		return c.errs // the definitions are checked once the instances agree
	}
	// Definitions.
	defs := history(t, engine, "/process-definition?deploymentId="+orders.Deployment)
	if len(defs) != 2 {
		t.Fatalf("%d process definitions deployed, want 2", len(defs))
	}
	for _, def := range defs {
		d := c.doc(schema.C7Process, def["id"].(string))
		if d == nil {
			continue
		}
		c.eq("process bpmnProcessId", d["bpmnProcessId"], def["key"])
		c.eq("process version", d["version"], def["version"])
		c.eq("process name", d["name"], def["name"])
		c.eq("process versionTag", d["versionTag"], def["versionTag"])
		c.eq("process deploymentId", d["deploymentId"], orders.Deployment)
		var xml struct{ Bpmn20Xml string }
		Get(t, engine, "/process-definition/"+def["id"].(string)+"/xml", &xml)
		c.eq("process bpmnXml", d["bpmnXml"], xml.Bpmn20Xml)
		if def["key"] == key && !strings.Contains(fmt.Sprint(d["flowNodes"]), "map[id:review name:Review]") {
			c.errs = append(c.errs, fmt.Sprintf("process flowNodes %v lack review", d["flowNodes"]))
		}
	}
	decisions := history(t, engine, "/decision-definition?deploymentId="+orders.Deployment)
	for _, def := range decisions {
		d := c.doc(schema.C7Decision, def["id"].(string))
		if d == nil {
			continue
		}
		c.eq("decision decisionId", d["decisionId"], def["key"])
		c.eq("decision version", d["version"], def["version"])
		c.eq("decision name", d["name"], def["name"])
		if !strings.Contains(d["xml"].(string), "decisionTable") {
			c.errs = append(c.errs, "decision xml lacks the table")
		}
	}
	// Decision instances.
	evaluated := history(t, engine, "/history/decision-instance?decisionDefinitionKey="+key+"-discount&includeInputs=true&includeOutputs=true")
	if len(evaluated) != 4 {
		t.Fatalf("%d decision instances, want 4 (every order past review)", len(evaluated))
	}
	for _, e := range evaluated {
		d := c.doc(schema.C7DecisionInstance, e["id"].(string))
		if d == nil {
			continue
		}
		c.eq("decision instance decisionId", d["decisionId"], e["decisionDefinitionKey"])
		c.eq("decision instance decisionKey", d["decisionKey"], e["decisionDefinitionId"])
		c.eq("decision instance processInstanceKey", d["processInstanceKey"], e["processInstanceId"])
		c.eq("decision instance elementId", d["elementId"], e["activityId"])
		c.date("decision instance evaluationDate", d["evaluationDate"], e["evaluationTime"])
		in := d["evaluatedInputs"].([]any)[0].(map[string]any)
		var inValue any // JSON text in the document
		if err := json.Unmarshal([]byte(in["value"].(string)), &inValue); err != nil {
			t.Fatalf("decision instance input %q: %v", in["value"], err)
		}
		c.eq("decision instance input", inValue, e["inputs"].([]any)[0].(map[string]any)["value"])
		out := d["evaluatedOutputs"].([]any)[0].(map[string]any)
		c.eq("decision instance output rule", out["ruleId"], e["outputs"].([]any)[0].(map[string]any)["ruleId"])
	}
	return c.errs
}

// history lists the engine's history API answer at path.
func history(t testing.TB, engine, path string) []map[string]any {
	t.Helper()
	var list []map[string]any
	Get(t, engine, path, &list)
	return list
}

// checker collects differences.
type checker struct {
	t    testing.TB
	docs Documents
	errs []string
}

// doc returns a document, noting its absence.
func (c *checker) doc(f schema.Family, id string) map[string]any {
	d := c.docs(f, id)
	if d == nil {
		c.errs = append(c.errs, fmt.Sprintf("no %s document %s", f, id))
	}
	return d
}

func (c *checker) eq(what string, got, want any) {
	if fmt.Sprint(norm(got)) != fmt.Sprint(norm(want)) {
		c.errs = append(c.errs, fmt.Sprintf("%s: document has %v, engine %v", what, got, want))
	}
}

func (c *checker) date(what string, got, want any) {
	if !sameDate(got, want) {
		c.errs = append(c.errs, fmt.Sprintf("%s: document has %v, engine %v", what, got, want))
	}
}

// sameDate reports whether a document date (ISO UTC) and an engine date
// are the same instant; nil and nil are the same.
func sameDate(doc, engine any) bool {
	if doc == nil || engine == nil {
		return doc == nil && engine == nil
	}
	d, err := time.Parse(time.RFC3339Nano, doc.(string))
	if err != nil {
		return false
	}
	e, err := c7.ParseDate(engine.(string))
	return err == nil && d.UnixMilli() == e
}

// norm makes numbers comparable whether decoded as json.Number or float64.
func norm(v any) any {
	switch n := v.(type) {
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return f
		}
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = norm(e)
		}
		return out
	}
	return v
}

// or is v, or def when v is nil.
func or(v any, def string) any {
	if v == nil {
		return def
	}
	return v
}

// checkInstance compares the documents of process instance id with the
// engine's history of it.
func (c *checker) checkInstance(engine string, id string, pi map[string]any) {
	t := c.t
	t.Helper()
	v := c.doc(schema.C7ProcessInstance, id)
	if v == nil {
		return
	}
	c.eq(id+" processDefinitionKey", v["processDefinitionKey"], pi["processDefinitionKey"])
	c.eq(id+" processDefinitionId", v["processDefinitionId"], pi["processDefinitionId"])
	c.eq(id+" processDefinitionVersion", v["processDefinitionVersion"], pi["processDefinitionVersion"])
	c.eq(id+" businessKey", v["businessKey"], pi["businessKey"])
	c.eq(id+" state", v["state"], pi["state"])
	c.eq(id+" duration", v["duration"], pi["durationInMillis"])
	c.date(id+" startDate", v["startDate"], pi["startTime"])
	c.date(id+" endDate", v["endDate"], pi["endTime"])

	lv := c.doc(schema.C7ListView, id)
	if lv == nil {
		return
	}
	state := map[string]string{"ACTIVE": "ACTIVE", "SUSPENDED": "ACTIVE", "COMPLETED": "COMPLETED", "EXTERNALLY_TERMINATED": "CANCELED", "INTERNALLY_TERMINATED": "CANCELED"}[pi["state"].(string)]
	c.eq(id+" list-view state", lv["state"], state)
	c.eq(id+" list-view bpmnProcessId", lv["bpmnProcessId"], pi["processDefinitionKey"])
	c.eq(id+" list-view processDefinitionKey", lv["processDefinitionKey"], pi["processDefinitionId"])
	c.eq(id+" list-view parentProcessInstanceKey", lv["parentProcessInstanceKey"], pi["superProcessInstanceId"])
	c.eq(id+" list-view tenantId", lv["tenantId"], or(pi["tenantId"], "<default>"))
	c.date(id+" list-view endDate", lv["endDate"], pi["endTime"])

	// Activity instances, nested and as flownode-instance documents.
	var acts []map[string]any
	Get(t, engine, "/history/activity-instance?processInstanceId="+id, &acts)
	nested := map[string]map[string]any{}
	for _, n := range v["flowNodeInstances"].([]any) {
		nested[n.(map[string]any)["id"].(string)] = n.(map[string]any)
	}
	c.eq(id+" flow node count", len(nested), len(acts))
	for _, a := range acts {
		aid := a["id"].(string)
		n := nested[aid]
		if n == nil {
			c.errs = append(c.errs, id+": no nested flow node "+aid)
			continue
		}
		c.eq(aid+" activityId", n["activityId"], a["activityId"])
		c.eq(aid+" activityType", n["activityType"], a["activityType"])
		c.eq(aid+" canceled", n["canceled"], a["canceled"])
		c.eq(aid+" duration", n["duration"], a["durationInMillis"])
		c.date(aid+" startDate", n["startDate"], a["startTime"])
		c.date(aid+" endDate", n["endDate"], a["endTime"])
		fn := c.doc(schema.C7FlowNodeInstance, aid)
		if fn == nil {
			continue
		}
		want := "ACTIVE"
		if a["endTime"] != nil {
			want = "COMPLETED"
			if a["canceled"] == true {
				want = "TERMINATED"
			}
		}
		c.eq(aid+" flownode state", fn["state"], want)
		c.eq(aid+" flownode flowNodeId", fn["flowNodeId"], a["activityId"])
		c.eq(aid+" flownode processInstanceKey", fn["processInstanceKey"], id)
		c.eq(aid+" flownode scopeKey", fn["scopeKey"], a["parentActivityInstanceId"])
		c.date(aid+" flownode endDate", fn["endDate"], a["endTime"])
	}

	// User tasks.
	var tasks []map[string]any
	Get(t, engine, "/history/task?processInstanceId="+id, &tasks)
	nestedTasks := map[string]map[string]any{}
	for _, n := range v["userTasks"].([]any) {
		nestedTasks[n.(map[string]any)["id"].(string)] = n.(map[string]any)
	}
	c.eq(id+" user task count", len(nestedTasks), len(tasks))
	for _, tk := range tasks {
		tid := tk["id"].(string)
		var links []map[string]any
		Get(t, engine, "/history/identity-link-log?taskId="+tid+"&sortBy=time&sortOrder=asc", &links)
		groups := map[string]bool{}
		for _, l := range links {
			if l["type"] == "candidate" && l["groupId"] != nil {
				groups[l["groupId"].(string)] = l["operationType"] == "add"
			}
		}
		var wantGroups []string
		for g, in := range groups {
			if in {
				wantGroups = append(wantGroups, g)
			}
		}
		sort.Strings(wantGroups)
		n := nestedTasks[tid]
		if n == nil {
			c.errs = append(c.errs, id+": no nested user task "+tid)
			continue
		}
		c.eq(tid+" assignee", n["assignee"], tk["assignee"])
		c.eq(tid+" activityId", n["activityId"], tk["taskDefinitionKey"])
		c.eq(tid+" candidateGroups", n["candidateGroups"], wantGroups)
		c.date(tid+" endDate", n["endDate"], tk["endTime"])
		if tk["endTime"] != nil {
			idle, _ := norm(n["idleDuration"]).(float64)
			work, _ := norm(n["workDuration"]).(float64)
			c.eq(tid+" idle+work", idle+work, tk["duration"])
		}
		td := c.doc(schema.C7Task, tid)
		if td == nil {
			continue
		}
		want := "CREATED"
		if tk["endTime"] != nil {
			want = "CANCELED"
			if tk["deleteReason"] == "completed" {
				want = "COMPLETED"
			}
		}
		c.eq(tid+" task state", td["state"], want)
		c.eq(tid+" task assignee", td["assignee"], tk["assignee"])
		c.eq(tid+" task candidateGroups", td["candidateGroups"], wantGroups)
		c.eq(tid+" task flowNodeBpmnId", td["flowNodeBpmnId"], tk["taskDefinitionKey"])
		c.date(tid+" task completionTime", td["completionTime"], tk["endTime"])
	}

	// Variables: the latest value of each (read raw: a Long beyond 2^53
	// must stay exact).
	var vars []map[string]json.RawMessage
	Get(t, engine, "/history/variable-instance?processInstanceId="+id, &vars)
	nestedVars := map[string]map[string]any{}
	for _, n := range v["variables"].([]any) {
		nestedVars[n.(map[string]any)["id"].(string)] = n.(map[string]any)
	}
	c.eq(id+" variable count", len(nestedVars), len(vars))
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	for _, hv := range vars {
		vid, name, typ := str(hv["id"]), str(hv["name"]), str(hv["type"])
		n := nestedVars[vid]
		if n == nil {
			c.errs = append(c.errs, id+": no nested variable "+vid)
			continue
		}
		c.eq(vid+" name", n["name"], name)
		c.eq(vid+" type", n["type"], typ)
		c.eq(vid+" value", n["value"], str(hv["value"]))
		vd := c.doc(schema.C7Variable, vid)
		if vd == nil {
			continue
		}
		c.eq(vid+" variable name", vd["name"], name)
		c.eq(vid+" variable value", vd["value"], string(hv["value"]))
		c.eq(vid+" variable processInstanceKey", vd["processInstanceKey"], id)
	}

	// Incidents.
	var incidents []map[string]any
	Get(t, engine, "/history/incident?processInstanceId="+id, &incidents)
	nestedIncidents := map[string]map[string]any{}
	for _, n := range v["incidents"].([]any) {
		nestedIncidents[n.(map[string]any)["id"].(string)] = n.(map[string]any)
	}
	c.eq(id+" incident count", len(nestedIncidents), len(incidents))
	open := false
	for _, in := range incidents {
		iid := in["id"].(string)
		open = open || in["open"] == true
		n := nestedIncidents[iid]
		if n == nil {
			c.errs = append(c.errs, id+": no nested incident "+iid)
			continue
		}
		state := "open"
		if in["resolved"] == true {
			state = "resolved"
		} else if in["deleted"] == true {
			state = "deleted"
		}
		c.eq(iid+" incident state", n["state"], state)
		c.eq(iid+" incidentType", n["incidentType"], in["incidentType"])
		c.eq(iid+" message", n["message"], in["incidentMessage"])
		c.date(iid+" endTime", n["endTime"], in["endTime"])
		d := c.doc(schema.C7Incident, iid)
		if d == nil {
			continue
		}
		want := "RESOLVED"
		if in["open"] == true {
			want = "ACTIVE"
		}
		c.eq(iid+" incident doc state", d["state"], want)
		c.eq(iid+" incident flowNodeId", d["flowNodeId"], in["activityId"])
		c.eq(iid+" incident errorMessage", d["errorMessage"], in["incidentMessage"])
	}
	c.eq(id+" list-view incident", lv["incident"], open)
}
