package archiver

import (
	"errors"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

func TestPeriodSuffixStartAndEnd(t *testing.T) {
	at := time.Date(2026, 11, 26, 14, 35, 0, 0, time.FixedZone("CET", 3600)) // Thursday 13:35 UTC
	tests := []struct {
		p          Period
		suffix     string
		start, end time.Time
	}{
		{Hour, "2026-11-26-13", time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)},
		{Day, "2026-11-26", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		{Week, "2026-11-23", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{Month, "2026-11", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.p.String(), func(t *testing.T) {
			if got := tt.p.Suffix(at); got != tt.suffix {
				t.Errorf("Suffix = %q, want %q", got, tt.suffix)
			}
			start := tt.p.Start(at)
			if !start.Equal(tt.start) || !tt.p.End(start).Equal(tt.end) {
				t.Errorf("period [%s, %s), want [%s, %s)", start, tt.p.End(start), tt.start, tt.end)
			}
			back, p, ok := ParseSuffix(tt.suffix)
			if !ok || !back.Equal(tt.start) {
				t.Errorf("ParseSuffix(%q) = %s %v %v", tt.suffix, back, p, ok)
			}
		})
	}
	// A Sunday belongs to the week that started on the Monday before.
	if got := Week.Suffix(time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)); got != "2026-11-23" {
		t.Errorf("Sunday's week = %s", got)
	}
	for _, s := range []string{"", "2026-13-01", "x2026-11-23", "2026-11-23-25"} {
		if _, _, ok := ParseSuffix(s); ok {
			t.Errorf("ParseSuffix(%q) accepted", s)
		}
	}
}

func TestPeriodAndRetentionDecode(t *testing.T) {
	for in, want := range map[string]Period{"hour": Hour, "DAY": Day, "1w": Week, "monthly": Month} {
		var p Period
		if err := p.Decode(in); err != nil || p != want {
			t.Errorf("Period.Decode(%q) = %v, %v; want %v", in, p, err, want)
		}
	}
	var p Period
	if err := p.Decode("fortnight"); err == nil {
		t.Error("Period.Decode(fortnight) accepted")
	}
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "4w": 28 * 24 * time.Hour, "12h": 12 * time.Hour, "": 0} {
		var r Retention
		if err := r.Decode(in); err != nil || time.Duration(r) != want {
			t.Errorf("Retention.Decode(%q) = %v, %v; want %v", in, time.Duration(r), err, want)
		}
	}
	for _, in := range []string{"30x", "-1d", "0d", "soon"} {
		var r Retention
		if err := r.Decode(in); err == nil {
			t.Errorf("Retention.Decode(%q) accepted", in)
		}
	}
}

func TestGroupsSplitByPeriodKeepingOrder(t *testing.T) {
	batch := []instance{{key: 1, suffix: "a"}, {key: 2, suffix: "b"}, {key: 3, suffix: "a"}, {key: 4, suffix: "c"}}
	got := groups(batch)
	if len(got) != 3 || len(got[0]) != 2 || got[0][1].key != 3 || got[1][0].key != 2 || got[2][0].key != 4 {
		t.Fatalf("groups = %+v", got)
	}
}

func TestConfigDefaultsFromTheEnvironmentAndValidate(t *testing.T) {
	t.Setenv("FLOWLINE_RETENTION", "30d")
	t.Setenv("FLOWLINE_ARCHIVER_ROLLOVER_INTERVAL", "week")
	valid := func() Config {
		var c Config
		if err := config.Process(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := valid()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.WaitPeriod.D() != time.Hour || c.Rollover != Week || time.Duration(c.Retention) != 30*24*time.Hour || c.BatchSize != 1000 || c.StateBucket != "flowline-aggregator" {
		t.Errorf("loaded %+v", c)
	}
	tests := map[string]func(*Config){
		"negative wait":   func(c *Config) { c.WaitPeriod = config.Duration(-time.Second) },
		"zero batch":      func(c *Config) { c.BatchSize = 0 },
		"page too large":  func(c *Config) { c.PageSize = 10_001 },
		"max below delay": func(c *Config) { c.MaxDelay = config.Duration(time.Millisecond) },
		"short lease":     func(c *Config) { c.Lease.TTL = config.Duration(time.Millisecond) },
		"ilm without age": func(c *Config) { c.Retention, c.RetentionILM = 0, "p" },
		"replica id":      func(c *Config) { c.Lease.ReplicaID = "a b" },
	}
	for name, mutate := range tests {
		c := valid()
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

func TestLatestEndCountsAMondaySuffixToTheEndOfItsWeek(t *testing.T) {
	tests := []struct {
		suffix string
		want   time.Time
	}{
		{"2026-11-23", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}, // a Monday: a week's index, or a day's
		{"2026-11-24", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}, // a Tuesday: only a day's
		{"2026-11-23-14", time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)},
		{"2026-11", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, ok := latestEnd(tt.suffix)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("latestEnd(%q) = %s, %v; want %s", tt.suffix, got, ok, tt.want)
		}
	}
	if _, ok := latestEnd("latest"); ok {
		t.Error("a suffix that names no period was read")
	}
}
