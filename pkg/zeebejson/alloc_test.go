//go:build !race

// The race detector changes allocation behaviour (sync.Pool drops items at
// random under -race), so allocation budgets are checked in normal builds
// only; scripts/test.sh runs them in its non-race pass.

package zeebejson

import "testing"

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
