package zeebeimport

import (
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// TestAdmitChecksImportedRecordsLikeIngest: the import applies ingest's
// record check (wire.CheckRecord) and limits (recordlog.Check) to what it
// reads, so an exporter record ingest would refuse is dead-lettered with
// the reason instead of reaching the aggregator.
func TestAdmitChecksImportedRecordsLikeIngest(t *testing.T) {
	variable := func(pos int64, value string) *recordv1.Record {
		return &recordv1.Record{PartitionId: 1, Position: pos, RecordType: "EVENT", ValueType: "VARIABLE", Intent: "CREATED",
			Value: &recordv1.Record_Variable{Variable: &recordv1.VariableValue{Name: "v", Value: value}}}
	}
	cfg := config.RecordStore{MaxRecordBytes: 1000}
	tests := []struct {
		name     string
		rec      *recordv1.Record
		result   string
		mentions []string
	}{
		{"valid", variable(5, `"EUR"`), "", nil},
		{"value not JSON", variable(6, "EUR"), "invalid", []string{"partition 1, position 6", "variable.value", "not valid JSON text"}},
		{"negative position", variable(-2, `1`), "invalid", []string{"position -2 is negative"}},
		{"too large", variable(7, `"`+strings.Repeat("x", 2000)+`"`), "too-large", []string{"position 7", "1000", "FLOWLINE_INGEST_MAX_RECORD_BYTES", "redrive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, reason := admit(cfg, 1, tt.rec)
			if result != tt.result {
				t.Fatalf("result %q (%s), want %q", result, reason, tt.result)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(reason, m) {
					t.Errorf("reason %q lacks %q", reason, m)
				}
			}
		})
	}
}
