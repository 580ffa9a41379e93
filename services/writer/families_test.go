package writer

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// Documents of families the writer does not know are kept apart by family:
// two unknown families with the same id are two documents (each to be
// dead-lettered with a reason naming its family), not one; within one
// family the newest version still wins.
func TestUnknownFamiliesWithTheSameIDAreKeptApart(t *testing.T) {
	data, err := proto.Marshal(&recordv1.DocumentBatch{PartitionId: 1, Documents: []*recordv1.Document{
		{Family: "alpha", Id: "7", Version: 1, Source: []byte(`{"a":1}`)},
		{Family: "beta", Id: "7", Version: 1, Source: []byte(`{"b":1}`)},
		{Family: string(schema.FlowNodeInstance), Id: "7", Version: 1, Source: []byte(`{"f":1}`)},
		{Family: "alpha", Id: "7", Version: 2, Source: []byte(`{"a":2}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := decodeDocuments(data, newFamilies("p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := &fetchBatch{at: map[docKey]int{}}
	for _, d := range docs {
		fb.add(d)
	}
	got := map[string]string{} // family -> source
	for _, d := range fb.docs {
		fam := d.unknown
		if d.family != 0 {
			fam = string(schema.FlowNodeInstance)
		}
		got[fam] = string(d.op.Source)
	}
	want := map[string]string{"alpha": `{"a":2}`, "beta": `{"b":1}`, string(schema.FlowNodeInstance): `{"f":1}`}
	if len(fb.docs) != len(want) || len(got) != len(want) {
		t.Fatalf("documents after dedupe: %v, want %v", got, want)
	}
	for fam, src := range want {
		if got[fam] != src {
			t.Errorf("family %s: source %s, want %s", fam, got[fam], src)
		}
	}
	for _, d := range fb.docs {
		if d.family != 0 {
			continue
		}
		if r := unknownFamilyReason(d); !strings.Contains(r, `"`+d.unknown+`"`) {
			t.Errorf("dead-letter reason of a %s document does not name its family: %s", d.unknown, r)
		}
	}
}
