package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/kelseyhightower/envconfig"
)

// A variable of a config struct, as envconfig sees it: its full name, and
// the field it fills (settable, within the struct given).
type variable struct {
	Key   string
	Field reflect.Value
}

// variables lists the variables spec (a pointer to a config struct) reads.
// envconfig keeps its own list unexported; its usage template is handed
// every variable, so a template that collects them is how it is read.
func variables(spec any) ([]variable, error) {
	var out []variable
	collect := template.Must(template.New("vars").Funcs(template.FuncMap{
		"collect": func(key string, field reflect.Value) string {
			if field.Type() == reflect.TypeFor[reflect.Value]() {
				field = field.Interface().(reflect.Value)
			}
			out = append(out, variable{Key: key, Field: field})
			return ""
		},
	}).Parse(`{{range .}}{{collect .Key .Field}}{{end}}`))
	if err := envconfig.Usaget(Prefix, spec, io.Discard, collect); err != nil {
		return nil, err
	}
	return out, nil
}

// Keys returns the names of the variables specs read, each once, in order.
func Keys(specs ...any) ([]string, error) {
	var keys []string
	for _, spec := range specs {
		vs, err := variables(spec)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if !slices.Contains(keys, v.Key) {
				keys = append(keys, v.Key)
			}
		}
	}
	return keys, nil
}

// renamed maps a variable's old name to its new one: the old name is still
// read, when the new one is not set, and reported as deprecated (EnvReport).
var renamed = map[string]string{
	Prefix + "_RETENTION":            Prefix + "_ARCHIVER_RETENTION",
	Prefix + "_RETENTION_ILM_POLICY": Prefix + "_ARCHIVER_RETENTION_ILM_POLICY",
}

// applyRenamed fills the fields of spec whose variable is unset from the
// variable's old name, when that is set.
func applyRenamed(spec any) error {
	vs, err := variables(spec)
	if err != nil {
		return err
	}
	for old, name := range renamed {
		value, oldSet := os.LookupEnv(old)
		if _, set := os.LookupEnv(name); set || !oldSet {
			continue
		}
		for _, v := range vs {
			if v.Key != name {
				continue
			}
			if err := decodeInto(v.Field, value); err != nil {
				return plainError(&envconfig.ParseError{KeyName: old, Value: value, Err: err})
			}
		}
	}
	return nil
}

// decodeInto sets field from value the way envconfig would, for the kinds
// a renamed variable has: a Decoder, or a string.
func decodeInto(field reflect.Value, value string) error {
	if d, ok := field.Addr().Interface().(envconfig.Decoder); ok {
		return d.Decode(value)
	}
	if field.Kind() == reflect.String {
		field.SetString(value)
		return nil
	}
	return fmt.Errorf("a renamed variable of kind %s is not supported", field.Kind())
}

// plainError says what is wrong with a variable's value in words: the
// variable, its value and what it should be, rather than envconfig's
// "envconfig.Process: assigning ..." and strconv's wording.
func plainError(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	why := pe.Err
	var ne *strconv.NumError
	if errors.As(why, &ne) {
		switch pe.TypeName {
		case "bool":
			why = errors.New("want true or false")
		case "float32", "float64":
			why = errors.New("want a number")
		default:
			why = errors.New("want a whole number")
		}
		if errors.Is(ne.Err, strconv.ErrRange) {
			why = errors.New("out of range")
		}
	}
	if strings.HasPrefix(pe.TypeName, "map[") && strings.Contains(why.Error(), "invalid map item") {
		why = fmt.Errorf("%v: want key:value pairs separated by commas, such as list-view:250ms,job:30s", why)
	}
	value := strconv.Quote(pe.Value)
	if secretName(pe.KeyName) {
		value = "(hidden)"
	}
	return fmt.Errorf("%w: %s=%s: %v", ErrInvalid, pe.KeyName, value, why)
}

// secretName says whether a variable's value must not be printed.
func secretName(key string) bool {
	for _, s := range []string{"PASSWORD", "TOKEN", "SECRET", "API_KEY", "CREDENTIALS"} {
		if strings.Contains(key, s) {
			return true
		}
	}
	return false
}

// IsTestVariable says whether name is read by the test suite, its
// benchmarks or the project's scripts rather than by a command
// (FLOWLINE_OS_URL, FLOWLINE_TOOLS_BIN, FLOWLINE_C7_TEST_URL,
// FLOWLINE_BENCH_*, FLOWLINE_TEST_*):
// such a variable is not reported as unknown.
func IsTestVariable(name string) bool {
	switch name {
	case Prefix + "_OS_URL", Prefix + "_TOOLS_BIN", Prefix + "_C7_TEST_URL":
		return true
	}
	return strings.HasPrefix(name, Prefix+"_BENCH_") || strings.HasPrefix(name, Prefix+"_TEST_")
}

// EnvReport is what the environment holds beside what a command reads.
type EnvReport struct {
	// Unknown: FLOWLINE_ variables no command reads, with the closest
	// name one does ("" when none is close): most likely misspelled.
	Unknown []Suggestion
	// Elsewhere: FLOWLINE_ variables other commands (or the tests) read,
	// not this one.
	Elsewhere []string
	// Deprecated: old names set, with their new names.
	Deprecated []Suggestion
}

// Suggestion pairs a variable set in the environment with a known name.
type Suggestion struct{ Name, Known string }

// CheckEnvironment is CheckEnv of the process's environment.
func CheckEnvironment(read, known []string) EnvReport { return CheckEnv(os.Environ(), read, known) }

// CheckEnv compares the FLOWLINE_ variables of environ (KEY=value entries)
// with read (what the command being run reads) and known (what any command
// reads).
func CheckEnv(environ, read, known []string) EnvReport {
	var r EnvReport
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix+"_") || slices.Contains(read, name) {
			continue
		}
		if to, ok := renamed[name]; ok {
			if slices.Contains(read, to) { // read under its old name
				r.Deprecated = append(r.Deprecated, Suggestion{Name: name, Known: to})
			} else {
				r.Elsewhere = append(r.Elsewhere, name)
			}
			continue
		}
		if slices.Contains(known, name) || IsTestVariable(name) {
			r.Elsewhere = append(r.Elsewhere, name)
			continue
		}
		r.Unknown = append(r.Unknown, Suggestion{Name: name, Known: Closest(name, known)})
	}
	slices.SortFunc(r.Unknown, func(a, b Suggestion) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Deprecated, func(a, b Suggestion) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(r.Elsewhere)
	return r
}

// Closest returns the name in known nearest to name by edit distance, if
// it is near enough to be a likely misspelling (at most a third of the
// part after the prefix differs), else "".
func Closest(name string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := editDistance(name, k)
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := max(2, (len(name)-len(Prefix)-1)/3)
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment: a swap of neighbours counts once) between a and b.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
