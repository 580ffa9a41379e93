package faults

import (
	"math"
	"strings"
	"testing"
)

// TestSoakJudgesTrendsAfterTheWarmUp: a process whose memory grows after
// the warm-up is reported with its slope; one that grows only during the
// warm-up (filling caches) and then stays flat is not; NATS servers are
// reported, not judged; a backlog that keeps growing is unbounded, one
// that wobbles around a level is not.
func TestSoakJudgesTrendsAfterTheWarmUp(t *testing.T) {
	for _, tt := range []struct {
		name      string
		backlog   func(h float64, i int) float64
		unbounded bool
	}{
		{"backlog wobbling", func(_ float64, i int) float64 { return 40 + float64(i%3)*5 }, false},
		{"backlog growing", func(h float64, _ int) float64 { return 1000 * h }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &soakWatch{rss: map[string][]float64{}}
			const samples = 180 // 30 minutes, every 10 s
			for i := range samples {
				h := float64(i) * soakSample.Hours()
				w.times = append(w.times, h)
				warm := math.Min(h, 0.125) / 0.125 // the first quarter: caches filling
				w.rss["aggregator-1"] = append(w.rss["aggregator-1"], 100+50*warm+float64(i%4))
				w.rss["writer-1"] = append(w.rss["writer-1"], 100+200*h) // leaks 200 MB/h
				w.rss["nats-1"] = append(w.rss["nats-1"], 100+400*h)     // the retained stream
				w.open = append(w.open, tt.backlog(h, i))
			}
			out := Soak{Seconds: 1800, Partitions: 4}
			w.finish(&out)
			if len(out.Growing) != 1 || !strings.HasPrefix(out.Growing[0], "writer-1 +200.0 MB/h") {
				t.Errorf("growing %v, want only writer-1 at +200 MB/h", out.Growing)
			}
			slopes := map[string]float64{}
			for _, p := range out.Processes {
				slopes[p.Name] = p.SlopeMBPerH
			}
			if len(slopes) != 3 || math.Abs(slopes["aggregator-1"]) > 5 || math.Abs(slopes["nats-1"]-400) > 1 {
				t.Errorf("slopes %v, want aggregator-1 about 0 after its warm-up and nats-1 400 MB/h", slopes)
			}
			if out.LagUnbounded != tt.unbounded {
				t.Errorf("lag unbounded %v (slope %.1f/h), want %v", out.LagUnbounded, out.OpenSlope, tt.unbounded)
			}
		})
	}
}
