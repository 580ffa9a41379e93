package jsonstring

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppend(t *testing.T) {
	for _, c := range []struct{ in, want, unchecked string }{
		{"", `""`, `""`},
		{"6755399441059750", `"6755399441059750"`, `"6755399441059750"`},
		{`a"b\c/d`, `"a\"b\\c/d"`, `"a\"b\\c/d"`},
		{"\b\f\n\r\t\x00\x1f\x7f", `"\b\f\n\r\t\u0000\u001f` + "\x7f\"", `"\b\f\n\r\t\u0000\u001f` + "\x7f\""},
		{"grüße-日本😀", `"grüße-日本😀"`, `"grüße-日本😀"`},
		{"<&>\u2028", "\"<&>\u2028\"", "\"<&>\u2028\""},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`, "\"a\xffb\xc3\""},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`, "\"\xed\xa0\x80\""}, // an encoded surrogate is not UTF-8
	} {
		if got := string(Append([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("Append(%q) = %s, want %s", c.in, got[1:], c.want)
		}
		if got := string(AppendUnchecked([]byte("x"), c.in)); got != "x"+c.unchecked {
			t.Errorf("AppendUnchecked(%q) = %s, want %s", c.in, got[1:], c.unchecked)
		}
	}
}

// TestAppendAgreesWithEncodingJSON checks every byte value at the start, in
// the middle and at the end of a string against encoding/json (HTML
// escaping off; it also escapes U+2028 and U+2029, which Append does not).
func TestAppendAgreesWithEncodingJSON(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	lineSeps := strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029")
	for c := range 256 {
		for _, s := range []string{string(rune(c)), string([]byte{byte(c)}), "ab" + string([]byte{byte(c)}) + "é\u2028", "é" + string([]byte{byte(c), 0x80 | byte(c)&0x3f})} {
			buf.Reset()
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			want := lineSeps.Replace(strings.TrimSuffix(buf.String(), "\n"))
			if got := string(Append(nil, s)); got != want {
				t.Errorf("Append(%q) = %s, encoding/json %s", s, got, want)
			}
			if utf8.ValidString(s) {
				if got := string(AppendUnchecked(nil, s)); got != want {
					t.Errorf("AppendUnchecked(%q) = %s, encoding/json %s", s, got, want)
				}
			}
		}
	}
}

func TestPlain(t *testing.T) {
	for c := range 256 {
		want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
		if Plain(byte(c)) != want {
			t.Errorf("Plain(%#x) = %v", c, !want)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	s := "tab\there \"quoted\" grüße \xff"
	if n := testing.AllocsPerRun(100, func() {
		buf = Append(buf[:0], s)
		buf = AppendUnchecked(buf, s)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
