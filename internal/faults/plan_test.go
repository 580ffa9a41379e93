package faults

import (
	"reflect"
	"testing"
	"time"
)

var testTopology = Topology{
	Services: []string{"writer-1", "writer-2", "archiver", "aggregator-1", "aggregator-2", "ingest-1", "ingest-2"},
	NATS:     []string{"nats-1", "nats-2", "nats-3"},
	LeaseTTL: 10 * time.Second,
}

// TestPlansAreDeterministicBySeed: a seed reproduces the plan, another
// seed draws another, and every cycle of rounds holds every kind once.
func TestPlansAreDeterministicBySeed(t *testing.T) {
	a, b := MakePlans(7, 23, testTopology), MakePlans(7, 23, testTopology)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 7 drew two plans:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, MakePlans(8, 23, testTopology)) {
		t.Fatal("seeds 7 and 8 drew the same plan")
	}
	for start := 0; start+len(Kinds) <= len(a); start += len(Kinds) {
		seen := map[Kind]bool{}
		for _, p := range a[start : start+len(Kinds)] {
			seen[p.Kind] = true
		}
		if len(seen) != len(Kinds) {
			t.Errorf("rounds %d..%d hold %v, want every kind once", start+1, start+len(Kinds), seen)
		}
	}
	for _, p := range a {
		switch {
		case p.Strike < 2*time.Second || p.Strike > 8*time.Second:
			t.Errorf("round %d strikes at %s, want 2–8 s", p.Round, p.Strike)
		case p.Kind == PauseService && p.Hold <= testTopology.LeaseTTL:
			t.Errorf("round %d pauses %s for %s, not longer than the lease TTL", p.Round, p.Target, p.Hold)
		case p.Kind == StopSearch && p.Hold != SearchOutage:
			t.Errorf("round %d stops Elasticsearch for %s, want %s", p.Round, p.Hold, SearchOutage)
		case (p.Kind == KillService || p.Kind == PauseService) && !contains(testTopology.Services, p.Target),
			p.Kind == KillNATS && !contains(testTopology.NATS, p.Target):
			t.Errorf("round %d targets %q, not a process of its kind", p.Round, p.Target)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func TestCompareDeadLetters(t *testing.T) {
	for _, tc := range []struct {
		name                string
		ref, run            []string
		unexpected, missing int
	}{
		{"none", nil, nil, 0, 0},
		{"the same", []string{"aggregator: bad", "writer: mapping"}, []string{"writer: mapping", "aggregator: bad"}, 0, 0},
		{"one more", []string{"writer: mapping"}, []string{"writer: mapping", "writer: mapping"}, 1, 0},
		{"another", nil, []string{"writer: timeout"}, 1, 0},
		{"fewer", []string{"writer: mapping", "writer: mapping"}, []string{"writer: mapping"}, 0, 1},
		{"none of them", []string{"aggregator: bad"}, nil, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := compareDeadLetters(tc.ref, tc.run); d.Unexpected != tc.unexpected || d.Missing != tc.missing || d.Run != len(tc.run) {
				t.Fatalf("%+v, want %d unexpected, %d missing", d, tc.unexpected, tc.missing)
			}
		})
	}
}

func TestSlope(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		ys   []float64
		want float64
	}{
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{"rising", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{"noisy flat", []float64{0, 1, 2, 3}, []float64{5, 6, 5, 6}, 0.2},
		{"one sample", []float64{0}, []float64{9}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slope(tc.xs, tc.ys); got < tc.want-1e-9 || got > tc.want+1e-9 {
				t.Fatalf("slope %v, want %v", got, tc.want)
			}
		})
	}
}
