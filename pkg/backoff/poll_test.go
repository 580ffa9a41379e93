package backoff

import (
	"slices"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	s := time.Second
	tests := []struct {
		name       string
		start, max time.Duration
		factor     float64
		resetAfter int // call Reset after this many Next calls (0: never)
		want       []time.Duration
	}{
		{"grows x1.5 to the cap", s, 30 * s, 1.5, 0, []time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond, 3375 * time.Millisecond}},
		{"stays at the cap", s, 2 * s, 1.5, 0, []time.Duration{s, 1500 * time.Millisecond, 2 * s, 2 * s, 2 * s}},
		{"reset starts over", s, 30 * s, 1.5, 3, []time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond, s, 1500 * time.Millisecond}},
		{"factor 1 is constant", 200 * time.Millisecond, s, 1, 0, []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewPoll(tt.start, tt.factor, tt.max)
			var got []time.Duration
			for i := range tt.want {
				if tt.resetAfter > 0 && i == tt.resetAfter {
					b.Reset()
				}
				got = append(got, b.Next())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays %v, want %v", got, tt.want)
			}
		})
	}
	// Over many idle rounds the defaults reach 30 s and stay there.
	b := NewPoll(s, 1.5, 30*s)
	var last time.Duration
	for range 20 {
		last = b.Next()
	}
	if last != 30*s {
		t.Errorf("after 20 idle rounds the pause is %s, want 30s", last)
	}
}

// Factor 1 with Step equal to Start is Optimize's idle backoff: the
// interval times the number of empty polls in a row, capped.
func TestPollLinearStep(t *testing.T) {
	s := time.Second
	b := NewPoll(s, 1, 4*s)
	b.Step = s
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	if want := []time.Duration{s, 2 * s, 3 * s, 4 * s, 4 * s, 4 * s}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	b.Reset()
	if d := b.Next(); d != s {
		t.Errorf("after Reset: %v, want %v", d, s)
	}
}
