package c7engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// LoadBPMN is the benchmark's process (id key): about thirteen activity
// instances, twelve variable updates and one user task per instance. Four
// variables come with the start (the generator's customer, amount, count,
// vip); six expression service tasks each set one (valid, segment, score,
// notified, archived, done); completing the user task "approve" sets two
// (approved, comment). No Java code: every task is an expression.
func LoadBPMN(key string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="load-` + key + `" targetNamespace="http://flowline.dev/bench">
  <bpmn:process id="` + key + `" name="Order handling" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="received" name="Order received"/>
    <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="validate"/>
    <bpmn:serviceTask id="validate" name="Validate" camunda:expression="${amount &gt; 0}" camunda:resultVariable="valid"/>
    <bpmn:sequenceFlow id="f2" sourceRef="validate" targetRef="enrich"/>
    <bpmn:serviceTask id="enrich" name="Enrich" camunda:expression="${vip ? 'gold' : 'standard'}" camunda:resultVariable="segment"/>
    <bpmn:sequenceFlow id="f3" sourceRef="enrich" targetRef="route"/>
    <bpmn:exclusiveGateway id="route" name="Valid?" default="f4"/>
    <bpmn:sequenceFlow id="f4" sourceRef="route" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="sales"/>
    <bpmn:sequenceFlow id="f5" sourceRef="approve" targetRef="score"/>
    <bpmn:serviceTask id="score" name="Score" camunda:expression="${amount * 2}" camunda:resultVariable="score"/>
    <bpmn:sequenceFlow id="f6" sourceRef="score" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f7" sourceRef="fork" targetRef="notify"/>
    <bpmn:sequenceFlow id="f8" sourceRef="fork" targetRef="archive"/>
    <bpmn:serviceTask id="notify" name="Notify" camunda:expression="${true}" camunda:resultVariable="notified"/>
    <bpmn:serviceTask id="archive" name="Archive" camunda:expression="${'archived'}" camunda:resultVariable="archived"/>
    <bpmn:sequenceFlow id="f9" sourceRef="notify" targetRef="join"/>
    <bpmn:sequenceFlow id="f10" sourceRef="archive" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f11" sourceRef="join" targetRef="finish"/>
    <bpmn:serviceTask id="finish" name="Finish" camunda:expression="${count + 1}" camunda:resultVariable="done"/>
    <bpmn:sequenceFlow id="f12" sourceRef="finish" targetRef="end"/>
    <bpmn:endEvent id="end" name="Handled"/>
  </bpmn:process>
</bpmn:definitions>
`)
}

// Generate drives n instances of process key through the engine at
// restURL on threads threads, with the development engine's load hook (app
// TestGenerator): far faster than a REST call per step. It returns when
// every instance has been driven.
func Generate(ctx context.Context, restURL, key string, n, threads int) error {
	q := url.Values{"key": {key}, "instances": {strconv.Itoa(n)}, "threads": {strconv.Itoa(threads)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, restURL+"/flowline-test/generate?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("c7engine: generate %d instances of %s: %w", n, key, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("c7engine: generate %d instances of %s: %s: %s", n, key, res.Status, b)
	}
	var out struct{ Instances int }
	if err := json.Unmarshal(b, &out); err != nil || out.Instances != n {
		return fmt.Errorf("c7engine: generate %d instances of %s: answer %s", n, key, b)
	}
	return nil
}
