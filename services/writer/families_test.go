package writer

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
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
	docs, err := decodeDocuments(data, "flowline.docs.1", 1, newFamilies(config.SchemaFlowline, "p"), nil)
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

// The writer numbers the schema's families from 1 in their order (the
// Zeebe families keep 1 to 12, the Camunda 7 families follow), names each
// number's family in dead letters (familyName), and writes each family to
// its runtime index.
func TestFamilyNumbers(t *testing.T) {
	fams := newFamilies(config.SchemaFlowline, "p")
	for _, tt := range []struct {
		f schema.Family
		n uint8
	}{
		{schema.Process, 1}, {schema.ListView, 5}, {schema.DecisionInstance, 12},
		{schema.C7Process, 13}, {schema.C7ListView, 16}, {schema.C7DecisionInstance, 21},
	} {
		if got := fams.num[string(tt.f)]; got != tt.n {
			t.Errorf("%s: number %d, want %d", tt.f, got, tt.n)
		}
	}
	for _, f := range schema.Families {
		n, ok := fams.num[string(f)]
		if !ok || n == 0 {
			t.Errorf("%s: not numbered", f)
			continue
		}
		if got := fams.familyName(n); got != string(f) {
			t.Errorf("familyName(%d) = %q, want %q", n, got, f)
		}
		if got, want := fams.index[n], schema.RuntimeIndex("p", f); got != want {
			t.Errorf("%s: index %q, want %q", f, got, want)
		}
	}
	if len(fams.num) != len(schema.Families) || len(fams.index) != len(schema.Families)+1 {
		t.Errorf("%d numbers and %d indices for %d families", len(fams.num), len(fams.index), len(schema.Families))
	}
	for _, n := range []uint8{0, uint8(len(schema.Families) + 1)} {
		if got := fams.familyName(n); got != "" {
			t.Errorf("familyName(%d) = %q, want none", n, got)
		}
	}
}

// In the operate schema the families are Camunda's indices, written to
// their runtime names ([<prefix>-]<component>-<name>-<version>_).
func TestOperateFamilies(t *testing.T) {
	for _, prefix := range []string{"", "c8"} {
		fams := newFamilies(config.SchemaOperate, prefix)
		if len(fams.num) != len(operate.Indices) {
			t.Fatalf("%d families for %d indices", len(fams.num), len(operate.Indices))
		}
		n := fams.num["operate-list-view"]
		want := "operate-list-view-8.3.0_"
		if prefix != "" {
			want = prefix + "-" + want
		}
		if n == 0 || fams.index[n] != want || fams.familyName(n) != "operate-list-view" {
			t.Errorf("prefix %q: operate-list-view is number %d, index %q; want %q", prefix, n, fams.index[n], want)
		}
		if _, known := fams.num["list-view"]; known {
			t.Errorf("prefix %q: Flowline's list-view family is known in the operate schema", prefix)
		}
	}
}
