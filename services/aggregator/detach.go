package aggregator

import "strings"

// Record messages are decoded in place (UnmarshalVTUnsafe): a record's
// strings and bytes alias the message's body, which saves allocating and
// collecting every string of every record, the larger part of decoding.
// A body lives as long as anything points into it, so what outlives the
// message (the partition state's documents, the definitions cache) must
// not: every string the folder keeps goes through keep, which returns a
// copy of its own. TestStateOutlivesTheMessageBody overwrites each body
// once folded and holds the documents to those of a safe decode.

// maxInternedLen: longer strings (error messages, free text) are copied,
// not interned.
const maxInternedLen = 128

// maxInterned bounds the interned strings; past it the table starts over
// (strings handed out stay valid, they are ordinary heap strings).
const maxInterned = 1 << 16

// interned holds one copy of each short string the state keeps (process
// ids, element ids and types, tenants: a few distinct values among
// millions of records). Owned by the partition worker with its state; not
// safe for concurrent use.
type interned struct {
	m map[string]string
}

// keep returns s as a string of its own: the interned copy of a short one,
// a fresh copy of a long one.
func (in *interned) keep(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) > maxInternedLen:
		return strings.Clone(s)
	}
	if k, ok := in.m[s]; ok {
		return k
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 256)
	}
	k := strings.Clone(s)
	in.m[k] = k
	return k
}

// keepOptional is keep for an optional field: nil when s is empty.
func (in *interned) keepOptional(s string) *string {
	return optionalString(in.keep(s))
}

// keepAll returns a copy of list whose strings are kept; never nil.
func (in *interned) keepAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = in.keep(s)
	}
	return out
}
