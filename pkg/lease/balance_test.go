package lease

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTargets(t *testing.T) {
	tests := []struct {
		members []string
		n       int
		want    map[string]int
	}{
		{[]string{"a"}, 8, map[string]int{"a": 8}},
		{[]string{"a", "b"}, 8, map[string]int{"a": 4, "b": 4}},
		{[]string{"b", "a"}, 9, map[string]int{"a": 5, "b": 4}},
		{[]string{"c", "a", "b"}, 8, map[string]int{"a": 3, "b": 3, "c": 2}},
		{[]string{"a", "b", "c", "d"}, 3, map[string]int{"a": 1, "b": 1, "c": 1, "d": 0}},
		{[]string{"a", "a", "b"}, 3, map[string]int{"a": 2, "b": 1}},
		{[]string{"a", "b"}, 0, map[string]int{"a": 0, "b": 0}},
		{nil, 8, map[string]int{}},
	}
	for _, tt := range tests {
		got := targets(tt.members, tt.n)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("targets(%v, %d) = %v, want %v", tt.members, tt.n, got, tt.want)
		}
	}
}

// Every replica must compute the same split whatever order it lists the
// members in, the shares must cover every partition, and be fair.
func TestTargetsDeterministicAndFair(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for m := 1; m <= 7; m++ {
		members := make([]string, m)
		for i := range members {
			members[i] = fmt.Sprintf("aggregator-%d", r.IntN(1000)*10+i)
		}
		for n := 0; n <= 20; n++ {
			want := targets(members, n)
			shuffled := slices.Clone(members)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if got := targets(shuffled, n); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("order changed the split: %v vs %v", got, want)
			}
			sum, lo, hi := 0, n, 0
			for _, c := range want {
				sum += c
				lo, hi = min(lo, c), max(hi, c)
			}
			if sum != n || hi-lo > 1 || len(want) != m {
				t.Fatalf("%d members, %d partitions: %v (sum %d, spread %d)", m, n, want, sum, hi-lo)
			}
		}
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name         string
		active, free []int32
		target       int
		seed         uint32
		release      []int32
		claim        []int32
		need         int
	}{
		{name: "above target gives up highest first", active: []int32{3, 0, 7, 5, 1, 2, 6, 4}, target: 4, release: []int32{7, 6, 5, 4}},
		{name: "above target ignores free", active: []int32{0, 1, 2}, free: []int32{3}, target: 2, release: []int32{2}},
		{name: "below target claims lowest first with seed 0", active: []int32{0, 1}, free: []int32{7, 2, 5}, target: 4, claim: []int32{2, 5, 7}, need: 2},
		{name: "seed rotates the claim order", active: nil, free: []int32{2, 3, 4}, target: 1, seed: 4, claim: []int32{3, 4, 2}, need: 1},
		{name: "at target does nothing", active: []int32{1, 2}, free: []int32{3}, target: 2},
		{name: "below target, nothing free", active: []int32{1}, target: 3, need: 2},
		{name: "target zero gives up all", active: []int32{4, 9}, target: 0, release: []int32{9, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release, claim, need := plan(tt.active, tt.free, tt.target, tt.seed)
			if !slices.Equal(release, tt.release) || !slices.Equal(claim, tt.claim) || need != tt.need {
				t.Errorf("plan = release %v claim %v need %d; want %v %v %d", release, claim, need, tt.release, tt.claim, tt.need)
			}
		})
	}
	if seedOf("aggregator-0") != seedOf("aggregator-0") || seedOf("aggregator-0") == seedOf("aggregator-1") {
		t.Error("seedOf is not a stable hash")
	}
}
