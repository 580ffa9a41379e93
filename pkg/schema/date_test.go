package schema

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestFormatDateIsTimeFormat: the direct formatter renders what package
// time does, at the edges of its fast range, around leap days and century
// rules, and on random instants of the whole int64 range.
func TestFormatDateIsTimeFormat(t *testing.T) {
	want := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(dateLayout) }
	day := int64(86_400_000)
	var cases []int64
	for _, d := range []string{"0000-01-01", "0000-02-29", "0001-01-01", "1600-02-29", "1700-03-01", "1900-02-28", "1969-12-31",
		"1970-01-01", "2000-02-29", "2024-02-29", "2026-12-07", "2100-03-01", "9999-12-31"} {
		at, err := time.Parse("2006-01-02", d)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int64{-day - 1, -1, 0, 1, day - 1, day, 12*3_600_000 + 34*60_000 + 56_789} {
			cases = append(cases, at.UnixMilli()+off)
		}
	}
	cases = append(cases, 0, -1, 1, math.MinInt64, math.MaxInt64, -62_167_219_200_001, 253_402_300_800_000)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		cases = append(cases, r.Int64N(253_402_300_800_000+62_167_219_200_000)-62_167_219_200_000, int64(r.Uint64()))
	}
	for _, ms := range cases {
		if got := *FormatDate(ms); got != want(ms) {
			t.Fatalf("FormatDate(%d) = %s, want %s", ms, got, want(ms))
		}
	}
}

func BenchmarkFormatDate(b *testing.B) {
	b.ReportAllocs()
	ms := int64(1_763_884_800_123)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			_ = formatDate(ms)
		}
	})
	b.Run("time.Format", func(b *testing.B) {
		for b.Loop() {
			_ = time.UnixMilli(ms).UTC().Format(dateLayout)
		}
	})
}
