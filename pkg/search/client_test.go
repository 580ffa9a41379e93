package search

import (
	"errors"
	"strings"
	"testing"
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
