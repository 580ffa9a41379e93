package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
)

// TestGoldenFixturesThroughTheStack sends every golden fixture of the
// aggregator (services/aggregator/testdata/golden) through ingest,
// aggregator and writer, and compares what the aliases return with the
// hand-written expected documents, field by field: on Elasticsearch and on
// OpenSearch.
func TestGoldenFixturesThroughTheStack(t *testing.T) {
	files, err := filepath.Glob("../../services/aggregator/testdata/golden/*.ndjson")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden fixtures found: %v", err)
	}
	for _, engine := range testenv.Engines {
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".ndjson")
			t.Run(string(engine)+"/"+name, func(t *testing.T) {
				goldenThroughTheStack(t, engine, file)
			})
		}
	}
}

// goldenThroughTheStack runs one golden fixture through a fresh stack
// writing to engine.
func goldenThroughTheStack(t *testing.T, engine config.Engine, file string) {
	s, want := fixtureThroughTheStack(t, file, stack.Options{ArchiveAfter: tenYears, Engine: engine})
	expectDocs(t, s, want)
}

// fixtureThroughTheStack starts a fresh stack of opts (fixtures reuse
// partitions and positions), pushes the fixture file's records through its
// ingest and returns it with the fixture's expected Flowline documents.
func fixtureThroughTheStack(t *testing.T, file string, opts stack.Options) (*stack.Stack, map[string]map[string]any) {
	t.Helper()
	want := loadExpected(t, strings.TrimSuffix(file, ".ndjson")+".expected.json")
	s := stack.Start(t, opts)
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range chunks(body, 500) {
		if code, res := post(t, s.IngestURL(), "application/x-ndjson", string(chunk)); code != http.StatusAccepted {
			t.Fatalf("POST: %d %v", code, res)
		}
	}
	return s, want
}

// expectDocs waits until every family's alias returns exactly want
// ("<family>/<id>" -> source), failing with the differences.
func expectDocs(t *testing.T, s *stack.Stack, want map[string]map[string]any) {
	t.Helper()
	byFamily := map[schema.Family]map[string]map[string]any{}
	for key, doc := range want {
		fam, id, _ := strings.Cut(key, "/")
		f := schema.Family(fam)
		if byFamily[f] == nil {
			byFamily[f] = map[string]map[string]any{}
		}
		byFamily[f][id] = doc
	}
	for _, f := range schema.Families {
		expected := byFamily[f]
		if expected == nil {
			expected = map[string]map[string]any{}
		}
		var last string
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := sources(searchAll(t, s, f))
			if reflect.DeepEqual(got, expected) {
				break
			}
			last = diffDocs(got, expected)
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", f, last)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// TestRestartsAndDuplicatesThroughTheStack: the same records, sent with
// duplicate requests and with the aggregator stopped and restarted between
// requests, end in exactly the documents of a clean run (the goldens).
func TestRestartsAndDuplicatesThroughTheStack(t *testing.T) {
	for _, name := range []string{"incidents", "user_task", "call_activity"} {
		t.Run(name, func(t *testing.T) {
			file := "../../services/aggregator/testdata/golden/" + name + ".ndjson"
			want := loadExpected(t, "../../services/aggregator/testdata/golden/"+name+".expected.json")
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := startStackWith(t, false)
			rng := rand.New(rand.NewPCG(uint64(len(name)), 7))
			stop := testenv.Run(t, s.NewAggregator())
			parts := chunks(body, 15)
			for i, chunk := range parts {
				if code, res := post(t, s.IngestURL(), "application/x-ndjson", string(chunk)); code != http.StatusAccepted {
					t.Fatalf("POST: %d %v", code, res)
				}
				if i > 0 && rng.IntN(3) == 0 { // a client re-sends an earlier request
					code, res := post(t, s.IngestURL(), "application/x-ndjson", string(parts[rng.IntN(i)]))
					if code != http.StatusAccepted || res["accepted"] != float64(0) {
						t.Fatalf("re-send: %d %v", code, res)
					}
				}
				if rng.IntN(3) == 0 { // the aggregator restarts
					time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
					stop()
					stop = testenv.Run(t, s.NewAggregator())
				}
			}
			expectDocs(t, s, want)
		})
	}
}

func loadExpected(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// chunks splits NDJSON into bodies of at most n lines.
func chunks(body []byte, n int) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		cur.Write(sc.Bytes())
		cur.WriteByte('\n')
		if lines++; lines == n {
			out = append(out, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			lines = 0
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.Bytes())
	}
	return out
}

// diffDocs describes how got differs from want, document by document.
func diffDocs(got, want map[string]map[string]any) string {
	var out []string
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			out = append(out, "missing "+id)
			continue
		}
		for field, wv := range w {
			if !reflect.DeepEqual(g[field], wv) {
				out = append(out, fmt.Sprintf("%s.%s: got %v, want %v", id, field, g[field], wv))
			}
		}
		for field := range g {
			if _, ok := w[field]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: unexpected field", id, field))
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			out = append(out, "unexpected "+id)
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return strings.Join(out, "; ")
}
