package zeebejson

import (
	"strconv"

	"github.com/flowline/flowline/pkg/jsonstring"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// Encode renders a Record as Zeebe JSON (the inverse of Decode): every field
// Decode read comes back with the same value; keys in a stable order.
//
// The output is one compact JSON object without a trailing newline. Envelope
// keys come in this order: partitionId, position, sourceRecordPosition, key,
// timestamp, recordType, valueType, intent, rejectionType, rejectionReason,
// brokerVersion, recordVersion, operationReference, batchOperationReference,
// authorizations (only if authorizations_json is set), the members of
// extra_json, value. All envelope fields except authorizations are always
// written, so fields the input lacked appear with the defaults Decode gave
// them (sourceRecordPosition -1, rejectionType "NULL_VAL", rejectionReason "",
// brokerVersion "", recordVersion 0, operationReference -1,
// batchOperationReference -1).
//
// A typed value (ProcessInstanceValue, JobValue, ...; nested messages alike)
// is written with the fields listed in present_fields (by name) or
// present_field_numbers (by number) plus any field whose value differs from
// its absent-default, in a fixed order (Zeebe's, as in
// its JSON serialization tests), then the members of its extra_json; bytes
// as standard base64, "<name>_json" fields as the JSON object they hold.
// value_json, authorizations_json, the "<name>_json" fields and extra_json
// must hold JSON objects; they are validated and compacted, and an
// extra_json may not repeat a field the schema knows. A typed value must
// come with its own value type (a JobValue with "JOB"), as Decode would read
// it back; value_json goes with any value type. Errors wrap
// ErrInvalidRecord and name the Record's field by its protobuf path
// ("job.variables_json",
// "decision_evaluation.evaluated_decisions[1].present_fields").
func Encode(r *recordv1.Record) ([]byte, error) {
	return AppendEncode(make([]byte, 0, sizeHint(r)), r)
}

// AppendEncode appends the JSON to dst (for building NDJSON cheaply). On
// error it returns dst unchanged (though bytes past len(dst) may have been
// overwritten).
func AppendEncode(dst []byte, r *recordv1.Record) ([]byte, error) {
	out, err := appendRecord(dst, r)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func sizeHint(r *recordv1.Record) int {
	if r == nil {
		return 0
	}
	n := 360 + len(r.RecordType) + len(r.ValueType) + len(r.Intent) + len(r.RejectionType) +
		len(r.RejectionReason) + len(r.BrokerVersion) + len(r.AuthorizationsJson) + len(r.ExtraJson)
	if v, ok := r.Value.(*recordv1.Record_ValueJson); ok {
		n += len(v.ValueJson)
	} else {
		n += valueSize(r)
	}
	return n
}

func appendRecord(dst []byte, r *recordv1.Record) ([]byte, error) {
	if r == nil {
		return dst, &FieldError{Msg: "nil record"}
	}
	if r.PartitionId < 0 {
		return dst, encodeError("partition_id", "must not be negative, got %d", r.PartitionId)
	}
	for _, f := range [...]struct{ name, v string }{
		{"record_type", r.RecordType}, {"value_type", r.ValueType}, {"intent", r.Intent},
	} {
		if f.v == "" {
			return dst, encodeError(f.name, "must not be empty")
		}
	}
	// One member a line, written out: a loop over a table of them costs
	// small records some 5% of Encode.
	dst = strconv.AppendInt(append(dst, `{"partitionId":`...), int64(r.PartitionId), 10)
	dst = strconv.AppendInt(append(dst, `,"position":`...), r.Position, 10)
	dst = strconv.AppendInt(append(dst, `,"sourceRecordPosition":`...), r.SourceRecordPosition, 10)
	dst = strconv.AppendInt(append(dst, `,"key":`...), r.Key, 10)
	dst = strconv.AppendInt(append(dst, `,"timestamp":`...), r.Timestamp, 10)
	dst = AppendString(append(dst, `,"recordType":`...), r.RecordType)
	dst = AppendString(append(dst, `,"valueType":`...), r.ValueType)
	dst = AppendString(append(dst, `,"intent":`...), r.Intent)
	dst = AppendString(append(dst, `,"rejectionType":`...), r.RejectionType)
	dst = AppendString(append(dst, `,"rejectionReason":`...), r.RejectionReason)
	dst = AppendString(append(dst, `,"brokerVersion":`...), r.BrokerVersion)
	dst = strconv.AppendInt(append(dst, `,"recordVersion":`...), int64(r.RecordVersion), 10)
	dst = strconv.AppendInt(append(dst, `,"operationReference":`...), r.OperationReference, 10)
	dst = strconv.AppendInt(append(dst, `,"batchOperationReference":`...), r.BatchOperationReference, 10)
	var err error
	if r.AuthorizationsJson != "" {
		dst = append(dst, `,"authorizations":`...)
		if dst, err = appendRawObject(dst, r.AuthorizationsJson, "authorizations_json"); err != nil {
			return dst, err
		}
	}
	if r.ExtraJson != "" {
		if dst, err = appendMembers(dst, r.ExtraJson, "extra_json", isEnvelopeKey); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"value":`...)
	if v, ok := r.Value.(*recordv1.Record_ValueJson); ok {
		if dst, err = appendRawObject(dst, v.ValueJson, "value_json"); err != nil {
			return dst, err
		}
	} else {
		var typed bool
		if dst, typed, err = appendValue(dst, r); err != nil {
			return dst, err
		}
		if !typed {
			return dst, encodeError("value", "record has no value")
		}
	}
	return append(dst, '}'), nil
}

func isEnvelopeKey(k []byte) bool { return envelopeField(k) >= 0 }

func appendInt64s(dst []byte, vs []int64) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, v, 10)
	}
	return append(dst, ']')
}

// appendRawObject appends text, which must be a JSON object, compacted.
func appendRawObject(dst []byte, text, field string) ([]byte, error) {
	mark := len(dst)
	dst = append(dst, text...)
	s := scanner{data: dst[mark:]}
	s.skipWS()
	lead := s.pos
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		if err := s.skipValue(0); err != nil {
			return dst[:mark], rawError(field, err)
		}
		return dst[:mark], typeError(field, "object", s.data[lead:s.pos])
	}
	_, ws, err := s.skipRaw()
	if err == nil {
		err = s.checkEnd()
	}
	if err != nil {
		return dst[:mark], rawError(field, err)
	}
	if lead > 0 || ws || s.ws {
		// Compact in place: the write position never passes the read position.
		dst = appendCompact(dst[:mark], s.data)
	}
	return dst, nil
}

// appendMembers appends the members of the JSON object text, compacted and
// each preceded by a comma. No key may satisfy known.
func appendMembers(dst []byte, text, field string, known func([]byte) bool) ([]byte, error) {
	mark := len(dst)
	dst = append(dst, ',')
	dst = append(dst, text...)
	s := scanner{data: dst[mark+1:]}
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		lead := s.pos
		if err := s.skipValue(0); err != nil {
			return dst[:mark], rawError(field, err)
		}
		return dst[:mark], typeError(field, "object", s.data[lead:s.pos])
	}
	if s.open('}') {
		for {
			k, _, err := s.readKey()
			if err != nil {
				return dst[:mark], rawError(field, err)
			}
			if known(k) {
				return dst[:mark], encodeError(field, "holds known field %q", k)
			}
			if err := s.skipValue(1); err != nil {
				return dst[:mark], rawError(field, err)
			}
			more, err := s.nextMember()
			if err != nil {
				return dst[:mark], rawError(field, err)
			}
			if !more {
				break
			}
		}
	}
	if err := s.checkEnd(); err != nil {
		return dst[:mark], rawError(field, err)
	}
	// ",{a:1,b:2}" -> ",a:1,b:2"
	dst = appendCompact(dst[:mark+1], s.data)
	body := dst[mark+2 : len(dst)-1]
	if len(body) == 0 {
		return dst[:mark], nil
	}
	copy(dst[mark+1:], body)
	return dst[:mark+1+len(body)], nil
}

func rawError(field string, err error) error {
	if se, ok := err.(*SyntaxError); ok {
		return &FieldError{Field: field, Msg: "invalid JSON: " + se.Msg + " at offset " + strconv.Itoa(se.Offset)}
	}
	return err
}

// AppendString appends s as a JSON string, as Encode writes strings. Only
// '"', '\\' and control characters are escaped; invalid UTF-8 becomes
// U+FFFD, as in encoding/json. It is jsonstring.Append, kept here for the
// callers that build Zeebe JSON by hand.
func AppendString(dst []byte, s string) []byte { return jsonstring.Append(dst, s) }
