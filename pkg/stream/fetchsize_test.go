package stream

import "testing"

// TestFetchSizerFitsTheBudget: the fetch's message count follows the
// mean message size, starting on the large side, and never drops below
// one message.
func TestFetchSizerFitsTheBudget(t *testing.T) {
	const budget = 8 << 20
	for _, tc := range []struct {
		name     string
		fetches  [][2]int // bytes, messages
		min, max int
	}{
		{"nothing seen yet", nil, budget / InitialMessageBytes, budget / InitialMessageBytes},
		{"small messages", [][2]int{{1000 * 4096, 1000}}, budget / 4096, budget / 4096},
		{"growing messages", [][2]int{{100 * 4096, 100}, {100 * 65536, 100}}, budget / 65536, budget / 65536},
		{"shrinking messages", [][2]int{{100 * 65536, 100}, {100 * 4096, 100}}, budget/65536 + 1, budget / 4096},
		{"a message larger than the budget", [][2]int{{2 * budget, 1}}, 1, 1},
		{"an empty fetch changes nothing", [][2]int{{0, 0}}, budget / InitialMessageBytes, budget / InitialMessageBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m FetchSizer
			for _, f := range tc.fetches {
				m.Observe(f[0], f[1])
			}
			if n := m.Fit(budget); n < tc.min || n > tc.max {
				t.Fatalf("Fit(%d) = %d, want %d..%d (mean %.0f)", budget, n, tc.min, tc.max, m.mean)
			}
		})
	}
}
