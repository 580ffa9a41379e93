package search_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestEnsureSchema(t *testing.T) {
	es, _ := testenv.Elasticsearch(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		existing string // mappings of a pre-existing list-view runtime index; "" = none
		wantErr  []string
	}{
		{name: "fresh cluster"},
		{name: "older mapping lacking fields gets them added", existing: `{"dynamic":"strict","_meta":{"flowlineSchemaVersion":1},"properties":{"key":{"type":"long"},"state":{"type":"keyword"}}}`},
		{name: "field of another type", existing: `{"properties":{"key":{"type":"keyword"},"state":{"type":"keyword"}}}`,
			wantErr: []string{"list-view-1_", "field key is keyword, Flowline needs long"}},
		{name: "other schema version", existing: `{"_meta":{"flowlineSchemaVersion":7},"properties":{"key":{"type":"long"}}}`,
			wantErr: []string{"schema version 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := config.Index{Prefix: testenv.IndexPrefix(t), Shards: 1, RefreshInterval: "1s"}
			testenv.DropIndices(t, es, idx.Prefix)
			runtime := schema.RuntimeIndex(idx.Prefix, schema.ListView)
			if tt.existing != "" {
				if _, err := es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + runtime,
					Body: []byte(`{"mappings":` + tt.existing + `}`), What: "create " + runtime}); err != nil {
					t.Fatalf("create %s: %v", runtime, err)
				}
			}
			err := search.EnsureSchema(ctx, es, idx)
			if tt.wantErr != nil {
				if !errors.Is(err, search.ErrIncompatibleSchema) {
					t.Fatalf("err = %v, want ErrIncompatibleSchema", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Every family's alias resolves, and a full list-view document
			// indexes under dynamic:strict (every field is mapped).
			for _, f := range schema.Families {
				alias := schema.Alias(idx.Prefix, f)
				if _, err := es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/_alias/" + alias, What: "alias " + alias}); err != nil {
					t.Fatalf("alias of %s: %v", f, err)
				}
			}
			doc := `{"key":1,"processDefinitionKey":2,"bpmnProcessId":"p","version":1,"versionTag":null,"processName":"P","state":"ACTIVE","startDate":"2026-11-23T06:00:00.000Z","endDate":null,"parentProcessInstanceKey":-1,"parentFlowNodeInstanceKey":-1,"rootProcessInstanceKey":1,"treePath":"PI_1","incident":false,"tenantId":"<default>","partitionId":1,"position":5}`
			var result search.Result
			err = search.NewBulkExecutor(es, search.BulkPolicy{MaxAttempts: 1}).Do(ctx, 1, func(buf []byte, _ int) []byte {
				return search.AppendOp(buf, search.Op{Index: runtime, ID: "1", Version: 5, Source: []byte(doc)})
			}, func(_ int, r search.Result) bool { result = r; return true })
			if err != nil || result.Outcome != search.Done {
				t.Fatalf("index a full document: %v %+v", err, result)
			}
			// Idempotent.
			if err := search.EnsureSchema(ctx, es, idx); err != nil {
				t.Fatalf("second EnsureSchema: %v", err)
			}
		})
	}
}

// TestEnsureSchemaRefreshIntervals: each family's indices get its refresh
// interval, from the template when created and by an update when they
// exist; an empty interval leaves (or resets) the engine's default.
func TestEnsureSchemaRefreshIntervals(t *testing.T) {
	es, esCfg := testenv.Elasticsearch(t)
	ctx := context.Background()
	prefix := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, prefix)
	refreshOf := func(f schema.Family) string {
		t.Helper()
		index := schema.RuntimeIndex(prefix, f)
		b, err := es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + index + "/_settings/index.refresh_interval", What: "settings"})
		if err != nil {
			t.Fatalf("settings of %s: %v", index, err)
		}
		var got map[string]struct {
			Settings struct {
				Index struct {
					RefreshInterval string `json:"refresh_interval"`
				} `json:"index"`
			} `json:"settings"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		return got[index].Settings.Index.RefreshInterval
	}
	steps := []struct {
		name string
		idx  config.Index
		want map[schema.Family]string // "" = not set on the index
	}{
		{"created: list view short, the rest the engine's default",
			config.Index{RefreshIntervals: map[string]string{"list-view": "250ms"}},
			map[schema.Family]string{schema.ListView: "250ms", schema.Variable: "", schema.Job: ""}},
		{"existing indices take a changed configuration",
			config.Index{RefreshInterval: "30s", RefreshIntervals: map[string]string{"list-view": "1s", "job": "-1"}},
			map[schema.Family]string{schema.ListView: "1s", schema.Variable: "30s", schema.Job: "-1"}},
		{"an empty interval resets the engine's default",
			config.Index{RefreshIntervals: map[string]string{"variable": "5s"}},
			map[schema.Family]string{schema.ListView: "", schema.Variable: "5s", schema.Job: ""}},
	}
	// The same configuration again must not update any index's settings:
	// a proxy in front of the engine counts the settings updates sent.
	var updates atomic.Int64
	target, err := url.Parse(esCfg.ES.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/_settings") {
			updates.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	proxyCfg := esCfg
	proxyCfg.ES.URL = proxy.URL
	counted, err := search.NewClient(proxyCfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		s.idx.Prefix, s.idx.Shards = prefix, 1
		if err := s.idx.Validate(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if err := search.EnsureSchema(ctx, es, s.idx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for f, want := range s.want {
			if got := refreshOf(f); got != want {
				t.Errorf("%s: %s refresh_interval = %q, want %q", s.name, f, got, want)
			}
		}
		// Again, unchanged: no settings update, set or unset.
		updates.Store(0)
		if err := search.EnsureSchema(ctx, counted, s.idx); err != nil {
			t.Fatalf("%s, again: %v", s.name, err)
		}
		if n := updates.Load(); n != 0 {
			t.Errorf("%s, again: %d settings updates sent, want none", s.name, n)
		}
	}
	// A new archive index takes its family's interval from the template.
	archive := schema.RuntimeIndex(prefix, schema.Variable) + "2026-12-07"
	if err := search.CreateIndex(ctx, es, archive, nil); err != nil {
		t.Fatal(err)
	}
	b, err := es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + archive + "/_settings/index.refresh_interval", What: "settings"})
	if err != nil || !strings.Contains(string(b), `"refresh_interval":"5s"`) {
		t.Errorf("archive index settings %s (%v), want refresh_interval 5s", b, err)
	}
}
