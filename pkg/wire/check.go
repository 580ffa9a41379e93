package wire

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// A protobuf request's records are stored as the client encoded them, so
// ingest only has to know that each one is what proto.Unmarshal would
// accept as a flowline.record.v1.Record, and read its Envelope. CheckRecord
// does both on the wire, walking the bytes against the message descriptors
// without building a message: no allocation, a few hundred nanoseconds a
// record instead of the microseconds of a full unmarshal. It also checks
// the rules every stored record keeps whatever its source (the JSON-text
// fields hold JSON, no negative partition or position), so ingest runs it
// on NDJSON records once encoded too, and the Zeebe import and replay on
// theirs. Descriptors are immutable, so all of this is safe for concurrent
// use.

// Envelope is what ingest needs of a record besides its bytes.
type Envelope struct {
	Partition int32
	Position  int64
	Event     bool // record_type is EVENT
}

// maxWireDepth bounds message nesting, as proto.Unmarshal's default
// recursion limit does.
const maxWireDepth = 10000

var (
	recordDesc      = (&recordv1.Record{}).ProtoReflect().Descriptor()
	recordBatchDesc = (&recordv1.RecordBatch{}).ProtoReflect().Descriptor()
	errNotUTF8      = errors.New("string field contains invalid UTF-8")
	errNotJSON      = errors.New("not valid JSON text")
	errFieldNumber  = errors.New("invalid field number")
	errTooDeep      = errors.New("exceeded maximum recursion depth")
	// recordField holds the numbers of the Envelope fields CheckRecord reads.
	recordField = struct{ partition, position, recordType, valueType, intent protowire.Number }{
		fieldNumber(recordDesc, "partition_id"), fieldNumber(recordDesc, "position"), fieldNumber(recordDesc, "record_type"),
		fieldNumber(recordDesc, "value_type"), fieldNumber(recordDesc, "intent"),
	}
)

// fieldNumber is the number of md's field name; it panics at start-up if
// the schema lost the field.
func fieldNumber(md protoreflect.MessageDescriptor, name protoreflect.Name) protowire.Number {
	fd := md.Fields().ByName(name)
	if fd == nil {
		panic(fmt.Sprintf("wire: %s has no field %s", md.FullName(), name))
	}
	return fd.Number()
}

// ErrInvalidRecord is wrapped by every error CheckRecord returns.
var ErrInvalidRecord = errors.New("invalid record")

// RecordError is what CheckRecord finds wrong with an encoded record.
type RecordError struct {
	// Field is the path of the offending field by its protobuf names, e.g.
	// "job.custom_headers_json" or
	// "decision_evaluation.evaluated_decisions[1].decision_output"; empty
	// when the record as a whole is wrong (missing envelope fields).
	Field string
	// JSONField is the same path in Zeebe's JSON record, e.g.
	// "value.customHeaders" or "value.evaluatedDecisions[1].decisionOutput".
	JSONField string
	// Reason says what is wrong.
	Reason string
	// Wire is true when data is not an encoded Record at all (then the
	// Envelope is not known); false when the record decodes but breaks a
	// rule: a missing or negative envelope field, or a JSON-text field that
	// does not hold JSON.
	Wire bool
}

func (e *RecordError) Error() string {
	switch {
	case e.Wire:
		return "not a flowline.record.v1.Record: " + e.Reason
	case e.Field != "":
		return "field " + e.Field + ": " + e.Reason
	}
	return e.Reason
}

// Unwrap returns ErrInvalidRecord.
func (e *RecordError) Unwrap() error { return ErrInvalidRecord }

// CheckRecord validates data as an encoded Record and returns its Envelope.
// It is the one check of a record's content that ingest applies to both
// push formats (a protobuf entry as the client sent it, an NDJSON line once
// encoded) and the Zeebe import to what it reads:
//
//   - data is what proto.Unmarshal accepts as a Record (strings UTF-8);
//   - record_type, value_type, intent and the value are present;
//   - partition_id and position are not negative;
//   - every JSON-text field (see jsonTextFields) is empty or holds one JSON
//     value, a JSON object for the "*_json" fields: the aggregator embeds
//     them in documents as JSON.
//
// The error, a *RecordError wrapping ErrInvalidRecord, names the field.
// When only a rule is broken, the Envelope is read all the same.
func CheckRecord(data []byte) (Envelope, error) {
	var env Envelope
	var c checker
	if err := c.message(wireRecordMsg, data, 0); err != nil {
		return env, wireError(err)
	}
	// Valid, so the Envelope pass needs no error checks. The last
	// occurrence of a field wins, as in proto.Unmarshal.
	var recordType, valueType, intent, value bool
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		data = data[n:]
		f := wireRecordMsg.field(num)
		if !f.known || typ != f.typ {
			data = data[protowire.ConsumeFieldValue(num, typ, data):]
			continue
		}
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(data)
			data = data[n:]
			switch num {
			case recordField.partition:
				env.Partition = int32(v)
			case recordField.position:
				env.Position = int64(v)
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(data)
			data = data[n:]
			switch {
			case num == recordField.recordType:
				recordType, env.Event = len(v) > 0, string(v) == "EVENT"
			case num == recordField.valueType:
				valueType = len(v) > 0
			case num == recordField.intent:
				intent = len(v) > 0
			case f.oneof == "value":
				value = true
			}
		default:
			data = data[protowire.ConsumeFieldValue(num, typ, data):]
		}
	}
	if rerr := envelopeRules(env, recordType, valueType, intent, value); rerr != nil {
		return env, rerr
	}
	if c.text != nil {
		return env, c.text
	}
	return env, nil
}

// jsonTextFields are the string fields, besides every "*_json" field (a
// JSON object's text), that hold JSON text Zeebe writes inside a string: a
// variable's value, decision outputs, evaluated input and output values.
var jsonTextFields = []protoreflect.FullName{
	"flowline.record.v1.VariableValue.value",
	"flowline.record.v1.DecisionEvaluationValue.decision_output",
	"flowline.record.v1.EvaluatedDecisionValue.decision_output",
	"flowline.record.v1.EvaluatedInputValue.input_value",
	"flowline.record.v1.EvaluatedOutputValue.output_value",
}

// JSON-text kinds of a string field.
const (
	notJSONText = iota
	jsonValue   // one JSON value
	jsonObject  // one JSON object
)

// jsonTextKind is how fd's text must be JSON.
func jsonTextKind(fd protoreflect.FieldDescriptor) int {
	if fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return notJSONText
	}
	if strings.HasSuffix(string(fd.Name()), "_json") {
		return jsonObject
	}
	if slices.Contains(jsonTextFields, fd.FullName()) {
		return jsonValue
	}
	return notJSONText
}

// zeebeJSONName is fd's name in Zeebe's JSON record: the value oneof's
// members are "value", "<name>_json" fields are "<name>" in lower camel
// case, extra_json holds the unknown fields of its object.
func zeebeJSONName(fd protoreflect.FieldDescriptor) string {
	if o := fd.ContainingOneof(); o != nil && o.Name() == "value" {
		return "value"
	}
	if fd.Name() == "extra_json" {
		return "(unknown fields)"
	}
	return strings.TrimSuffix(fd.JSONName(), "Json")
}

// checkJSONText checks that v is one JSON value (an object if object),
// with the NDJSON decoder's scanner: no allocation unless it fails.
func checkJSONText(v []byte, object bool) error {
	if err := zeebejson.Valid(v); err != nil {
		var se *zeebejson.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %s at byte %d of %d", errNotJSON, se.Msg, se.Offset, len(v))
		}
		return fmt.Errorf("%w: %v", errNotJSON, err)
	}
	if object {
		if i := bytes.IndexFunc(v, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' }); v[i] != '{' {
			return fmt.Errorf("%w: holds %s, not a JSON object", errNotJSON, describeJSON(v[i]))
		}
	}
	return nil
}

// describeJSON names the kind of JSON value starting with c.
func describeJSON(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// wireError turns a wire problem into a *RecordError.
func wireError(err error) *RecordError {
	e := &RecordError{Wire: true, Reason: err.Error()}
	var pe *pathError
	if errors.As(err, &pe) {
		e.Field, e.JSONField, e.Reason = pe.proto, pe.json, "field "+pe.proto+": "+pe.err.Error()
	}
	return e
}

// pathError is a problem in a nested field, with the field's path.
type pathError struct {
	proto, json string
	err         error
}

func (e *pathError) Error() string { return "field " + e.proto + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// inField prefixes err's path with field f (element idx of a repeated
// field, or -1).
func inField(f *wireField, idx int, err error) *pathError {
	pe, ok := err.(*pathError)
	if !ok {
		pe = &pathError{err: err}
	}
	return prefixPath(string(f.name), f.jsonName, idx, pe)
}

// prefixPath prefixes pe's paths (empty: none yet) with the field named
// name (jsonName in Zeebe's JSON record), element idx of a repeated field
// or -1.
func prefixPath(name, jsonName string, idx int, pe *pathError) *pathError {
	if idx >= 0 {
		name, jsonName = fmt.Sprintf("%s[%d]", name, idx), fmt.Sprintf("%s[%d]", jsonName, idx)
	}
	if pe.proto == "" {
		pe.proto, pe.json = name, jsonName
	} else {
		pe.proto, pe.json = name+"."+pe.proto, jsonName+"."+pe.json
	}
	return pe
}

// elementIndex counts the occurrences of field num in msg before offset
// end: the index of a repeated field's element (only on the error path).
func elementIndex(msg []byte, end int, num protowire.Number) int {
	idx := 0
	data := msg[:end]
	for len(data) > 0 {
		n2, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			break
		}
		data = data[n:]
		if n2 == num {
			idx++
		}
		if n = protowire.ConsumeFieldValue(n2, typ, data); n < 0 {
			break
		}
		data = data[n:]
	}
	return idx
}

// wireMsg is a message descriptor flattened for the checker: its fields
// indexed by number (protoreflect's ByNumber is a map lookup, the checker's
// main cost otherwise).
type wireMsg struct {
	fields []wireField // by field number; typ 0 with !known: not a field
}

type wireField struct {
	known    bool
	typ      protowire.Type // of one unpacked value
	str      bool           // a string: must be UTF-8
	packable bool           // a repeated scalar: may come packed
	msg      *wireMsg       // a message field's message
	name     protoreflect.Name
	jsonName string            // the name in Zeebe's JSON record
	oneof    protoreflect.Name // the oneof the field is a member of, if any
	jsonText int               // notJSONText, jsonValue or jsonObject
	repeated bool
}

// maxDenseField bounds the dense tables; messages with larger field
// numbers would need a map (none of ours has).
const maxDenseField = 1024

// newWireMsg flattens md and every message reachable from it.
func newWireMsg(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*wireMsg) *wireMsg {
	if m, ok := seen[md.FullName()]; ok {
		return m
	}
	m := &wireMsg{}
	seen[md.FullName()] = m
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if fd.Number() > maxDenseField {
			panic(fmt.Sprintf("wire: field %s has number %d > %d", fd.FullName(), fd.Number(), maxDenseField))
		}
		for int(fd.Number()) >= len(m.fields) {
			m.fields = append(m.fields, wireField{})
		}
		f := wireField{known: true, typ: wireType(fd), name: fd.Name(), jsonName: zeebeJSONName(fd),
			str: fd.Kind() == protoreflect.StringKind && fd.Syntax() == protoreflect.Proto3, jsonText: jsonTextKind(fd), repeated: fd.IsList()}
		f.packable = fd.IsList() && f.typ != protowire.BytesType && f.typ != protowire.StartGroupType
		if fd.Kind() == protoreflect.MessageKind {
			f.msg = newWireMsg(fd.Message(), seen)
		}
		if o := fd.ContainingOneof(); o != nil {
			f.oneof = o.Name()
		}
		m.fields[fd.Number()] = f
	}
	return m
}

var wireRecordMsg = func() *wireMsg {
	seen := map[protoreflect.FullName]*wireMsg{}
	m := newWireMsg(recordDesc, seen)
	for _, name := range jsonTextFields { // the schema must still have them
		msg, field := name.Parent(), name.Name()
		if seen[msg] == nil || recordDesc.ParentFile().Messages().ByName(msg.Name()).Fields().ByName(field) == nil {
			panic(fmt.Sprintf("wire: JSON-text field %s is not in the schema", name))
		}
	}
	return m
}()

func (m *wireMsg) field(num protowire.Number) *wireField {
	if int(num) < len(m.fields) {
		return &m.fields[num]
	}
	return &noField
}

var noField wireField

// checker walks an encoded message. A JSON-text field that does not hold
// JSON is noted (the first one, in text) and the walk goes on: the wire
// must be valid before anyone reads the Envelope.
type checker struct {
	text *RecordError // the first JSON-text problem; Field is relative to the message being walked
}

// message validates data as an encoded message m, as proto.Unmarshal
// would: fields it does not know, or known fields with another wire type,
// are unknown fields (kept, not errors); proto3 strings must be UTF-8.
// JSON-text fields are checked on the side (c.text).
func (c *checker) message(m *wireMsg, data []byte, depth int) error {
	if depth > maxWireDepth {
		return errTooDeep
	}
	all := data
	for len(data) > 0 {
		at := len(all) - len(data)
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if num > protowire.MaxValidNumber { // ConsumeTag lets these pass, proto.Unmarshal does not
			return errFieldNumber
		}
		data = data[n:]
		f := m.field(num)
		if f.known && typ == protowire.BytesType && (f.typ == protowire.BytesType || f.packable) {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			var err error
			switch {
			case f.packable:
				err = checkPacked(f.typ, v)
			case f.str:
				if !utf8.Valid(v) {
					err = errNotUTF8
				} else if f.jsonText != notJSONText && len(v) > 0 && c.text == nil {
					if terr := checkJSONText(v, f.jsonText == jsonObject); terr != nil {
						c.text = &RecordError{Field: string(f.name), JSONField: f.jsonName, Reason: terr.Error()}
					}
				}
			case f.msg != nil:
				noted := c.text != nil
				err = c.message(f.msg, v, depth+1)
				if err == nil && !noted && c.text != nil {
					// The JSON-text problem is inside: prefix its path with ours.
					idx := -1
					if f.repeated {
						idx = elementIndex(all, at, num)
					}
					pe := inField(f, idx, &pathError{proto: c.text.Field, json: c.text.JSONField})
					c.text.Field, c.text.JSONField = pe.proto, pe.json
				}
			}
			if err != nil {
				idx := -1
				if f.repeated && f.msg != nil {
					idx = elementIndex(all, at, num)
				}
				return inField(f, idx, err)
			}
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return nil
}

// checkPacked validates the packed encoding of a repeated scalar field.
func checkPacked(typ protowire.Type, v []byte) error {
	for len(v) > 0 {
		var n int
		if typ == protowire.VarintType {
			_, n = protowire.ConsumeVarint(v)
		} else {
			n = protowire.ConsumeFieldValue(0, typ, v)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		v = v[n:]
	}
	return nil
}

// wireType is the wire type of one (unpacked) value of fd.
func wireType(fd protoreflect.FieldDescriptor) protowire.Type {
	switch fd.Kind() {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		return protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.BytesType
}
