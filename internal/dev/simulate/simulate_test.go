package simulate

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

func TestInstanceRecordsFollowZeebeConventions(t *testing.T) {
	p := NewPartition(5, time.UnixMilli(1_700_000_000_000))
	a := Start(p, DemoProcess(1))
	b := Start(p, DemoProcess(1))
	for range 3 {
		a.Step(time.Second)
		b.Step(time.Second)
	}
	b.Cancel()
	for !a.Done {
		a.Step(time.Second)
	}
	recs := p.Take()
	if len(recs) == 0 || len(p.Take()) != 0 {
		t.Fatal("Take must return the emitted records once")
	}
	if a.Key != 5<<51+1 || a.Key <= 1<<53 {
		t.Errorf("first key = %d, want (5<<51)+1 (above 2^53)", a.Key)
	}
	var last int64
	var lastIntent string
	for _, r := range recs {
		if r.Position <= last {
			t.Fatalf("position %d after %d", r.Position, last)
		}
		last = r.Position
		if r.SourceRecordPosition >= r.Position {
			t.Errorf("source %d not before %d", r.SourceRecordPosition, r.Position)
		}
		if r.Key == a.Key && r.ValueType == "PROCESS_INSTANCE" {
			lastIntent = r.Intent
		}
		if !bytes.Contains(r.JSON(), []byte(`"key":`+strconv.FormatInt(r.Key, 10)+`,`)) {
			t.Fatalf("key %d not rendered exactly: %s", r.Key, r.JSON())
		}
	}
	if lastIntent != "ELEMENT_COMPLETED" {
		t.Errorf("instance a ends with %s", lastIntent)
	}
}
