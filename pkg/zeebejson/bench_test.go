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
