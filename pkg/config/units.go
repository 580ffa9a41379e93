package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration read from a variable: Go's syntax (300ms,
// 1.5h, 2h45m) and also whole days and weeks, alone or leading (1d, 30d,
// 2w, 1d12h). Every duration variable has this type, so that every one
// accepts the same units.
type Duration time.Duration

// Decode implements envconfig.Decoder.
func (d *Duration) Decode(v string) error {
	parsed, err := parseDuration(v)
	if err != nil {
		return err
	}
	*d = Duration(parsed)
	return nil
}

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d in the units it is read in: days where whole, else Go's.
func (d Duration) String() string {
	const day = 24 * time.Hour
	td := time.Duration(d)
	if td > 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return td.String()
}

// MarshalText writes d as String does: logs and JSON show 30s, not
// 30000000000.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ParseDuration reads a duration in Go's syntax, with whole weeks (w) and
// days (d) allowed before the rest: 30d, 2w, 1d12h, 90m. A day is 24 hours.
func ParseDuration(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", v, err)
	}
	return d, nil
}

// parseDuration is ParseDuration with errors that do not repeat the value.
func parseDuration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	var total time.Duration
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		digits := 0
		for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
			digits++
		}
		if digits == 0 || digits == len(s) || s[digits] != u.suffix {
			continue
		}
		n, err := strconv.ParseInt(s[:digits], 10, 64)
		if err != nil || n > int64(math.MaxInt64/u.unit) {
			return 0, fmt.Errorf("not a duration: %s%c is out of range", s[:digits], u.suffix)
		}
		if add := time.Duration(n) * u.unit; total > math.MaxInt64-add {
			return 0, errors.New("not a duration: out of range")
		} else {
			total += add
		}
		s = s[digits+1:]
	}
	if s == "" {
		if total == 0 && strings.TrimSpace(v) == "" {
			return 0, errors.New("empty: want a duration such as 500ms, 30s, 5m, 1h or 1d")
		}
		return total, nil
	}
	rest, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration: want one such as 500ms, 30s, 5m, 1h, 1d or 1d12h")
	}
	if total > 0 && rest < 0 {
		return 0, errors.New("not a duration: a sign may only lead")
	}
	if rest > 0 && total > math.MaxInt64-rest {
		return 0, errors.New("not a duration: out of range")
	}
	return total + rest, nil
}

// Bytes is a size in bytes read from a variable: a plain count (1048576)
// or a number with a unit, binary (KiB, MiB, GiB) or decimal (KB, MB, GB);
// B is allowed, units are case-insensitive, a space may separate them.
type Bytes int64

// Decode implements envconfig.Decoder.
func (b *Bytes) Decode(v string) error {
	n, err := parseBytes(v)
	if err != nil {
		return err
	}
	*b = Bytes(n)
	return nil
}

// Int is b as an int.
func (b Bytes) Int() int { return int(b) }

// String formats b in the largest binary unit that divides it.
func (b Bytes) String() string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.size == 0 {
			return strconv.FormatInt(int64(b)/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// byteUnits are the units ParseBytes reads, lower-cased.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
}

// ParseBytes reads a size: 1048576, 64MiB, 1.5 GiB, 500KB, 8m.
func ParseBytes(v string) (int64, error) {
	n, err := parseBytes(v)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", v, err)
	}
	return n, nil
}

// errNotSize says what a size looks like.
var errNotSize = errors.New("not a size: want bytes such as 1048576, 512KiB, 64MiB or 1GiB")

// parseBytes is ParseBytes with errors that do not repeat the value.
func parseBytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
		end++
	}
	unit, ok := byteUnits[strings.ToLower(strings.TrimSpace(s[end:]))]
	if end == 0 || !ok {
		return 0, errNotSize
	}
	num := s[:end]
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/unit {
			return 0, errors.New("not a size: out of range")
		}
		return n * unit, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*float64(unit) >= math.MaxInt64 {
		return 0, errNotSize
	}
	return int64(math.Round(f * float64(unit))), nil
}
