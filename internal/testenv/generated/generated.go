// Package generated reads what `flowline generate --out` wrote, for the tests
// that compare it with what arrived: the CLI's own tests and test/e2e.
package generated

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// File is what a file of generated records holds.
type File struct {
	Records    int
	Partitions map[int32]bool
	Instances  map[int64]string // process instance key -> last lifecycle intent of its process element
	Roots      map[int64]bool
	FlowNodes  map[int64]bool
	Incidents  map[int64]string // key -> last intent
	Tasks      map[int64]string
	Decisions  int // evaluated decisions (one decision-instance document each)
}

// Read decodes every line of a generate --out file strictly and
// checks that positions increase per partition.
func Read(t testing.TB, path string) File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not gzip: %v", path, err)
		}
		r = gz
	}
	out := File{Partitions: map[int32]bool{}, Instances: map[int64]string{}, Roots: map[int64]bool{}, FlowNodes: map[int64]bool{},
		Incidents: map[int64]string{}, Tasks: map[int64]string{}}
	last := map[int32]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		rec, err := zeebejson.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", out.Records+1, err)
		}
		out.Records++
		if rec.Position <= last[rec.PartitionId] {
			t.Fatalf("line %d: position %d after %d on partition %d", out.Records, rec.Position, last[rec.PartitionId], rec.PartitionId)
		}
		last[rec.PartitionId] = rec.Position
		out.Partitions[rec.PartitionId] = true
		switch v := rec.Value.(type) {
		case *recordv1.Record_ProcessInstance:
			switch {
			case rec.Intent == "SEQUENCE_FLOW_TAKEN":
			case v.ProcessInstance.BpmnElementType == "PROCESS":
				out.Instances[rec.Key] = rec.Intent
				if v.ProcessInstance.ParentProcessInstanceKey == -1 {
					out.Roots[rec.Key] = true
				}
			default:
				out.FlowNodes[rec.Key] = true
			}
		case *recordv1.Record_Incident:
			out.Incidents[rec.Key] = rec.Intent
		case *recordv1.Record_UserTask:
			out.Tasks[rec.Key] = rec.Intent
		case *recordv1.Record_DecisionEvaluation:
			out.Decisions += len(v.DecisionEvaluation.EvaluatedDecisions)
		case *recordv1.Record_ValueJson:
			t.Fatalf("line %d: %s value not typed", out.Records, rec.ValueType)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Count counts the entries of m whose value is one of states.
func Count(m map[int64]string, states ...string) int {
	n := 0
	for _, s := range m {
		for _, want := range states {
			if s == want {
				n++
			}
		}
	}
	return n
}
