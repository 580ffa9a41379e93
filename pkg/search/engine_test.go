package search_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
)

// TestEngineDetection: without FLOWLINE_SEARCH_ENGINE the client tells the
// engines apart by their answer to GET /: Elasticsearch by its product
// header (also on an error answer, as the integ-test-zip's 405), OpenSearch
// by version.distribution; anything else is ErrUnknownEngine, a 401
// without the header ErrAuth, an unreachable cluster ErrUnavailable.
func TestEngineDetection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    config.Engine
		wantErr error
	}{
		{"elasticsearch 405", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.WriteHeader(http.StatusMethodNotAllowed)
			w.Write([]byte(`{"error":"Incorrect HTTP method","status":405}`))
		}, config.EngineElasticsearch, nil},
		{"elasticsearch 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Write([]byte(`{"version":{"number":"8.19.21"}}`))
		}, config.EngineElasticsearch, nil},
		{"opensearch", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"version":{"distribution":"opensearch","number":"2.19.6"}}`))
		}, config.EngineOpenSearch, nil},
		{"neither", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"version":{"number":"7.10.2"}}`))
		}, "", search.ErrUnknownEngine},
		{"401", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`Unauthorized`))
		}, "", search.ErrAuth},
		{"503", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, "", search.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.Method+" "+r.URL.Path)
				tc.handler(w, r)
			}))
			defer srv.Close()
			c, err := search.NewClient(config.Search{ES: config.Elasticsearch{URL: srv.URL}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Engine(context.Background())
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Engine = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if tc.wantErr == search.ErrUnknownEngine && !strings.Contains(err.Error(), "FLOWLINE_SEARCH_ENGINE") {
				t.Errorf("error %q does not say which variable to set", err)
			}
			if len(paths) == 0 || paths[0] != "GET /" {
				t.Errorf("requests %v; want GET / first", paths)
			}
		})
	}
}

// TestEngineDetectedOnRealNodes: the shared Elasticsearch and OpenSearch
// nodes are told apart, and the client then works against each.
func TestEngineDetectedOnRealNodes(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(string(engine), func(t *testing.T) {
			c, err := search.NewClient(config.Search{ES: config.Elasticsearch{URL: testenv.SearchURL(t, engine)}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			got, err := c.Engine(ctx)
			if err != nil || got != engine {
				t.Fatalf("Engine = %q, %v; want %q", got, err, engine)
			}
			if err := search.Ping(ctx, c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAPIKeyIsElasticsearchOnly: an API key with OpenSearch named is a
// configuration error, before any request.
func TestAPIKeyIsElasticsearchOnly(t *testing.T) {
	cfg := config.Search{Engine: config.EngineOpenSearch, ES: config.Elasticsearch{URL: "http://127.0.0.1:1", APIKey: "k"}}
	if err := cfg.Validate(); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "API_KEY") {
		t.Errorf("Validate = %v; want ErrInvalid naming API_KEY", err)
	}
	if _, err := search.NewClient(cfg); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("NewClient = %v; want ErrInvalid", err)
	}
	bad := config.Search{Engine: "solr", ES: config.Elasticsearch{URL: "http://127.0.0.1:1"}}
	if err := bad.Validate(); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "SEARCH_ENGINE") {
		t.Errorf("Validate(solr) = %v; want ErrInvalid naming SEARCH_ENGINE", err)
	}
}

// TestDetectionFailureIsNotTheRequests: a GET / refused for another reason
// than the credentials fails the request as ErrUnavailable, without the
// detection's status, so that a bulk request is not taken for malformed.
func TestDetectionFailureIsNotTheRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"no"}`))
	}))
	defer srv.Close()
	c, err := search.NewClient(config.Search{ES: config.Elasticsearch{URL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = search.BulkBody(context.Background(), c, []byte("{\"index\":{\"_index\":\"x\",\"_id\":\"1\"}}\n{}\n"), 1)
	var se *search.StatusError
	if !errors.Is(err, search.ErrUnavailable) || errors.As(err, &se) || !strings.Contains(err.Error(), "bulk") {
		t.Fatalf("err = %v; want ErrUnavailable naming the bulk, without a StatusError", err)
	}
}

// TestDetectionWaitHonoursTheCallersDeadline: while one caller detects the
// engine of a cluster that does not answer, another gives up at its own
// deadline rather than at the first caller's.
func TestDetectionWaitHonoursTheCallersDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := search.NewClient(config.Search{ES: config.Elasticsearch{URL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	first, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Engine(first) // detects, and hangs on GET /
	time.Sleep(100 * time.Millisecond)
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	t0 := time.Now()
	_, err = c.Engine(short)
	if took := time.Since(t0); err == nil || took > 2*time.Second {
		t.Fatalf("second caller: %v after %v; want its own deadline's error within about 200ms", err, took)
	}
	if !errors.Is(err, search.ErrUnavailable) {
		t.Errorf("err = %v; want ErrUnavailable", err)
	}
}
