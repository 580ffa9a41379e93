package archiver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
)

// fakeISM is an OpenSearch answering the ISM policy API from memory (the
// OpenSearch of the tests has no ISM plugin): GET and PUT of one policy
// with optimistic concurrency, change_policy. Unit tests only.
type fakeISM struct {
	mu          sync.Mutex
	description string // "" while there is no policy
	seqNo       int64
	conflicts   int // PUTs to answer 409 before accepting
	puts        int
	changes     []string // change_policy index expressions
}

func (f *fakeISM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/_plugins/_ism/policies/"):
		if f.description == "" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"root_cause":[{"type":"status_exception","reason":"Policy not found"}],"type":"status_exception","reason":"Policy not found"},"status":404}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"_id": "p", "_seq_no": f.seqNo, "_primary_term": 1,
			"policy": map[string]any{"description": f.description, "states": []any{}}})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_plugins/_ism/policies/"):
		f.puts++
		exists := f.description != ""
		if (exists && r.URL.Query().Get("if_seq_no") == "") || f.conflicts > 0 {
			f.conflicts--
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error":{"type":"version_conflict_engine_exception","reason":"conflict"},"status":409}`))
			return
		}
		var p struct {
			Policy struct {
				Description string `json:"description"`
			} `json:"policy"`
		}
		json.Unmarshal(body, &p)
		f.description = p.Policy.Description
		f.seqNo++
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"_id":"p"}`))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/_plugins/_ism/change_policy/"):
		f.changes = append(f.changes, strings.TrimPrefix(r.URL.Path, "/_plugins/_ism/change_policy/"))
		w.Write([]byte(`{"updated_indices":1,"failures":false,"failed_indices":[]}`))
	default:
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"no handler"}`))
	}
}

func ismService(t *testing.T, url string, retention time.Duration) *Service {
	t.Helper()
	es, err := search.NewClient(config.Search{Engine: config.EngineOpenSearch, ES: config.Elasticsearch{URL: url}})
	if err != nil {
		t.Fatal(err)
	}
	return &Service{cfg: Config{Retention: Retention(retention), RetentionILM: "flowline-retention", Rollover: Day,
		Index: config.Index{Prefix: "fl"}}, es: es, log: slog.New(slog.DiscardHandler), layout: newLayout(config.SchemaFlowline, "fl")}
}

// TestISMPolicySetUp: the first archiver creates the policy; one with the
// same retention leaves it alone; one with another retention updates it
// and moves the managed dated indices to the new version; a write lost to
// another replica (409) is read again and retried.
func TestISMPolicySetUp(t *testing.T) {
	fake := &fakeISM{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	step := func(name string, retention time.Duration, wantPuts int, wantChanges int) {
		t.Helper()
		s := ismService(t, srv.URL, retention)
		if err := s.setUpRetention(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.policy != byISM {
			t.Fatalf("%s: retention by %v, want ism", name, s.policy)
		}
		if fake.puts != wantPuts || len(fake.changes) != wantChanges {
			t.Fatalf("%s: %d PUTs and change_policy %v; want %d and %d", name, fake.puts, fake.changes, wantPuts, wantChanges)
		}
	}
	step("create", 30*24*time.Hour, 1, 0)
	if !strings.Contains(fake.description, "744h") { // 30 days + one day
		t.Errorf("description %q does not state 744h", fake.description)
	}
	step("unchanged", 30*24*time.Hour, 1, 0)
	fake.conflicts = 1
	step("longer retention, after a lost race", 90*24*time.Hour, 3, 1)
	if !strings.Contains(fake.description, "2184h") || !strings.Contains(fake.changes[0], "fl-list-view-1_*") {
		t.Errorf("description %q, change_policy %v", fake.description, fake.changes)
	}
}

// TestISMMissingMeansArchiverRetention: a cluster without the ISM plugin
// leaves retention to the archiver.
func TestISMMissingMeansArchiverRetention(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"no handler found for uri"}`))
	}))
	defer srv.Close()
	s := ismService(t, srv.URL, 24*time.Hour)
	if err := s.setUpRetention(context.Background()); err != nil || s.policy != byArchiver {
		t.Fatalf("err %v, policy %v; want nil, archiver", err, s.policy)
	}
}
