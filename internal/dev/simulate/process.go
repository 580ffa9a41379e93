package simulate

import "time"

// Element is one BPMN element of a simulated process.
type Element struct {
	ID   string
	Type string // BPMN element type as Zeebe names it, e.g. SERVICE_TASK
}

// Process is a linear simulated process definition.
type Process struct {
	BpmnProcessID string
	Version       int32
	Key           int64
	Elements      []Element // start event ... end event, joined by sequence flows
}

// DemoProcess is an order process: start, two service tasks, end.
func DemoProcess(key int64) Process {
	return Process{BpmnProcessID: "demo-order", Version: 1, Key: key, Elements: []Element{
		{"start", "START_EVENT"}, {"reserve-stock", "SERVICE_TASK"}, {"ship-order", "SERVICE_TASK"}, {"end", "END_EVENT"},
	}}
}

// Instance is a running simulated process instance on one partition.
type Instance struct {
	p       *Partition
	def     Process
	Key     int64
	next    int   // index of the next element to run
	lastPos int64 // position of the newest record of this instance
	Done    bool
}

// Start creates an instance: the process element activates.
func Start(p *Partition, def Process) *Instance {
	in := &Instance{p: p, def: def, Key: p.NextKey(), lastPos: -1}
	in.element(in.Key, -1, def.BpmnProcessID, "PROCESS", "ELEMENT_ACTIVATING", "ELEMENT_ACTIVATED")
	return in
}

func (in *Instance) value(elementID, elementType string, flowScope int64) map[string]any {
	return map[string]any{
		"bpmnProcessId": in.def.BpmnProcessID, "version": in.def.Version, "processDefinitionKey": in.def.Key,
		"processInstanceKey": in.Key, "elementId": elementID, "flowScopeKey": flowScope,
		"bpmnElementType": elementType, "bpmnEventType": "UNSPECIFIED",
		"parentProcessInstanceKey": int64(-1), "parentElementInstanceKey": int64(-1), "tenantId": "<default>",
	}
}

// element emits lifecycle records of one element instance.
func (in *Instance) element(key, flowScope int64, id, typ string, intents ...string) {
	for _, intent := range intents {
		r := in.p.Emit(in.lastPos, key, "PROCESS_INSTANCE", intent, in.value(id, typ, flowScope))
		in.lastPos = r.Position
	}
}

// Step runs the next element to completion (a service task's job is created
// and completed in between) and takes the sequence flow after it; after the
// last element the process completes. Each step advances the clock by d.
func (in *Instance) Step(d time.Duration) {
	if in.Done {
		return
	}
	in.p.Tick(d)
	if in.next == len(in.def.Elements) {
		in.element(in.Key, -1, in.def.BpmnProcessID, "PROCESS", "ELEMENT_COMPLETING", "ELEMENT_COMPLETED")
		in.Done = true
		return
	}
	el := in.def.Elements[in.next]
	key := in.p.NextKey()
	in.element(key, in.Key, el.ID, el.Type, "ELEMENT_ACTIVATING", "ELEMENT_ACTIVATED")
	if el.Type == "SERVICE_TASK" {
		job := in.p.NextKey()
		jobValue := map[string]any{
			"type": el.ID, "processInstanceKey": in.Key, "elementInstanceKey": key, "elementId": el.ID,
			"bpmnProcessId": in.def.BpmnProcessID, "processDefinitionKey": in.def.Key, "retries": 3,
			"worker": "", "customHeaders": map[string]any{}, "variables": map[string]any{}, "tenantId": "<default>",
		}
		for _, intent := range []string{"CREATED", "COMPLETED"} {
			r := in.p.Emit(in.lastPos, job, "JOB", intent, jobValue)
			in.lastPos = r.Position
		}
	}
	in.element(key, in.Key, el.ID, el.Type, "ELEMENT_COMPLETING", "ELEMENT_COMPLETED")
	in.next++
	if in.next < len(in.def.Elements) {
		flow := in.p.NextKey()
		in.element(flow, in.Key, "flow-"+el.ID, "SEQUENCE_FLOW", "SEQUENCE_FLOW_TAKEN")
	}
}

// Cancel terminates the instance: the active element (if any) and then
// the process.
func (in *Instance) Cancel() {
	if in.Done {
		return
	}
	in.element(in.Key, -1, in.def.BpmnProcessID, "PROCESS", "ELEMENT_TERMINATING", "ELEMENT_TERMINATED")
	in.Done = true
}
