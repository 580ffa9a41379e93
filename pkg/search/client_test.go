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
