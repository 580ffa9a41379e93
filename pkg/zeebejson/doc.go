// Package zeebejson converts Zeebe (Camunda 8) partition records between the
// JSON that Zeebe's Elasticsearch exporter writes (one object per line) and
// recordv1.Record.
//
// Decode reads one line; Encode and AppendEncode write one. Decoding then
// encoding reproduces the input semantically: the same keys with the same
// values, numbers exactly (keys and positions are int64 throughout and never
// pass through float64). The exceptions:
//
//   - Optional envelope fields the input lacked are written with the
//     defaults Decode gave them: sourceRecordPosition -1, rejectionType
//     "NULL_VAL", rejectionReason "", brokerVersion "", recordVersion 0,
//     operationReference -1, batchOperationReference -1. An absent
//     "authorizations" stays absent.
//   - Output is compact, keys in a fixed order (see Encode); raw JSON kept as
//     text (value_json, authorizations_json, extra_json) keeps its member
//     order, escapes and number literals but loses insignificant whitespace.
//   - In fields decoded into Go strings, escapes are resolved, and a lone
//     UTF-16 surrogate escape such as "\ud800" becomes U+FFFD, as
//     encoding/json does. An integer written "-0" comes back as 0.
//
// # Values
//
// A PROCESS_INSTANCE value is decoded into recordv1.ProcessInstanceValue.
// Every known value field that was present is listed in present_fields (in
// the order Encode writes them); absent ones get Zeebe's defaults (-1 for
// keys and version, "" for bpmnProcessId, elementId and businessId,
// "UNSPECIFIED" for bpmnElementType and bpmnEventType, "<default>" for
// tenantId, empty lists). Encode writes the fields in present_fields plus any
// field whose value differs from that default, so a decoded record comes back
// with exactly the fields it arrived with, and a record built in Go without
// present_fields loses nothing it set. Unknown value fields go to the
// value's extra_json. Every other value type, known or not, is kept as its
// compacted JSON object text in value_json.
//
// # Validation
//
// Decode accepts only RFC 8259 JSON (UTF-8, no trailing data other than
// whitespace) whose top level is an object with the required fields
// partitionId (0..2^31-1), position, key, timestamp (int64), recordType,
// valueType, intent (non-empty strings) and value (an object). Integer fields
// take only integer literals in range: 1.5, 1e3, "12" and null are errors.
// A known field may not occur twice in one object. Unknown envelope fields
// are kept in extra_json, unknown record and value types and intents pass.
//
// Every error wraps ErrInvalidRecord. Malformed JSON is a *SyntaxError with
// a byte offset; a record that does not fit is a *FieldError naming the
// field ("position", "value.processInstanceKey", "value.tags[2]"). When
// several things are wrong, Decode reports a syntax error first, then the
// first mistyped or duplicated field in document order (envelope before the
// PROCESS_INSTANCE value), then the first missing required field.
//
// Decode, Encode and AppendEncode are safe for concurrent use.
package zeebejson
