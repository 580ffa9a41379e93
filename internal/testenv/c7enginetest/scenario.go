package c7enginetest

import (
	"fmt"
	"net/http"
	"testing"
)

// OrderBPMN is the order process of key with its shipping sub-process
// (<key>-ship): a user task "review" (assignee from the variable assignee,
// candidate groups sales and ops), a business rule task "discount"
// (decision <key>-discount, result variable discount), an external service
// task "charge" (topic <key>-charge), a call activity "ship" calling
// <key>-ship, whose user task "pack" has candidate group warehouse.
func OrderBPMN(key string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d-` + key + `" targetNamespace="http://flowline.dev/test">
  <bpmn:process id="` + key + `" name="Order" isExecutable="true" camunda:historyTimeToLive="P1D" camunda:versionTag="v1">
    <bpmn:startEvent id="start" name="Order received"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review" camunda:assignee="${assignee}" camunda:candidateGroups="sales,ops"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="discount"/>
    <bpmn:businessRuleTask id="discount" name="Discount" camunda:decisionRef="` + key + `-discount" camunda:resultVariable="discount" camunda:mapDecisionResult="singleEntry"/>
    <bpmn:sequenceFlow id="f3" sourceRef="discount" targetRef="charge"/>
    <bpmn:serviceTask id="charge" name="Charge" camunda:type="external" camunda:topic="` + key + `-charge"/>
    <bpmn:sequenceFlow id="f4" sourceRef="charge" targetRef="ship"/>
    <bpmn:callActivity id="ship" name="Ship" calledElement="` + key + `-ship"/>
    <bpmn:sequenceFlow id="f5" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end" name="Done"/>
  </bpmn:process>
  <bpmn:process id="` + key + `-ship" name="Ship" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="shipStart"/>
    <bpmn:sequenceFlow id="s1" sourceRef="shipStart" targetRef="pack"/>
    <bpmn:userTask id="pack" name="Pack" camunda:candidateGroups="warehouse"/>
    <bpmn:sequenceFlow id="s2" sourceRef="pack" targetRef="shipEnd"/>
    <bpmn:endEvent id="shipEnd"/>
  </bpmn:process>
</bpmn:definitions>
`)
}

// DiscountDMN is the decision <key>-discount: discount 0 below an amount of
// 20, 0.1 from 20 on.
func DiscountDMN(key string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="drd-` + key + `" name="Discounts" namespace="http://flowline.dev/test">
  <decision id="` + key + `-discount" name="Discount">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="amountInput" label="Amount">
        <inputExpression id="amountExpr" typeRef="double"><text>amount</text></inputExpression>
      </input>
      <output id="discountOutput" label="Discount" name="discount" typeRef="double"/>
      <rule id="small"><inputEntry id="smallIn"><text>&lt; 20</text></inputEntry><outputEntry id="smallOut"><text>0</text></outputEntry></rule>
      <rule id="large"><inputEntry id="largeIn"><text>&gt;= 20</text></inputEntry><outputEntry id="largeOut"><text>0.1</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
`)
}

// Orders is what RunOrders did in the engine.
type Orders struct {
	Deployment string
	// Instances are the order instances, by what happened to them: see
	// RunOrders.
	Completed, OpenIncident, ResolvedIncident, Canceled, Running []string
}

// All lists every order instance.
func (o Orders) All() []string {
	var all []string
	for _, ids := range [][]string{o.Completed, o.OpenIncident, o.ResolvedIncident, o.Canceled, o.Running} {
		all = append(all, ids...)
	}
	return all
}

// RunOrders deploys key's order process and decision and drives instances
// through them: two completed (review, discount, charge, a shipment packed
// and done), one stopped by an incident on charge that stays open, one
// whose incident is resolved (retries set again) and which then completes,
// one canceled while waiting at review, one still waiting at review. Every
// instance starts with variables of several types (String, Integer,
// Double, Boolean, Long, Date), and its "note" and "n" are updated twice.
func RunOrders(t testing.TB, engine, key string) Orders {
	t.Helper()
	o := Orders{Deployment: Deploy(t, engine, key, map[string][]byte{key + ".bpmn": OrderBPMN(key), key + ".dmn": DiscountDMN(key)})}
	task := func(pi string) string {
		var tasks []struct{ ID string }
		Get(t, engine, "/task?processInstanceId="+pi, &tasks)
		if len(tasks) != 1 {
			t.Fatalf("c7enginetest: instance %s has %d open tasks, want 1", pi, len(tasks))
		}
		return tasks[0].ID
	}
	complete := func(pi string) {
		Do(t, http.MethodPost, engine, "/task/"+task(pi)+"/complete", map[string]any{"variables": map[string]any{"approved": map[string]any{"value": true}}}, nil)
	}
	lock := func(pi string) string {
		var locked []struct{ ID string }
		Do(t, http.MethodPost, engine, "/external-task/fetchAndLock", map[string]any{
			"workerId": "w", "maxTasks": 10,
			"topics": []map[string]any{{"topicName": key + "-charge", "lockDuration": 600000, "processInstanceId": pi}},
		}, &locked)
		if len(locked) != 1 {
			t.Fatalf("c7enginetest: instance %s: %d charge tasks locked, want 1", pi, len(locked))
		}
		return locked[0].ID
	}
	charge := func(pi string) {
		Do(t, http.MethodPost, engine, "/external-task/"+lock(pi)+"/complete", map[string]any{"workerId": "w"}, nil)
	}
	ship := func(pi string) {
		var children []struct{ ID string }
		Get(t, engine, "/process-instance?superProcessInstance="+pi, &children)
		if len(children) != 1 {
			t.Fatalf("c7enginetest: instance %s has %d shipments, want 1", pi, len(children))
		}
		complete(children[0].ID)
	}
	for i := range 6 {
		pi := StartInstance(t, engine, key, map[string]any{
			"assignee": fmt.Sprintf("user-%d", i), "amount": 10.5 * float64(i+1), "n": i, "vip": i%2 == 0,
			"note": "new", "big": int64(1)<<53 + int64(i),
		})
		Do(t, http.MethodPut, engine, "/process-instance/"+pi+"/variables/when", map[string]any{"value": "2026-01-02T03:04:05.000+0000", "type": "Date"}, nil)
		for _, note := range []string{"checked", "final"} {
			Do(t, http.MethodPut, engine, "/process-instance/"+pi+"/variables/note", map[string]any{"value": note, "type": "String"}, nil)
		}
		for _, n := range []int{100 + i, 200 + i} {
			Do(t, http.MethodPut, engine, "/process-instance/"+pi+"/variables/n", map[string]any{"value": n, "type": "Integer"}, nil)
		}
		switch i {
		case 0, 1:
			complete(pi)
			charge(pi)
			ship(pi)
			o.Completed = append(o.Completed, pi)
		case 2:
			complete(pi)
			Do(t, http.MethodPost, engine, "/external-task/"+lock(pi)+"/failure", map[string]any{"workerId": "w", "errorMessage": "card declined", "retries": 0}, nil)
			o.OpenIncident = append(o.OpenIncident, pi)
		case 3:
			complete(pi)
			et := lock(pi)
			Do(t, http.MethodPost, engine, "/external-task/"+et+"/failure", map[string]any{"workerId": "w", "errorMessage": "timeout", "retries": 0}, nil)
			Do(t, http.MethodPut, engine, "/external-task/"+et+"/retries", map[string]any{"retries": 1}, nil)
			charge(pi)
			ship(pi)
			o.ResolvedIncident = append(o.ResolvedIncident, pi)
		case 4:
			Do(t, http.MethodDelete, engine, "/process-instance/"+pi, nil, nil)
			o.Canceled = append(o.Canceled, pi)
		case 5:
			o.Running = append(o.Running, pi)
		}
	}
	return o
}
