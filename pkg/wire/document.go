package wire

import (
	"encoding/binary"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// Document is one document of an encoded DocumentBatch, read without
// copying: Family and Source alias the message, which the caller must keep
// until it is done with them. ID is a string of its own.
type Document struct {
	Family    []byte
	ID        string
	Version   int64
	Source    []byte
	Partition int32
	Timestamp int64  // epoch ms of the newest record folded into it
	Routing   string // "" when routed by its id
}

// Field numbers of DocumentBatch and Document, from their descriptors.
var (
	documentBatchDesc = (&recordv1.DocumentBatch{}).ProtoReflect().Descriptor()
	documentDesc      = (&recordv1.Document{}).ProtoReflect().Descriptor()

	batchDocuments = fieldNumber(documentBatchDesc, "documents")
	documentField  = struct {
		family, id, version, source, partition, timestamp, routing protowire.Number
	}{
		fieldNumber(documentDesc, "family"), fieldNumber(documentDesc, "id"), fieldNumber(documentDesc, "version"),
		fieldNumber(documentDesc, "source"), fieldNumber(documentDesc, "partition_id"), fieldNumber(documentDesc, "record_timestamp"),
		fieldNumber(documentDesc, "routing"),
	}
)

// DecodeDocuments calls each with every document of an encoded
// DocumentBatch, in order, reading exactly what proto.Unmarshal would read
// (unknown fields skipped, strings checked for UTF-8) and failing where it
// fails. On an error each may have been called for the documents before
// the bad one; the message is then not a DocumentBatch.
func DecodeDocuments(data []byte, each func(Document)) error {
	for len(data) > 0 {
		num, typ, n := consumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if num == batchDocuments && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			d, err := decodeDocument(v)
			if err != nil {
				return err
			}
			each(d)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, data) // partition and positions: not needed here
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return nil
}

func decodeDocument(b []byte) (Document, error) {
	var d Document
	f := documentField
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return d, protowire.ParseError(n)
		}
		b = b[n:]
		// Each case consumes the field's value, n being its length; when
		// that is negative (a parse error), v is zero and what it set is
		// dropped with the error.
		switch {
		case typ == protowire.BytesType && (num == f.family || num == f.id || num == f.source || num == f.routing):
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			switch {
			case num == f.source:
				d.Source = v
			case !utf8.Valid(v):
				return d, errNotUTF8
			case num == f.family:
				d.Family = v
			case num == f.routing:
				d.Routing = string(v)
			default:
				d.ID = string(v)
			}
		case typ == protowire.VarintType && (num == f.version || num == f.partition || num == f.timestamp):
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			switch num {
			case f.version:
				d.Version = int64(v)
			case f.partition:
				d.Partition = int32(v)
			case f.timestamp:
				d.Timestamp = int64(v)
			}
		default: // unknown fields are skipped, as proto.Unmarshal keeps them aside
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return d, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return d, nil
}

// consumeTag is protowire.ConsumeTag that also refuses field numbers above
// the largest valid one, as proto.Unmarshal does.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, -2 // protowire.ParseError(-2): invalid field number
	}
	return num, typ, n
}

// CutDocuments cuts docs, in order, into the documents of DocumentBatches
// whose encoding stays within limit bytes; a document larger than limit is
// a batch of its own.
func CutDocuments(docs []*recordv1.Document, limit int) [][]*recordv1.Document {
	const batchOverhead = 3 * (1 + binary.MaxVarintLen64) // partition id, first and last position
	var parts [][]*recordv1.Document
	start, size := 0, batchOverhead
	for i, d := range docs {
		n := d.SizeVT()
		n += 1 + protowire.SizeVarint(uint64(n)) // field tag and length
		if i > start && size+n > limit {
			parts = append(parts, docs[start:i])
			start, size = i, batchOverhead
		}
		size += n
	}
	return append(parts, docs[start:])
}
