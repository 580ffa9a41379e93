package zeebejson

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/flowline/flowline/pkg/jsonstring"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// scanner is a validating JSON reader over a byte slice. It never allocates
// except for error values.
type scanner struct {
	data []byte
	pos  int
	// ws is set whenever skipWS consumed something; callers reset it to learn
	// whether a raw value contains insignificant whitespace.
	ws bool
}

func (s *scanner) skipWS() {
	start := s.pos
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			if s.pos != start {
				s.ws = true
			}
			return
		}
	}
	if s.pos != start {
		s.ws = true
	}
}

func (s *scanner) syntaxErr(off int, msg string) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: msg}
}

// unexpected reports the byte at s.pos (or the end of input) in context.
func (s *scanner) unexpected(context string) *SyntaxError {
	if s.pos >= len(s.data) {
		return s.syntaxErr(s.pos, "unexpected end of input "+context)
	}
	return s.syntaxErr(s.pos, "invalid character "+quoteChar(s.data[s.pos])+" "+context)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	default:
		const hex = "0123456789abcdef"
		return `'\x` + string([]byte{hex[c>>4], hex[c&15]}) + "'"
	}
}

// expect consumes byte c, after optional whitespace.
func (s *scanner) expect(c byte, context string) error {
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return nil
	}
	return s.unexpected(context)
}

// scanString reads the string starting at s.pos (which must be '"') and
// returns its content between the quotes, still escaped, and whether it has
// any escape sequence.
func (s *scanner) scanString() (raw []byte, escaped bool, err error) {
	data := s.data
	start := s.pos + 1
	i := start
	for {
		// Skip 8 plain bytes at a time; stop at the first byte that is a
		// quote, a backslash, a control character or non-ASCII.
		for i+8 <= len(data) {
			if m := specialBytes(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		if jsonstring.Plain(c) {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return data[start:i], escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return nil, false, s.syntaxErr(len(data), "unexpected end of input in string escape")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) {
					return nil, false, s.syntaxErr(len(data), "unexpected end of input in string escape")
				}
				for j := i + 2; j < i+6; j++ {
					if unhex(data[j]) < 0 {
						return nil, false, s.syntaxErr(j, "invalid character "+quoteChar(data[j])+" in \\u escape")
					}
				}
				i += 6
			default:
				return nil, false, s.syntaxErr(i+1, "invalid escape character "+quoteChar(data[i+1])+" in string")
			}
		case c < 0x20:
			return nil, false, s.syntaxErr(i, "invalid control character "+quoteChar(c)+" in string")
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, s.syntaxErr(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return nil, false, s.syntaxErr(len(data), "unexpected end of input in string")
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialBytes returns a word whose lowest set bit is the high bit of the
// first byte of w (little endian) that needs attention in a string: '"',
// '\\', < 0x20 or >= 0x80; zero if there is none. Bits above the first such
// byte may be wrong.
func specialBytes(w uint64) uint64 {
	q := w ^ (lsb * '"')
	b := w ^ (lsb * '\\')
	return ((w-lsb*0x20) & ^w | (q-lsb)&^q | (b-lsb)&^b | w) & msb
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

func hex4(b []byte) rune {
	return rune(unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]))
}

// unquote decodes the content of a string validated by scanString. Lone
// UTF-16 surrogates (\ud800 without its pair) become U+FFFD, as in
// encoding/json: a Go string cannot hold them as valid UTF-8.
func unquote(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			b.Write(raw[i:j])
			i = j
			continue
		}
		switch e := raw[i+1]; e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				dec := utf8.RuneError
				if r < 0xdc00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(raw[i+2:i+6])); d != utf8.RuneError {
						dec = d
						i += 6
					}
				}
				r = dec
			}
			b.WriteRune(r)
			continue
		default: // '"', '\\', '/'
			b.WriteByte(e)
		}
		i += 2
	}
	return b.String()
}

// scanNumber reads the number starting at s.pos and reports whether it is an
// integer literal (no fraction, no exponent).
func (s *scanner) scanNumber() (isInt bool, err error) {
	data := s.data
	i := s.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return false, s.syntaxErr(i, "unexpected end of input in number")
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i++
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		return false, s.syntaxErr(i, "invalid character "+quoteChar(data[i])+" in number")
	}
	isInt = true
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			s.pos = i
			return false, s.unexpected("after decimal point in number")
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			s.pos = i
			return false, s.unexpected("in exponent of number")
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return isInt, nil
}

// parseInt converts an integer literal validated by scanNumber.
func parseInt(lit []byte) (int64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range lit {
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow uint64
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return nil
	}
	for i := 0; i < len(word); i++ {
		if s.pos+i >= len(s.data) {
			return s.syntaxErr(s.pos+i, "unexpected end of input in literal "+word)
		}
		if s.data[s.pos+i] != word[i] {
			return s.syntaxErr(s.pos+i, "invalid character "+quoteChar(s.data[s.pos+i])+" in literal "+word)
		}
	}
	return nil // unreachable
}

// skipValue validates and skips the JSON value at s.pos (no leading
// whitespace).
func (s *scanner) skipValue(depth int) error {
	if s.pos >= len(s.data) {
		return s.unexpected("looking for beginning of value")
	}
	switch c := s.data[s.pos]; c {
	case '"':
		_, _, err := s.scanString()
		return err
	case '{':
		// The loops here and in collect have s.nextMember and
		// s.nextElement written out: Go does not inline them, and a call
		// per member or element costs Decode and Encode some 2%.
		if depth >= maxDepth {
			return s.syntaxErr(s.pos, "exceeded max depth")
		}
		if !s.open('}') {
			return nil
		}
		for {
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return s.unexpected("looking for beginning of object key string")
			}
			if _, _, err := s.scanString(); err != nil {
				return err
			}
			if err := s.expect(':', "after object key"); err != nil {
				return err
			}
			s.skipWS()
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			s.skipWS()
			if s.pos < len(s.data) {
				switch s.data[s.pos] {
				case ',':
					s.pos++
					s.skipWS()
					continue
				case '}':
					s.pos++
					return nil
				}
			}
			return s.unexpected(afterMember)
		}
	case '[':
		if depth >= maxDepth {
			return s.syntaxErr(s.pos, "exceeded max depth")
		}
		if !s.open(']') {
			return nil
		}
		for {
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			s.skipWS()
			if s.pos < len(s.data) {
				switch s.data[s.pos] {
				case ',':
					s.pos++
					s.skipWS()
					continue
				case ']':
					s.pos++
					return nil
				}
			}
			return s.unexpected(afterElement)
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			_, err := s.scanNumber()
			return err
		}
		return s.unexpected("looking for beginning of value")
	}
}

// skipRaw skips the value at s.pos and returns its text and whether it
// contains insignificant whitespace.
func (s *scanner) skipRaw() (raw []byte, ws bool, err error) {
	start, outer := s.pos, s.ws
	s.ws = false
	err = s.skipValue(0)
	ws = s.ws
	s.ws = outer || ws // keep tracking for an enclosing raw value
	return s.data[start:s.pos], ws, err
}

// appendCompact appends raw, a valid JSON value, without insignificant
// whitespace. String contents are copied verbatim, escapes included.
func appendCompact(dst, raw []byte) []byte {
	inStr := false
	start := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}

// checkEnd verifies that only whitespace follows the top-level value.
func (s *scanner) checkEnd() error {
	s.skipWS()
	if s.pos < len(s.data) {
		return s.unexpected("after top-level value")
	}
	return nil
}
