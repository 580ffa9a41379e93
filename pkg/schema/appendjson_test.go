package schema

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestAppendJSONAgreesWithEncodingJSON fills every document that writes its
// own source with random values, through reflection (so a field added to a
// struct is filled too), and compares AppendJSON with encoding/json's output
// byte for byte (U+2028 and U+2029 aside, which encoding/json escapes).
func TestAppendJSONAgreesWithEncodingJSON(t *testing.T) {
	docs := []jsonAppender{&ListViewDoc{}, &FlowNodeInstanceDoc{}, &SequenceFlowDoc{}, &VariableDoc{}, &JobDoc{}}
	rng := rand.New(rand.NewPCG(1, 2))
	lineSeps := strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029")
	for _, doc := range docs {
		typ := reflect.TypeOf(doc).Elem()
		for i := range 2000 {
			v := reflect.New(typ)
			fill(rng, v.Elem())
			d := v.Interface().(jsonAppender)
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			wantErr := enc.Encode(d)
			got, err := d.AppendJSON([]byte("prefix"))
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%s #%d: AppendJSON error %v, encoding/json error %v", typ.Name(), i, err, wantErr)
			}
			if err != nil {
				continue
			}
			w := lineSeps.Replace(strings.TrimSuffix(want.String(), "\n"))
			if string(got) != "prefix"+w {
				t.Fatalf("%s #%d:\nAppendJSON    %s\nencoding/json %s", typ.Name(), i, got[len("prefix"):], w)
			}
			if enc, err := Encode(d); err != nil || string(enc) != w {
				t.Fatalf("%s #%d: Encode = %s, %v; want %s", typ.Name(), i, enc, err, w)
			}
		}
	}
}

var sampleStrings = []string{"", "a", "PROCESS", "<&>", "quote\"back\\slash", "tab\tnew\nline\r", "\x00\x1f", "é€😀",
	"\u2028\u2029", "bad\xffutf8", "\xed\xa0\x80", strings.Repeat("x", 300)}

var sampleRaw = []string{"", `{}`, `{"a": 1, "b" : [1, 2]}`, " {\n \"k\":\"v\" } ", `[1,2`, `{"a":}`, `nope`, `null`, `"s"`}

// fill sets every exported field of v (a struct) to a random value.
func fill(rng *rand.Rand, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		fillValue(rng, f)
	}
}

func fillValue(rng *rand.Rand, f reflect.Value) {
	if f.Type() == reflect.TypeOf(json.RawMessage(nil)) {
		if s := sampleRaw[rng.IntN(len(sampleRaw))]; s != "" || rng.IntN(2) == 0 {
			f.SetBytes([]byte(s))
		}
		return
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(sampleStrings[rng.IntN(len(sampleStrings))])
	case reflect.Int, reflect.Int32, reflect.Int64:
		n := rng.Int64()
		if rng.IntN(2) == 0 {
			n = -rng.Int64N(1000)
		}
		if f.OverflowInt(n) {
			n = int64(rng.Int32())
		}
		f.SetInt(n)
	case reflect.Bool:
		f.SetBool(rng.IntN(2) == 0)
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			return // nil
		}
		p := reflect.New(f.Type().Elem())
		fillValue(rng, p.Elem())
		f.Set(p)
	case reflect.Struct:
		fill(rng, f)
	default:
		panic("fill: no random value for " + f.Type().String())
	}
}

// BenchmarkEncode renders a typical flow-node instance document: through
// its AppendJSON (Encode), and through encoding/json as before.
func BenchmarkEncode(b *testing.B) {
	start, end := "2026-12-07T10:00:00.000+0000", "2026-12-07T10:00:01.250+0000"
	doc := &FlowNodeInstanceDoc{Key: 2251799813685321, ProcessInstanceKey: 2251799813685300, ProcessDefinitionKey: 2251799813685249,
		BpmnProcessID: "order-process", FlowNodeID: "charge-credit-card", FlowNodeName: "Charge credit card", Type: "SERVICE_TASK",
		State: "COMPLETED", StartDate: &start, EndDate: &end, ScopeKey: 2251799813685300,
		TreePath: "2251799813685300/2251799813685321", Level: 1, TenantID: "<default>", Position: 4294967311}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Encode(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestEncodeNilDocument: a nil document pointer is null, as encoding/json
// writes it, not a panic.
func TestEncodeNilDocument(t *testing.T) {
	for _, d := range []any{(*ListViewDoc)(nil), (*FlowNodeInstanceDoc)(nil), (*SequenceFlowDoc)(nil), (*VariableDoc)(nil), (*JobDoc)(nil)} {
		if b, err := Encode(d); err != nil || string(b) != "null" {
			t.Errorf("Encode(%T nil) = %s, %v; want null", d, b, err)
		}
	}
}
