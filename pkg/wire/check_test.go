package wire

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/flowline/flowline/internal/dev/simulate"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// wireCorpus is the encoding of a realistic workload's records: every value
// type the generator emits, nested messages and repeated fields included.
func wireCorpus(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, w := range simulate.Workloads() {
		g, err := simulate.NewGenerator(simulate.Config{Workload: w, Instances: 4, Seed: 7, IncidentRate: 0.5,
			CancelRate: 0.3, MultiInstanceItems: 2, Start: time.UnixMilli(1_763_884_800_000)})
		if err != nil {
			t.Fatal(err)
		}
		for recs := g.Next(); recs != nil; recs = g.Next() {
			for _, r := range recs {
				rec, err := zeebejson.Decode(r.JSON())
				if err != nil {
					t.Fatal(err)
				}
				b, err := proto.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// agrees checks CheckRecord against proto.Unmarshal on data: the same
// verdict on the wire, and the same Envelope.
func agrees(t *testing.T, data []byte) {
	t.Helper()
	env, reason := CheckRecord(data)
	var r recordv1.Record
	err := proto.Unmarshal(data, &r)
	if wireBad := strings.HasPrefix(reason, "not a flowline.record.v1.Record"); wireBad != (err != nil) {
		t.Fatalf("CheckRecord says %q, proto.Unmarshal says %v, for %x", reason, err, data)
	}
	if err != nil {
		return
	}
	want := Envelope{Partition: r.PartitionId, Position: r.Position, Event: r.RecordType == "EVENT"}
	if env != want {
		t.Fatalf("Envelope %+v, want %+v", env, want)
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		name string
	}{{r.RecordType != "", "record_type"}, {r.ValueType != "", "value_type"}, {r.Intent != "", "intent"}, {r.Value != nil, "value"}} {
		if !m.ok {
			missing = append(missing, m.name)
		}
	}
	switch {
	case r.PartitionId < 0:
		if !strings.Contains(reason, "negative") {
			t.Fatalf("partition %d: reason %q", r.PartitionId, reason)
		}
	case len(missing) > 0:
		if reason != "missing "+strings.Join(missing, ", ") {
			t.Fatalf("reason %q, want missing %v", reason, missing)
		}
	case reason != "":
		t.Fatalf("valid record rejected: %s", reason)
	}
}

func TestCheckRecordAgreesWithUnmarshal(t *testing.T) {
	corpus := wireCorpus(t)
	types := map[string]bool{}
	for _, b := range corpus {
		var r recordv1.Record
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		types[r.ValueType] = true
	}
	if len(types) < 7 {
		t.Fatalf("corpus covers only %v", types)
	}
	for _, b := range corpus {
		agrees(t, b)
		for cut := range len(b) { // every truncation
			agrees(t, b[:cut])
		}
	}

	rec := &recordv1.Record{PartitionId: 2, Position: 9, RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
		Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "pay", CustomHeadersJson: "{}"}}}
	base, err := proto.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	tag := func(b []byte, num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(b, num, typ)
	}
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(tag(nil, num, protowire.BytesType), s)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	neg := protowire.AppendVarint(tag(nil, 1, protowire.VarintType), func() uint64 { v := int64(-3); return uint64(v) }())
	cases := map[string][]byte{
		"valid":                       base,
		"unknown field":               cat(base, protowire.AppendVarint(tag(nil, 999, protowire.VarintType), 5)),
		"known field, other type":     cat(base, protowire.AppendVarint(tag(nil, 6, protowire.VarintType), 5)),
		"invalid UTF-8 in intent":     cat(base, str(8, "\xff\xfe")),
		"invalid UTF-8 nested":        cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "job"), protowire.BytesType), str(1, "\xc3"))),
		"empty intent wins last":      cat(base, str(8, "")),
		"later position wins":         cat(base, protowire.AppendVarint(tag(nil, 2, protowire.VarintType), 77)),
		"negative partition":          cat(base, neg),
		"no value":                    cat(str(6, "EVENT"), str(7, "JOB"), str(8, "CREATED")),
		"value_json is a value":       cat(str(6, "EVENT"), str(7, "SIGNAL"), str(8, "BROADCASTED"), str(recordFieldNumber(t, "value_json"), "{}")),
		"nothing":                     {},
		"field number zero":           {0x00, 0x01},
		"stray end group":             tag(nil, 5, protowire.EndGroupType),
		"group as unknown field":      cat(base, tag(nil, 500, protowire.StartGroupType), tag(nil, 500, protowire.EndGroupType)),
		"unterminated group":          cat(base, tag(nil, 500, protowire.StartGroupType)),
		"overlong varint":             cat(tag(nil, 2, protowire.VarintType), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
		"length beyond the end":       cat(tag(nil, 6, protowire.BytesType), []byte{0x10, 'E'}),
		"nested message truncated":    cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "job"), protowire.BytesType), []byte{0x0a, 0x05, 'a'})),
		"packed repeated, truncated":  cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "process_instance"), protowire.BytesType), protowire.AppendBytes(tag(nil, 13, protowire.BytesType), []byte{0x80}))),
		"packed repeated, valid":      cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "process_instance"), protowire.BytesType), protowire.AppendBytes(tag(nil, 13, protowire.BytesType), []byte{0x01, 0x02}))),
		"unpacked repeated in nested": cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "process_instance"), protowire.BytesType), protowire.AppendVarint(tag(nil, 13, protowire.VarintType), 4))),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) { agrees(t, data) })
	}
}

func recordFieldNumber(t *testing.T, name string) protowire.Number {
	fd := recordDesc.Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		t.Fatalf("Record has no field %s", name)
	}
	return fd.Number()
}

// FuzzCheckRecord: on any input, CheckRecord and proto.Unmarshal agree.
func FuzzCheckRecord(f *testing.F) {
	for _, b := range wireCorpus(f)[:200] {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { agrees(t, data) })
}

func TestCheckRecordDoesNotAllocate(t *testing.T) {
	corpus := wireCorpus(t)
	if n := testing.AllocsPerRun(10, func() {
		for _, b := range corpus {
			if _, reason := CheckRecord(b); reason != "" {
				t.Fatal(reason)
			}
		}
	}); n != 0 {
		t.Errorf("%v allocations per corpus pass", n)
	}
}

func BenchmarkCheckRecord(b *testing.B) {
	corpus := wireCorpus(b)
	size := 0
	for _, c := range corpus {
		size += len(c)
	}
	b.SetBytes(int64(size / len(corpus)))
	b.Run("CheckRecord", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			CheckRecord(corpus[i%len(corpus)])
		}
	})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			var r recordv1.Record
			_ = proto.Unmarshal(corpus[i%len(corpus)], &r)
		}
	})
}

// BenchmarkEncodeRecord compares ingest's encoder (vtprotobuf's generated
// code) with the reflection-based proto.MarshalAppend on a realistic corpus.
func BenchmarkEncodeRecord(b *testing.B) {
	var recs []*recordv1.Record
	for _, data := range wireCorpus(b) {
		r := &recordv1.Record{}
		if err := proto.Unmarshal(data, r); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, r)
	}
	arena := make([]byte, 0, 1<<20)
	b.Run("EncodeRecord", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if len(arena) > 1<<19 {
				arena = arena[:0]
			}
			arena, _, _ = EncodeRecord(arena, recs[i%len(recs)])
		}
	})
	b.Run("proto.MarshalAppend", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if len(arena) > 1<<19 {
				arena = arena[:0]
			}
			arena, _ = proto.MarshalOptions{}.MarshalAppend(arena, recs[i%len(recs)])
		}
	})
}
