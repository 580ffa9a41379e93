package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/flowline/flowline/internal/dev/simulate"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// wireCorpus is the encoding of a realistic workload's records: every value
// type the generator emits, nested messages and repeated fields included.
func wireCorpus(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, w := range simulate.Workloads() {
		g, err := simulate.NewGenerator(simulate.Config{Workload: w, Instances: 4, Seed: 7, IncidentRate: 0.5,
			CancelRate: 0.3, MultiInstanceItems: 2, Start: time.UnixMilli(1_763_884_800_000)})
		if err != nil {
			t.Fatal(err)
		}
		for recs := g.Next(); recs != nil; recs = g.Next() {
			for _, r := range recs {
				rec, err := zeebejson.Decode(r.JSON())
				if err != nil {
					t.Fatal(err)
				}
				b, err := proto.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// agrees checks CheckRecord against proto.Unmarshal on data: the same
// verdict on the wire, the same Envelope, and the same verdict on the rules
// (envelope fields, JSON text) as a reference walk of the unmarshaled
// message.
func agrees(t *testing.T, data []byte) {
	t.Helper()
	env, err := CheckRecord(data)
	var rerr *RecordError
	if err != nil && (!errors.As(err, &rerr) || !errors.Is(err, ErrInvalidRecord)) {
		t.Fatalf("CheckRecord error %T %v is not a *RecordError", err, err)
	}
	var r recordv1.Record
	uerr := proto.Unmarshal(data, &r)
	if wireBad := rerr != nil && rerr.Wire; wireBad != (uerr != nil) {
		t.Fatalf("CheckRecord says %v, proto.Unmarshal says %v, for %x", err, uerr, data)
	}
	if uerr != nil {
		if !strings.HasPrefix(err.Error(), "not a flowline.record.v1.Record") {
			t.Fatalf("wire error %q", err)
		}
		return
	}
	want := Envelope{Partition: r.PartitionId, Position: r.Position, Event: r.RecordType == "EVENT"}
	if env != want {
		t.Fatalf("Envelope %+v, want %+v", env, want)
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		name string
	}{{r.RecordType != "", "record_type"}, {r.ValueType != "", "value_type"}, {r.Intent != "", "intent"}, {r.Value != nil, "value"}} {
		if !m.ok {
			missing = append(missing, m.name)
		}
	}
	badText := firstBadJSONText(r.ProtoReflect(), "")
	switch {
	case r.PartitionId < 0:
		if rerr == nil || rerr.Field != "partition_id" || !strings.Contains(rerr.Reason, "negative") {
			t.Fatalf("partition %d: %v", r.PartitionId, err)
		}
	case r.Position < 0:
		if rerr == nil || rerr.Field != "position" || !strings.Contains(rerr.Reason, "negative") {
			t.Fatalf("position %d: %v", r.Position, err)
		}
	case len(missing) > 0:
		if rerr == nil || rerr.Reason != "missing "+strings.Join(missing, ", ") {
			t.Fatalf("error %v, want missing %v", err, missing)
		}
	case badText != "":
		if rerr == nil || rerr.Field == "" || !strings.Contains(rerr.Reason, "JSON") {
			t.Fatalf("error %v, want one naming JSON-text field %s", err, badText)
		}
		if canonical(t, &r, data) && rerr.Field != badText {
			t.Fatalf("error names %s, want %s", rerr.Field, badText)
		}
	case err != nil && canonical(t, &r, data):
		t.Fatalf("valid record rejected: %v", err)
	case err != nil:
		// Stricter than Unmarshal, which keeps a field's last occurrence:
		// an earlier one did not hold JSON. The canonical encoding passes.
		again, _ := proto.Marshal(&r)
		if _, cerr := CheckRecord(again); cerr != nil || !strings.Contains(rerr.Reason, "JSON") {
			t.Fatalf("valid record rejected: %v (canonical encoding: %v)", err, cerr)
		}
	}
}

// canonical reports whether data is r's deterministic encoding.
func canonical(t *testing.T, r *recordv1.Record, data []byte) bool {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(b, data)
}

// firstBadJSONText is the reference for CheckRecord's JSON-text rule: the
// path of the first (in field-number order, as the encoder writes them)
// JSON-text field of m that is neither empty nor JSON ("" when none).
func firstBadJSONText(m protoreflect.Message, prefix string) string {
	fds := m.Descriptor().Fields()
	var found string
	for i := range fds.Len() {
		fd := fds.Get(i)
		if found != "" || !m.Has(fd) {
			continue
		}
		name := prefix + string(fd.Name())
		switch {
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			l := m.Get(fd).List()
			for j := 0; j < l.Len() && found == ""; j++ {
				found = firstBadJSONText(l.Get(j).Message(), fmt.Sprintf("%s[%d].", name, j))
			}
		case fd.Kind() == protoreflect.MessageKind:
			found = firstBadJSONText(m.Get(fd).Message(), name+".")
		case jsonTextKind(fd) != notJSONText:
			text := strings.TrimSpace(m.Get(fd).String())
			if !json.Valid([]byte(text)) || (jsonTextKind(fd) == jsonObject && text[0] != '{') {
				found = name
			}
		}
	}
	return found
}

func TestCheckRecordAgreesWithUnmarshal(t *testing.T) {
	corpus := wireCorpus(t)
	types := map[string]bool{}
	for _, b := range corpus {
		var r recordv1.Record
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		types[r.ValueType] = true
	}
	if len(types) < 7 {
		t.Fatalf("corpus covers only %v", types)
	}
	for _, b := range corpus {
		agrees(t, b)
		for cut := range len(b) { // every truncation
			agrees(t, b[:cut])
		}
	}

	rec := &recordv1.Record{PartitionId: 2, Position: 9, RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
		Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "pay", CustomHeadersJson: "{}"}}}
	base, err := proto.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	tag := func(b []byte, num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(b, num, typ)
	}
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(tag(nil, num, protowire.BytesType), s)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	neg := protowire.AppendVarint(tag(nil, 1, protowire.VarintType), func() uint64 { v := int64(-3); return uint64(v) }())
	cases := map[string][]byte{
		"valid":                       base,
		"unknown field":               cat(base, protowire.AppendVarint(tag(nil, 999, protowire.VarintType), 5)),
		"known field, other type":     cat(base, protowire.AppendVarint(tag(nil, 6, protowire.VarintType), 5)),
		"invalid UTF-8 in intent":     cat(base, str(8, "\xff\xfe")),
		"invalid UTF-8 nested":        cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "job"), protowire.BytesType), str(1, "\xc3"))),
		"empty intent wins last":      cat(base, str(8, "")),
		"later position wins":         cat(base, protowire.AppendVarint(tag(nil, 2, protowire.VarintType), 77)),
		"negative partition":          cat(base, neg),
		"no value":                    cat(str(6, "EVENT"), str(7, "JOB"), str(8, "CREATED")),
		"value_json is a value":       cat(str(6, "EVENT"), str(7, "SIGNAL"), str(8, "BROADCASTED"), str(recordFieldNumber(t, "value_json"), "{}")),
		"nothing":                     {},
		"field number zero":           {0x00, 0x01},
		"stray end group":             tag(nil, 5, protowire.EndGroupType),
		"group as unknown field":      cat(base, tag(nil, 500, protowire.StartGroupType), tag(nil, 500, protowire.EndGroupType)),
		"unterminated group":          cat(base, tag(nil, 500, protowire.StartGroupType)),
		"overlong varint":             cat(tag(nil, 2, protowire.VarintType), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
		"length beyond the end":       cat(tag(nil, 6, protowire.BytesType), []byte{0x10, 'E'}),
		"nested message truncated":    cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "job"), protowire.BytesType), []byte{0x0a, 0x05, 'a'})),
		"packed repeated, truncated":  cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "process_instance"), protowire.BytesType), protowire.AppendBytes(tag(nil, 13, protowire.BytesType), []byte{0x80}))),
		"packed repeated, valid":      cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "process_instance"), protowire.BytesType), protowire.AppendBytes(tag(nil, 13, protowire.BytesType), []byte{0x01, 0x02}))),
		"unpacked repeated in nested": cat(base, protowire.AppendBytes(tag(nil, recordFieldNumber(t, "process_instance"), protowire.BytesType), protowire.AppendVarint(tag(nil, 13, protowire.VarintType), 4))),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) { agrees(t, data) })
	}
}

func recordFieldNumber(t *testing.T, name string) protowire.Number {
	fd := recordDesc.Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		t.Fatalf("Record has no field %s", name)
	}
	return fd.Number()
}

// FuzzCheckRecord: on any input, CheckRecord and proto.Unmarshal agree.
func FuzzCheckRecord(f *testing.F) {
	for _, b := range wireCorpus(f)[:200] {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { agrees(t, data) })
}

func TestCheckRecordDoesNotAllocate(t *testing.T) {
	corpus := wireCorpus(t)
	if n := testing.AllocsPerRun(10, func() {
		for _, b := range corpus {
			if _, err := CheckRecord(b); err != nil {
				t.Fatal(err)
			}
		}
	}); n != 0 {
		t.Errorf("%v allocations per corpus pass", n)
	}
}

func BenchmarkCheckRecord(b *testing.B) {
	corpus := wireCorpus(b)
	size := 0
	for _, c := range corpus {
		size += len(c)
	}
	b.SetBytes(int64(size / len(corpus)))
	b.Run("CheckRecord", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			CheckRecord(corpus[i%len(corpus)])
		}
	})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			var r recordv1.Record
			_ = proto.Unmarshal(corpus[i%len(corpus)], &r)
		}
	})
	// The same rules on the decoded records, as ingest checks an NDJSON
	// line's record (CheckDecoded).
	recs := make([]*recordv1.Record, len(corpus))
	for i, c := range corpus {
		recs[i] = &recordv1.Record{}
		if err := proto.Unmarshal(c, recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("CheckDecoded", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			CheckDecoded(recs[i%len(recs)])
		}
	})
}

// BenchmarkEncodeRecord compares ingest's encoder (vtprotobuf's generated
// code) with the reflection-based proto.MarshalAppend on a realistic corpus.
func BenchmarkEncodeRecord(b *testing.B) {
	var recs []*recordv1.Record
	for _, data := range wireCorpus(b) {
		r := &recordv1.Record{}
		if err := proto.Unmarshal(data, r); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, r)
	}
	arena := make([]byte, 0, 1<<20)
	b.Run("EncodeRecord", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if len(arena) > 1<<19 {
				arena = arena[:0]
			}
			arena, _, _ = EncodeRecord(arena, recs[i%len(recs)])
		}
	})
	b.Run("proto.MarshalAppend", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if len(arena) > 1<<19 {
				arena = arena[:0]
			}
			arena, _ = proto.MarshalOptions{}.MarshalAppend(arena, recs[i%len(recs)])
		}
	})
}

// TestCheckRecordNamesTheFieldThatIsNotJSON: every JSON-text field of the
// schema (variables, custom headers, a variable's value, decision outputs,
// evaluated inputs and outputs, raw values, authorizations, unknown fields)
// must be empty or JSON (an object for the *_json fields); the error names
// the field by its protobuf path and its Zeebe JSON path, with partition
// and position still read.
func TestCheckRecordNamesTheFieldThatIsNotJSON(t *testing.T) {
	rec := func(v func(*recordv1.Record)) *recordv1.Record {
		r := &recordv1.Record{PartitionId: 3, Position: 42, RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
			Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "pay", CustomHeadersJson: `{"a":"b"}`, VariablesJson: "{}"}}}
		v(r)
		return r
	}
	decision := func(out string) *recordv1.DecisionEvaluationValue {
		return &recordv1.DecisionEvaluationValue{DecisionOutput: `"ok"`, EvaluatedDecisions: []*recordv1.EvaluatedDecisionValue{
			{DecisionOutput: "1"},
			{DecisionOutput: "2", MatchedRules: []*recordv1.MatchedRuleValue{{}, {EvaluatedOutputs: []*recordv1.EvaluatedOutputValue{{OutputValue: "3"}, {OutputValue: out}}}}},
		}}
	}
	tests := []struct {
		name, field, jsonField string
		r                      *recordv1.Record
	}{
		{"job custom headers", "job.custom_headers_json", "value.customHeaders", rec(func(r *recordv1.Record) { r.GetJob().CustomHeadersJson = "{not json" })},
		{"job variables an array", "job.variables_json", "value.variables", rec(func(r *recordv1.Record) { r.GetJob().VariablesJson = "[1]" })},
		{"job result", "job.result_json", "value.result", rec(func(r *recordv1.Record) { r.GetJob().ResultJson = `{"a":}` })},
		{"variable value", "variable.value", "value.value", rec(func(r *recordv1.Record) {
			r.ValueType, r.Value = "VARIABLE", &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "x", Value: "EUR"}}
		})},
		{"user task custom headers", "user_task.custom_headers_json", "value.customHeaders", rec(func(r *recordv1.Record) {
			r.ValueType, r.Value = "USER_TASK", &recordv1.Record_UserTask{UserTask: &recordv1.UserTaskValue{VariablesJson: "{}", CustomHeadersJson: "{"}}
		})},
		{"deep decision output", "decision_evaluation.evaluated_decisions[1].matched_rules[1].evaluated_outputs[1].output_value",
			"value.evaluatedDecisions[1].matchedRules[1].evaluatedOutputs[1].outputValue", rec(func(r *recordv1.Record) {
				r.ValueType, r.Value = "DECISION_EVALUATION", &recordv1.Record_DecisionEvaluation{DecisionEvaluation: decision("nope")}
			})},
		{"message variables (raw value)", "value_json", "value", rec(func(r *recordv1.Record) {
			r.ValueType, r.Value = "MESSAGE", &recordv1.Record_ValueJson{ValueJson: `{"variables":{"a":1}`}
		})},
		{"authorizations", "authorizations_json", "authorizations", rec(func(r *recordv1.Record) { r.AuthorizationsJson = "null" })},
		{"unknown value fields", "job.extra_json", "value.(unknown fields)", rec(func(r *recordv1.Record) { r.GetJob().ExtraJson = `{"x":1,}` })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := proto.Marshal(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			env, err := CheckRecord(data)
			var rerr *RecordError
			if !errors.As(err, &rerr) || rerr.Wire {
				t.Fatalf("CheckRecord: %v, want a JSON-text *RecordError", err)
			}
			if rerr.Field != tt.field || rerr.JSONField != tt.jsonField {
				t.Errorf("field %q (JSON %q), want %q (JSON %q)", rerr.Field, rerr.JSONField, tt.field, tt.jsonField)
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "JSON") {
				t.Errorf("error %q does not name the field and the problem", err)
			}
			if env.Partition != 3 || env.Position != 42 {
				t.Errorf("Envelope %+v, want partition 3, position 42", env)
			}
			agrees(t, data)
		})
	}
	valid := rec(func(r *recordv1.Record) {
		r.ValueType, r.Value = "DECISION_EVALUATION", &recordv1.Record_DecisionEvaluation{DecisionEvaluation: decision(` {"a":[1,2.5e3,null,true]} `)}
	})
	data, _ := proto.Marshal(valid)
	if _, err := CheckRecord(data); err != nil {
		t.Fatalf("valid JSON text rejected: %v", err)
	}
	negative, _ := proto.Marshal(rec(func(r *recordv1.Record) { r.Position = -5 }))
	if _, err := CheckRecord(negative); err == nil || !strings.Contains(err.Error(), "position -5 is negative") {
		t.Fatalf("negative position: %v", err)
	}
}

// decodedAgrees checks CheckDecoded against CheckRecord on r's encoding:
// the same Envelope and the same error.
func decodedAgrees(t *testing.T, r *recordv1.Record) {
	t.Helper()
	_, w, err := EncodeRecord(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv, wantErr := CheckRecord(w.Data)
	env, err := CheckDecoded(r)
	if env != wantEnv || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("CheckDecoded: %+v, %v; CheckRecord on the encoding: %+v, %v", env, err, wantEnv, wantErr)
	}
	var got, want *RecordError
	if errors.As(err, &got) != errors.As(wantErr, &want) || (got != nil && *got != *want) {
		t.Fatalf("CheckDecoded error %#v, CheckRecord's %#v", got, want)
	}
	if err != nil && !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("error %v does not wrap ErrInvalidRecord", err)
	}
}

// TestCheckDecodedAgreesWithCheckRecord: on every decoded record of the
// corpus, and on records breaking each rule the decoder can break (JSON
// text in a string at every depth, negative and missing envelope fields),
// CheckDecoded gives what CheckRecord gives for the record's encoding.
func TestCheckDecodedAgreesWithCheckRecord(t *testing.T) {
	for _, b := range wireCorpus(t) {
		var r recordv1.Record
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		decodedAgrees(t, &r)
	}
	job := func(v func(*recordv1.Record)) *recordv1.Record {
		r := &recordv1.Record{PartitionId: 3, Position: 42, RecordType: "EVENT", ValueType: "JOB", Intent: "CREATED",
			Value: &recordv1.Record_Job{Job: &recordv1.JobValue{Type: "pay", CustomHeadersJson: `{"a":"b"}`, VariablesJson: "{}"}}}
		v(r)
		return r
	}
	deep := func(bad1, bad2 string) *recordv1.Record {
		return job(func(r *recordv1.Record) {
			r.ValueType, r.Value = "DECISION_EVALUATION", &recordv1.Record_DecisionEvaluation{DecisionEvaluation: &recordv1.DecisionEvaluationValue{
				EvaluatedDecisions: []*recordv1.EvaluatedDecisionValue{{DecisionOutput: "1"}, {DecisionOutput: bad1, EvaluatedInputs: []*recordv1.EvaluatedInputValue{{InputValue: "2"}, {InputValue: bad2}}}},
			}}
		})
	}
	for name, r := range map[string]*recordv1.Record{
		"valid":                        job(func(*recordv1.Record) {}),
		"negative partition":           job(func(r *recordv1.Record) { r.PartitionId = -1 }),
		"negative position":            job(func(r *recordv1.Record) { r.Position = -7 }),
		"negative position, no intent": job(func(r *recordv1.Record) { r.Position, r.Intent = -7, "" }),
		"missing all":                  {},
		"missing value and intent":     job(func(r *recordv1.Record) { r.Value, r.Intent = nil, "" }),
		"deep, second element":         deep("2", "{"),
		"deep, outer first":            deep("nope", "{"),
		"deep, valid":                  deep(`{"a":[1]}`, ` "x" `),
		"variable value": job(func(r *recordv1.Record) {
			r.Value = &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Value: "EUR"}}
		}),
	} {
		t.Run(name, func(t *testing.T) { decodedAgrees(t, r) })
	}
}

// FuzzCheckDecoded: on whatever the decoder makes of a line, CheckDecoded
// and CheckRecord on the record's encoding agree (which also holds the
// decoder to valid UTF-8, which CheckDecoded trusts).
func FuzzCheckDecoded(f *testing.F) {
	for i, b := range wireCorpus(f) {
		if i%10 != 0 {
			continue
		}
		var r recordv1.Record
		if err := proto.Unmarshal(b, &r); err != nil {
			f.Fatal(err)
		}
		line, err := zeebejson.Encode(&r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(line)
	}
	f.Add([]byte(`{"partitionId":1,"position":-3,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","value":{"name":"a","value":"\ud800"}}`))
	f.Add([]byte(`{"partitionId":1,"position":3,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","value":{"name":"a","value":"nope"}}`))
	f.Add([]byte(`{"partitionId":1,"position":3,"recordType":"EVENT","valueType":"JOB","intent":"CREATED","value":{"customHeaders":[1]}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := zeebejson.DecodeLenient(line)
		if err != nil {
			return
		}
		decodedAgrees(t, r)
	})
}
