package zeebejson

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrInvalidRecord is wrapped by every error Decode returns for bad input and
// by every error Encode returns for a Record it cannot render: test with
// errors.Is(err, ErrInvalidRecord). The concrete error is one of *SyntaxError,
// *FieldError, ErrEmptyLine or ErrNotObject (possibly wrapped).
var ErrInvalidRecord = errors.New("zeebejson: invalid record")

// invalidError is a fixed message that unwraps to ErrInvalidRecord.
type invalidError string

func (e invalidError) Error() string { return string(e) }
func (e invalidError) Unwrap() error { return ErrInvalidRecord }

var (
	// ErrEmptyLine is returned by Decode for an input that is empty or only
	// whitespace. NDJSON readers that want to skip blank lines can test for it
	// with errors.Is.
	ErrEmptyLine error = invalidError("zeebejson: empty line")
	// ErrNotObject is returned (wrapped, with what was found) by Decode for
	// well-formed JSON whose top-level value is not an object.
	ErrNotObject error = invalidError("zeebejson: not a JSON object")
)

// SyntaxError reports input that is not well-formed JSON (RFC 8259, which
// includes requiring UTF-8).
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return "zeebejson: invalid JSON: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns ErrInvalidRecord.
func (e *SyntaxError) Unwrap() error { return ErrInvalidRecord }

// FieldError reports a well-formed JSON record that does not fit the Zeebe
// record schema: a missing, duplicated or mistyped field, or a value out of
// range. From Encode it names the Record's (protobuf) field instead.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "position",
	// "value.processInstanceKey" or "value.tags[2]".
	Field string
	// Msg says what is wrong, e.g. `expected integer, got string "12"`,
	// or is "missing" or "duplicate" (rendered as `missing field "position"`).
	Msg string
}

func (e *FieldError) Error() string {
	switch {
	case e.Field == "":
		return "zeebejson: " + e.Msg
	case e.Msg == msgMissing || e.Msg == msgDuplicate:
		return "zeebejson: " + e.Msg + " field " + strconv.Quote(e.Field)
	}
	return "zeebejson: field " + strconv.Quote(e.Field) + ": " + e.Msg
}

// Unwrap returns ErrInvalidRecord.
func (e *FieldError) Unwrap() error { return ErrInvalidRecord }

// Msg values of a FieldError for a required field that is absent and for a
// known field that occurs twice in one object.
const (
	msgMissing   = "missing"
	msgDuplicate = "duplicate"
)

// describe renders a JSON value for an error message: its kind and, for
// scalars, a short excerpt of its text.
func describe(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	const maxExcerpt = 40
	excerpt := func() string {
		if len(raw) > maxExcerpt {
			n := maxExcerpt
			for n > 0 && !utf8.RuneStart(raw[n]) {
				n--
			}
			return string(raw[:n]) + "..."
		}
		return string(raw)
	}
	switch c := raw[0]; {
	case c == '"':
		return "string " + excerpt()
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean " + excerpt()
	case c == 'n':
		return "null"
	default:
		return "number " + excerpt()
	}
}

func typeError(field, want string, raw []byte) *FieldError {
	return &FieldError{Field: field, Msg: "expected " + want + ", got " + describe(raw)}
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func encodeError(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
