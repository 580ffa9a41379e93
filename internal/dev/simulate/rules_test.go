package simulate

import (
	"fmt"
	"testing"
	"time"
)

// ruleChecker checks the engine's rules over a stream of records, one
// partition's records in position order at a time.
type ruleChecker struct {
	lastPos   map[int32]int64
	positions map[int32]map[int64]bool
	// element instances per partition: key -> state (last lifecycle intent)
	elems map[int32]map[int64]*elemState
	// variables whose scope was not yet activated (creation variables)
	early     map[int32][]int64
	jobs      map[int64]string // job key -> last intent
	jobPI     map[int64]int64  // job key -> process instance
	incidents map[int64]string
	incPI     map[int64]int64
	tasks     map[int64]string
	taskPI    map[int64]int64
	errs      []string
}

type elemState struct {
	intent   string
	typ      string
	pi       int64
	parentPI int64
}

// lifecycleNext lists the intents that may follow each lifecycle intent.
var lifecycleNext = map[string][]string{
	"":                    {"ELEMENT_ACTIVATING"},
	"ELEMENT_ACTIVATING":  {"ELEMENT_ACTIVATED", "ELEMENT_TERMINATING"},
	"ELEMENT_ACTIVATED":   {"ELEMENT_COMPLETING", "ELEMENT_TERMINATING"},
	"ELEMENT_COMPLETING":  {"ELEMENT_COMPLETED", "ELEMENT_TERMINATING"},
	"ELEMENT_TERMINATING": {"ELEMENT_TERMINATED"},
}

func newRuleChecker() *ruleChecker {
	return &ruleChecker{
		lastPos: map[int32]int64{}, positions: map[int32]map[int64]bool{}, elems: map[int32]map[int64]*elemState{},
		early: map[int32][]int64{}, jobs: map[int64]string{}, jobPI: map[int64]int64{},
		incidents: map[int64]string{}, incPI: map[int64]int64{}, tasks: map[int64]string{}, taskPI: map[int64]int64{},
	}
}

func (c *ruleChecker) failf(r Record, format string, args ...any) {
	if len(c.errs) < 20 {
		c.errs = append(c.errs, fmt.Sprintf("p%d@%d %s %s: ", r.PartitionID, r.Position, r.ValueType, r.Intent)+fmt.Sprintf(format, args...))
	}
}

func i64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int:
		return int64(n)
	}
	return -999
}

// keyOf checks that a key is unset or encodes partition p.
func (c *ruleChecker) keyOn(r Record, name string, key int64, p int32) {
	if key != -1 && int32(key>>51) != p {
		c.failf(r, "%s %d decodes to partition %d, want %d", name, key, key>>51, p)
	}
}

// active returns the element instance key if it is active (activated and
// not ended) on r's partition.
func (c *ruleChecker) active(r Record, key int64) *elemState {
	e := c.elems[r.PartitionID][key]
	if e == nil || e.intent == "ELEMENT_COMPLETED" || e.intent == "ELEMENT_TERMINATED" {
		return nil
	}
	return e
}

func (c *ruleChecker) add(r Record) {
	p := r.PartitionID
	if c.positions[p] == nil {
		c.positions[p], c.elems[p] = map[int64]bool{}, map[int64]*elemState{}
	}
	if r.Position <= c.lastPos[p] {
		c.failf(r, "position does not increase (after %d)", c.lastPos[p])
	}
	c.lastPos[p] = r.Position
	if r.SourceRecordPosition != -1 && (r.SourceRecordPosition >= r.Position || !c.positions[p][r.SourceRecordPosition]) {
		c.failf(r, "sourceRecordPosition %d is not an earlier record of the partition", r.SourceRecordPosition)
	}
	c.positions[p][r.Position] = true
	if r.RecordType != "EVENT" || r.RejectionType != "NULL_VAL" {
		c.failf(r, "record type %s, rejection %s", r.RecordType, r.RejectionType)
	}
	v := r.Value
	switch r.ValueType {
	case "PROCESS", "DECISION_REQUIREMENTS", "DECISION":
		c.keyOn(r, "definition key", r.Key, 1) // deployed on partition 1, distributed with its keys
		return
	}
	c.keyOn(r, "key", r.Key, p)
	pi := i64(v["processInstanceKey"])
	c.keyOn(r, "processInstanceKey", pi, p)
	switch r.ValueType {
	case "PROCESS_INSTANCE":
		c.processInstance(r, pi)
	case "VARIABLE":
		scope := i64(v["scopeKey"])
		c.keyOn(r, "scopeKey", scope, p)
		e := c.active(r, scope)
		switch {
		case e == nil && c.elems[p][scope] == nil && r.Intent == "CREATED":
			c.early[p] = append(c.early[p], scope) // created with its instance, before it activates
		case e == nil:
			c.failf(r, "scope %d is not an active element instance", scope)
		case e.pi != pi:
			c.failf(r, "scope %d belongs to instance %d, not %d", scope, e.pi, pi)
		}
	case "JOB", "INCIDENT", "USER_TASK", "DECISION_EVALUATION":
		el := i64(v["elementInstanceKey"])
		c.keyOn(r, "elementInstanceKey", el, p)
		if e := c.active(r, el); e == nil || e.pi != pi {
			c.failf(r, "element instance %d is not active in instance %d", el, pi)
		}
		switch r.ValueType {
		case "JOB":
			c.jobs[r.Key], c.jobPI[r.Key] = r.Intent, pi
		case "INCIDENT":
			c.incidents[r.Key], c.incPI[r.Key] = r.Intent, pi
		case "USER_TASK":
			c.tasks[r.Key], c.taskPI[r.Key] = r.Intent, pi
		}
	default:
		c.failf(r, "unexpected value type")
	}
}

func (c *ruleChecker) processInstance(r Record, pi int64) {
	p, v := r.PartitionID, r.Value
	typ := v["bpmnElementType"].(string)
	scope := i64(v["flowScopeKey"])
	if r.Intent == "SEQUENCE_FLOW_TAKEN" {
		if c.active(r, scope) == nil {
			c.failf(r, "flow taken in scope %d that is not active", scope)
		}
		return
	}
	e := c.elems[p][r.Key]
	prev := ""
	if e != nil {
		prev = e.intent
	}
	ok := false
	for _, next := range lifecycleNext[prev] {
		ok = ok || next == r.Intent
	}
	if !ok {
		c.failf(r, "element %d (%s): %s after %q", r.Key, typ, r.Intent, prev)
	}
	if r.Intent == "ELEMENT_COMPLETED" && prev != "ELEMENT_COMPLETING" {
		c.failf(r, "completed without completing")
	}
	if e == nil {
		e = &elemState{typ: typ, pi: pi, parentPI: i64(v["parentProcessInstanceKey"])}
		c.elems[p][r.Key] = e
		switch {
		case typ == "PROCESS" && (r.Key != pi || scope != -1):
			c.failf(r, "process element key %d, instance %d, flow scope %d", r.Key, pi, scope)
		case typ == "PROCESS" && e.parentPI != -1 && c.active(r, i64(v["parentElementInstanceKey"])) == nil:
			c.failf(r, "called by %d, which is not active", i64(v["parentElementInstanceKey"]))
		case typ != "PROCESS" && c.active(r, scope) == nil:
			c.failf(r, "flow scope %d is not active", scope)
		}
		if eip, _ := v["elementInstancePath"].([][]int64); len(eip) == 0 || eip[len(eip)-1][len(eip[len(eip)-1])-1] != r.Key {
			c.failf(r, "elementInstancePath %v does not end with the element", v["elementInstancePath"])
		}
	}
	e.intent = r.Intent
}

// finish checks what only the whole stream shows and returns every
// violation; running is how many root instances the generator left running.
func (c *ruleChecker) finish(running int) []string {
	openRoots := map[int64]bool{}
	openPI := map[int64]bool{}
	for p, elems := range c.elems {
		for _, scope := range c.early[p] {
			if e := elems[scope]; e == nil || e.typ != "PROCESS" {
				c.errs = append(c.errs, fmt.Sprintf("p%d: variable scope %d never activated as a process instance", p, scope))
			}
		}
		for key, e := range elems {
			if e.intent == "ELEMENT_COMPLETED" || e.intent == "ELEMENT_TERMINATED" {
				continue
			}
			openPI[e.pi] = true
			if e.typ == "PROCESS" && e.parentPI == -1 {
				openRoots[key] = true
			}
		}
	}
	if len(openRoots) != running {
		c.errs = append(c.errs, fmt.Sprintf("%d root instances neither completed nor terminated, %d left running", len(openRoots), running))
	}
	for p, elems := range c.elems {
		for key, e := range elems {
			if openPI[e.pi] && (e.intent == "ELEMENT_COMPLETED" || e.intent == "ELEMENT_TERMINATED") && e.typ == "PROCESS" {
				c.errs = append(c.errs, fmt.Sprintf("p%d: instance %d ended with element instances still active", p, key))
			}
		}
	}
	endOf := func(kind string, states map[int64]string, pis map[int64]int64, ends ...string) {
		for key, intent := range states {
			ended := false
			for _, e := range ends {
				ended = ended || intent == e
			}
			if !ended && !openPI[pis[key]] {
				c.errs = append(c.errs, fmt.Sprintf("%s %d of an ended instance stays %s", kind, key, intent))
			}
		}
	}
	endOf("job", c.jobs, c.jobPI, "COMPLETED", "CANCELED")
	endOf("incident", c.incidents, c.incPI, "RESOLVED")
	endOf("user task", c.tasks, c.taskPI, "COMPLETED", "CANCELED")
	return c.errs
}

func TestGeneratedRecordsObeyEngineRules(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"typical", Config{Workload: Typical, Instances: 300, Partitions: 3, IncidentRate: 0.05, CancelRate: 0.15, RunningRate: 0.1}},
		{"realistic", Config{Workload: Realistic, Instances: 200, Partitions: 4, IncidentRate: 0.05, CancelRate: 0.15, RunningRate: 0.1, MultiInstanceItems: 7}},
		{"realistic one partition, many incidents", Config{Workload: Realistic, Instances: 40, IncidentRate: 0.3, CancelRate: 0.3, MultiInstanceItems: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Seed, tt.cfg.Start, tt.cfg.ChunkRecords, tt.cfg.Concurrency = 7, time.UnixMilli(1_763_884_800_000), 1000, 50
			g, err := NewGenerator(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := newRuleChecker()
			chunks, total := 0, 0
			for recs := g.Next(); recs != nil; recs = g.Next() {
				chunks++
				total += len(recs)
				if len(recs) > tt.cfg.ChunkRecords+2000 {
					t.Errorf("chunk of %d records (chunk size %d)", len(recs), tt.cfg.ChunkRecords)
				}
				for _, r := range recs {
					c.add(r)
				}
			}
			st := g.Stats()
			if g.stuck != 0 {
				t.Errorf("%d instances stopped without waiting for anything", g.stuck)
			}
			for _, e := range c.finish(st.Running) {
				t.Error(e)
			}
			if st.Instances != tt.cfg.Instances || st.Completed+st.Canceled+st.Running != st.Instances {
				t.Errorf("stats %+v: every one of %d instances must complete, be canceled or be left running", st, tt.cfg.Instances)
			}
			if st.Records != int64(total) || chunks < 2 {
				t.Errorf("stats count %d records, chunks held %d in %d chunks", st.Records, total, chunks)
			}
			if st.Incidents == 0 || st.Canceled == 0 || st.Completed == 0 {
				t.Errorf("stats %+v: want incidents, cancellations and completions", st)
			}
			if tt.cfg.Workload == Realistic && (st.ChildInstances == 0 || st.Decisions == 0) {
				t.Errorf("stats %+v: want called instances and decisions", st)
			}
			if len(c.lastPos) != max(tt.cfg.Partitions, 1) {
				t.Errorf("records on %d partitions, want %d", len(c.lastPos), tt.cfg.Partitions)
			}
		})
	}
}

// TestRuleCheckerCatchesViolations: the checker is not vacuous.
func TestRuleCheckerCatchesViolations(t *testing.T) {
	g, err := NewGenerator(Config{Workload: Typical, Instances: 3, Seed: 1, Start: time.UnixMilli(0)})
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for r := g.Next(); r != nil; r = g.Next() {
		recs = append(recs, r...)
	}
	mutations := map[string]func([]Record) []Record{
		"completed without activating": func(rs []Record) []Record {
			for i, r := range rs {
				if r.ValueType == "PROCESS_INSTANCE" && r.Intent == "ELEMENT_ACTIVATING" && r.Value["bpmnElementType"] == "END_EVENT" {
					return append(rs[:i:i], rs[i+1:]...)
				}
			}
			return nil
		},
		"instance never ends": func(rs []Record) []Record {
			return rs[:len(rs)-1]
		},
		"position repeats": func(rs []Record) []Record {
			rs[5].Position = rs[4].Position
			return rs
		},
		"key of another partition": func(rs []Record) []Record {
			rs[len(rs)-1].Key += 1 << 51
			return rs
		},
		"dangling source": func(rs []Record) []Record {
			rs[len(rs)-1].SourceRecordPosition = rs[len(rs)-1].Position + 10
			return rs
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			cp := make([]Record, len(recs))
			copy(cp, recs)
			c := newRuleChecker()
			for _, r := range mutate(cp) {
				c.add(r)
			}
			if errs := c.finish(0); len(errs) == 0 {
				t.Error("violation not caught")
			}
		})
	}
	c := newRuleChecker()
	for _, r := range recs {
		c.add(r)
	}
	if errs := c.finish(0); len(errs) != 0 {
		t.Errorf("unmutated records: %v", errs)
	}
}
