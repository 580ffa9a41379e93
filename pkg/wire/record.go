// Package wire owns Flowline's protobuf framing on JetStream: a record
// message is an encoded flowline.record.v1.RecordBatch (ingest writes it, the
// aggregator reads it) and a document message an encoded DocumentBatch (the
// aggregator writes it, the writer reads it). It frames and splits record
// batches without re-encoding their records, checks an encoded Record the
// way proto.Unmarshal would without building it, and decodes documents
// without copying their sources. Field numbers come from the generated
// descriptors, never typed by hand. Everything here is pure and safe for
// concurrent use.
package wire

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// batchRecords is the field number of RecordBatch.records.
var batchRecords = fieldNumber(recordBatchDesc, "records")

// Record is a validated record ready to be stored: its position and its
// protobuf encoding, the bytes of one RecordBatch entry. Records are encoded
// once (NDJSON) or not at all (protobuf requests keep the client's bytes),
// and a JetStream message is their concatenation, so storing costs a copy,
// not a second encoding. Data may alias a larger buffer owned by the caller.
type Record struct {
	Position int64
	Data     []byte
}

// EncodeRecord appends r's encoding to arena and returns it as a Record
// whose data aliases arena's backing array (later appends never touch it).
// The encoder is vtprotobuf's generated one: no reflection.
func EncodeRecord(arena []byte, r *recordv1.Record) ([]byte, Record, error) {
	start, size := len(arena), r.SizeVT()
	arena = slices.Grow(arena, size)[:start+size]
	if _, err := r.MarshalToSizedBufferVT(arena[start:]); err != nil {
		return arena[:start], Record{}, fmt.Errorf("encode record at position %d: %w", r.Position, err)
	}
	return arena, Record{Position: r.Position, Data: arena[start:len(arena):len(arena)]}, nil
}

// EncodeRecords encodes records, each into its own slice of one new arena.
func EncodeRecords(records []*recordv1.Record) ([]Record, error) {
	out := make([]Record, 0, len(records))
	var arena []byte
	for _, r := range records {
		var w Record
		var err error
		if arena, w, err = EncodeRecord(arena, r); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// BatchEntrySize is what one record adds to an encoded RecordBatch.
func BatchEntrySize(w Record) int {
	return protowire.SizeTag(batchRecords) + protowire.SizeBytes(len(w.Data))
}

// AppendBatch encodes records as a RecordBatch into dst.
func AppendBatch(dst []byte, records []Record) []byte {
	for _, w := range records {
		dst = protowire.AppendTag(dst, batchRecords, protowire.BytesType)
		dst = protowire.AppendBytes(dst, w.Data)
	}
	return dst
}

// SplitBatch walks an encoded RecordBatch and calls fn with each record's
// bytes (1-based index); fields other than records are skipped, as proto
// unmarshaling would. It fails only on a malformed batch.
func SplitBatch(body []byte, fn func(i int, data []byte)) error {
	for i := 1; len(body) > 0; {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return fmt.Errorf("after %d records: %w", i-1, protowire.ParseError(n))
		}
		body = body[n:]
		if num != batchRecords || typ != protowire.BytesType {
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
