package zeebejson

import (
	"math"
	"strconv"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// firstFieldError keeps the first *FieldError it is given and passes on any
// other error (a *SyntaxError), which is fatal. Decoding goes on after a field
// error so that malformed JSON later in the line is reported in preference.
func firstFieldError(first *error, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*FieldError); ok {
		if *first == nil {
			*first = err
		}
		return nil
	}
	return err
}

// readInt reads an integer literal in [lo, hi] at s.pos. A *FieldError
// (mistyped or out of range) leaves the scanner after the value; any other
// error is a syntax error.
func (s *scanner) readInt(field string, lo, hi int64) (int64, error) {
	start := s.pos
	if start < len(s.data) {
		if c := s.data[start]; c == '-' || ('0' <= c && c <= '9') {
			isInt, err := s.scanNumber()
			if err != nil {
				return 0, err
			}
			lit := s.data[start:s.pos]
			if !isInt {
				return 0, typeError(field, "integer", lit)
			}
			v, ok := parseInt(lit)
			if !ok || v < lo || v > hi {
				return 0, &FieldError{Field: field, Msg: "integer " + string(lit) + " out of range [" +
					strconv.FormatInt(lo, 10) + ", " + strconv.FormatInt(hi, 10) + "]"}
			}
			return v, nil
		}
	}
	if err := s.skipValue(1); err != nil {
		return 0, err
	}
	return 0, typeError(field, "integer", s.data[start:s.pos])
}

// readString reads a string at s.pos, interning common words if asked.
func (s *scanner) readString(field string, internIt bool) (string, error) {
	start := s.pos
	if start < len(s.data) && s.data[start] == '"' {
		raw, esc, err := s.scanString()
		switch {
		case err != nil:
			return "", err
		case esc:
			return unquote(raw), nil
		case internIt:
			return intern(raw), nil
		}
		return string(raw), nil
	}
	if err := s.skipValue(1); err != nil {
		return "", err
	}
	return "", typeError(field, "string", s.data[start:s.pos])
}

// readKey reads an object key and the colon after it, leaving s.pos at the
// value. quoted is the key as written, quotes and escapes included.
func (s *scanner) readKey() (key, quoted []byte, err error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, nil, s.unexpected("looking for beginning of object key string")
	}
	start := s.pos
	raw, esc, err := s.scanString()
	if err != nil {
		return nil, nil, err
	}
	quoted = s.data[start:s.pos]
	key = raw
	if esc {
		key = []byte(unquote(raw))
	}
	if err := s.expect(':', "after object key"); err != nil {
		return nil, nil, err
	}
	s.skipWS()
	return key, quoted, nil
}

// open consumes the '{' or '[' at s.pos, close being the matching '}' or
// ']', and the whitespace after it, and reports whether the object or array
// has members or elements; an empty one is consumed whole.
func (s *scanner) open(close byte) bool {
	s.pos++
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == close {
		s.pos++
		return false
	}
	return true
}

// nextMember consumes the separator after an object member and reports
// whether another member follows.
func (s *scanner) nextMember() (bool, error) { return s.next('}', afterMember) }

// nextElement consumes the separator after an array element and reports
// whether another element follows.
func (s *scanner) nextElement() (bool, error) { return s.next(']', afterElement) }

// The contexts of the syntax error after an object member or array element
// that no separator follows.
const (
	afterMember  = "after object key:value pair"
	afterElement = "after array element"
)

// next consumes the separator after an object member or array element,
// close being '}' or ']': a comma and the whitespace after it (true:
// another one follows) or close (false: the object or array ends).
// Anything else is a syntax error, context saying where it was found.
// The hot loops, skipValue's and collect's, have it written out.
func (s *scanner) next(close byte, context string) (bool, error) {
	s.skipWS()
	if s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipWS()
			return true, nil
		case close:
			s.pos++
			return false, nil
		}
	}
	return false, s.unexpected(context)
}

// appendExtra adds an unknown member, its key as written (quotes included)
// and its value raw compacted (ws: raw has insignificant whitespace), to the
// JSON object text being built in extra, which is nil before the first.
func appendExtra(extra, quotedKey, raw []byte, ws bool) []byte {
	if extra == nil {
		extra = make([]byte, 0, 16+len(quotedKey)+len(raw))
		extra = append(extra, '{')
	} else {
		extra = append(extra, ',')
	}
	extra = append(extra, quotedKey...)
	extra = append(extra, ':')
	if ws {
		return appendCompact(extra, raw)
	}
	return append(extra, raw...)
}

func rawString(raw []byte, ws bool) string {
	if string(raw) == "{}" {
		return "{}" // the usual authorizations; saves an allocation
	}
	if ws {
		return string(appendCompact(make([]byte, 0, len(raw)), raw))
	}
	return string(raw)
}

// Decode parses one Zeebe JSON record. It does not retain line.
//
// The line must be one JSON object (surrounding whitespace, including a
// trailing newline, is ignored). Required fields are partitionId, position,
// key, timestamp, recordType, valueType, intent (non-empty strings) and value
// (an object); absent optional envelope fields get Zeebe's defaults:
// sourceRecordPosition -1, rejectionType "NULL_VAL", rejectionReason "",
// brokerVersion "", recordVersion 0, operationReference -1,
// batchOperationReference -1, authorizations_json "" (absent). Unknown
// envelope fields go to extra_json. Values of the typed value types (see the
// package documentation) are decoded into their message, with
// present_field_numbers and extra_json; any other value is kept as compacted JSON text in
// value_json.
//
// Integer fields accept only integer literals that fit the field (int64 keys
// and positions never pass through float64); null is not accepted for any
// known field. A known field occurring twice in one object is an error. Lone
// UTF-16 surrogate escapes in decoded strings become U+FFFD, as in
// encoding/json; raw JSON kept as text keeps its escapes verbatim. Invalid
// UTF-8 is a syntax error.
//
// All errors wrap ErrInvalidRecord.
func Decode(line []byte) (*recordv1.Record, error) { return decode(line, false) }

// DecodeLenient is Decode for ingest: a record whose envelope is valid but
// whose value does not fit its typed message (a mistyped or malformed value
// field) is returned anyway, with the value kept verbatim in value_json and
// the reason in value_error, so that one odd value does not reject a whole
// request and nothing is lost; downstream dead-letters it with the reason.
// Envelope errors are errors, as in Decode.
func DecodeLenient(line []byte) (*recordv1.Record, error) { return decode(line, true) }

func decode(line []byte, lenient bool) (*recordv1.Record, error) {
	if len(line) > maxLine {
		return nil, &SyntaxError{Offset: maxLine, Msg: "line too long"}
	}
	s := scanner{data: line}
	s.skipWS()
	if s.pos >= len(line) {
		return nil, ErrEmptyLine
	}
	if line[s.pos] != '{' {
		start := s.pos
		if err := s.skipValue(0); err != nil {
			return nil, err
		}
		if err := s.checkEnd(); err != nil {
			return nil, err
		}
		return nil, &notObjectError{got: describe(line[start:s.pos])}
	}

	var (
		partitionID                     int32
		position, key, timestamp        int64
		sourceRecordPosition            int64 = -1
		operationRef, batchOperationRef int64 = -1, -1
		recordVersion                   int32
		recordType, valueType, intent   string
		rejectionType                   = defaultRejectionType
		rejectionReason, brokerVersion  string
		authorizations                  string
		value                           []byte
		valueWS                         bool
		mbuf                            [32]member
		members                         []member // the value's, when it is an object
		extra                           []byte
		seen                            uint32
		ferr                            error
	)

	if s.open('}') {
		for {
			k, quoted, err := s.readKey()
			if err != nil {
				return nil, err
			}
			f := envelopeField(k)
			if f < 0 {
				raw, ws, err := s.skipRaw()
				if err != nil {
					return nil, err
				}
				extra = appendExtra(extra, quoted, raw, ws)
			} else {
				if seen&(1<<f) != 0 && ferr == nil {
					ferr = &FieldError{Field: envelopeNames[f], Msg: msgDuplicate}
				}
				seen |= 1 << f
				name := envelopeNames[f]
				var v int64
				switch f {
				case ePartitionID:
					v, err = s.readInt(name, 0, math.MaxInt32)
					partitionID = int32(v)
				case ePosition:
					position, err = s.readInt(name, math.MinInt64, math.MaxInt64)
				case eSourceRecordPosition:
					sourceRecordPosition, err = s.readInt(name, math.MinInt64, math.MaxInt64)
				case eKey:
					key, err = s.readInt(name, math.MinInt64, math.MaxInt64)
				case eTimestamp:
					timestamp, err = s.readInt(name, math.MinInt64, math.MaxInt64)
				case eRecordType:
					recordType, err = s.readString(name, true)
				case eValueType:
					valueType, err = s.readString(name, true)
				case eIntent:
					intent, err = s.readString(name, true)
				case eRejectionType:
					rejectionType, err = s.readString(name, true)
				case eRejectionReason:
					rejectionReason, err = s.readString(name, false)
				case eBrokerVersion:
					brokerVersion, err = s.readString(name, false)
				case eRecordVersion:
					v, err = s.readInt(name, math.MinInt32, math.MaxInt32)
					recordVersion = int32(v)
				case eOperationReference:
					operationRef, err = s.readInt(name, math.MinInt64, math.MaxInt64)
				case eBatchOperationReference:
					batchOperationRef, err = s.readInt(name, math.MinInt64, math.MaxInt64)
				case eValue:
					if s.pos < len(line) && line[s.pos] == '{' {
						// Validate the value and note its members; they are
						// decoded once the value type is known (the exporter
						// writes "value" before "valueType").
						start := s.pos
						var ws bool
						if members, ws, err = s.collectMembers(mbuf[:0], 0); err == nil {
							value, valueWS = line[start:s.pos], ws
						}
						break
					}
					fallthrough
				case eAuthorizations:
					raw, ws, serr := s.skipRaw()
					switch {
					case serr != nil:
						err = serr
					case raw[0] != '{':
						err = typeError(name, "object", raw)
					case f == eValue:
						value, valueWS = raw, ws
					default:
						authorizations = rawString(raw, ws)
					}
				}
				if err = firstFieldError(&ferr, err); err != nil {
					return nil, err
				}
			}
			more, err := s.nextMember()
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
		}
	}
	if err := s.checkEnd(); err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	for _, f := range requiredEnvelope {
		if seen&(1<<f) == 0 {
			return nil, &FieldError{Field: envelopeNames[f], Msg: msgMissing}
		}
	}
	switch "" {
	case recordType:
		return nil, &FieldError{Field: envelopeNames[eRecordType], Msg: "must not be empty"}
	case valueType:
		return nil, &FieldError{Field: envelopeNames[eValueType], Msg: "must not be empty"}
	case intent:
		return nil, &FieldError{Field: envelopeNames[eIntent], Msg: "must not be empty"}
	}

	rec, err := decodeValue(valueType, line, members)
	var valueErr string
	if err != nil {
		err = prefixError(err, "value.")
		if !lenient {
			return nil, err
		}
		rec, valueErr = nil, err.Error()
	}
	if rec == nil {
		a := new(struct {
			rec  recordv1.Record
			wrap recordv1.Record_ValueJson
		})
		a.wrap.ValueJson = rawString(value, valueWS)
		a.rec.Value = &a.wrap
		rec = &a.rec
	}
	rec.PartitionId = partitionID
	rec.Position = position
	rec.SourceRecordPosition = sourceRecordPosition
	rec.Key = key
	rec.Timestamp = timestamp
	rec.RecordType = recordType
	rec.ValueType = valueType
	rec.Intent = intent
	rec.RejectionType = rejectionType
	rec.RejectionReason = rejectionReason
	rec.BrokerVersion = brokerVersion
	rec.RecordVersion = recordVersion
	rec.OperationReference = operationRef
	rec.BatchOperationReference = batchOperationRef
	rec.AuthorizationsJson = authorizations
	rec.ValueError = valueErr
	if extra != nil {
		rec.ExtraJson = string(append(extra, '}'))
	}
	return rec, nil
}

type notObjectError struct{ got string }

func (e *notObjectError) Error() string { return ErrNotObject.Error() + " (got " + e.got + ")" }
func (e *notObjectError) Unwrap() error { return ErrNotObject }

// openArray consumes '[' and reports whether the array has elements; if the
// value is not an array it is skipped and a *FieldError returned.
func (s *scanner) openArray(field string) (bool, error) {
	if s.pos < len(s.data) && s.data[s.pos] == '[' {
		return s.open(']'), nil
	}
	start := s.pos
	if err := s.skipValue(1); err != nil {
		return false, err
	}
	return false, typeError(field, "array", s.data[start:s.pos])
}

// elemError names the element in a *FieldError from reading element i.
func elemError(err error, field string, i int) error {
	if fe, ok := err.(*FieldError); ok {
		fe.Field = indexed(field, i)
	}
	return err
}

// appendInts appends the integers of the array at s.pos to dst.
func (s *scanner) appendInts(dst []int64, field string, lo, hi int64) ([]int64, error) {
	if out, end, ok := fastInts(s.data, s.pos, dst, lo, hi); ok {
		s.pos = end
		return out, nil
	}
	more, err := s.openArray(field)
	for i := 0; more && err == nil; i++ {
		var v int64
		if v, err = s.readInt("", lo, hi); err != nil {
			return dst, elemError(err, field, i)
		}
		dst = append(dst, v)
		more, err = s.nextElement()
	}
	return dst, err
}

// fastInts parses the array at data[pos] if it is an array of integer
// literals in [lo, hi] (valid JSON, whitespace allowed), appending them to
// dst and returning the offset after it; otherwise it reports false and the
// caller takes the slow path, which validates and names what is wrong.
func fastInts(data []byte, pos int, dst []int64, lo, hi int64) ([]int64, int, bool) {
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	i := pos
	if i >= len(data) || data[i] != '[' {
		return dst, 0, false
	}
	i++
	for i < len(data) && isWS(data[i]) {
		i++
	}
	if i < len(data) && data[i] == ']' {
		return dst, i + 1, true
	}
	for {
		neg := false
		if i < len(data) && data[i] == '-' {
			neg = true
			i++
		}
		start := i
		var u uint64
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			u = u*10 + uint64(data[i]-'0')
			i++
		}
		n := i - start
		if n == 0 || n > 19 || (n > 1 && data[start] == '0') {
			return dst, 0, false
		}
		var v int64
		switch {
		case neg && u <= 1<<63:
			v = int64(-u) // -(1<<63) wraps to MinInt64
		case !neg && u <= 1<<63-1:
			v = int64(u)
		default:
			return dst, 0, false
		}
		if v < lo || v > hi {
			return dst, 0, false
		}
		dst = append(dst, v)
		for i < len(data) && isWS(data[i]) {
			i++
		}
		if i >= len(data) {
			return dst, 0, false
		}
		switch data[i] {
		case ',':
			i++
			for i < len(data) && isWS(data[i]) {
				i++
			}
		case ']':
			return dst, i + 1, true
		default:
			return dst, 0, false
		}
	}
}

func (s *scanner) readInt64List(field string) ([]int64, error) {
	var buf [16]int64
	vs, err := s.appendInts(buf[:0], field, math.MinInt64, math.MaxInt64)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	return append([]int64(nil), vs...), nil
}

func (s *scanner) readInt32List(field string) ([]int32, error) {
	var buf [16]int64
	vs, err := s.appendInts(buf[:0], field, math.MinInt32, math.MaxInt32)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	out := make([]int32, len(vs))
	for i, v := range vs {
		out[i] = int32(v)
	}
	return out, nil
}

func (s *scanner) readStringList(field string) ([]string, error) {
	var buf [8]string
	out := buf[:0]
	more, err := s.openArray(field)
	for i := 0; more && err == nil; i++ {
		var v string
		if v, err = s.readString("", false); err != nil {
			return nil, elemError(err, field, i)
		}
		out = append(out, v)
		more, err = s.nextElement()
	}
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return append([]string(nil), out...), nil
}

// readElementInstancePath reads a list of lists of keys. All entries and all
// keys share one allocation each.
func (s *scanner) readElementInstancePath(field string) ([]*recordv1.ElementInstancePathEntry, error) {
	var (
		keyBuf [32]int64
		endBuf [8]int
	)
	keys, ends := keyBuf[:0], endBuf[:0]
	more, err := s.openArray(field)
	for i := 0; more && err == nil; i++ {
		if keys, err = s.appendInts(keys, "", math.MinInt64, math.MaxInt64); err != nil {
			if fe, ok := err.(*FieldError); ok {
				fe.Field = indexed(field, i) + fe.Field
			}
			return nil, err
		}
		ends = append(ends, len(keys))
		more, err = s.nextElement()
	}
	if err != nil || len(ends) == 0 {
		return nil, err
	}
	entries := make([]recordv1.ElementInstancePathEntry, len(ends))
	ptrs := make([]*recordv1.ElementInstancePathEntry, len(ends))
	var all []int64
	if len(keys) > 0 {
		all = append([]int64(nil), keys...)
	}
	start := 0
	for i, end := range ends {
		if end > start {
			entries[i].Keys = all[start:end:end]
		}
		ptrs[i] = &entries[i]
		start = end
	}
	return ptrs, nil
}
