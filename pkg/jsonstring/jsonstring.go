// Package jsonstring writes Go strings as JSON strings: the one escaper
// behind pkg/zeebejson's encoder and pkg/search's bulk bodies, and the
// definition of the bytes a JSON string holds as they are. It keeps no
// state: everything here is safe for concurrent use, and the functions
// write only into the dst their caller owns.
package jsonstring

import "unicode/utf8"

// plain[c] is true for the bytes Plain accepts.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Plain reports whether c stands for itself in a JSON string and needs no
// further checking: printable ASCII other than '"' and '\\'. (Bytes from
// 0x80 up stand for themselves too, but only within valid UTF-8.)
func Plain(c byte) bool { return plain[c] }

// Append appends s to dst as a JSON string, quotes included. '"', '\\' and
// the control characters are escaped (\b, \f, \n, \r and \t by their short
// forms, the others as \u00XX); invalid UTF-8 becomes \ufffd, as in
// encoding/json. Everything else is copied as it is. It allocates only if
// dst must grow.
func Append(dst []byte, s string) []byte { return appendString(dst, s, true) }

// AppendUnchecked is Append without the UTF-8 check: bytes from 0x80 up are
// copied as they are, so the result is valid JSON only if s is valid UTF-8
// (a reader such as Elasticsearch refuses it otherwise, rather than reading
// a different string). For strings that are UTF-8 by construction, or whose
// invalid bytes must not be quietly replaced.
func AppendUnchecked(dst []byte, s string) []byte { return appendString(dst, s, false) }

// appendString is Append, or AppendUnchecked if not checkUTF8.
func appendString(dst []byte, s string, checkUTF8 bool) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is plain and not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if !checkUTF8 {
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
