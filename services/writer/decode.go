package writer

import (
	"errors"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of flowline.record.v1.DocumentBatch and Document (see
// proto/flowline/record/v1/document.proto).
const (
	batchDocuments = 4

	docFamily          = 1
	docID              = 2
	docVersion         = 3
	docSource          = 4
	docPartitionID     = 5
	docRecordTimestamp = 6
)

var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// decodeDocuments appends the documents of an encoded DocumentBatch to out,
// as proto.Unmarshal would read them but without copying: each source
// aliases data, which the fetch holds until its messages are acked. A
// document's family is mapped to its number and index through fams (0 and
// "" when unknown). On an error out may hold some of the documents; the message is
// then not a DocumentBatch.
func decodeDocuments(data []byte, fams *families, out []doc) ([]doc, error) {
	for len(data) > 0 {
		num, typ, n := consumeTag(data)
		if n < 0 {
			return out, protowire.ParseError(n)
		}
		data = data[n:]
		if num == batchDocuments && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return out, protowire.ParseError(n)
			}
			data = data[n:]
			d, err := decodeDocument(v, fams)
			if err != nil {
				return out, err
			}
			out = append(out, d)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, data) // partition and positions: unused here
		if n < 0 {
			return out, protowire.ParseError(n)
		}
		data = data[n:]
	}
	return out, nil
}

func decodeDocument(b []byte, fams *families) (doc, error) {
	var d doc
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return d, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && (num == docFamily || num == docID || num == docSource):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return d, protowire.ParseError(n)
			}
			b = b[n:]
			switch num {
			case docFamily:
				if !utf8.Valid(v) {
					return d, errInvalidUTF8
				}
				d.family = fams.num[string(v)]
				d.op.Index = fams.index[d.family]
			case docID:
				if !utf8.Valid(v) {
					return d, errInvalidUTF8
				}
				d.op.ID = string(v)
			case docSource:
				d.op.Source = v
			}
		case typ == protowire.VarintType && (num == docVersion || num == docPartitionID || num == docRecordTimestamp):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return d, protowire.ParseError(n)
			}
			b = b[n:]
			switch num {
			case docVersion:
				d.op.Version = int64(v)
			case docPartitionID:
				d.partition = int32(v)
			case docRecordTimestamp:
				d.timestamp = int64(v)
			}
		default: // unknown fields are skipped, as proto.Unmarshal keeps them aside
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return d, protowire.ParseError(n)
			}
			b = b[n:]
		}
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
