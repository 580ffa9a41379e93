package simulate

import (
	"testing"
	"time"
)

// BenchmarkGenerate measures generation, JSON rendering included, in
// records per second.
func BenchmarkGenerate(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(string(w), func(b *testing.B) {
			records := 0
			bytes := 0
			for b.Loop() {
				g, err := NewGenerator(Config{Workload: w, Instances: 200, Partitions: 3, Seed: 1, IncidentRate: 0.05, CancelRate: 0.05,
					Start: time.UnixMilli(1_763_884_800_000)})
				if err != nil {
					b.Fatal(err)
				}
				for recs := g.Next(); recs != nil; recs = g.Next() {
					for _, r := range recs {
						bytes += len(r.JSON()) + 1
					}
					records += len(recs)
				}
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(records)/float64(b.N)/200, "records/instance")
			b.ReportMetric(float64(bytes)/float64(records), "bytes/record")
		})
	}
}
