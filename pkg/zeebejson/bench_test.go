package zeebejson

import (
	"encoding/json"
	"testing"
)

// benchLines are realistic single records as exporters write them.
var benchLines = []struct{ name, line string }{
	{"process_instance", piLine},
	{"process_instance_8.9", piNewLine},
	{"variable", varLine},
	{"variable_long_value", varLongLine},
	{"job", jobLine},
	{"job_8.8", jobNewLine},
	{"user_task", userTaskLine},
	{"incident", incidentLine},
	{"decision_evaluation", decisionEvaluationLine},
	{"process_with_resource", processLine},
	{"untyped", fooLine},
}

func BenchmarkDecode(b *testing.B) {
	for _, bl := range benchLines {
		line := []byte(bl.line)
		b.Run(bl.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeParallel shows throughput with all cores (GOMAXPROCS).
func BenchmarkDecodeParallel(b *testing.B) {
	line := []byte(piLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Decode(line); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	for _, bl := range benchLines {
		r := mustDecode(b, bl.line)
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendEncode reuses one buffer, as an NDJSON writer would.
func BenchmarkAppendEncode(b *testing.B) {
	for _, bl := range benchLines {
		r := mustDecode(b, bl.line)
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				var err error
				if buf, err = AppendEncode(buf[:0], r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodingJSONBaseline is a point of comparison only: decoding the
// same line into a generic map with encoding/json (numbers as json.Number).
func BenchmarkEncodingJSONBaseline(b *testing.B) {
	line := []byte(piLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAllocations guards the allocation budget the benchmarks report.
// Decode allocates the Record together with its value message (1), then one
// per string that is not a common Zeebe word, list, JSON object text, byte
// field, nested message and present_fields; Encode allocates its output once.
func TestAllocations(t *testing.T) {
	for _, c := range []struct {
		name       string
		line       string
		decodeMax  float64
		encodeWant float64
	}{
		// record, bpmnProcessId, elementId, elementInstancePath (entries,
		// pointers, keys), processDefinitionPath, callingElementPath,
		// present_fields, brokerVersion
		{"process_instance", piLine, 10, 1},
		// record, name, value, bpmnProcessId, present_fields, brokerVersion
		{"variable", varLine, 6, 1},
		{"variable_long_value", varLongLine, 7, 1},
		// record, type, customHeaders, variables, worker, elementId,
		// bpmnProcessId, present_fields, brokerVersion
		{"job", jobLine, 9, 1},
		{"job_8.8", jobNewLine, 16, 1},
		{"decision_evaluation", decisionEvaluationLine, 68, 1},
		// record, value_json, valueType and intent (not common words),
		// rejectionReason, brokerVersion
		{"untyped", fooLine, 6, 1},
	} {
		line := []byte(c.line)
		r := mustDecode(t, c.line)
		if n := testing.AllocsPerRun(50, func() { _, _ = Decode(line) }); n > c.decodeMax {
			t.Errorf("%s: Decode allocates %v times, budget %v", c.name, n, c.decodeMax)
		}
		if n := testing.AllocsPerRun(50, func() { _, _ = Encode(r) }); n != c.encodeWant {
			t.Errorf("%s: Encode allocates %v times, want %v", c.name, n, c.encodeWant)
		}
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(50, func() { buf, _ = AppendEncode(buf[:0], r) }); n != 0 {
			t.Errorf("%s: AppendEncode into a large buffer allocates %v times", c.name, n)
		}
	}
}
