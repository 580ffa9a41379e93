package wire

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// A protobuf request's records are stored as the client encoded them, so
// ingest only has to know that each one is what proto.Unmarshal would
// accept as a flowline.record.v1.Record, and read its Envelope. CheckRecord
// does both on the wire, walking the bytes against the message descriptors
// without building a message: no allocation, a few hundred nanoseconds a
// record instead of the microseconds of a full unmarshal. Descriptors are
// immutable, so all of this is safe for concurrent use.

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

// CheckRecord validates data as an encoded Record and returns its Envelope.
// The reason, if not empty, says what is wrong: the wire error, or the
// Envelope fields that are missing.
func CheckRecord(data []byte) (Envelope, string) {
	var env Envelope
	if err := checkMessage(wireRecordMsg, data, 0); err != nil {
		return env, "not a flowline.record.v1.Record: " + err.Error()
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
	if env.Partition < 0 {
		return env, fmt.Sprintf("partition_id %d is negative", env.Partition)
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		name string
	}{{recordType, "record_type"}, {valueType, "value_type"}, {intent, "intent"}, {value, "value"}} {
		if !m.ok {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return env, "missing " + strings.Join(missing, ", ")
	}
	return env, ""
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
	oneof    protoreflect.Name // the oneof the field is a member of, if any
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
		f := wireField{known: true, typ: wireType(fd), name: fd.Name(),
			str: fd.Kind() == protoreflect.StringKind && fd.Syntax() == protoreflect.Proto3}
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

var wireRecordMsg = newWireMsg(recordDesc, map[protoreflect.FullName]*wireMsg{})

func (m *wireMsg) field(num protowire.Number) *wireField {
	if int(num) < len(m.fields) {
		return &m.fields[num]
	}
	return &noField
}

var noField wireField

// checkMessage validates data as an encoded message m, as proto.Unmarshal
// would: fields it does not know, or known fields with another wire type,
// are unknown fields (kept, not errors); proto3 strings must be UTF-8.
func checkMessage(m *wireMsg, data []byte, depth int) error {
	if depth > maxWireDepth {
		return errTooDeep
	}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
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
				}
			case f.msg != nil:
				err = checkMessage(f.msg, v, depth+1)
			}
			if err != nil {
				return fmt.Errorf("field %s: %w", f.name, err)
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
