package wire

import (
	"fmt"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/reflect/protoreflect"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// CheckDecoded applies CheckRecord's rules to a record the NDJSON decoder
// (zeebejson) built, before it is encoded: the envelope fields are present
// and not negative, and the JSON text Zeebe keeps inside strings (a
// variable's value, decision outputs, evaluated input and output values)
// holds JSON. It returns the Envelope and the same *RecordError CheckRecord
// returns for the record's encoding, at a fraction of the cost: the
// envelope is read from the struct, and only those strings are looked at,
// where CheckRecord walks every byte of the encoding.
//
// What it leaves out holds by construction for the decoder's records, and
// for no others: their strings are valid UTF-8 (the scanner refuses invalid
// UTF-8 and turns lone surrogate escapes into U+FFFD), and their "*_json"
// fields (custom headers, variables, unknown fields, a raw value) are JSON
// objects the scanner read as such. That is why ingest, replay and the
// Zeebe import check their decoded records with it; a record from anywhere
// else is checked on the wire (CheckRecord). FuzzCheckDecoded and
// TestCheckDecodedAgreesWithCheckRecord hold the two to the same verdicts
// on the decoder's records. Safe for concurrent use.
func CheckDecoded(r *recordv1.Record) (Envelope, error) {
	env := Envelope{Partition: r.PartitionId, Position: r.Position, Event: r.RecordType == "EVENT"}
	if err := envelopeRules(env, r.RecordType != "", r.ValueType != "", r.Intent != "", r.Value != nil); err != nil {
		return env, err
	}
	if err := recordTexts.check(r.ProtoReflect()); err != nil {
		return env, &RecordError{Field: err.proto, JSONField: err.json, Reason: err.err.Error()}
	}
	return env, nil
}

// envelopeRules is CheckRecord's rule on the envelope, shared by
// CheckDecoded: no negative partition or position, and record_type,
// value_type, intent and the value present.
func envelopeRules(env Envelope, recordType, valueType, intent, value bool) *RecordError {
	switch {
	case env.Partition < 0:
		return &RecordError{Field: "partition_id", JSONField: "partitionId", Reason: fmt.Sprintf("partition id %d is negative", env.Partition)}
	case env.Position < 0:
		return &RecordError{Field: "position", JSONField: "position", Reason: fmt.Sprintf("position %d is negative", env.Position)}
	}
	var missing string
	for _, m := range []struct {
		ok   bool
		name string
	}{{recordType, "record_type"}, {valueType, "value_type"}, {intent, "intent"}, {value, "value"}} {
		if !m.ok {
			if missing != "" {
				missing += ", "
			}
			missing += m.name
		}
	}
	if missing != "" {
		return &RecordError{Reason: "missing " + missing}
	}
	return nil
}

// textMsg is where a message's JSON text in strings is: its jsonValue
// fields and the message fields with such fields below them, in field-number
// order (the order of the encoding CheckRecord walks, so that both name the
// same first problem). Built once from the descriptors; immutable.
type textMsg struct {
	fields []textField
	// oneofs lists the oneofs with members in fields: a member is looked
	// up by the oneof's case (one reflective call), not each by Has.
	oneofs []protoreflect.OneofDescriptor
}

type textField struct {
	fd       protoreflect.FieldDescriptor
	name     string   // protobuf name
	jsonName string   // name in Zeebe's JSON record
	msg      *textMsg // for a message field
	oneof    bool     // a member of a oneof
	number   protoreflect.FieldNumber
}

var recordTexts = newTextMsg(recordDesc, map[protoreflect.FullName]*textMsg{})

// newTextMsg builds md's plan; message fields without JSON text below them
// are left out (a recursive message is kept, conservatively).
func newTextMsg(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*textMsg) *textMsg {
	if m, ok := seen[md.FullName()]; ok {
		return m
	}
	m := &textMsg{}
	seen[md.FullName()] = m
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		f := textField{fd: fd, name: string(fd.Name()), jsonName: zeebeJSONName(fd), oneof: fd.ContainingOneof() != nil, number: fd.Number()}
		switch {
		case fd.Kind() == protoreflect.MessageKind:
			if f.msg = newTextMsg(fd.Message(), seen); f.msg == m || len(f.msg.fields) > 0 {
				m.fields = append(m.fields, f)
			}
		case jsonTextKind(fd) == jsonValue: // "*_json" objects: see CheckDecoded
			m.fields = append(m.fields, f)
		}
	}
	slices.SortFunc(m.fields, func(a, b textField) int { return int(a.number) - int(b.number) })
	for _, f := range m.fields {
		if o := f.fd.ContainingOneof(); o != nil && !slices.Contains(m.oneofs, o) {
			m.oneofs = append(m.oneofs, o)
		}
	}
	return m
}

// check returns the first JSON-text field of msg that is neither empty nor
// JSON, as a path relative to msg, or nil.
func (m *textMsg) check(msg protoreflect.Message) *pathError {
	var set [2]protoreflect.FieldNumber // the oneofs' set members (Record has one oneof)
	cases := set[:0]
	for _, o := range m.oneofs {
		if fd := msg.WhichOneof(o); fd != nil {
			cases = append(cases, fd.Number())
		}
	}
	for i := range m.fields {
		f := &m.fields[i]
		switch {
		case f.oneof:
			if !slices.Contains(cases, f.number) {
				continue
			}
		case f.msg != nil && !f.fd.IsList() && !msg.Has(f.fd):
			continue
		}
		switch {
		case f.msg == nil:
			if s := msg.Get(f.fd).String(); s != "" {
				if err := checkJSONText(unsafe.Slice(unsafe.StringData(s), len(s)), false); err != nil { // read only
					return prefixPath(f.name, f.jsonName, -1, &pathError{err: err})
				}
			}
		case f.fd.IsList():
			l := msg.Get(f.fd).List()
			for j := range l.Len() {
				if pe := f.msg.check(l.Get(j).Message()); pe != nil {
					return prefixPath(f.name, f.jsonName, j, pe)
				}
			}
		default:
			if pe := f.msg.check(msg.Get(f.fd).Message()); pe != nil {
				return prefixPath(f.name, f.jsonName, -1, pe)
			}
		}
	}
	return nil
}
