package wire

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// DecodeDocuments must read exactly what proto.Unmarshal reads, and fail
// where it fails.
func FuzzDecodeDocuments(f *testing.F) {
	batch := &recordv1.DocumentBatch{PartitionId: 3, FirstPosition: 10, LastPosition: 12, Documents: []*recordv1.Document{
		{Family: "flownode-instance", Id: "6755399441059750", Version: 10, Source: []byte(`{"key":1}`), PartitionId: 3, RecordTimestamp: 1764000000000},
		{Family: "no-such-family", Id: "x", Version: -1, Source: []byte(`{}`), PartitionId: 3},
		{Family: "variable", Id: "6755399441059745-amount", Version: 1 << 62},
		{Family: "operate-list-view", Id: "6755399441059750", Version: 11, Source: []byte(`{}`), PartitionId: 3, Routing: "6755399441059745"},
		{},
	}}
	good, err := proto.Marshal(batch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:len(good)-3])                                                            // truncated
	f.Add(protowire.AppendVarint(protowire.AppendTag(good, 9, protowire.VarintType), 7)) // unknown field
	doc := protowire.AppendString(protowire.AppendTag(nil, 2, protowire.BytesType), "\xff\xfe")
	f.Add(protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), doc)) // invalid UTF-8 id
	doc = protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.BytesType), 5)
	f.Add(protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), doc)) // wrong wire type

	f.Add([]byte("\x80\x81\x81\x810\x81\xcc0")) // field number above the largest valid one

	f.Fuzz(func(t *testing.T, data []byte) {
		var got []Document
		err := DecodeDocuments(data, func(d Document) { got = append(got, d) })
		var want recordv1.DocumentBatch
		werr := proto.Unmarshal(data, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeDocuments error %v, proto.Unmarshal error %v", err, werr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want.Documents) {
			t.Fatalf("%d documents, want %d", len(got), len(want.Documents))
		}
		for i, w := range want.Documents {
			g := got[i]
			if string(g.Family) != w.Family || g.ID != w.Id || g.Version != w.Version || !bytes.Equal(g.Source, w.Source) ||
				g.Partition != w.PartitionId || g.Timestamp != w.RecordTimestamp || g.Routing != w.Routing {
				t.Errorf("document %d: %+v, want %v", i, g, w)
			}
		}
	})
}
