package buildinfo

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestInfoIsNeverEmpty: without linker flags a test binary still says
// something for each field, and the line names them all.
func TestInfoIsNeverEmpty(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Revision == "" || !strings.HasPrefix(i.Go, "go") {
		t.Fatalf("build info %+v", i)
	}
	if s := i.String(); !strings.Contains(s, i.Version) || !strings.Contains(s, i.Revision) || !strings.HasPrefix(s, "flowline ") {
		t.Errorf("line %q", s)
	}
}

// TestBuildInfoMetric: the gauge is 1 and carries the build's labels.
func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector())
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "flowline_build_info" {
		t.Fatalf("gathered %v, %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	i := Get()
	if m.GetGauge().GetValue() != 1 || labels["version"] != i.Version || labels["revision"] != i.Revision || labels["goversion"] != i.Go {
		t.Errorf("flowline_build_info %v = %v, want 1 with %+v", labels, m.GetGauge().GetValue(), i)
	}
}
