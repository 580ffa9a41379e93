package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1d", 24 * time.Hour, true},
		{"30d", 30 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1w2d", 9 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{" 1h ", time.Hour, true},
		{"200ms", 200 * time.Millisecond, true},
		{"1.5h", 90 * time.Minute, true},
		{"0", 0, true},
		{"-5s", -5 * time.Second, true},
		{"", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"1d-1h", 0, false},
		{"5", 0, false},
		{"abc", 0, false},
		{"99999999999999w", 0, false},
		{"15250w106751d", 0, false},
		{"15250w2500000h", 0, false},
	} {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"64MiB", 64 << 20, true},
		{"64mib", 64 << 20, true},
		{"64 MiB", 64 << 20, true},
		{"8m", 8 << 20, true},
		{"512KiB", 512 << 10, true},
		{"500KB", 500_000, true},
		{"1GB", 1_000_000_000, true},
		{"1.5GiB", 3 << 29, true},
		{"100B", 100, true},
		{"0", 0, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"64 parsecs", 0, false},
		{"-1", 0, false},
		{"99999999999GiB", 0, false},
	} {
		got, err := ParseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestUnitsReadBackWhatTheyPrint: a duration or size printed (as --help
// shows a default) reads back as the same value.
func TestUnitsReadBackWhatTheyPrint(t *testing.T) {
	for _, d := range []Duration{Duration(24 * time.Hour), Duration(36 * time.Hour), Duration(200 * time.Millisecond), 0} {
		var back Duration
		if err := back.Decode(d.String()); err != nil || back != d {
			t.Errorf("duration %s read back as %s (%v)", d, back, err)
		}
	}
	for _, b := range []Bytes{64 << 20, 786432, 1000, 0, 3 << 30} {
		var back Bytes
		if err := back.Decode(b.String()); err != nil || back != b {
			t.Errorf("size %s read back as %s (%v)", b, back, err)
		}
	}
}
