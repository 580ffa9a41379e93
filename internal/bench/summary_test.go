package bench

import (
	"reflect"
	"strings"
	"testing"
)

func TestSpreadAndMedianRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		values     []float64
		want       Spread
		medianFrom float64 // the value of the run medianRun picks
	}{
		{"one run", []float64{7}, Spread{Median: 7, Min: 7, Max: 7, Runs: 1}, 7},
		{"three runs, unsorted", []float64{9, 3, 5}, Spread{Median: 5, Min: 3, Max: 9, Runs: 3}, 5},
		{"four runs: the lower middle one, a run's own figure", []float64{4, 1, 8, 2}, Spread{Median: 2, Min: 1, Max: 8, Runs: 4}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs []ScenarioResult
			for i, v := range tc.values {
				runs = append(runs, ScenarioResult{DocsPerSec: v, Records: int64(i)})
			}
			by := func(r ScenarioResult) float64 { return r.DocsPerSec }
			if got := spreadOf(runs, by); got != tc.want {
				t.Errorf("spread %+v, want %+v", got, tc.want)
			}
			if got := medianRun(runs, by); got == nil || got.DocsPerSec != tc.medianFrom {
				t.Errorf("median run %+v, want the one of %v", got, tc.medianFrom)
			}
		})
	}
}

func TestSummaryChecksTargetsOnMedians(t *testing.T) {
	run := func(docsPerSec, engineUS float64, cpu map[string]float64) ScenarioResult {
		r := ScenarioResult{Records: 1_000_000, DocsPerSec: docsPerSec, Engine: EngineWork{CPUMicrosPerOp: engineUS}}
		for name, s := range cpu {
			r.Services = append(r.Services, ServiceUsage{Name: name, CPUSeconds: s})
		}
		return r
	}
	rep := &Report{
		MainRuns: []ScenarioResult{
			run(40_000, 30, map[string]float64{"ingest": 2, "aggregator": 2, "elasticsearch": 40}),    // 4 µs/record
			run(50_000, 20, map[string]float64{"ingest": 1.5, "aggregator": 2, "elasticsearch": 40}),  // 3.5
			run(60_000, 25, map[string]float64{"ingest": 3, "aggregator": 2.5, "elasticsearch": 40})}, // 5.5
		CeilingRuns: []CeilingResult{{DocsPerSec: 120_000, Engine: EngineWork{CPUMicrosPerOp: 20}},
			{DocsPerSec: 90_000, Engine: EngineWork{CPUMicrosPerOp: 18}}, {DocsPerSec: 100_000, Engine: EngineWork{CPUMicrosPerOp: 22}}},
		Latency: &LatencyResult{P50MS: 450, P99MS: 1100},
		Peer:    &PeerRun{Ratio: 1.4, Target: TargetPeerRatio},
	}
	s := summarize(rep)
	if s.FlowlineMicrosPerRecord.Median != 4 || s.FlowlineMicrosPerRecord.Max != 5.5 {
		t.Errorf("Flowline µs/record %+v, want median 4 (the search engine left out), max 5.5", s.FlowlineMicrosPerRecord)
	}
	if got := s.PerProcessMicrosPerRecord["ingest"]; got.Median != 2 || got.Min != 1.5 {
		t.Errorf("ingest µs/record %+v", got)
	}
	want := map[string]struct {
		measured float64
		met      bool
	}{
		"search engine CPU per index operation, end to end ÷ ceiling":   {25.0 / 20, true}, // 1.25 <= 1.3
		"Flowline CPU per record (ingest + aggregator + writer + NATS)": {4, true},
		"end-to-end documents/s ÷ ceiling":                              {0.5, true}, // 50,000 / 100,000
		"data availability p50 at half the maximum rate":                {450, true},
		"data availability p99 at half the maximum rate":                {1100, false},
		"Flowline records/s ÷ peer":                                     {1.4, false},
	}
	if len(s.Targets) != len(want) {
		t.Fatalf("targets %+v, want %d", s.Targets, len(want))
	}
	for _, c := range s.Targets {
		w, ok := want[c.Name]
		if !ok || c.Measured != w.measured || c.Met != w.met {
			t.Errorf("target %q: measured %v, met %v; want %v, %v", c.Name, c.Measured, c.Met, w.measured, w.met)
		}
	}

	// A latency run at a fixed rate (--latency-rate) is not the targets'
	// half-maximum run: reported, not judged.
	rep.Latency.FixedRate = true
	for _, c := range summarize(rep).Targets {
		if strings.Contains(c.Name, "data availability") {
			t.Errorf("fixed-rate latency judged: %+v", c)
		}
	}
}

// A search engine whose CPU the harness cannot read (one it did not start)
// leaves its per-operation target not measured, never met or failed on a
// zero.
func TestSummaryEngineCPUNotRead(t *testing.T) {
	rep := &Report{
		MainRuns:    []ScenarioResult{{Records: 10, DocsPerSec: 5, Engine: engineWork(-1, 10, 1, 1000, indexStats{Indexed: 10})}},
		CeilingRuns: []CeilingResult{{DocsPerSec: 10, Engine: engineWork(-1, 10, 1, 1000, indexStats{Indexed: 10})}},
	}
	s := summarize(rep)
	if s.EngineMicrosPerOp.Runs != 0 || s.CeilingEngineMicrosPerOp.Runs != 0 {
		t.Errorf("engine CPU spreads %+v and %+v from runs whose CPU was not read", s.EngineMicrosPerOp, s.CeilingEngineMicrosPerOp)
	}
	found := false
	for _, c := range s.Targets {
		if c.Name == "search engine CPU per index operation, end to end ÷ ceiling" {
			found = true
			if c.NotMeasured == "" {
				t.Errorf("target %+v: want not measured", c)
			}
		}
	}
	if !found {
		t.Errorf("targets %+v lack the engine's, reported as not measured", s.Targets)
	}
	var out strings.Builder
	s.write(&out)
	writeEngineWork(&out, rep.MainRuns[0].Engine, &rep.CeilingRuns[0].Engine)
	if !strings.Contains(out.String(), "not measured") || strings.Contains(out.String(), "CPU s  0.0") {
		t.Errorf("report:\n%s", out.String())
	}
}

// parseIndexStats reads the primaries of an Elasticsearch 8 answer and of
// an OpenSearch 2 one (no bulk section).
func TestParseIndexStats(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		want         indexStats
	}{
		{"elasticsearch", `{"_shards":{"total":2},"_all":{"primaries":{
			"indexing":{"index_total":1000,"index_time_in_millis":250,"index_failed":3},
			"refresh":{"total":40,"total_time_in_millis":900,"external_total":30},
			"merges":{"current":0,"total":7,"total_time_in_millis":1200},
			"flush":{"total":2},"segments":{"count":12},
			"bulk":{"total_operations":55,"total_size_in_bytes":123456}},
			"total":{"indexing":{"index_total":2000}}},
			"indices":{"b-list-view-1_":{"primaries":{"refresh":{"external_total":25}}},"b-job-1_":{"primaries":{"refresh":{"external_total":5}}}}}`,
			indexStats{Indexed: 1000, IndexMS: 250, Refreshes: 40, ExternalRefreshes: 30, RefreshMS: 900, Merges: 7, MergeMS: 1200, Flushes: 2, Segments: 12, ShardBulks: 55,
				RefreshesByIndex: map[string]int64{"b-list-view-1_": 25, "b-job-1_": 5}}},
		{"opensearch", `{"_all":{"primaries":{"indexing":{"index_total":5},"refresh":{"total":1,"external_total":1},"segments":{"count":3}}}}`,
			indexStats{Indexed: 5, Refreshes: 1, ExternalRefreshes: 1, Segments: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIndexStats([]byte(tc.answer))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := parseIndexStats([]byte(`{"error":"x"}`)); err == nil {
		t.Error("an answer without _all was read as statistics")
	}
}

// The latency table says the rate asked for beside the rate sent, and
// warns when the pipeline did not keep up (the latency then includes a
// backlog).
func TestLatencyTableWarnsOnAShortfall(t *testing.T) {
	for _, tc := range []struct {
		achieved float64
		warn     bool
	}{{49_900, false}, {40_000, true}} {
		var b strings.Builder
		(&Report{Latency: &LatencyResult{TargetRate: 50_000, AchievedRate: tc.achieved, Seconds: 60, PollMS: 100}}).WriteTable(&b)
		if !strings.Contains(b.String(), "of 50000 records/s sent") {
			t.Errorf("table lacks the rate asked for:\n%s", b.String())
		}
		if got := strings.Contains(b.String(), "did not keep up"); got != tc.warn {
			t.Errorf("sent %.0f of 50000: warning %v, want %v:\n%s", tc.achieved, got, tc.warn, b.String())
		}
	}
}
