package testenv

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/config"
)

// Metric sums the samples of metric family name in reg whose labels include
// want (nil: all): counter and gauge values, histogram sample counts.
func Metric(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	return sumSamples(t, reg, name, want, false)
}

// HistogramSum sums the observed values of histogram family name in reg
// whose labels include want (nil: all): for a latency histogram, the
// seconds spent.
func HistogramSum(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	return sumSamples(t, reg, name, want, true)
}

// sumSamples is Metric, or HistogramSum when observed.
func sumSamples(t testing.TB, reg *prometheus.Registry, name string, want map[string]string, observed bool) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			if observed {
				sum += m.GetHistogram().GetSampleSum()
			} else {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// BenchEnv reads a positive integer setting of a benchmark, key (a
// FLOWLINE_ variable), from the environment through pkg/config; def when
// unset.
func BenchEnv(b *testing.B, key string, def int) int {
	name, ok := strings.CutPrefix(key, config.Prefix+"_")
	if !ok {
		b.Fatalf("%s: a benchmark setting is a %s_ variable", key, config.Prefix)
	}
	v, _ := config.Lookup(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}
