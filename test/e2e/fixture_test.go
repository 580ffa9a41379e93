package e2e

import (
	"fmt"
	"strings"
)

// The fixture: three process instances on partitions 1, 2 and 5, written
// by hand as Zeebe's Elasticsearch exporter would export them. Every record
// at position n of a partition has timestamp base + n seconds, so expected
// dates read straight off the positions.
const base = int64(1_763_884_800_000) // 2025-11-23T08:00:00.000Z

const (
	keyP1 = int64(1)<<51 + 1 // 2251799813685249
	keyP2 = int64(2)<<51 + 1 // 4503599627370497
	keyP5 = int64(5)<<51 + 1 // 11258999068426241, above 2^53
)

type rec struct {
	partition int32
	position  int64
	key       int64
	intent    string
	pi        int64  // process instance key
	element   string // elementId
	typ       string // bpmnElementType
	valueType string // default PROCESS_INSTANCE
	recType   string // default EVENT
}

func (r rec) line() string {
	vt := r.valueType
	if vt == "" {
		vt = "PROCESS_INSTANCE"
	}
	rt := r.recType
	if rt == "" {
		rt = "EVENT"
	}
	flowScope := r.pi
	if r.typ == "PROCESS" {
		flowScope = -1
	}
	defKey := int64(r.partition)<<51 + 100
	value := fmt.Sprintf(`{"bpmnProcessId":"order-%d","version":3,"processDefinitionKey":%d,"processInstanceKey":%d,"elementId":%q,"flowScopeKey":%d,"bpmnElementType":%q,"bpmnEventType":"UNSPECIFIED","parentProcessInstanceKey":-1,"parentElementInstanceKey":-1,"tenantId":"<default>","elementInstancePath":[],"processDefinitionPath":[],"callingElementPath":[]}`,
		r.partition, defKey, r.pi, r.element, flowScope, r.typ)
	if vt == "JOB" {
		value = fmt.Sprintf(`{"type":"pay","processInstanceKey":%d,"elementId":%q,"retries":3,"customHeaders":{},"variables":{},"tenantId":"<default>"}`, r.pi, r.element)
	}
	return fmt.Sprintf(`{"partitionId":%d,"value":%s,"rejectionType":"NULL_VAL","rejectionReason":"","sourceRecordPosition":%d,"key":%d,"timestamp":%d,"position":%d,"valueType":%q,"intent":%q,"recordType":%q,"brokerVersion":"8.8.0","recordVersion":1,"operationReference":-1,"batchOperationReference":-1,"authorizations":{}}`,
		r.partition, value, r.position-1, r.key, base+r.position*1000, r.position, vt, r.intent, rt)
}

// lifecycle returns the records of one element going through intents,
// starting at position pos.
func lifecycle(p int32, pos, key, pi int64, element, typ string, intents ...string) []rec {
	var out []rec
	for i, in := range intents {
		out = append(out, rec{partition: p, position: pos + int64(i), key: key, intent: in, pi: pi, element: element, typ: typ})
	}
	return out
}

var (
	activate  = []string{"ELEMENT_ACTIVATING", "ELEMENT_ACTIVATED"}
	complete  = []string{"ELEMENT_COMPLETING", "ELEMENT_COMPLETED"}
	terminate = []string{"ELEMENT_TERMINATING", "ELEMENT_TERMINATED"}
	full      = append(append([]string{}, activate...), complete...)
)

func fixture() []rec {
	var r []rec
	add := func(rs ...rec) { r = append(r, rs...) }
	// Partition 1: order-1 runs start -> pay -> end and completes (positions 1..21; 11 is a command).
	add(lifecycle(1, 1, keyP1, keyP1, "order-1", "PROCESS", activate...)...)
	add(lifecycle(1, 3, keyP1+1, keyP1, "start", "START_EVENT", full...)...)
	add(rec{partition: 1, position: 7, key: keyP1 + 2, intent: "SEQUENCE_FLOW_TAKEN", pi: keyP1, element: "flow-1", typ: "SEQUENCE_FLOW"})
	add(lifecycle(1, 8, keyP1+3, keyP1, "pay", "SERVICE_TASK", activate...)...)
	add(rec{partition: 1, position: 10, key: keyP1 + 4, intent: "CREATED", pi: keyP1, element: "pay", valueType: "JOB"})
	add(rec{partition: 1, position: 11, key: keyP1 + 4, intent: "COMPLETE", pi: keyP1, element: "pay", valueType: "JOB", recType: "COMMAND"})
	add(rec{partition: 1, position: 12, key: keyP1 + 4, intent: "COMPLETED", pi: keyP1, element: "pay", valueType: "JOB"})
	add(lifecycle(1, 13, keyP1+3, keyP1, "pay", "SERVICE_TASK", complete...)...)
	add(rec{partition: 1, position: 15, key: keyP1 + 5, intent: "SEQUENCE_FLOW_TAKEN", pi: keyP1, element: "flow-2", typ: "SEQUENCE_FLOW"})
	add(lifecycle(1, 16, keyP1+6, keyP1, "end", "END_EVENT", activate...)...)
	add(lifecycle(1, 18, keyP1+6, keyP1, "end", "END_EVENT", complete...)...)
	add(lifecycle(1, 20, keyP1, keyP1, "order-1", "PROCESS", complete...)...)
	// Partition 2: order-2 is canceled while pay waits (positions 1..13).
	add(lifecycle(2, 1, keyP2, keyP2, "order-2", "PROCESS", activate...)...)
	add(lifecycle(2, 3, keyP2+1, keyP2, "start", "START_EVENT", full...)...)
	add(rec{partition: 2, position: 7, key: keyP2 + 2, intent: "SEQUENCE_FLOW_TAKEN", pi: keyP2, element: "flow-1", typ: "SEQUENCE_FLOW"})
	add(lifecycle(2, 8, keyP2+3, keyP2, "pay", "SERVICE_TASK", activate...)...)
	add(lifecycle(2, 10, keyP2+3, keyP2, "pay", "SERVICE_TASK", terminate...)...)
	add(lifecycle(2, 12, keyP2, keyP2, "order-2", "PROCESS", terminate...)...)
	// Partition 5: order-5 waits in a user task (positions 1..9).
	add(lifecycle(5, 1, keyP5, keyP5, "order-5", "PROCESS", activate...)...)
	add(lifecycle(5, 3, keyP5+1, keyP5, "start", "START_EVENT", full...)...)
	add(rec{partition: 5, position: 7, key: keyP5 + 2, intent: "SEQUENCE_FLOW_TAKEN", pi: keyP5, element: "flow-1", typ: "SEQUENCE_FLOW"})
	add(lifecycle(5, 8, keyP5+3, keyP5, "approve", "USER_TASK", activate...)...)
	return r
}

// ndjson renders records as a request body, interleaving partitions as a
// multi-partition exporter dump would.
func ndjson(rs []rec) string {
	byPart := map[int32][]rec{}
	var order []int32
	for _, r := range rs {
		if _, ok := byPart[r.partition]; !ok {
			order = append(order, r.partition)
		}
		byPart[r.partition] = append(byPart[r.partition], r)
	}
	var b strings.Builder
	for i := 0; ; i++ {
		wrote := false
		for _, p := range order {
			if i < len(byPart[p]) {
				b.WriteString(byPart[p][i].line())
				b.WriteByte('\n')
				wrote = true
			}
		}
		if !wrote {
			return b.String()
		}
	}
}

// date is the expected document date of the record at position pos.
func date(pos int64) string {
	return timeString(base + pos*1000)
}
