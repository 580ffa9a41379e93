package simulate

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/flowline/flowline/pkg/zeebejson"
)

// AppendJSON appends the record as one NDJSON line (without the newline):
// the same JSON as encoding/json gives the Record, written without
// reflection (the generator renders millions of records). Map keys are
// sorted, so the output is deterministic.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"partitionId":`...)
	dst = strconv.AppendInt(dst, int64(r.PartitionID), 10)
	dst = appendInt(dst, `,"position":`, r.Position)
	dst = appendInt(dst, `,"sourceRecordPosition":`, r.SourceRecordPosition)
	dst = appendInt(dst, `,"key":`, r.Key)
	dst = appendInt(dst, `,"timestamp":`, r.Timestamp)
	dst = zeebejson.AppendString(append(dst, `,"recordType":`...), r.RecordType)
	dst = zeebejson.AppendString(append(dst, `,"valueType":`...), r.ValueType)
	dst = zeebejson.AppendString(append(dst, `,"intent":`...), r.Intent)
	dst = zeebejson.AppendString(append(dst, `,"rejectionType":`...), r.RejectionType)
	dst = zeebejson.AppendString(append(dst, `,"rejectionReason":`...), r.RejectionReason)
	dst = zeebejson.AppendString(append(dst, `,"brokerVersion":`...), r.BrokerVersion)
	dst = appendInt(dst, `,"recordVersion":`, int64(r.RecordVersion))
	dst = appendInt(dst, `,"operationReference":`, r.OperationReference)
	dst = appendInt(dst, `,"batchOperationReference":`, r.BatchOperationReference)
	dst = appendValue(append(dst, `,"authorizations":`...), r.Authorizations)
	dst = appendValue(append(dst, `,"value":`...), r.Value)
	return append(dst, '}')
}

func appendInt(dst []byte, prefix string, n int64) []byte {
	return strconv.AppendInt(append(dst, prefix...), n, 10)
}

// appendValue writes the JSON of the values the generator builds; other
// types go through encoding/json.
func appendValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return zeebejson.AppendString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case bool:
		return strconv.AppendBool(dst, x)
	case json.RawMessage:
		return append(dst, x...)
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, '"')
	case []int64:
		return appendList(dst, x, func(d []byte, n int64) []byte { return strconv.AppendInt(d, n, 10) })
	case []int32:
		return appendList(dst, x, func(d []byte, n int32) []byte { return strconv.AppendInt(d, int64(n), 10) })
	case []string:
		return appendList(dst, x, zeebejson.AppendString)
	case [][]int64:
		return appendList(dst, x, func(d []byte, l []int64) []byte { return appendValue(d, l) })
	case []map[string]any:
		return appendList(dst, x, func(d []byte, m map[string]any) []byte { return appendValue(d, m) })
	case map[string]any:
		if x == nil {
			return append(dst, "null"...)
		}
		var buf [32]string
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(zeebejson.AppendString(dst, k), ':')
			dst = appendValue(dst, x[k])
		}
		return append(dst, '}')
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only JSON-safe values are ever built here
	}
	return append(dst, b...)
}

func appendList[T any](dst []byte, l []T, f func([]byte, T) []byte) []byte {
	if l == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, x := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = f(dst, x)
	}
	return append(dst, ']')
}
