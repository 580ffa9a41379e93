package zeebejson

import (
	"encoding/base64"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The typed value messages (ProcessInstanceValue, JobValue, ...) are decoded
// and encoded by one table-driven codec: a msgSpec lists a message's fields in
// the order Encode writes them, each with its JSON name, its kind and an
// accessor for the Go field. Specs are built once at init and read-only
// after, but for the member order they learn (msgSpec.follow, atomic), so
// the codec is safe for concurrent use.

// fieldKind says how a field is represented in JSON and in Go.
type fieldKind uint8

const (
	kString  fieldKind = iota // JSON string -> string
	kEnum                     // JSON string -> string, interned (enum-like words)
	kInt64                    // JSON integer -> int64
	kInt32                    // JSON integer -> int32
	kBool                     // JSON boolean -> bool
	kBytes                    // JSON string, standard base64 -> []byte
	kObject                   // JSON object -> its text ("<name>_json")
	kStrings                  // array of strings -> []string
	kInt64s                   // array of integers -> []int64
	kInt32s                   // array of integers -> []int32
	kPath                     // array of arrays of integers -> []*ElementInstancePathEntry
	kList                     // array of objects -> repeated nested message
)

// maxFields bounds the fields of one message: presence is a uint64 mask.
const maxFields = 64

// fieldDef describes one field of the message type T. Exactly one accessor,
// chosen by kind, is set.
type fieldDef[T any] struct {
	name   string // JSON name, also the entry in present_fields
	key    string // `"name":`, as Encode writes it
	proto  string // protobuf field name, for Encode errors
	num    int32  // protobuf field number, the entry in present_field_numbers
	kind   fieldKind
	defInt int64  // Decode's value for an absent integer field
	defStr string // Decode's value for an absent string field

	str  func(*T) *string
	i64  func(*T) *int64
	i32  func(*T) *int32
	bln  func(*T) *bool
	byt  func(*T) *[]byte
	strs func(*T) *[]string
	i64s func(*T) *[]int64
	i32s func(*T) *[]int32
	path func(*T) *[]*recordv1.ElementInstancePathEntry
	list listCodec[T]
}

// listCodec handles a repeated nested message field of T.
type listCodec[T any] interface {
	decode(data []byte, pos int, m *T, field string) error
	encode(dst []byte, m *T, field string) ([]byte, error)
	len(m *T) int
	size(m *T) int
}

// msgSpec describes a typed value message. It is shared by every decode;
// only follow changes after newSpec, atomically.
type msgSpec[T any] struct {
	fields []fieldDef[T]
	index  map[string]int
	// follow learns the producer's member order: follow[0] is the field
	// the last object decoded began with, follow[i+1] the field that came
	// after field i. A member where it says is found without the map;
	// Zeebe writes its members in one order, seldom ours.
	follow      []atomic.Int32
	nonZero     uint64 // fields whose absent-default is not Go's zero value
	present     func(*T) *[]string
	presentNums func(*T) *[]int32
	byNum       map[int32]int // field index by protobuf field number
	extra       func(*T) *string
}

func newSpec[T any](present func(*T) *[]string, presentNums func(*T) *[]int32, extra func(*T) *string, fields ...fieldDef[T]) *msgSpec[T] {
	if len(fields) > maxFields {
		panic("zeebejson: too many fields in a message spec")
	}
	sp := &msgSpec[T]{fields: fields, index: make(map[string]int, len(fields)), present: present, presentNums: presentNums,
		byNum: make(map[int32]int, len(fields)), extra: extra, follow: make([]atomic.Int32, len(fields)+1)}
	md := any(new(T)).(protoreflect.ProtoMessage).ProtoReflect().Descriptor()
	for i := range sp.follow {
		sp.follow[i].Store(int32(i)) // until learned: our own order
	}
	for i := range fields {
		f := &sp.fields[i]
		if _, dup := sp.index[f.name]; dup {
			panic("zeebejson: duplicate field " + f.name)
		}
		sp.index[f.name] = i
		f.key = `"` + f.name + `":`
		f.proto = snakeCase(f.name)
		if f.kind == kObject {
			f.proto += "_json"
		}
		fd := md.Fields().ByName(protoreflect.Name(f.proto))
		if fd == nil {
			panic("zeebejson: " + string(md.FullName()) + " has no field " + f.proto)
		}
		f.num = int32(fd.Number())
		sp.byNum[f.num] = i
		if f.defInt != 0 || f.defStr != "" {
			sp.nonZero |= 1 << i
		}
	}
	return sp
}

// learnEvery: a member found off its learned place is learned one time in
// learnEvery (at random). One producer's order is learned after a few
// dozen objects all the same; producers of two orders at once (a rolling
// upgrade) then rewrite the shared table seldom instead of on every
// object, which would bounce its cache lines between the decoding cores.
const learnEvery = 16

// snakeCase turns a JSON (lowerCamelCase) name into its protobuf name.
func snakeCase(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// lookup returns the index of the field named key, or -1. hint is the index
// the caller expects (fields usually come in the same order every time).
func lookup[T any, K string | []byte](sp *msgSpec[T], key K, hint int) int {
	if hint < len(sp.fields) && sp.fields[hint].name == string(key) {
		return hint
	}
	if i, ok := sp.index[string(key)]; ok {
		return i
	}
	return -1
}

// Field constructors, one per kind. Integer fields default to -1 (Zeebe's
// "unset" for keys, versions and timestamps) unless given a default.

func stringField[T any](name string, get func(*T) *string) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kString, str: get}
}

func stringFieldDefault[T any](name, def string, get func(*T) *string) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kString, defStr: def, str: get}
}

func enumField[T any](name, def string, get func(*T) *string) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kEnum, defStr: def, str: get}
}

func int64Field[T any](name string, get func(*T) *int64) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kInt64, defInt: -1, i64: get}
}

func int64FieldDefault[T any](name string, def int64, get func(*T) *int64) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kInt64, defInt: def, i64: get}
}

func int32Field[T any](name string, get func(*T) *int32) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kInt32, defInt: -1, i32: get}
}

func int32FieldDefault[T any](name string, def int32, get func(*T) *int32) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kInt32, defInt: int64(def), i32: get}
}

func boolField[T any](name string, get func(*T) *bool) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kBool, bln: get}
}

func bytesField[T any](name string, get func(*T) *[]byte) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kBytes, byt: get}
}

func objectField[T any](name string, get func(*T) *string) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kObject, str: get}
}

func stringListField[T any](name string, get func(*T) *[]string) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kStrings, strs: get}
}

func int64ListField[T any](name string, get func(*T) *[]int64) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kInt64s, i64s: get}
}

func int32ListField[T any](name string, get func(*T) *[]int32) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kInt32s, i32s: get}
}

func elementPathField[T any](name string, get func(*T) *[]*recordv1.ElementInstancePathEntry) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kPath, path: get}
}

func messageListField[T, E any](name string, get func(*T) *[]*E, spec *msgSpec[E]) fieldDef[T] {
	return fieldDef[T]{name: name, kind: kList, list: msgList[T, E]{get: get, spec: spec}}
}

// ---------------------------------------------------------------- decoding

// member is one member of a JSON object that collectMembers validated: the
// key's content (between the quotes) and the value's text, as offsets into
// the scanned data.
type member struct {
	keyStart, keyEnd int32
	start, end       int32
	keyEsc           bool // the key has escape sequences
	esc              bool // the value is a string with escape sequences
	ws               bool // the value contains insignificant whitespace
	isInt            bool // the value is an integer literal
}

// maxLine is the longest line Decode accepts: member offsets are int32.
const maxLine = math.MaxInt32

// collectMembers validates the object at s.pos (which must be '{'), leaves
// s.pos after it and appends its members to ms. It reports whether the
// object contains insignificant whitespace; errors are *SyntaxError.
func (s *scanner) collectMembers(ms []member, depth int) ([]member, bool, error) {
	outer := s.ws
	ms, ws, err := s.collect(ms, depth)
	s.ws = outer || ws // keep tracking for an enclosing raw value
	return ms, ws, err
}

func (s *scanner) collect(ms []member, depth int) ([]member, bool, error) {
	if depth >= maxDepth {
		return ms, false, s.syntaxErr(s.pos, "exceeded max depth")
	}
	data := s.data
	s.ws = false
	if !s.open('}') {
		return ms, s.ws, nil
	}
	anyWS := false
	for {
		if s.pos >= len(data) || data[s.pos] != '"' {
			return ms, false, s.unexpected("looking for beginning of object key string")
		}
		var m member
		m.keyStart = int32(s.pos + 1)
		_, kesc, err := s.scanString()
		if err != nil {
			return ms, false, err
		}
		m.keyEnd, m.keyEsc = int32(s.pos-1), kesc
		if err := s.expect(':', "after object key"); err != nil {
			return ms, false, err
		}
		s.skipWS()
		anyWS = anyWS || s.ws
		s.ws = false
		m.start = int32(s.pos)
		if s.pos < len(data) {
			switch c := data[s.pos]; {
			case c == '"':
				_, m.esc, err = s.scanString()
			case c == '-' || ('0' <= c && c <= '9'):
				m.isInt, err = s.scanNumber()
			default:
				err = s.skipValue(depth + 1)
			}
		} else {
			err = s.unexpected("looking for beginning of value")
		}
		if err != nil {
			return ms, false, err
		}
		m.end, m.ws = int32(s.pos), s.ws
		anyWS = anyWS || s.ws
		ms = append(ms, m)
		s.ws = false
		// s.nextMember(), written out (see skipValue).
		s.skipWS()
		if s.pos < len(data) {
			switch data[s.pos] {
			case ',':
				s.pos++
				s.skipWS()
				continue
			case '}':
				s.pos++
				return ms, anyWS || s.ws, nil
			}
		}
		return ms, false, s.unexpected(afterMember)
	}
}

// raw returns the member's value as written.
func (m *member) raw(data []byte) []byte { return data[m.start:m.end] }

// quotedKey returns the member's key as written, quotes included.
func (m *member) quotedKey(data []byte) []byte { return data[m.keyStart-1 : m.keyEnd+1] }

// key returns the member's key, unescaped.
func (m *member) key(data []byte) []byte {
	k := data[m.keyStart:m.keyEnd]
	if m.keyEsc {
		return []byte(unquote(k))
	}
	return k
}

// decodeMembers fills m, a new message, from the members of one JSON object
// that collectMembers validated in data. Errors are *FieldError naming the
// field relative to the object ("tags[2]", "matchedRules[0].ruleIndex").
func decodeMembers[T any](sp *msgSpec[T], m *T, data []byte, ms []member) error {
	var (
		present uint64
		extra   []byte
		after   int // follow's slot of the previous known member
	)
	for i := range ms {
		mb := &ms[i]
		hint := int(sp.follow[after].Load())
		f := lookup(sp, mb.key(data), hint)
		if f < 0 {
			extra = appendExtra(extra, mb.quotedKey(data), mb.raw(data), mb.ws)
			continue
		}
		if f != hint && rand.Uint32()%learnEvery == 0 {
			sp.follow[after].Store(int32(f))
		}
		after = f + 1
		fd := &sp.fields[f]
		if present&(1<<f) != 0 {
			return &FieldError{Field: fd.name, Msg: msgDuplicate}
		}
		present |= 1 << f
		if err := fd.decode(m, data, mb); err != nil {
			return err
		}
	}
	for d := sp.nonZero &^ present; d != 0; d &= d - 1 {
		sp.fields[bits.TrailingZeros64(d)].setDefault(m)
	}
	// present_fields needs only the present fields that hold their
	// default: Encode writes every field that differs from it anyway.
	for p := present; p != 0; p &= p - 1 {
		if f := bits.TrailingZeros64(p); !sp.fields[f].isDefault(m) {
			present &^= 1 << f
		}
	}
	if present != 0 {
		pn := make([]int32, 0, bits.OnesCount64(present))
		for p := present; p != 0; p &= p - 1 {
			pn = append(pn, sp.fields[bits.TrailingZeros64(p)].num)
		}
		*sp.presentNums(m) = pn
	}
	if extra != nil {
		*sp.extra(m) = string(append(extra, '}'))
	}
	return nil
}

func (fd *fieldDef[T]) setDefault(m *T) {
	switch fd.kind {
	case kString, kEnum:
		*fd.str(m) = fd.defStr
	case kInt64:
		*fd.i64(m) = fd.defInt
	case kInt32:
		*fd.i32(m) = int32(fd.defInt)
	}
}

// b64 decodes the base64 fields: standard alphabet, padded, no stray bits,
// so that encoding the bytes again gives back the text exactly.
var b64 = base64.StdEncoding.Strict()

// decode reads the member's value into the field.
func (fd *fieldDef[T]) decode(m *T, data []byte, mb *member) error {
	raw := mb.raw(data)
	s := scanner{data: data, pos: int(mb.start)} // for values read again
	var err error
	switch fd.kind {
	case kString, kEnum:
		if raw[0] != '"' {
			return typeError(fd.name, "string", raw)
		}
		content := raw[1 : len(raw)-1]
		switch {
		case mb.esc:
			*fd.str(m) = unquote(content)
		case fd.kind == kEnum:
			*fd.str(m) = intern(content)
		default:
			*fd.str(m) = string(content)
		}
	case kInt64:
		if mb.isInt {
			if v, ok := parseInt(raw); ok {
				*fd.i64(m) = v
				break
			}
		}
		_, err = s.readInt(fd.name, math.MinInt64, math.MaxInt64) // the error
	case kInt32:
		if mb.isInt {
			if v, ok := parseInt(raw); ok && v == int64(int32(v)) {
				*fd.i32(m) = int32(v)
				break
			}
		}
		_, err = s.readInt(fd.name, math.MinInt32, math.MaxInt32) // the error
	case kBool:
		switch string(raw) {
		case "true":
			*fd.bln(m) = true
		case "false":
		default:
			return typeError(fd.name, "boolean", raw)
		}
	case kBytes:
		if raw[0] != '"' {
			return typeError(fd.name, "base64 string", raw)
		}
		*fd.byt(m), err = decodeBase64(fd.name, raw[1:len(raw)-1], mb.esc)
	case kObject:
		if raw[0] != '{' {
			return typeError(fd.name, "object", raw)
		}
		*fd.str(m) = rawString(raw, mb.ws)
	case kStrings:
		*fd.strs(m), err = s.readStringList(fd.name)
	case kInt64s:
		*fd.i64s(m), err = s.readInt64List(fd.name)
	case kInt32s:
		*fd.i32s(m), err = s.readInt32List(fd.name)
	case kPath:
		*fd.path(m), err = s.readElementInstancePath(fd.name)
	case kList:
		err = fd.list.decode(data, int(mb.start), m, fd.name)
	}
	return err
}

// decodeBase64 decodes the content of a JSON string holding canonical
// standard base64. Text that would not come back the same when encoded
// (missing padding, non-zero padding bits, line breaks) is rejected.
func decodeBase64(field string, content []byte, esc bool) ([]byte, error) {
	if esc {
		text := unquote(content)
		if strings.ContainsAny(text, "\r\n") {
			return nil, &FieldError{Field: field, Msg: "invalid base64: line breaks are not allowed"}
		}
		content = []byte(text)
	}
	if len(content) == 0 {
		return nil, nil
	}
	out := make([]byte, b64.DecodedLen(len(content)))
	n, err := b64.Decode(out, content)
	if err != nil {
		return nil, &FieldError{Field: field, Msg: "invalid base64 (standard alphabet, padded): " + err.Error()}
	}
	return out[:n:n], nil
}

// msgList is the listCodec of a repeated nested message field.
type msgList[T, E any] struct {
	get  func(*T) *[]*E
	spec *msgSpec[E]
}

func (l msgList[T, E]) len(m *T) int { return len(*l.get(m)) }

func (l msgList[T, E]) decode(data []byte, pos int, m *T, field string) error {
	s := scanner{data: data, pos: pos}
	var (
		mbuf [24]member
		out  []*E
	)
	more, err := s.openArray(field)
	for i := 0; more && err == nil; i++ {
		if s.data[s.pos] != '{' {
			start := s.pos
			if err := s.skipValue(1); err != nil {
				return err
			}
			return typeError(indexed(field, i), "object", s.data[start:s.pos])
		}
		var ms []member
		if ms, _, err = s.collectMembers(mbuf[:0], 1); err != nil {
			return err
		}
		e := new(E)
		if err := decodeMembers(l.spec, e, data, ms); err != nil {
			return prefixError(err, indexed(field, i)+".")
		}
		out = append(out, e)
		more, err = s.nextElement()
	}
	if err != nil {
		return err
	}
	*l.get(m) = out
	return nil
}

func (l msgList[T, E]) encode(dst []byte, m *T, field string) ([]byte, error) {
	dst = append(dst, '[')
	for i, e := range *l.get(m) {
		if i > 0 {
			dst = append(dst, ',')
		}
		if e == nil {
			return dst, &FieldError{Field: indexed(field, i), Msg: "nil element"}
		}
		var err error
		if dst, err = appendMsg(dst, l.spec, e); err != nil {
			return dst, prefixError(err, indexed(field, i)+".")
		}
	}
	return append(dst, ']'), nil
}

func (l msgList[T, E]) size(m *T) int {
	n := 2
	for _, e := range *l.get(m) {
		if e != nil {
			n += 1 + sizeMsg(l.spec, e)
		}
	}
	return n
}

// prefixError prepends prefix to the field a *FieldError names.
func prefixError(err error, prefix string) error {
	if fe, ok := err.(*FieldError); ok {
		fe.Field = prefix + fe.Field
	}
	return err
}

// ---------------------------------------------------------------- encoding

// emitMask returns the fields Encode writes: those listed in present_fields
// and those whose value differs from what Decode gives an absent field.
func emitMask[T any](sp *msgSpec[T], m *T) (uint64, error) {
	var mask uint64
	hint := 0
	for _, name := range *sp.present(m) {
		f := lookup(sp, name, hint)
		if f < 0 {
			return 0, encodeError("present_fields", "unknown field %q", name)
		}
		mask |= 1 << f
		hint = f + 1
	}
	for _, num := range *sp.presentNums(m) {
		f, ok := sp.byNum[num]
		if !ok {
			return 0, encodeError("present_field_numbers", "unknown field number %d", num)
		}
		mask |= 1 << f
	}
	for i := range sp.fields {
		if mask&(1<<i) == 0 && !sp.fields[i].isDefault(m) {
			mask |= 1 << i
		}
	}
	return mask, nil
}

func (fd *fieldDef[T]) isDefault(m *T) bool {
	switch fd.kind {
	case kString, kEnum:
		return *fd.str(m) == fd.defStr
	case kInt64:
		return *fd.i64(m) == fd.defInt
	case kInt32:
		return int64(*fd.i32(m)) == fd.defInt
	case kBool:
		return !*fd.bln(m)
	case kBytes:
		return len(*fd.byt(m)) == 0
	case kObject:
		return *fd.str(m) == ""
	case kStrings:
		return len(*fd.strs(m)) == 0
	case kInt64s:
		return len(*fd.i64s(m)) == 0
	case kInt32s:
		return len(*fd.i32s(m)) == 0
	case kPath:
		return len(*fd.path(m)) == 0
	default: // kList
		return fd.list.len(m) == 0
	}
}

// appendMsg appends m as a JSON object: the fields of emitMask in spec order,
// then the members of extra_json. Errors name protobuf fields relative to m.
func appendMsg[T any](dst []byte, sp *msgSpec[T], m *T) ([]byte, error) {
	mask, err := emitMask(sp, m)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '{')
	first := true
	for p := mask; p != 0; p &= p - 1 {
		fd := &sp.fields[bits.TrailingZeros64(p)]
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, fd.key...)
		if dst, err = fd.appendValue(dst, m); err != nil {
			return dst, err
		}
	}
	if extra := *sp.extra(m); extra != "" {
		mark := len(dst)
		known := func(k []byte) bool { return lookup(sp, k, len(sp.fields)) >= 0 }
		if dst, err = appendMembers(dst, extra, "extra_json", known); err != nil {
			return dst, err
		}
		if first && len(dst) > mark {
			// No typed field was written: drop the separator appendMembers put.
			copy(dst[mark:], dst[mark+1:])
			dst = dst[:len(dst)-1]
		}
	}
	return append(dst, '}'), nil
}

func (fd *fieldDef[T]) appendValue(dst []byte, m *T) ([]byte, error) {
	switch fd.kind {
	case kString, kEnum:
		dst = AppendString(dst, *fd.str(m))
	case kInt64:
		dst = strconv.AppendInt(dst, *fd.i64(m), 10)
	case kInt32:
		dst = strconv.AppendInt(dst, int64(*fd.i32(m)), 10)
	case kBool:
		dst = strconv.AppendBool(dst, *fd.bln(m))
	case kBytes:
		b := *fd.byt(m)
		n := base64.StdEncoding.EncodedLen(len(b))
		dst = slices.Grow(dst, n+2)
		dst = append(dst, '"')
		base64.StdEncoding.Encode(dst[len(dst):len(dst)+n], b)
		dst = append(dst[:len(dst)+n], '"')
	case kObject:
		return appendRawObject(dst, *fd.str(m), fd.proto)
	case kStrings:
		dst = append(dst, '[')
		for i, v := range *fd.strs(m) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, v)
		}
		dst = append(dst, ']')
	case kInt64s:
		dst = appendInt64s(dst, *fd.i64s(m))
	case kInt32s:
		dst = append(dst, '[')
		for i, v := range *fd.i32s(m) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(v), 10)
		}
		dst = append(dst, ']')
	case kPath:
		dst = append(dst, '[')
		for i, e := range *fd.path(m) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendInt64s(dst, e.GetKeys())
		}
		dst = append(dst, ']')
	case kList:
		return fd.list.encode(dst, m, fd.proto)
	}
	return dst, nil
}

// sizeMsg estimates the length of m's JSON, generously enough that Encode
// allocates once for realistic records.
func sizeMsg[T any](sp *msgSpec[T], m *T) int {
	n := 2 + len(*sp.extra(m))
	for i := range sp.fields {
		fd := &sp.fields[i]
		n += len(fd.name) + 4
		switch fd.kind {
		case kString, kEnum, kObject:
			s := *fd.str(m)
			n += len(s) + len(s)/4 // JSON text in strings has many quotes to escape
		case kInt64, kInt32:
			n += 20
		case kBool:
			n += 5
		case kBytes:
			n += 2 + base64.StdEncoding.EncodedLen(len(*fd.byt(m)))
		case kStrings:
			for _, v := range *fd.strs(m) {
				n += 3 + len(v) + len(v)/4
			}
		case kInt64s:
			n += 21 * len(*fd.i64s(m))
		case kInt32s:
			n += 12 * len(*fd.i32s(m))
		case kPath:
			for _, e := range *fd.path(m) {
				n += 3 + 21*len(e.GetKeys())
			}
		case kList:
			n += fd.list.size(m)
		}
	}
	return n
}
