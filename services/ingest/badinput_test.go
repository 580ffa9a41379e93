package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/ingest"
)

// jobRecord is a JOB CREATED record of partition p at pos with the given
// custom headers text.
func jobRecord(p int32, pos int64, customHeaders string) *recordv1.Record {
	return &recordv1.Record{PartitionId: p, Position: pos, Key: int64(p)<<51 + pos, Timestamp: 1763884800000,
		RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
		Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "pay", CustomHeadersJson: customHeaders, VariablesJson: "{}",
			ProcessInstanceKey: int64(p)<<51 + 1, ElementInstanceKey: int64(p)<<51 + 2}}}
}

func batch(t *testing.T, recs ...*recordv1.Record) []byte {
	t.Helper()
	b, err := proto.Marshal(&recordv1.RecordBatch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requireMentions fails unless a's error message mentions every one of want.
func requireMentions(t *testing.T, a answer, code int, want ...string) {
	t.Helper()
	if a.code != code {
		t.Fatalf("status %d, want %d: %s", a.code, code, a.raw)
	}
	msg, _ := a.body["error"].(string)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

// A protobuf client can put anything into a JSON-text field; the aggregator
// embeds those fields in documents as JSON. So ingest checks them, in both
// formats with the same check (wire.CheckRecord), and refuses the whole
// request naming the record (index or line, partition, position) and the
// field; nothing of it is stored.
func TestJSONTextFieldsThatAreNotJSONAreRefusedNamingRecordAndField(t *testing.T) {
	ns := testenv.NATS(t)
	s := newIngest(t, ns, nil)

	a := send(t, s, ingest.ContentTypeProtobuf, batch(t, jobRecord(1, 1, "{}"), jobRecord(1, 2, "{not json"), jobRecord(1, 3, `{"a":"b"}`)), nil)
	requireMentions(t, a, 400, "record 2", "partition 1", "position 2", "job.custom_headers_json", "not valid JSON text", "nothing stored")
	problems, _ := a.body["errors"].([]any)
	if len(problems) != 1 {
		t.Fatalf("problems %v, want one", a.body["errors"])
	}
	p := problems[0].(map[string]any)
	if p["record"] != 2.0 || p["partition"] != 1.0 || p["position"] != 2.0 || p["field"] != "job.custom_headers_json" {
		t.Errorf("problem %v, want record 2, partition 1, position 2, field job.custom_headers_json", p)
	}

	// A VARIABLE's value is JSON text inside a JSON string: "EUR" unquoted
	// is not JSON. Named by its path in Zeebe's JSON.
	notJSON := strings.Replace(line(1, 2), `"value":"\"EUR\""`, `"value":"EUR"`, 1)
	a = send(t, s, ingest.ContentTypeNDJSON, []byte(line(1, 1)+"\n"+notJSON+"\n"), nil)
	requireMentions(t, a, 400, "line 2", "partition 1", "position 2", "value.value", "not valid JSON text")

	// Invalid UTF-8 in a protobuf string field, and in an NDJSON line.
	raw := bytes.Replace(batch(t, jobRecord(1, 1, "{}")), []byte("pay"), []byte("\xffay"), 1) // proto.Marshal refuses to write it
	a = send(t, s, ingest.ContentTypeProtobuf, raw, nil)
	requireMentions(t, a, 400, "record 1", "job.type", "UTF-8")
	a = send(t, s, ingest.ContentTypeNDJSON, []byte(strings.Replace(line(1, 1), "amount", "am\xffount", 1)), nil)
	requireMentions(t, a, 400, "line 1", "UTF-8")

	if n := storedRecords(t, ns); n != 0 {
		t.Fatalf("refused requests stored %d records", n)
	}
	a = send(t, s, ingest.ContentTypeProtobuf, batch(t, jobRecord(1, 1, "{}"), jobRecord(1, 2, `{"k":"v"}`)), nil)
	if a.code != 202 || a.body["accepted"] != 2.0 {
		t.Fatalf("valid batch after refused ones: %d %s", a.code, a.raw)
	}
}

// Each partition id costs a subject, a consumer, a lease and goroutines for
// ever: ids above FLOWLINE_INGEST_MAX_PARTITION_ID are refused with 400
// naming the record and the limit. Negative partition ids and positions are
// 400 too, never counted as duplicates.
func TestPartitionIdsAboveTheCapAndNegativePositionsAreRefused(t *testing.T) {
	ns := testenv.NATS(t)
	s := newIngest(t, ns, nil)
	tests := []struct {
		name, contentType string
		body              []byte
		mentions          []string
	}{
		{"NDJSON partition above the cap", ingest.ContentTypeNDJSON, []byte(line(1, 1) + "\n" + line(8193, 1) + "\n"),
			[]string{"line 2", "partition 8193", "8192", "FLOWLINE_INGEST_MAX_PARTITION_ID"}},
		{"protobuf partition above the cap", ingest.ContentTypeProtobuf, batch(t, jobRecord(1<<30, 1, "{}")),
			[]string{"record 1", "partition 1073741824", "8192"}},
		{"NDJSON negative position", ingest.ContentTypeNDJSON, []byte(strings.Replace(line(1, 7), `"position":7`, `"position":-3`, 1)),
			[]string{"line 1", "position -3 is negative"}},
		{"protobuf negative position", ingest.ContentTypeProtobuf, batch(t, jobRecord(2, -1, "{}")),
			[]string{"record 1", "position -1 is negative"}},
		{"protobuf negative partition", ingest.ContentTypeProtobuf, batch(t, jobRecord(-4, 1, "{}")),
			[]string{"record 1", "partition id -4 is negative"}},
		{"NDJSON negative partition", ingest.ContentTypeNDJSON, []byte(strings.Replace(line(1, 1), `"partitionId":1`, `"partitionId":-4`, 1)),
			[]string{"line 1", "partitionId", "out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireMentions(t, send(t, s, tt.contentType, tt.body, nil), 400, tt.mentions...)
		})
	}
	if n := storedRecords(t, ns); n != 0 {
		t.Fatalf("refused requests stored %d records", n)
	}
	// The cap is a setting.
	raised := newIngest(t, ns, func(c *ingest.Config) { c.MaxPartitionID = 10_000 })
	if a := send(t, raised, ingest.ContentTypeNDJSON, []byte(line(8193, 1)), nil); a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("partition 8193 under a raised cap: %d %s", a.code, a.raw)
	}
}

// bigVariable is an NDJSON VARIABLE record of partition p at pos whose
// value is a JSON string of size bytes.
func bigVariable(p int32, pos int64, size int) string {
	return strings.Replace(line(p, pos), `"value":"\"EUR\""`, `"value":"\"`+strings.Repeat("x", size)+`\""`, 1)
}

// storedBodies reads every record of partition p back from the stream,
// bodies through stream.Payloads.Body as the aggregator does, and returns
// each record's position and variable value size.
func storedBodies(t *testing.T, ns *natsserver.Server, p int32) map[int64]int {
	t.Helper()
	ctx := context.Background()
	conn := testenv.Connect(t, ns)
	payloads, err := stream.OpenPayloads(ctx, conn.JS, testenv.Streams())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int{}
	for _, msg := range testenv.Messages(t, conn.JS, stream.RecordsStream) {
		if msg.Subject() != stream.RecordsSubject(p) {
			continue
		}
		body, err := payloads.Body(ctx, msg.Headers(), msg.Data())
		if err != nil {
			t.Fatal(err)
		}
		var b recordv1.RecordBatch
		if err := proto.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			out[r.Position] = len(r.GetVariable().GetValue())
		}
	}
	return out
}

// A record up to FLOWLINE_INGEST_MAX_RECORD_BYTES (Zeebe's 4 MiB by
// default) is stored whatever the server's max_payload (1 MiB here, a real
// server's default): its message body goes to the payload object store.
// A larger one gets 413 naming it and the limit, at once, instead of an
// endless 503; the partition goes on with the next record.
func TestRecordsOverMaxPayloadAreStoredAndOnlyOversizeOnesRefused(t *testing.T) {
	ns := testenv.NATS(t, natsserver.WithMaxPayload(1<<20))
	s := newIngest(t, ns, func(c *ingest.Config) { c.MaxBodyBytes, c.MaxRecords = 32<<20, 100 })

	// 2 MiB: twice the server's max_payload, half Zeebe's limit.
	a := send(t, s, ingest.ContentTypeNDJSON, []byte(bigVariable(1, 1, 2<<20)), nil)
	if a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("2 MiB record: %d %s", a.code, a.raw)
	}
	if a = send(t, s, ingest.ContentTypeNDJSON, []byte(line(1, 2)), nil); a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("ordinary record after the 2 MiB one: %d %s", a.code, a.raw)
	}

	// 9 MiB: over the default limit, in either format.
	a = send(t, s, ingest.ContentTypeNDJSON, []byte(line(1, 3)+"\n"+bigVariable(1, 4, 9<<20)+"\n"), nil)
	requireMentions(t, a, 413, "line 2", "partition 1", "position 4", "bytes encoded", "4194304", "FLOWLINE_INGEST_MAX_RECORD_BYTES")
	big := &recordv1.Record{PartitionId: 1, Position: 4, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
		Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "v", Value: `"` + strings.Repeat("y", 9<<20) + `"`}}}
	a = send(t, s, ingest.ContentTypeProtobuf, batch(t, big), nil)
	requireMentions(t, a, 413, "record 1", "partition 1", "position 4", "4194304")
	if a = send(t, s, ingest.ContentTypeNDJSON, []byte(line(1, 5)), nil); a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("ordinary record after the refused 9 MiB one: %d %s", a.code, a.raw)
	}

	// With the limit raised to 10 MiB the 9 MiB record is stored, and read
	// back whole.
	raised := newIngest(t, ns, func(c *ingest.Config) { c.MaxBodyBytes, c.MaxRecords, c.MaxRecordBytes = 32<<20, 100, 10<<20 })
	if a = send(t, raised, ingest.ContentTypeNDJSON, []byte(bigVariable(1, 6, 9<<20)), nil); a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("9 MiB record under a 10 MiB limit: %d %s", a.code, a.raw)
	}
	if a = send(t, raised, ingest.ContentTypeNDJSON, []byte(line(1, 7)), nil); a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("ordinary record after the 9 MiB one: %d %s", a.code, a.raw)
	}
	got := storedBodies(t, ns, 1)
	want := map[int64]int{1: 2<<20 + 2, 2: 5, 5: 5, 6: 9<<20 + 2, 7: 5} // 3 was refused with the 9 MiB record of its request
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored positions and value sizes %v, want %v", got, want)
	}
}

// The rest of the bad-input catalogue (docs/bad-input.md) that no other
// test covers: deep nesting, numbers out of range, bad gzip, an unknown
// encoding; and what passes on purpose: unknown value types and intents.
func TestOtherBadInputGetsAnAnswerSayingWhatAndWhere(t *testing.T) {
	ns := testenv.NATS(t)
	s := newIngest(t, ns, func(c *ingest.Config) { c.MaxBodyBytes = 1 << 20 })
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	gz := func(b string) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(b))
		zw.Close()
		return buf.Bytes()
	}
	// A record followed by an unknown field of 20,000 nested groups
	// (field 500, start group), framed as the batch's only record.
	rec, err := proto.Marshal(jobRecord(1, 1, "{}"))
	if err != nil {
		t.Fatal(err)
	}
	rec = append(rec, bytes.Repeat([]byte{0xa3, 0x1f}, 20_000)...)
	deepGroups := append(append([]byte{0x0a}, protowireLen(len(rec))...), rec...)

	tests := []struct {
		name, contentType string
		body              []byte
		hdr               map[string]string
		code              int
		mentions          []string
	}{
		{"NDJSON nested 10,001 deep", ingest.ContentTypeNDJSON,
			[]byte(strings.Replace(line(1, 1), `"name":"amount"`, `"name":"amount","deep":`+deep(10_001), 1)), nil, 400,
			[]string{"line 1", "exceeded max depth"}},
		{"JSON text nested 10,001 deep", ingest.ContentTypeProtobuf, batch(t, jobRecord(1, 1, `{"a":`+deep(10_001)+`}`)), nil, 400,
			[]string{"record 1", "job.custom_headers_json", "exceeded max depth"}},
		{"protobuf groups nested 20,000 deep", ingest.ContentTypeProtobuf, deepGroups, nil, 400,
			[]string{"record 1", "flowline.record.v1.Record"}},
		{"position beyond int64", ingest.ContentTypeNDJSON, []byte(strings.Replace(line(1, 1), `"position":1`, `"position":9223372036854775808`, 1)), nil, 400,
			[]string{"line 1", "position", "out of range"}},
		{"partition beyond int32", ingest.ContentTypeNDJSON, []byte(strings.Replace(line(1, 1), `"partitionId":1`, `"partitionId":2147483648`, 1)), nil, 400,
			[]string{"line 1", "partitionId", "out of range"}},
		{"fractional key", ingest.ContentTypeNDJSON, []byte(strings.Replace(line(1, 1), `"timestamp":1763884800000`, `"timestamp":1.5e12`, 1)), nil, 400,
			[]string{"line 1", "timestamp", "expected integer"}},
		{"body not gzip", ingest.ContentTypeNDJSON, []byte(line(1, 1)), map[string]string{"Content-Encoding": "gzip"}, 400,
			[]string{"not valid gzip"}},
		{"gzip cut short", ingest.ContentTypeNDJSON, gz(lines(1, 1, 50))[:200], map[string]string{"Content-Encoding": "gzip"}, 400,
			[]string{"not valid gzip", "unexpected EOF"}},
		{"unknown encoding", ingest.ContentTypeNDJSON, []byte(line(1, 1)), map[string]string{"Content-Encoding": "br"}, 415,
			[]string{"Content-Encoding", "br"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireMentions(t, send(t, s, tt.contentType, tt.body, tt.hdr), tt.code, tt.mentions...)
		})
	}
	if n := storedRecords(t, ns); n != 0 {
		t.Fatalf("refused requests stored %d records", n)
	}
	// Unknown value types and intents pass: a newer engine's records are
	// kept (as raw JSON), not refused.
	future := strings.NewReplacer(`"valueType":"VARIABLE"`, `"valueType":"FUTURE_THING"`, `"intent":"CREATED"`, `"intent":"HAPPENED"`).Replace(line(1, 1))
	if a := send(t, s, ingest.ContentTypeNDJSON, []byte(future), nil); a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("unknown value type and intent: %d %s", a.code, a.raw)
	}
}

// protowireLen is the varint encoding of a length.
func protowireLen(n int) []byte {
	var b []byte
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}
