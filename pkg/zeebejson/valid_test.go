package zeebejson

import (
	"errors"
	"strings"
	"testing"
)

// TestValidAcceptsExactlyOneJSONValue: the check behind every JSON-text
// field of a pushed record (pkg/wire).
func TestValidAcceptsExactlyOneJSONValue(t *testing.T) {
	for _, ok := range []string{`{}`, ` {"a":[1,2.5e3,null,true,"\u00e9"]} `, `"EUR"`, `12`, `null`, `[]`, strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000)} {
		if err := Valid([]byte(ok)); err != nil {
			t.Errorf("Valid(%.40q): %v", ok, err)
		}
	}
	for _, bad := range []string{``, `EUR`, `{not json`, `{"a":1,}`, `{} {}`, `"\xff"`, `01`, strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001)} {
		err := Valid([]byte(bad))
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("Valid(%.40q) = %v, want a *SyntaxError", bad, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = Valid([]byte(`{"a":{"b":[1,2,3]},"c":"d"}`)) }); n != 0 {
		t.Errorf("%v allocations per valid text", n)
	}
}
