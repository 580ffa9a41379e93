package ingest

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// recordsField is the field number of RecordBatch.records.
const recordsField protowire.Number = 1

// wireRecord is a validated record ready to be stored: its position and its
// protobuf encoding, the bytes of one RecordBatch entry. Records are encoded
// once (NDJSON) or not at all (protobuf requests keep the client's bytes),
// and a JetStream message is their concatenation, so storing costs a copy,
// not a second encoding.
type wireRecord struct {
	position int64
	data     []byte
}

// encodeRecord appends r's encoding to arena and returns it as a wireRecord
// whose data aliases arena's backing array (later appends never touch it).
// The encoder is vtprotobuf's generated one: no reflection.
func encodeRecord(arena []byte, r *recordv1.Record) ([]byte, wireRecord, error) {
	start, size := len(arena), r.SizeVT()
	arena = slices.Grow(arena, size)[:start+size]
	if _, err := r.MarshalToSizedBufferVT(arena[start:]); err != nil {
		return arena[:start], wireRecord{}, fmt.Errorf("encode record at position %d: %w", r.Position, err)
	}
	return arena, wireRecord{position: r.Position, data: arena[start:len(arena):len(arena)]}, nil
}

// encodeRecords encodes records for partitionLog.append.
func encodeRecords(records []*recordv1.Record) ([]wireRecord, error) {
	out := make([]wireRecord, 0, len(records))
	var arena []byte
	for _, r := range records {
		var w wireRecord
		var err error
		if arena, w, err = encodeRecord(arena, r); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// batchEntrySize is what one record adds to an encoded RecordBatch.
func batchEntrySize(w wireRecord) int {
	return protowire.SizeTag(recordsField) + protowire.SizeBytes(len(w.data))
}

// appendBatch encodes records as a RecordBatch into dst.
func appendBatch(dst []byte, records []wireRecord) []byte {
	for _, w := range records {
		dst = protowire.AppendTag(dst, recordsField, protowire.BytesType)
		dst = protowire.AppendBytes(dst, w.data)
	}
	return dst
}

// splitBatch walks an encoded RecordBatch and calls fn with each record's
// bytes (1-based index); fields other than records are skipped, as proto
// unmarshaling would. It fails only on a malformed batch.
func splitBatch(body []byte, fn func(i int, data []byte)) error {
	for i := 1; len(body) > 0; {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return fmt.Errorf("after %d records: %w", i-1, protowire.ParseError(n))
		}
		body = body[n:]
		if num != recordsField || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, body); n < 0 {
				return fmt.Errorf("field %d after %d records: %w", num, i-1, protowire.ParseError(n))
			}
			body = body[n:]
			continue
		}
		data, n := protowire.ConsumeBytes(body)
		if n < 0 {
			return fmt.Errorf("record %d: %w", i, protowire.ParseError(n))
		}
		body = body[n:]
		fn(i, data[:len(data):len(data)])
		i++
	}
	return nil
}
