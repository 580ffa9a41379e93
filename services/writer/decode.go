package writer

import (
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/wire"
)

// decodeDocuments appends the documents of an encoded DocumentBatch to out
// (see wire.DecodeDocuments: sources alias data, which the fetch holds until
// its messages are acked). A document's family is mapped to its number and
// index through fams (0 and "" when unknown, with the family's name kept
// in unknown); each document keeps the message's subject and stream
// sequence seq (0 when unknown). On an error out
// may hold some of the documents; the message is then not a DocumentBatch.
func decodeDocuments(data []byte, subject string, seq uint64, fams *families, out []doc) ([]doc, error) {
	err := wire.DecodeDocuments(data, func(d wire.Document) {
		family, known := fams.num[string(d.Family)]
		var unknown string
		if !known {
			unknown = string(d.Family)
		}
		out = append(out, doc{
			op:     search.Op{Index: fams.index[family], ID: d.ID, Routing: d.Routing, Version: d.Version, Source: d.Source},
			family: family, unknown: unknown, partition: d.Partition, timestamp: d.Timestamp, subject: subject, seq: seq,
		})
	})
	return out, err
}
