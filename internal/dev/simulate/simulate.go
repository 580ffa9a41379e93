// Package simulate produces Zeebe partition records the way an engine
// exports them: keys encoded per partition ((partitionId << 51) + counter),
// strictly increasing positions, sourceRecordPosition chains and element
// lifecycles. Generator runs whole workloads (deployments, the typical and
// realistic benchmark processes, incidents, cancellations) for `flowline
// generate`, `flowline dev` and tests; Start and DemoProcess drive a small
// linear process step by step.
package simulate

import "time"

// Record is a Zeebe record in the exporter's JSON layout.
type Record struct {
	PartitionID             int32          `json:"partitionId"`
	Position                int64          `json:"position"`
	SourceRecordPosition    int64          `json:"sourceRecordPosition"`
	Key                     int64          `json:"key"`
	Timestamp               int64          `json:"timestamp"`
	RecordType              string         `json:"recordType"`
	ValueType               string         `json:"valueType"`
	Intent                  string         `json:"intent"`
	RejectionType           string         `json:"rejectionType"`
	RejectionReason         string         `json:"rejectionReason"`
	BrokerVersion           string         `json:"brokerVersion"`
	RecordVersion           int            `json:"recordVersion"`
	OperationReference      int64          `json:"operationReference"`
	BatchOperationReference int64          `json:"batchOperationReference"`
	Authorizations          map[string]any `json:"authorizations"`
	Value                   map[string]any `json:"value"`
}

// JSON renders the record as one NDJSON line (without the newline).
func (r Record) JSON() []byte { return r.AppendJSON(nil) }

// Partition emits one partition's records; not safe for concurrent use.
type Partition struct {
	ID      int32
	counter int64
	pos     int64
	clock   time.Time
	out     []Record
}

// NewPartition starts partition id with its clock at start.
func NewPartition(id int32, start time.Time) *Partition {
	return &Partition{ID: id, clock: start}
}

// ResumeAfter continues the partition after position and key counter, as a
// restarted engine continues its log (e.g. a demo run after an earlier one).
func (p *Partition) ResumeAfter(position, keyCounter int64) {
	p.pos, p.counter = position, keyCounter
}

// NextKey returns the partition's next key: (id << 51) + counter.
func (p *Partition) NextKey() int64 {
	p.counter++
	return int64(p.ID)<<51 + p.counter
}

// Tick advances the partition clock.
func (p *Partition) Tick(d time.Duration) { p.clock = p.clock.Add(d) }

// Take returns the records emitted since the last Take, in position order.
func (p *Partition) Take() []Record {
	out := p.out
	p.out = nil
	return out
}

// Emit appends an EVENT record to the partition's output and returns it;
// source is the position of the record that caused it (-1 for none).
func (p *Partition) Emit(source, key int64, valueType, intent string, value map[string]any) Record {
	p.clock = p.clock.Add(time.Millisecond)
	return p.emit(source, key, valueType, intent, value)
}

// emit appends an EVENT record at the partition's current time (records of
// one processing step share their timestamp).
func (p *Partition) emit(source, key int64, valueType, intent string, value map[string]any) Record {
	p.pos++
	r := Record{
		PartitionID: p.ID, Position: p.pos, SourceRecordPosition: source, Key: key,
		Timestamp: p.clock.UnixMilli(), RecordType: "EVENT", ValueType: valueType, Intent: intent,
		RejectionType: "NULL_VAL", BrokerVersion: "8.8.0", RecordVersion: 1,
		OperationReference: -1, BatchOperationReference: -1, Authorizations: map[string]any{}, Value: value,
	}
	p.out = append(p.out, r)
	return r
}
