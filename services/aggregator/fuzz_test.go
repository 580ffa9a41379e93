package aggregator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// FuzzFold folds any sequence of records into a partition state and renders
// the changed documents, as the worker does. Input: NDJSON lines in Zeebe's
// record format (every golden fixture is a seed; testdata/fuzz/FuzzFold
// holds what fuzzing added). Lines that do not decode are skipped and the
// records the worker would dead-letter are dropped, as ingest and the
// worker drop them. Whatever the sequence (out of order, duplicated, a
// variable before its instance, an incident without a job, a BPMN that
// does not parse, unknown value types and intents): no panic, no error
// from the fold, and memory bounded by the input: the state remembers at
// most one entity per record folded and the rendered documents are at most
// a constant factor larger than the records they come from.
func FuzzFold(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.ndjson")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"partitionId":5,"position":1,"key":9,"timestamp":1,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","value":{"name":"v","value":"1","scopeKey":7,"processInstanceKey":7,"processDefinitionKey":3,"bpmnProcessId":"p","tenantId":"<default>"}}`))
	f.Fuzz(func(t *testing.T, ndjson []byte) {
		const p = 5
		st := newPartitionState(p)
		folder := newRecordFolder(context.Background(), st, newDefinitions(&memDefinitions{}, 10), nil, config.SchemaFlowline)
		folded := 0
		for line := range bytes.Lines(ndjson) {
			r, err := zeebejson.DecodeLenient(bytes.TrimSpace(line))
			if err != nil {
				continue
			}
			r.PartitionId = p
			if recordProblem(r, p) != "" {
				continue
			}
			if err := folder.apply(r); err != nil {
				t.Fatalf("fold of the record at position %d: %v", r.Position, err)
			}
			folded++
		}
		if n := st.active(); n > folded {
			t.Fatalf("state remembers %d entities after %d records", n, folded)
		}
		docs, _ := folder.ch.documents(p) // documents that cannot be rendered are dead-lettered by the worker
		size := 0
		for _, d := range docs {
			size += len(d.Source) + len(d.Id)
		}
		if limit := 64*len(ndjson) + 64<<10; size > limit {
			t.Fatalf("%d bytes of documents from %d bytes of records", size, len(ndjson))
		}
	})
}
