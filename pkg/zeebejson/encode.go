package zeebejson

import (
	"strconv"
	"unicode/utf8"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// Encode renders a Record as Zeebe JSON (the inverse of Decode): every field
// Decode read comes back with the same value; keys in a stable order.
//
// The output is one compact JSON object without a trailing newline. Envelope
// keys come in this order: partitionId, position, sourceRecordPosition, key,
// timestamp, recordType, valueType, intent, rejectionType, rejectionReason,
// brokerVersion, recordVersion, operationReference, batchOperationReference,
// authorizations (only if authorizations_json is set), the members of
// extra_json, value. All envelope fields except authorizations are always
// written, so fields the input lacked appear with the defaults Decode gave
// them (sourceRecordPosition -1, rejectionType "NULL_VAL", rejectionReason "",
// brokerVersion "", recordVersion 0, operationReference -1,
// batchOperationReference -1).
//
// A ProcessInstanceValue is written with the fields named in present_fields
// plus any field whose value differs from its absent-default, in Zeebe's order,
// then the members of its extra_json. value_json, authorizations_json and
// extra_json must hold JSON objects; they are validated and compacted, and an
// extra_json may not repeat a field the schema knows. Errors wrap
// ErrInvalidRecord and name the Record's field.
func Encode(r *recordv1.Record) ([]byte, error) {
	return AppendEncode(make([]byte, 0, sizeHint(r)), r)
}

// AppendEncode appends the JSON to dst (for building NDJSON cheaply). On
// error it returns dst unchanged (though bytes past len(dst) may have been
// overwritten).
func AppendEncode(dst []byte, r *recordv1.Record) ([]byte, error) {
	out, err := appendRecord(dst, r)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func sizeHint(r *recordv1.Record) int {
	if r == nil {
		return 0
	}
	n := 360 + len(r.RecordType) + len(r.ValueType) + len(r.Intent) + len(r.RejectionType) +
		len(r.RejectionReason) + len(r.BrokerVersion) + len(r.AuthorizationsJson) + len(r.ExtraJson)
	switch v := r.Value.(type) {
	case *recordv1.Record_ValueJson:
		n += len(v.ValueJson)
	case *recordv1.Record_ProcessInstance:
		pi := v.ProcessInstance
		if pi == nil {
			break
		}
		n += 520 + len(pi.BpmnProcessId) + len(pi.ElementId) + len(pi.BpmnElementType) +
			len(pi.BpmnEventType) + len(pi.TenantId) + len(pi.BusinessId) + len(pi.ExtraJson) +
			21*len(pi.ProcessDefinitionPath) + 12*len(pi.CallingElementPath)
		for _, e := range pi.ElementInstancePath {
			n += 3 + 21*len(e.GetKeys())
		}
		for _, t := range pi.Tags {
			n += 3 + len(t)
		}
	}
	return n
}

func appendRecord(dst []byte, r *recordv1.Record) ([]byte, error) {
	if r == nil {
		return dst, &FieldError{Msg: "nil record"}
	}
	if r.PartitionId < 0 {
		return dst, encodeError("partition_id", "must not be negative, got %d", r.PartitionId)
	}
	for _, f := range [...]struct{ name, v string }{
		{"record_type", r.RecordType}, {"value_type", r.ValueType}, {"intent", r.Intent},
	} {
		if f.v == "" {
			return dst, encodeError(f.name, "must not be empty")
		}
	}
	var err error
	dst = append(dst, `{"partitionId":`...)
	dst = strconv.AppendInt(dst, int64(r.PartitionId), 10)
	dst = append(dst, `,"position":`...)
	dst = strconv.AppendInt(dst, r.Position, 10)
	dst = append(dst, `,"sourceRecordPosition":`...)
	dst = strconv.AppendInt(dst, r.SourceRecordPosition, 10)
	dst = append(dst, `,"key":`...)
	dst = strconv.AppendInt(dst, r.Key, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, r.Timestamp, 10)
	dst = append(dst, `,"recordType":`...)
	dst = appendString(dst, r.RecordType)
	dst = append(dst, `,"valueType":`...)
	dst = appendString(dst, r.ValueType)
	dst = append(dst, `,"intent":`...)
	dst = appendString(dst, r.Intent)
	dst = append(dst, `,"rejectionType":`...)
	dst = appendString(dst, r.RejectionType)
	dst = append(dst, `,"rejectionReason":`...)
	dst = appendString(dst, r.RejectionReason)
	dst = append(dst, `,"brokerVersion":`...)
	dst = appendString(dst, r.BrokerVersion)
	dst = append(dst, `,"recordVersion":`...)
	dst = strconv.AppendInt(dst, int64(r.RecordVersion), 10)
	dst = append(dst, `,"operationReference":`...)
	dst = strconv.AppendInt(dst, r.OperationReference, 10)
	dst = append(dst, `,"batchOperationReference":`...)
	dst = strconv.AppendInt(dst, r.BatchOperationReference, 10)
	if r.AuthorizationsJson != "" {
		dst = append(dst, `,"authorizations":`...)
		if dst, err = appendRawObject(dst, r.AuthorizationsJson, "authorizations_json"); err != nil {
			return dst, err
		}
	}
	if r.ExtraJson != "" {
		if dst, err = appendMembers(dst, r.ExtraJson, "extra_json", isEnvelopeKey); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"value":`...)
	switch v := r.Value.(type) {
	case *recordv1.Record_ValueJson:
		if dst, err = appendRawObject(dst, v.ValueJson, "value_json"); err != nil {
			return dst, err
		}
	case *recordv1.Record_ProcessInstance:
		if v.ProcessInstance == nil {
			return dst, encodeError("process_instance", "nil value")
		}
		if dst, err = appendProcessInstance(dst, v.ProcessInstance); err != nil {
			return dst, err
		}
	default:
		return dst, encodeError("value", "record has no value")
	}
	return append(dst, '}'), nil
}

func isEnvelopeKey(k []byte) bool { return envelopeField(k) >= 0 }
func isPIKey(k []byte) bool       { return piField(k) >= 0 }

// piEmitMask returns the fields Encode writes: those listed in present_fields
// and those whose value differs from what Decode gives an absent field.
func piEmitMask(pi *recordv1.ProcessInstanceValue) (uint32, error) {
	var m uint32
	for _, name := range pi.PresentFields {
		f := piField(name)
		if f < 0 {
			return 0, encodeError("process_instance.present_fields", "unknown field %q", name)
		}
		m |= 1 << f
	}
	set := func(f int, differs bool) {
		if differs {
			m |= 1 << f
		}
	}
	set(pBpmnProcessID, pi.BpmnProcessId != "")
	set(pProcessInstanceKey, pi.ProcessInstanceKey != -1)
	set(pProcessDefinitionKey, pi.ProcessDefinitionKey != -1)
	set(pElementID, pi.ElementId != "")
	set(pFlowScopeKey, pi.FlowScopeKey != -1)
	set(pBpmnEventType, pi.BpmnEventType != defaultUnspecified)
	set(pParentProcessInstanceKey, pi.ParentProcessInstanceKey != -1)
	set(pParentElementInstanceKey, pi.ParentElementInstanceKey != -1)
	set(pBpmnElementType, pi.BpmnElementType != defaultUnspecified)
	set(pVersion, pi.Version != -1)
	set(pTenantID, pi.TenantId != defaultTenantID)
	set(pElementInstancePath, len(pi.ElementInstancePath) > 0)
	set(pProcessDefinitionPath, len(pi.ProcessDefinitionPath) > 0)
	set(pCallingElementPath, len(pi.CallingElementPath) > 0)
	set(pTags, len(pi.Tags) > 0)
	set(pRootProcessInstanceKey, pi.RootProcessInstanceKey != -1)
	set(pBusinessID, pi.BusinessId != "")
	set(pElementInstanceKey, pi.ElementInstanceKey != -1)
	return m, nil
}

func appendProcessInstance(dst []byte, pi *recordv1.ProcessInstanceValue) ([]byte, error) {
	mask, err := piEmitMask(pi)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '{')
	first := true
	for f := range numPI {
		if mask&(1<<f) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, piNames[f]...)
		dst = append(dst, '"', ':')
		switch f {
		case pBpmnProcessID:
			dst = appendString(dst, pi.BpmnProcessId)
		case pProcessInstanceKey:
			dst = strconv.AppendInt(dst, pi.ProcessInstanceKey, 10)
		case pProcessDefinitionKey:
			dst = strconv.AppendInt(dst, pi.ProcessDefinitionKey, 10)
		case pElementID:
			dst = appendString(dst, pi.ElementId)
		case pFlowScopeKey:
			dst = strconv.AppendInt(dst, pi.FlowScopeKey, 10)
		case pBpmnEventType:
			dst = appendString(dst, pi.BpmnEventType)
		case pParentProcessInstanceKey:
			dst = strconv.AppendInt(dst, pi.ParentProcessInstanceKey, 10)
		case pParentElementInstanceKey:
			dst = strconv.AppendInt(dst, pi.ParentElementInstanceKey, 10)
		case pBpmnElementType:
			dst = appendString(dst, pi.BpmnElementType)
		case pVersion:
			dst = strconv.AppendInt(dst, int64(pi.Version), 10)
		case pTenantID:
			dst = appendString(dst, pi.TenantId)
		case pElementInstancePath:
			dst = append(dst, '[')
			for i, e := range pi.ElementInstancePath {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendInt64s(dst, e.GetKeys())
			}
			dst = append(dst, ']')
		case pProcessDefinitionPath:
			dst = appendInt64s(dst, pi.ProcessDefinitionPath)
		case pCallingElementPath:
			dst = append(dst, '[')
			for i, v := range pi.CallingElementPath {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendInt(dst, int64(v), 10)
			}
			dst = append(dst, ']')
		case pTags:
			dst = append(dst, '[')
			for i, t := range pi.Tags {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, t)
			}
			dst = append(dst, ']')
		case pRootProcessInstanceKey:
			dst = strconv.AppendInt(dst, pi.RootProcessInstanceKey, 10)
		case pBusinessID:
			dst = appendString(dst, pi.BusinessId)
		case pElementInstanceKey:
			dst = strconv.AppendInt(dst, pi.ElementInstanceKey, 10)
		}
	}
	if pi.ExtraJson != "" {
		mark := len(dst)
		if dst, err = appendMembers(dst, pi.ExtraJson, "process_instance.extra_json", isPIKey); err != nil {
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

func appendInt64s(dst []byte, vs []int64) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, v, 10)
	}
	return append(dst, ']')
}

// appendRawObject appends text, which must be a JSON object, compacted.
func appendRawObject(dst []byte, text, field string) ([]byte, error) {
	mark := len(dst)
	dst = append(dst, text...)
	s := scanner{data: dst[mark:]}
	s.skipWS()
	lead := s.pos
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		if err := s.skipValue(0); err != nil {
			return dst[:mark], rawError(field, err)
		}
		return dst[:mark], typeError(field, "object", s.data[lead:s.pos])
	}
	_, ws, err := s.skipRaw()
	if err == nil {
		err = s.checkEnd()
	}
	if err != nil {
		return dst[:mark], rawError(field, err)
	}
	if lead > 0 || ws || s.ws {
		// Compact in place: the write position never passes the read position.
		dst = appendCompact(dst[:mark], s.data)
	}
	return dst, nil
}

// appendMembers appends the members of the JSON object text, compacted and
// each preceded by a comma. No key may satisfy known.
func appendMembers(dst []byte, text, field string, known func([]byte) bool) ([]byte, error) {
	mark := len(dst)
	dst = append(dst, ',')
	dst = append(dst, text...)
	s := scanner{data: dst[mark+1:]}
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		lead := s.pos
		if err := s.skipValue(0); err != nil {
			return dst[:mark], rawError(field, err)
		}
		return dst[:mark], typeError(field, "object", s.data[lead:s.pos])
	}
	if s.openObject() {
		for {
			k, _, err := s.readKey()
			if err != nil {
				return dst[:mark], rawError(field, err)
			}
			if known(k) {
				return dst[:mark], encodeError(field, "holds known field %q", k)
			}
			if err := s.skipValue(1); err != nil {
				return dst[:mark], rawError(field, err)
			}
			more, err := s.nextMember()
			if err != nil {
				return dst[:mark], rawError(field, err)
			}
			if !more {
				break
			}
		}
	}
	if err := s.checkEnd(); err != nil {
		return dst[:mark], rawError(field, err)
	}
	// ",{a:1,b:2}" -> ",a:1,b:2"
	dst = appendCompact(dst[:mark+1], s.data)
	body := dst[mark+2 : len(dst)-1]
	if len(body) == 0 {
		return dst[:mark], nil
	}
	copy(dst[mark+1:], body)
	return dst[:mark+1+len(body)], nil
}

func rawError(field string, err error) error {
	if se, ok := err.(*SyntaxError); ok {
		return &FieldError{Field: field, Msg: "invalid JSON: " + se.Msg + " at offset " + strconv.Itoa(se.Offset)}
	}
	return err
}

// appendString appends s as a JSON string. Only '"', '\\' and control
// characters are escaped; invalid UTF-8 becomes U+FFFD, as in encoding/json.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if strSafe[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
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
