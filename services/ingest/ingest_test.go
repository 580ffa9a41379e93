package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/ingest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func line(p int32, pos int64) string {
	return fmt.Sprintf(`{"partitionId":%d,"position":%d,"sourceRecordPosition":-1,"key":%d,"timestamp":1763884800000,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","rejectionType":"NULL_VAL","rejectionReason":"","brokerVersion":"8.8.0","value":{"name":"amount","value":"\"EUR\"","scopeKey":%d,"processInstanceKey":%d,"tenantId":"<default>"}}`,
		p, pos, int64(p)<<51+pos, int64(p)<<51+1, int64(p)<<51+1)
}

func lines(p int32, from, to int64) string {
	var b strings.Builder
	for pos := from; pos <= to; pos++ {
		b.WriteString(line(p, pos))
		b.WriteByte('\n')
	}
	return b.String()
}

func newIngest(t *testing.T, ns *natsserver.Server, mutate func(*ingest.Config)) *ingest.Service {
	cfg := ingest.Config{
		Addr: "127.0.0.1:0", MaxBodyBytes: 64 << 10, MaxRecords: 100,
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 4, BatchBytes: 32 << 10}, NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := ingest.New(cfg, testenv.Deps(t))
	testenv.Run(t, s)
	return s
}

type answer struct {
	code int
	body map[string]any
	raw  string
	hdr  http.Header
}

func send(t *testing.T, s *ingest.Service, contentType string, body []byte, hdr map[string]string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/v1/records", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{code: res.StatusCode, raw: string(raw), hdr: res.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %s", res.StatusCode, raw)
	}
	return a
}

func storedRecords(t *testing.T, ns *natsserver.Server) int {
	t.Helper()
	n := 0
	for _, msg := range testenv.Messages(t, testenv.Connect(t, ns).JS, stream.RecordsStream) {
		var b recordv1.RecordBatch
		if err := proto.Unmarshal(msg.Data(), &b); err != nil {
			t.Fatal(err)
		}
		n += len(b.Records)
	}
	return n
}

func TestMalformedInputIsRejectedWithWhereAndWhy(t *testing.T) {
	ns := testenv.NATS(t)
	s := newIngest(t, ns, nil)
	valid := line(1, 1)
	missingPosition := strings.Replace(line(1, 2), `"position":2,`, "", 1)
	stringPosition := strings.Replace(line(1, 2), `"position":2`, `"position":"2"`, 1)

	good, _ := proto.Marshal(&recordv1.RecordBatch{Records: []*recordv1.Record{{
		PartitionId: 1, Position: 1, RecordType: "EVENT", ValueType: "SIGNAL", Intent: "BROADCASTED",
		Value: &recordv1.Record_ValueJson{ValueJson: `{}`},
	}}})
	badSecond := string(good) + "\x0a\x03\x10\xff\xff" // record 2: position varint cut short
	truncated := string(good) + "\x0a\x20\x08"         // record 2 claims 32 bytes, has 1

	tests := []struct {
		name        string
		contentType string
		body        string
		code        int
		mentions    []string
	}{
		{"bad JSON on line 2", "application/x-ndjson", valid + "\n{\"partitionId\": 1,\n", 400, []string{"line 2"}},
		{"missing position", "application/x-ndjson", valid + "\n" + valid + "\n" + missingPosition + "\n", 400, []string{"line 3", "position"}},
		{"mistyped position", "application/x-ndjson", stringPosition + "\n", 400, []string{"line 1", "position"}},
		{"not an object", "application/x-ndjson", "[1,2]\n", 400, []string{"line 1"}},
		{"no records", "application/x-ndjson", "\n\n", 400, []string{"no records"}},
		{"wrong content type", "text/plain", valid, 415, []string{"text/plain", "application/x-ndjson"}},
		{"oversize body", "application/x-ndjson", strings.Repeat(valid+"\n", 200), 413, []string{"bytes"}},
		{"too many records", "application/x-ndjson", lines(1, 1, 101), 413, []string{"100 records"}},
		{"goes backwards", "application/x-ndjson", line(1, 5) + "\n" + line(2, 1) + "\n" + line(1, 4) + "\n", 400,
			[]string{"line 3", "partition 1", "position 4", "position 5"}},
		{"bad protobuf", "application/x-protobuf", "\xff\xff\xff", 400, []string{"RecordBatch"}},
		{"bad protobuf record 2", "application/x-protobuf", badSecond, 400, []string{"record 2", "flowline.record.v1.Record"}},
		{"truncated protobuf batch", "application/x-protobuf", truncated, 400, []string{"record 2", "RecordBatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, s, tt.contentType, []byte(tt.body), nil)
			if a.code != tt.code {
				t.Fatalf("status %d, want %d: %s", a.code, tt.code, a.raw)
			}
			msg, _ := a.body["error"].(string)
			for _, m := range tt.mentions {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
		})
	}
	if n := storedRecords(t, ns); n != 0 {
		t.Fatalf("rejected requests stored %d records", n)
	}
	// The service keeps serving.
	if a := send(t, s, "application/x-ndjson", []byte(lines(1, 1, 3)), nil); a.code != 202 || a.body["accepted"] != 3.0 {
		t.Fatalf("valid request after bad ones: %d %s", a.code, a.raw)
	}
}

func TestDuplicatesAcrossRequestsAndReplicas(t *testing.T) {
	ns := testenv.NATS(t)
	a, b := newIngest(t, ns, nil), newIngest(t, ns, nil)

	first := send(t, a, "application/x-ndjson", []byte(lines(1, 1, 5)+lines(2, 1, 2)), nil)
	if first.code != 202 || first.body["accepted"] != 7.0 || first.body["duplicates"] != 0.0 {
		t.Fatalf("first: %d %s", first.code, first.raw)
	}
	// Replica b has never seen partition 1: it must still count 3..5 as stored.
	second := send(t, b, "application/x-ndjson", []byte(lines(1, 3, 8)), nil)
	if second.code != 202 || second.body["accepted"] != 3.0 || second.body["duplicates"] != 3.0 {
		t.Fatalf("overlap via other replica: %d %s", second.code, second.raw)
	}
	// Both replicas race with the same records of a new partition: each
	// record is stored exactly once.
	var wg sync.WaitGroup
	answers := make([]answer, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			answers[i] = send(t, s, "application/x-ndjson", []byte(lines(3, 1, 40)), nil)
		}()
	}
	wg.Wait()
	accepted := 0.0
	for _, an := range answers {
		if an.code != 202 {
			t.Fatalf("racing request: %d %s", an.code, an.raw)
		}
		accepted += an.body["accepted"].(float64)
		if an.body["accepted"].(float64)+an.body["duplicates"].(float64) != 40 {
			t.Fatalf("racing request counts: %s", an.raw)
		}
	}
	if accepted != 40 {
		t.Fatalf("racing replicas accepted %v records in total, want 40", accepted)
	}
	if n := storedRecords(t, ns); n != 7+3+40 {
		t.Fatalf("stored %d records, want 50", n)
	}
}

func TestGzipProtobufTokenAndCommands(t *testing.T) {
	ns := testenv.NATS(t)
	s := newIngest(t, ns, func(c *ingest.Config) { c.Token = "s3cret" })
	auth := map[string]string{"Authorization": "Bearer s3cret"}

	if a := send(t, s, "application/x-ndjson", []byte(line(1, 1)), nil); a.code != 401 {
		t.Fatalf("no token: %d", a.code)
	}
	if a := send(t, s, "application/x-ndjson", []byte(line(1, 1)), map[string]string{"Authorization": "Bearer nope"}); a.code != 401 {
		t.Fatalf("wrong token: %d", a.code)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(lines(1, 1, 3) + strings.Replace(line(1, 4), `"recordType":"EVENT"`, `"recordType":"COMMAND"`, 1) + "\n"))
	_ = zw.Close()
	a := send(t, s, "application/x-ndjson", gz.Bytes(), map[string]string{"Authorization": "Bearer s3cret", "Content-Encoding": "gzip"})
	if a.code != 202 || a.body["accepted"] != 3.0 || a.body["dropped"] != 1.0 {
		t.Fatalf("gzip: %d %s", a.code, a.raw)
	}

	key := int64(6)<<51 + 12345 // above 2^53
	batch := &recordv1.RecordBatch{Records: []*recordv1.Record{{
		PartitionId: 6, Position: 10, Key: key, Timestamp: 1763884800000, RecordType: "EVENT",
		ValueType: "SIGNAL", Intent: "BROADCASTED", Value: &recordv1.Record_ValueJson{ValueJson: `{"signalName":"go"}`},
	}}}
	data, _ := proto.Marshal(batch)
	a = send(t, s, "application/x-protobuf", data, auth)
	if a.code != 202 || a.body["accepted"] != 1.0 {
		t.Fatalf("protobuf: %d %s", a.code, a.raw)
	}
	missing := &recordv1.RecordBatch{Records: []*recordv1.Record{{PartitionId: 6, Position: 11}}}
	data, _ = proto.Marshal(missing)
	a = send(t, s, "application/x-protobuf", data, auth)
	if a.code != 400 || !strings.Contains(a.body["error"].(string), "record 1") {
		t.Fatalf("protobuf without envelope: %d %s", a.code, a.raw)
	}
	if n := storedRecords(t, ns); n != 4 {
		t.Fatalf("stored %d records, want 4", n)
	}
}

// A record whose envelope is valid but whose value does not fit its type is
// stored verbatim with the reason (the aggregator dead-letters it), not
// rejected with the rest of its request.
func TestMistypedValueIsStoredWithItsReason(t *testing.T) {
	ns := testenv.NATS(t)
	s := newIngest(t, ns, nil)
	odd := strings.Replace(line(1, 2), `"value":"\"EUR\""`, `"value":5`, 1)
	a := send(t, s, "application/x-ndjson", []byte(line(1, 1)+"\n"+odd+"\n"), nil)
	if a.code != 202 || a.body["accepted"] != 2.0 {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	js := testenv.Connect(t, ns).JS
	st, _ := js.Stream(context.Background(), stream.RecordsStream)
	m, err := st.GetLastMsgForSubject(context.Background(), stream.RecordsSubject(1))
	if err != nil {
		t.Fatal(err)
	}
	var b recordv1.RecordBatch
	if err := proto.Unmarshal(m.Data, &b); err != nil {
		t.Fatal(err)
	}
	last := b.Records[len(b.Records)-1]
	if last.Position != 2 || !strings.Contains(last.ValueError, "value.value") || !strings.Contains(last.GetValueJson(), `"value":5`) {
		t.Fatalf("stored record: position %d, error %q, value %q", last.Position, last.ValueError, last.GetValueJson())
	}
}
