package aggregator

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/testenv"
)

// TestIgnoredRecordLabelsAreBounded: value types and intents come from
// clients; the ignored-records counter keeps at most maxIgnoredLabels label
// values and counts the rest, and any overlong label, as "other", so that a
// client cannot create series without bound.
func TestIgnoredRecordLabelsAreBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.countIgnored(strings.Repeat("X", maxIgnoredLabelLen+1), 1)
	for i := range maxIgnoredLabels + 50 {
		m.countIgnored("TYPE_"+strconv.Itoa(i), 2)
	}
	m.countIgnored("TYPE_0", 1) // a label in use keeps counting under its name
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "flowline_aggregator_ignored_records_total" {
			n = len(mf.GetMetric())
		}
	}
	if n != maxIgnoredLabels+1 {
		t.Errorf("%d series, want %d labels and %q", n, maxIgnoredLabels, otherLabel)
	}
	name := "flowline_aggregator_ignored_records_total"
	if got := testenv.Metric(t, reg, name, map[string]string{"value_type": otherLabel}); got != 1+50*2 {
		t.Errorf("%q counts %v records, want 101", otherLabel, got)
	}
	if got := testenv.Metric(t, reg, name, map[string]string{"value_type": "TYPE_0"}); got != 3 {
		t.Errorf("TYPE_0 counts %v records, want 3", got)
	}
}
