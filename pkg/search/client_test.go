package search

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
)

func TestStatusErrorSummarizesBody(t *testing.T) {
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name, body, want string
		notWant          string
	}{
		{"es error object", `{"error":{"root_cause":[{"type":"mapper_parsing_exception","reason":"failed to parse field [key]"}],"type":"document_parsing_exception","reason":"[1:9] failed to parse"},"status":400}`,
			"document_parsing_exception: [1:9] failed to parse (caused by mapper_parsing_exception: failed to parse field [key])", "root_cause"},
		{"same root cause", `{"error":{"root_cause":[{"type":"x_exception","reason":"r"}],"type":"x_exception","reason":"r"}}`, "HTTP 400: x_exception: r", "caused by"},
		{"not json", long, strings.Repeat("x", 300) + "...", strings.Repeat("x", 301)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := statusError(400, []byte(tt.body), "bulk request")
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.notWant) {
				t.Fatalf("error = %q, want it to contain %q and not %q", err, tt.want, tt.notWant)
			}
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("400 is not ErrRejected: %v", err)
			}
		})
	}
}

// A search answered in part is an error, never a short list; an answer
// without a count is unreadable, never zero.
func TestPartialAndUnreadableAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/_count") {
			_, _ = w.Write([]byte(`{"_shards":{"failed":0}}`))
			return
		}
		_, _ = w.Write([]byte(`{"_shards":{"total":2,"failed":1},"aggregations":{"terms":{"buckets":[{"key":1}]}}}`))
	}))
	defer srv.Close()
	es, err := NewClient(config.Search{ES: config.Elasticsearch{URL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Terms(context.Background(), es, "x-*", "p", nil, 10); !errors.Is(err, ErrPartial) {
		t.Errorf("Terms = %v, %v; want ErrPartial", got, err)
	}
	if n, err := Count(context.Background(), es, "x", nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Count = %d, %v; want ErrUnavailable", n, err)
	}
}

func TestPathTemplateKeepsSpanNamesFew(t *testing.T) {
	for in, want := range map[string]string{
		"/_bulk":                        "/_bulk",
		"/flowline-job-1_/_search":      "/{index}/_search",
		"/operate-list-view-8.3.0_":     "/{index}",
		"/idx/_alias/alias":             "/{index}/_alias/{index}",
		"/_index_template/flowline-job": "/_index_template/{index}",
		"/":                             "/",
	} {
		if got := pathTemplate(in); got != want {
			t.Errorf("pathTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRefusedIntervalIsAConfigurationError: the engine refusing a refresh
// interval (an OpenSearch cluster's minimum) stops the start-up retries
// with the variables named; other failures stay retryable.
func TestRefusedIntervalIsAConfigurationError(t *testing.T) {
	refused := &StatusError{Status: 400, what: "index settings of x", kind: ErrRejected,
		Body: `{"error":{"type":"illegal_argument_exception","reason":"invalid index.refresh_interval [250ms]: cannot be smaller than cluster.minimum.index.refresh_interval [1s]"}}`}
	for _, tc := range []struct {
		name      string
		err       error
		misconfig bool
		unchanged bool
	}{
		{"refused interval", refused, true, false},
		{"another 400", &StatusError{Status: 400, what: "x", kind: ErrRejected, Body: `{"error":{"type":"mapper_parsing_exception"}}`}, false, true},
		{"unavailable", &StatusError{Status: 503, what: "x", kind: ErrUnavailable, Body: `refresh_interval`}, false, true},
		{"nil", nil, false, true},
	} {
		got := refusedInterval(tc.err, "250ms")
		if Misconfigured(got) != tc.misconfig || (got == tc.err) != tc.unchanged {
			t.Errorf("%s: %v (misconfigured %v)", tc.name, got, Misconfigured(got))
		}
		if tc.misconfig && !strings.Contains(got.Error(), "FLOWLINE_INDEX_REFRESH_INTERVAL") {
			t.Errorf("%s: %v does not name the variables", tc.name, got)
		}
	}
}
