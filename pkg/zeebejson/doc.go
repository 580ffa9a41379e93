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
//     text (value_json, authorizations_json, extra_json, the "<name>_json"
//     fields of typed values) keeps its member order, escapes and number
//     literals but loses insignificant whitespace.
//   - In fields decoded into Go strings, escapes are resolved, and a lone
//     UTF-16 surrogate escape such as "\ud800" becomes U+FFFD, as
//     encoding/json does. An integer written "-0" comes back as 0.
//
// # Values
//
// Values of these value types are decoded into typed messages, the Record
// oneof member named after the value type:
//
//	PROCESS_INSTANCE       process_instance       ProcessInstanceValue
//	PROCESS                process                ProcessValue
//	DECISION_REQUIREMENTS  decision_requirements  DecisionRequirementsValue
//	DECISION               decision               DecisionValue
//	FORM                   form                   FormValue
//	VARIABLE               variable               VariableValue
//	INCIDENT               incident               IncidentValue
//	JOB                    job                    JobValue
//	USER_TASK              user_task              UserTaskValue
//	DECISION_EVALUATION    decision_evaluation    DecisionEvaluationValue
//
// Every other value type, known or not, is kept as its compacted JSON object
// text in value_json. The exporter writes "value" before "valueType": Decode
// validates the value and notes where its members are, and decodes them once
// the value type is known, so field order never matters.
//
// Every known value field that was present while holding the value an
// absent field gets (below) is listed by protobuf field number in the
// message's present_field_numbers (in the order Encode writes them), at
// every level (DECISION_EVALUATION's evaluatedDecisions, their
// evaluatedInputs and matchedRules, and those rules' evaluatedOutputs are
// nested messages with their own lists and extra_json); the other present
// fields need no listing, since Encode writes every field that differs from
// that value. (Listing every present field by name, in present_fields, cost
// 45 % of a typical record's encoding; Encode still reads such lists.)
// Absent fields get Zeebe's
// defaults: -1 for keys, versions, timestamps, deadlines and ruleIndex; ""
// for strings except tenantId "<default>", decisionOutput "null" (of a
// DECISION_EVALUATION), enum-like strings their Zeebe default
// ("UNSPECIFIED" for bpmnElementType, bpmnEventType, elementType and
// jobListenerEventType, "BPMN_ELEMENT" for jobKind, "UNKNOWN" for
// errorType); priority 50 for a USER_TASK, 0 for a JOB; 0 for retryBackoff
// and ordinalKey; false; empty lists and bytes; "" for JSON object text.
// Encode writes the fields listed in present_fields or
// present_field_numbers plus any field whose value differs from that
// default, so a decoded record comes back with exactly the
// fields it arrived with, and a record built in Go without present_fields
// loses nothing it set. Unknown value fields go to the message's extra_json.
//
// Free-form JSON objects (variables, customHeaders, a job's result, a
// variable's source) are kept as their compacted JSON text in "<name>_json"
// fields and must be objects. JSON text that Zeebe writes inside a string (a
// variable's value, decision outputs, evaluated input and output values)
// stays a string. checksum and resource are base64 in JSON and bytes in the
// message: Decode accepts only canonical standard base64 (RFC 4648 alphabet
// with padding, zero padding bits, no line breaks), which is what Zeebe
// writes and exactly what Encode writes back; anything else is a field error
// rather than bytes that would not come back as the same text.
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
// field by its JSON path ("position", "value.processInstanceKey",
// "value.tags[2]", "value.evaluatedDecisions[0].matchedRules[1].ruleIndex").
// When
// several things are wrong, Decode reports a syntax error first, then the
// first mistyped or duplicated field in document order (envelope before the
// value), then the first missing required field, then the first mistyped or
// duplicated field of the value.
//
// Decode, Encode and AppendEncode are safe for concurrent use.
package zeebejson
