package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// Golden tests: each fixture in testdata/golden is a sequence of Zeebe
// records exactly as Zeebe's Elasticsearch exporter writes them (NDJSON, one
// EVENT record per line), and <name>.expected.json maps "<family>/<id>" to
// the _source Elasticsearch must hold for that document once every record is
// folded. The expectations are written by hand from the contract (issue 3)
// and the Camunda exporter's behaviour; they are never generated from the
// aggregator's output: edit testdata/golden/*.expected.json.

const (
	goldenDir = "testdata/golden"
	// goldenChunk records of one partition make one record message; each
	// message gets a fresh recordFolder over the partition's state, as in
	// the worker.
	goldenChunk = 3
)

var goldenFixtures = []struct{ name, scenario string }{
	{"deployments", "BPMN (two pools in one resource), DMN, form; copies on a partition not in the keys; a deleted process"},
	{"service_gateways", "service tasks, exclusive and parallel gateways, variables created and updated by job output"},
	{"embedded_subprocess", "an embedded sub-process with a local variable, tenant acme, partition 5"},
	{"call_activity", "a call activity and its child instance on partition 4"},
	{"multi_instance", "parallel multi-instance bodies with 3 inner instances: output collection; two incidents, one resolved"},
	{"incidents", "failed jobs, incidents in called children (one resolved, one open), retries updated"},
	{"cancel", "a cancelled instance: a task with an incident, a sub-process and a user task are terminated"},
	{"user_task", "Camunda user tasks with task listeners: created, assigning/assigned, completing/completed"},
	{"business_rule", "a business rule task: an evaluation of two decisions and a failed evaluation with incident"},
	{"long_variable", "variables of 8191, 8192 and more characters, non-ASCII, updated back to short"},
}

func TestGoldenFixturesListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range goldenFixtures {
		listed[f.name] = true
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".ndjson"); !listed[name] {
			t.Errorf("fixture %s is not in goldenFixtures", name)
		}
	}
	if len(files) != len(goldenFixtures) {
		t.Errorf("%d fixtures on disk, %d listed", len(files), len(goldenFixtures))
	}
}

func TestGolden(t *testing.T) {
	for _, fx := range goldenFixtures {
		t.Run(fx.name, func(t *testing.T) {
			got := foldGolden(t, filepath.Join(goldenDir, fx.name+".ndjson"), goldenChunk)
			want := readGoldenExpected(t, filepath.Join(goldenDir, fx.name+".expected.json"))
			compareGolden(t, want, got)
		})
	}
}

// TestGoldenChunking: the documents Elasticsearch ends up with do not depend
// on how records are cut into messages (one record per message, a few, or
// the whole fixture in one).
func TestGoldenChunking(t *testing.T) {
	for _, fx := range goldenFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(goldenDir, fx.name+".ndjson")
			base := foldGolden(t, path, goldenChunk)
			for _, chunk := range []int{1, 2, 7, 1 << 30} {
				other := foldGolden(t, path, chunk)
				for k, d := range base {
					o, ok := other[k]
					switch {
					case !ok:
						t.Errorf("messages of %d records: no document %s (messages of %d have it)", chunk, k, goldenChunk)
					case o.version != d.version || !bytes.Equal(o.source, d.source):
						t.Errorf("messages of %d records: %s is version %d %s; messages of %d give version %d %s",
							chunk, k, o.version, abbreviate(string(o.source)), goldenChunk, d.version, abbreviate(string(d.source)))
					}
				}
				for k := range other {
					if _, ok := base[k]; !ok {
						t.Errorf("messages of %d records: extra document %s", chunk, k)
					}
				}
			}
		})
	}
}

// goldenDoc is what Elasticsearch keeps for one (family, id).
type goldenDoc struct {
	version int64
	source  []byte
	message int // record message that produced it, for reports
}

// foldGolden folds a fixture's records in file order through one state per
// partition (definitions shared, as in one aggregator), cutting each
// partition's records into messages of chunk records, and keeps per document
// the version Elasticsearch's external versioning keeps: the highest.
func foldGolden(t *testing.T, path string, chunk int) map[string]goldenDoc {
	t.Helper()
	return foldGoldenIn(t, path, chunk, config.SchemaFlowline)
}

// foldGoldenIn is foldGolden rendering the documents of schema s; the keys
// of the result are <family>/<id>, and for a routed document
// <family>/<id>@<routing>.
func foldGoldenIn(t *testing.T, path string, chunk int, s config.Schema) map[string]goldenDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	defs := newDefinitions(&memDefinitions{}, 1000)
	states := map[int32]*partitionState{}
	pending := map[int32][]*recordv1.Record{}
	lastPos := map[int32]int64{}
	docs := map[string]goldenDoc{}
	messages := 0

	flush := func(p int32) {
		recs := pending[p]
		if len(recs) == 0 {
			return
		}
		pending[p] = nil
		messages++
		f := newRecordFolder(ctx, states[p], defs, nil, s)
		for _, r := range recs {
			if reason := recordProblem(r, p); reason != "" {
				t.Fatalf("%s: %s", path, reason)
			}
			if err := f.apply(r); err != nil {
				t.Fatalf("%s: record at position %d: %v", path, r.Position, err)
			}
		}
		out, bad := f.documents(p)
		if len(bad) > 0 {
			t.Fatalf("%s: render document %s/%s: %v", path, bad[0].family, bad[0].id, bad[0].err)
		}
		for _, d := range out {
			if d.PartitionId != p {
				t.Errorf("%s/%s rendered for partition %d by partition %d", d.Family, d.Id, d.PartitionId, p)
			}
			k := d.Family + "/" + d.Id
			if d.Routing != "" {
				k += "@" + d.Routing
			}
			old, ok := docs[k]
			switch {
			case !ok || d.Version > old.version:
				docs[k] = goldenDoc{version: d.Version, source: d.Source, message: messages}
			case d.Version == old.version && !bytes.Equal(d.Source, old.source):
				t.Errorf("%s: two different sources with version %d (messages %d and %d):\n%s\n%s",
					k, d.Version, old.message, messages, abbreviate(string(old.source)), abbreviate(string(d.Source)))
			}
		}
	}

	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r, err := zeebejson.Decode(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		if r.RecordType != "EVENT" {
			t.Fatalf("%s:%d: fixtures hold the exporter's EVENT records only, got %s", path, i+1, r.RecordType)
		}
		p := r.PartitionId
		if r.Position <= lastPos[p] {
			t.Fatalf("%s:%d: position %d does not increase on partition %d", path, i+1, r.Position, p)
		}
		lastPos[p] = r.Position
		if states[p] == nil {
			states[p] = newPartitionState(p)
		}
		pending[p] = append(pending[p], r)
		if len(pending[p]) == chunk {
			flush(p)
		}
	}
	parts := make([]int32, 0, len(pending))
	for p := range pending {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	for _, p := range parts {
		flush(p)
	}
	return docs
}

func readGoldenExpected(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeGoldenJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a JSON object", path)
	}
	return m
}

// decodeGoldenJSON decodes keeping numbers as their literals, so keys above
// 2^53 compare exactly.
func decodeGoldenJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func compareGolden(t *testing.T, want map[string]any, got map[string]goldenDoc) {
	t.Helper()
	for _, k := range unionKeys(want, got) {
		w, expected := want[k]
		g, produced := got[k]
		switch {
		case !produced:
			t.Errorf("missing document %s", k)
			continue
		case !expected:
			t.Errorf("unexpected document %s (version %d): %s", k, g.version, abbreviate(string(g.source)))
			continue
		}
		src, err := decodeGoldenJSON(g.source)
		if err != nil {
			t.Errorf("%s: source is not JSON: %v", k, err)
			continue
		}
		// Every document carries the position of the newest record folded
		// into it, which is also its version.
		if m, ok := src.(map[string]any); ok {
			if pos, ok := m["position"].(json.Number); !ok || pos.String() != strconv.FormatInt(g.version, 10) {
				t.Errorf("%s: position %v differs from the document's version %d", k, m["position"], g.version)
			}
		}
		for _, d := range diffJSON(k, w, src) {
			t.Error(d)
		}
	}
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys[A, B any](a map[string]A, b map[string]B) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// diffJSON lists the differences between want and got, one per field path.
func diffJSON(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want an object %s", path, show(got), show(want))}
		}
		var out []string
		for _, f := range unionKeys(w, g) {
			wv, inWant := w[f]
			gv, inGot := g[f]
			switch {
			case !inGot:
				out = append(out, fmt.Sprintf("%s.%s: missing, want %s", path, f, show(wv)))
			case !inWant:
				out = append(out, fmt.Sprintf("%s.%s: unexpected field %s", path, f, show(gv)))
			default:
				out = append(out, diffJSON(path+"."+f, wv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want an array %s", path, show(got), show(want))}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %d elements %s, want %d elements %s", path, len(g), show(got), len(w), show(want))}
		}
		var out []string
		for i := range w {
			out = append(out, diffJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	case string:
		g, ok := got.(string)
		if !ok || g != w {
			if ok && (len(g) > 80 || len(w) > 80) {
				return []string{fmt.Sprintf("%s: strings differ from character %d: got %d characters %s, want %d characters %s",
					path, firstDifference(g, w), len([]rune(g)), show(got), len([]rune(w)), show(want))}
			}
			return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
		}
		return nil
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
		}
		return nil
	}
}

func firstDifference(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	for i := range min(len(ra), len(rb)) {
		if ra[i] != rb[i] {
			return i
		}
	}
	return min(len(ra), len(rb))
}

func show(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return abbreviate(strings.TrimSuffix(b.String(), "\n"))
}

func abbreviate(s string) string {
	if r := []rune(s); len(r) > 160 {
		return string(r[:120]) + fmt.Sprintf("…(%d characters)", len(r))
	}
	return s
}
