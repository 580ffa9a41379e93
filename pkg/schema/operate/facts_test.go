package operate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
)

// factsDir holds one .facts file per index (format: README.md there).
const factsDir = "testdata/camunda-8.8"

var engines = []config.Engine{config.EngineElasticsearch, config.EngineOpenSearch}

// facts is one parsed .facts file.
type facts struct {
	file                            string
	component, name, version, kind  string // from the index line
	sources                         []factsSource
	lines                           map[config.Engine][]string // setting, dynamic and field lines per engine, without the engine column
	fieldEngines, settingEngines    map[config.Engine]bool     // engines with field or setting lines (both counts for each)
	sawIndex, sawDynamic, sawSource bool
}

type factsSource struct {
	engine             config.Engine
	repo, path, commit string
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// sectionOrder is the order in which the README says record kinds come.
var sectionOrder = map[string]int{"index": 0, "source": 1, "setting": 2, "dynamic": 3, "field": 4, "note": 5}

// parseFacts reads a .facts file.
func parseFacts(path string) (*facts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &facts{
		file:           filepath.Base(path),
		lines:          map[config.Engine][]string{},
		fieldEngines:   map[config.Engine]bool{},
		settingEngines: map[config.Engine]bool{},
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n, last := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", f.file, n, fmt.Sprintf(format, args...))
		}
		order, ok := sectionOrder[cols[0]]
		if !ok {
			return nil, fail("unknown record %q", cols[0])
		}
		if order < last {
			return nil, fail("%s record after a later section", cols[0])
		}
		last = order
		// engineCols resolves an engine column: both gives each engine.
		engineCol := func(s string) ([]config.Engine, error) {
			switch s {
			case "both":
				return engines, nil
			case string(config.EngineElasticsearch), string(config.EngineOpenSearch):
				return []config.Engine{config.Engine(s)}, nil
			}
			return nil, fail("unknown engine %q", s)
		}
		switch cols[0] {
		case "index":
			if len(cols) != 5 || f.sawIndex {
				return nil, fail("want exactly one index line with 4 columns")
			}
			f.component, f.name, f.version, f.kind = cols[1], cols[2], cols[3], cols[4]
			f.sawIndex = true
		case "source":
			if len(cols) != 5 {
				return nil, fail("source: want 4 columns, got %d", len(cols)-1)
			}
			if cols[1] != string(config.EngineElasticsearch) && cols[1] != string(config.EngineOpenSearch) {
				return nil, fail("source: unknown engine %q", cols[1])
			}
			f.sources = append(f.sources, factsSource{engine: config.Engine(cols[1]), repo: cols[2], path: cols[3], commit: cols[4]})
			f.sawSource = true
		case "setting":
			if len(cols) != 4 {
				return nil, fail("setting: want 3 columns, got %d", len(cols)-1)
			}
			es, err := engineCol(cols[1])
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				f.lines[e] = append(f.lines[e], "setting\t"+cols[2]+"\t"+cols[3])
				f.settingEngines[e] = true
			}
		case "dynamic":
			if len(cols) != 2 || f.sawDynamic {
				return nil, fail("want exactly one dynamic line with 1 column")
			}
			for _, e := range engines {
				f.lines[e] = append(f.lines[e], "dynamic\t"+cols[1])
			}
			f.sawDynamic = true
		case "field":
			if len(cols) < 4 {
				return nil, fail("field: want at least 3 columns, got %d", len(cols)-1)
			}
			es, err := engineCol(cols[1])
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				f.lines[e] = append(f.lines[e], "field\t"+strings.Join(cols[2:], "\t"))
				f.fieldEngines[e] = true
			}
		case "note":
			if len(cols) < 2 {
				return nil, fail("empty note")
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !f.sawIndex {
		return nil, fmt.Errorf("%s: no index line", f.file)
	}
	return f, nil
}

// loadFacts parses every .facts file of factsDir.
func loadFacts(t *testing.T) []*facts {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(factsDir, "*.facts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no .facts files in %s", factsDir)
	}
	var all []*facts
	for _, p := range paths {
		f, err := parseFacts(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, f)
	}
	return all
}

// sourceEngines are the engines a facts file cites a source for.
func (f *facts) sourceEngines() map[config.Engine]bool {
	m := map[config.Engine]bool{}
	for _, s := range f.sources {
		m[s.engine] = true
	}
	return m
}

// flattened is the facts-format lines of an index for an engine, and the
// values whose JSON type contradicts what their text implies.
type flattened struct {
	lines    []string
	badTypes []string
}

// flatten renders Settings(engine) and Mappings(engine) as the facts lines
// (without the engine column), by the README's rules, after a JSON round
// trip so that what is compared is what the engine receives.
func flatten(t *testing.T, ix Index, engine config.Engine) flattened {
	t.Helper()
	var out flattened
	settings := roundTrip(t, ix.Settings(engine))
	leaves(settings, "", false, &out, func(key, value string) {
		out.lines = append(out.lines, "setting\t"+key+"\t"+value)
	})
	mappings := roundTrip(t, ix.Mappings(engine))
	for k, v := range mappings {
		switch k {
		case "dynamic":
			out.lines = append(out.lines, "dynamic\t"+render(v, false, "dynamic", &out))
		case "properties":
			flattenProperties(v, "", &out)
		default:
			out.lines = append(out.lines, "mappings\t"+k) // not in the facts format: an extra line
		}
	}
	return out
}

// flattenProperties adds a field line per property, at every depth.
func flattenProperties(v any, prefix string, out *flattened) {
	props, ok := v.(map[string]any)
	if !ok {
		out.badTypes = append(out.badTypes, fmt.Sprintf("%sproperties: not an object: %T", prefix, v))
		return
	}
	for name, p := range props {
		path := prefix + name
		prop, ok := p.(map[string]any)
		if !ok {
			out.badTypes = append(out.badTypes, fmt.Sprintf("%s: not an object: %T", path, p))
			continue
		}
		typ := "object" // no type: an object mapping
		if s, ok := prop["type"].(string); ok {
			typ = s
		}
		var opts []string
		for k, o := range prop {
			if k == "type" || k == "properties" {
				continue
			}
			leaves(o, k, strings.HasPrefix(k, "relations"), out, func(key, value string) {
				opts = append(opts, key+"="+value)
			})
		}
		sort.Strings(opts)
		line := "field\t" + path + "\t" + typ
		if len(opts) > 0 {
			line += "\t" + strings.Join(opts, "\t")
		}
		out.lines = append(out.lines, line)
		if sub, ok := prop["properties"]; ok {
			flattenProperties(sub, path+".", out)
		}
	}
}

// leaves calls emit with each dotted key and rendered value under v; lists
// are joined with commas (sorted if sortLists, as join relations are).
func leaves(v any, key string, sortLists bool, out *flattened, emit func(key, value string)) {
	m, ok := v.(map[string]any)
	if !ok {
		emit(key, render(v, sortLists, key, out))
		return
	}
	for k, x := range m {
		sub := k
		if key != "" {
			sub = key + "." + k
		}
		leaves(x, sub, sortLists, out, emit)
	}
}

// render writes a JSON scalar or list as the facts do, noting a string
// whose text would read as a number or boolean (the facts' text implies
// a JSON type: 1024 a number, false a boolean, anything else a string).
func render(v any, sortList bool, key string, out *flattened) string {
	switch v := v.(type) {
	case string:
		if impliesLiteral(v) {
			out.badTypes = append(out.badTypes, fmt.Sprintf("%s: string %q where the facts imply a number or boolean", key, v))
		}
		return v
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	case []any:
		items := make([]string, len(v))
		for i, x := range v {
			items[i] = render(x, false, key, out)
		}
		if sortList {
			sort.Strings(items)
		}
		return strings.Join(items, ",")
	default:
		out.badTypes = append(out.badTypes, fmt.Sprintf("%s: unexpected JSON value %T", key, v))
		return fmt.Sprint(v)
	}
}

// impliesLiteral reports whether a facts value reads as a JSON number or
// boolean.
func impliesLiteral(s string) bool {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return false
	}
	switch v.(type) {
	case float64, bool:
		return true
	}
	return false
}

// roundTrip marshals v and decodes it back, numbers as json.Number.
func roundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff returns the lines of want missing from got and the lines of got not
// in want, each sorted (as multisets).
func diff(want, got []string) (missing, extra []string) {
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	for l, c := range count {
		for ; c > 0; c-- {
			missing = append(missing, l)
		}
		for ; c < 0; c++ {
			extra = append(extra, l)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func kindOf(ix Index) string {
	if ix.Template {
		return "template"
	}
	return "index"
}

// TestFactsCoverage checks that every Index has exactly one facts file and
// every facts file one Index, with the same name, version and kind.
func TestFactsCoverage(t *testing.T) {
	all := loadFacts(t)
	used := map[string]string{} // facts file -> index
	for _, ix := range Indices {
		var match []*facts
		for _, f := range all {
			if f.component == ix.Component && f.name == ix.Name {
				match = append(match, f)
			}
		}
		if len(match) != 1 {
			t.Errorf("%s-%s: %d facts files, want 1", ix.Component, ix.Name, len(match))
			continue
		}
		f := match[0]
		if f.version != ix.Version {
			t.Errorf("%s-%s: version %s, facts %s say %s", ix.Component, ix.Name, ix.Version, f.file, f.version)
		}
		if f.kind != kindOf(ix) {
			t.Errorf("%s-%s: kind %s, facts %s say %s", ix.Component, ix.Name, kindOf(ix), f.file, f.kind)
		}
		if prev, dup := used[f.file]; dup {
			t.Errorf("%s is covered by %s and %s-%s", f.file, prev, ix.Component, ix.Name)
		}
		used[f.file] = ix.Component + "-" + ix.Name
	}
	for _, f := range all {
		if _, ok := used[f.file]; !ok {
			t.Errorf("%s (%s %s %s) has no Index in Indices", f.file, f.component, f.name, f.version)
		}
	}
}

// TestFactsSources checks that each facts file cites where its facts come
// from: at least one source with a path and a 40-hex commit, and a source
// for each engine it gives field or setting lines for.
func TestFactsSources(t *testing.T) {
	for _, f := range loadFacts(t) {
		if len(f.sources) == 0 {
			t.Errorf("%s: no source line", f.file)
		}
		for _, s := range f.sources {
			if s.repo != "camunda/camunda" || !strings.HasSuffix(s.path, ".json") || !commitRE.MatchString(s.commit) {
				t.Errorf("%s: source %s %s %s %s: want camunda/camunda, a .json path and a 40-hex commit",
					f.file, s.engine, s.repo, s.path, s.commit)
			}
		}
		have := f.sourceEngines()
		for _, e := range engines {
			if (f.fieldEngines[e] || f.settingEngines[e]) && !have[e] {
				t.Errorf("%s: %s field or setting lines but no %s source", f.file, e, e)
			}
		}
		if !f.sawDynamic {
			t.Errorf("%s: no dynamic line", f.file)
		}
	}
}

// TestFacts compares, per index and engine, the flattened mappings and
// settings with the facts' setting, dynamic and field lines for that
// engine.
func TestFacts(t *testing.T) {
	all := loadFacts(t)
	for _, ix := range Indices {
		t.Run(ix.Component+"-"+ix.Name, func(t *testing.T) {
			var f *facts
			for _, c := range all {
				if c.component == ix.Component && c.name == ix.Name {
					f = c
				}
			}
			if f == nil {
				t.Fatalf("no facts file") // TestFactsCoverage says more
			}
			have := f.sourceEngines()
			for _, e := range engines {
				got := flatten(t, ix, e)
				for _, b := range got.badTypes {
					t.Errorf("%s-%s %s: %s", ix.Component, ix.Name, e, b)
				}
				want := f.lines[e]
				if !have[e] {
					// No source for this engine: the facts say nothing
					// about it (README: a file has lines only for an
					// engine with a source). Flowline maps it as the
					// other engine's facts say; check that it does.
					other := engines[0]
					if other == e {
						other = engines[1]
					}
					t.Logf("%s: no %s facts; compared with the %s facts", f.file, e, other)
					want = f.lines[other]
				}
				missing, extra := diff(want, got.lines)
				for _, l := range missing {
					t.Errorf("%s-%s %s: missing %q", ix.Component, ix.Name, e, l)
				}
				for _, l := range extra {
					t.Errorf("%s-%s %s: extra %q", ix.Component, ix.Name, e, l)
				}
			}
		})
	}
}

// TestMappingsShape checks how the mappings are written: object fields
// without a type, every field known to the package's tables once, and a
// result that the caller may change without changing the tables.
func TestMappingsShape(t *testing.T) {
	seen := map[string]bool{}
	for _, ix := range Indices {
		if seen[ix.Component+"-"+ix.Name] {
			t.Errorf("%s-%s listed twice in Indices", ix.Component, ix.Name)
		}
		seen[ix.Component+"-"+ix.Name] = true
		for _, e := range engines {
			m := ix.Mappings(e)
			var walk func(props map[string]any, prefix string)
			walk = func(props map[string]any, prefix string) {
				for name, p := range props {
					prop := p.(map[string]any)
					if prop["type"] == "object" {
						t.Errorf("%s %s: %s%s: object written with a type", ix.Name, e, prefix, name)
					}
					if sub, ok := prop["properties"].(map[string]any); ok {
						walk(sub, prefix+name+".")
					}
				}
			}
			walk(m["properties"].(map[string]any), "")
		}
	}

	// Changing a result does not change the next one.
	m := ListView.Mappings(config.EngineElasticsearch)
	jr := m["properties"].(map[string]any)["joinRelation"].(map[string]any)
	jr["relations"].(map[string]any)["processInstance"].([]string)[0] = "changed"
	again := ListView.Mappings(config.EngineElasticsearch)
	got := again["properties"].(map[string]any)["joinRelation"].(map[string]any)["relations"].(map[string]any)["processInstance"].([]string)
	if got[0] != "activity" {
		t.Errorf("Mappings shares its option values with the tables: %v", got)
	}
}

// TestUnknownEngine checks that Mappings and Settings refuse an engine that
// is neither.
func TestUnknownEngine(t *testing.T) {
	for name, call := range map[string]func(){
		"Mappings": func() { ListView.Mappings("") },
		"Settings": func() { ListView.Settings("solr") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic for an unknown engine", name)
				}
			}()
			call()
		}()
	}
}
