package zeebejson

// Valid checks that text is exactly one JSON value (RFC 8259: UTF-8,
// surrounding whitespace allowed, nesting at most 10,000 deep, as Decode
// accepts): the JSON text Zeebe keeps in strings and objects (a variable's
// value, custom headers, decision outputs), which pkg/wire checks in every
// pushed record. The error is a *SyntaxError with the offset of the
// problem. It allocates only on error and is safe for concurrent use.
func Valid(text []byte) error {
	s := scanner{data: text}
	s.skipWS()
	if err := s.skipValue(0); err != nil {
		return err
	}
	return s.checkEnd()
}
