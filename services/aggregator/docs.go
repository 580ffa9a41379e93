package aggregator

import "time"

// ProcessInstance is the list-view document of a process instance.
type ProcessInstance struct {
	Key                      int64   `json:"key"`
	ProcessDefinitionKey     int64   `json:"processDefinitionKey"`
	BpmnProcessID            string  `json:"bpmnProcessId"`
	Version                  int32   `json:"version"`
	State                    string  `json:"state"`
	StartDate                *string `json:"startDate"`
	EndDate                  *string `json:"endDate"`
	ParentProcessInstanceKey int64   `json:"parentProcessInstanceKey"`
	TenantID                 string  `json:"tenantId"`
	PartitionID              int32   `json:"partitionId"`
	Position                 int64   `json:"position"`
}

// FlowNodeInstance is the flownode-instance document of one element
// instance (every element but the process itself and sequence flows).
type FlowNodeInstance struct {
	Key                int64   `json:"key"`
	ProcessInstanceKey int64   `json:"processInstanceKey"`
	FlowNodeID         string  `json:"flowNodeId"`
	Type               string  `json:"type"`
	State              string  `json:"state"`
	StartDate          *string `json:"startDate"`
	EndDate            *string `json:"endDate"`
	Position           int64   `json:"position"`
}

// States of process instances and flow-node instances.
const (
	StateActive     = "ACTIVE"
	StateCompleted  = "COMPLETED"
	StateCanceled   = "CANCELED"   // process instance terminated
	StateTerminated = "TERMINATED" // flow node terminated
)

// dateLayout is ISO-8601 UTC with milliseconds, e.g. 2026-11-23T06:00:00.000Z.
const dateLayout = "2006-01-02T15:04:05.000Z"

// FormatDate renders an epoch-millisecond timestamp as a document date.
func FormatDate(epochMillis int64) *string {
	s := time.UnixMilli(epochMillis).UTC().Format(dateLayout)
	return &s
}
