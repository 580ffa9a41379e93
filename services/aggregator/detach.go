package aggregator

import "strings"

// Record messages are decoded in place (UnmarshalVTUnsafe): a record's
// strings and bytes alias the message's body, which saves allocating and
// collecting every string of every record, the larger part of decoding.
// A body lives as long as anything points into it, so what outlives the
// message (the partition state's documents, the definitions cache, metric
// labels) must not: every string the folder keeps is either interned
// (intern: the few-valued ones, such as process and element ids, element
// types, tenants) or copied (own: the many-valued ones, such as error
// messages, assignees, dates). TestStateOutlivesTheMessageBody overwrites
// each body once folded and holds the documents to those of a safe decode.
// A record's bytes fields (resources, checksums) alias the body too, with
// its capacity: they are only ever read or copied, never appended to.

// maxInternedLen: longer strings are copied, not interned.
const maxInternedLen = 128

// maxInterned bounds the interned strings; past it the table starts over
// (strings handed out stay valid, they are ordinary heap strings).
const maxInterned = 1 << 14

// interned holds one copy of each few-valued string the state keeps (a
// handful of distinct values among millions of records). Owned by the
// partition worker with its state; not safe for concurrent use.
type interned struct {
	m map[string]string
}

// intern returns s as a string of its own, shared with every earlier
// equal string (a long one is copied).
func (in *interned) intern(s string) string {
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

// internAll returns a copy of list whose strings are interned; never nil.
func (in *interned) internAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = in.intern(s)
	}
	return out
}

// own returns a copy of s: for the many-valued strings the state keeps,
// which interning would only pile up.
func own(s string) string { return strings.Clone(s) }

// ownOptional is own for an optional field: nil when s is empty.
func ownOptional(s string) *string { return optionalString(strings.Clone(s)) }

// ownAll returns a copy of list and of its strings; never nil.
func ownAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.Clone(s)
	}
	return out
}
