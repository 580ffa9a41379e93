package simulate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// TestGeneratedRecordsDecodeStrictly: every record is a Zeebe exporter JSON
// line that pkg/zeebejson decodes strictly into a typed value, and the
// typical workload's start variables carry about 0.5 KB in 14 variables.
func TestGeneratedRecordsDecodeStrictly(t *testing.T) {
	for _, w := range Workloads() {
		t.Run(string(w), func(t *testing.T) {
			g, err := NewGenerator(Config{Workload: w, Instances: 40, Partitions: 5, Seed: 3, IncidentRate: 0.2, CancelRate: 0.2, RunningRate: 0.2})
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			for recs := g.Next(); recs != nil; recs = g.Next() {
				for _, r := range recs {
					line := r.JSON()
					if !sameJSON(t, line, r) {
						t.Fatalf("AppendJSON differs from encoding/json:\n%s", line)
					}
					dec, err := zeebejson.Decode(line)
					if err != nil {
						t.Fatalf("%v\n%s", err, line)
					}
					if _, raw := dec.Value.(*recordv1.Record_ValueJson); raw || dec.Value == nil {
						t.Fatalf("%s record not decoded into a typed value", r.ValueType)
					}
					if dec.Key != r.Key || dec.Position != r.Position || dec.PartitionId != r.PartitionID {
						t.Fatalf("envelope changed: %s", line)
					}
					enc, err := zeebejson.Encode(dec)
					if err != nil || len(enc) == 0 {
						t.Fatalf("re-encode: %v", err)
					}
					types[r.ValueType+"."+r.Intent]++
				}
			}
			want := []string{"PROCESS.CREATED", "PROCESS_INSTANCE.ELEMENT_ACTIVATING", "PROCESS_INSTANCE.SEQUENCE_FLOW_TAKEN",
				"JOB.CREATED", "JOB.COMPLETED", "JOB.FAILED", "JOB.RETRIES_UPDATED", "JOB.CANCELED", "INCIDENT.CREATED", "INCIDENT.RESOLVED",
				"VARIABLE.CREATED", "VARIABLE.UPDATED", "PROCESS_INSTANCE.ELEMENT_TERMINATED"}
			if w == Realistic {
				want = append(want, "DECISION_REQUIREMENTS.CREATED", "DECISION.CREATED", "DECISION_EVALUATION.EVALUATED",
					"USER_TASK.CREATED", "USER_TASK.COMPLETED")
			}
			for _, k := range want {
				if types[k] == 0 {
					t.Errorf("no %s record (got %v)", k, types)
				}
			}
		})
	}
}

func TestTypicalPayload(t *testing.T) {
	g, err := NewGenerator(Config{Workload: Typical, Instances: 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	vars, size := 0, 0
	for _, r := range g.Next() {
		if r.ValueType == "VARIABLE" && r.Intent == "CREATED" && r.Value["scopeKey"] == r.Value["processInstanceKey"] && r.Value["name"] != "lastTask" {
			vars++
			size += len(r.Value["name"].(string)) + len(r.Value["value"].(string))
		}
	}
	if vars != 14 || size < 400 || size > 650 {
		t.Errorf("typical start: %d variables of %d bytes, want 14 of about 0.5 KB", vars, size)
	}
}

// TestGeneratorIsDeterministic: the same seed gives the same records, a
// different seed different ones.
func TestGeneratorIsDeterministic(t *testing.T) {
	run := func(seed uint64) []byte {
		g, err := NewGenerator(Config{Workload: Realistic, Instances: 30, Partitions: 3, Seed: seed, IncidentRate: 0.1, CancelRate: 0.1,
			Start: time.UnixMilli(1_763_884_800_000)})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for recs := g.Next(); recs != nil; recs = g.Next() {
			for _, r := range recs {
				b.Write(r.JSON())
				b.WriteByte('\n')
			}
		}
		return b.Bytes()
	}
	a, b, c := run(1), run(1), run(2)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different records")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same records")
	}
}

func TestGeneratorResumesAfterAnEarlierRun(t *testing.T) {
	g, err := NewGenerator(Config{Workload: Typical, Instances: 2, Partitions: 2, Resume: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	recs := g.Next()
	for _, r := range recs {
		if r.Position <= 1_000_000 {
			t.Fatalf("position %d not after the resume point", r.Position)
		}
		if r.Key&(1<<51-1) <= 1_000_000 {
			t.Fatalf("key %d: counter not after the resume point", r.Key)
		}
	}
}

func TestGeneratorConfigErrors(t *testing.T) {
	tests := []Config{
		{Workload: "huge", Instances: 1},
		{Workload: Typical},
		{Workload: Typical, Instances: 1, Partitions: MaxPartition + 1},
		{Workload: Typical, Instances: 1, IncidentRate: 1.5},
		{Workload: Typical, Instances: 1, CancelRate: -0.1},
		{Workload: Typical, Instances: 1, CancelRate: 0.6, RunningRate: 0.6},
		{Workload: Realistic, Instances: 1, MultiInstanceItems: -1},
		{Workload: Typical, Instances: 1, Resume: -5},
	}
	for _, cfg := range tests {
		if _, err := NewGenerator(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// sameJSON: AppendJSON says what encoding/json says about the record.
func sameJSON(t *testing.T, line []byte, r Record) bool {
	t.Helper()
	std, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	da, db := json.NewDecoder(bytes.NewReader(line)), json.NewDecoder(bytes.NewReader(std))
	da.UseNumber()
	db.UseNumber()
	if err := da.Decode(&a); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if err := db.Decode(&b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b)
}

func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "ctl \x01\n\t\r", "ünï ☃ 😀", "bad \xff utf8", "<html>&"} {
		got := zeebejson.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("%q -> %s -> %q", s, got, back)
		}
	}
}

// BenchmarkDecodeTypical decodes the typical workload's lines, as ingest
// does with what the bench pushes (members in the generator's order).
func BenchmarkDecodeTypical(b *testing.B) {
	g, err := NewGenerator(Config{Workload: Typical, Partitions: 1, Seed: 3, Instances: 100, ChunkRecords: 256, Start: time.UnixMilli(1_763_884_800_000)})
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	size := 0
	for recs := g.Next(); recs != nil; recs = g.Next() {
		for i := range recs {
			l := recs[i].AppendJSON(nil)
			lines = append(lines, l)
			size += len(l)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if _, err := zeebejson.DecodeLenient(l); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/record")
}
