package archiver

import (
	"fmt"
	"strings"
	"time"
)

// Period is the rollover period of dated indices: an archived instance goes
// to the index of the period its end date falls in (UTC). Dated index names
// end in the period's start: 2026-11-23-14 (hour), 2026-11-23 (day), the
// Monday 2026-11-23 (week), 2026-11 (month).
type Period int

// The rollover periods.
const (
	Day Period = iota
	Hour
	Week
	Month
)

var periodNames = map[Period]string{Hour: "hour", Day: "day", Week: "week", Month: "month"}

// Decode implements envconfig.Decoder; it takes hour, day, week or month
// (also 1h, 1d, 1w, 1M).
func (p *Period) Decode(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "hour", "1h", "hourly":
		*p = Hour
	case "day", "1d", "daily":
		*p = Day
	case "week", "1w", "weekly":
		*p = Week
	case "month", "1m", "monthly":
		*p = Month
	default:
		return fmt.Errorf("rollover interval %q: want hour, day, week or month", v)
	}
	return nil
}

func (p Period) String() string { return periodNames[p] }

// Longest is the longest a period of p lasts (a month of 31 days).
func (p Period) Longest() time.Duration {
	switch p {
	case Hour:
		return time.Hour
	case Week:
		return 7 * 24 * time.Hour
	case Month:
		return 31 * 24 * time.Hour
	default:
		return 24 * time.Hour
	}
}

// Start is the start of the period t falls in, in UTC.
func (p Period) Start(t time.Time) time.Time {
	t = t.UTC()
	switch p {
	case Hour:
		return t.Truncate(time.Hour)
	case Week:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -(int(d.Weekday())+6)%7) // back to Monday
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
}

// End is the end of the period starting at start.
func (p Period) End(start time.Time) time.Time {
	switch p {
	case Hour:
		return start.Add(time.Hour)
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	default:
		return start.AddDate(0, 0, 1)
	}
}

func (p Period) layout() string {
	switch p {
	case Hour:
		return "2006-01-02-15"
	case Month:
		return "2006-01"
	default:
		return "2006-01-02"
	}
}

// Suffix names the period t falls in, as dated indices end.
func (p Period) Suffix(t time.Time) string { return p.Start(t).Format(p.layout()) }

// ParseSuffix reads back the start of a period from a dated index's
// suffix in any of the layouts (the period may have been changed since
// the index was made).
func ParseSuffix(s string) (start time.Time, p Period, ok bool) {
	for _, p := range []Period{Hour, Day, Month} { // Week shares Day's layout
		if t, err := time.Parse(p.layout(), s); err == nil {
			return t, p, true
		}
	}
	return time.Time{}, 0, false
}

// latestEnd is the latest end of the period a dated index's suffix may
// name, whatever rollover made the index: retention judges an index by it,
// so that changing the rollover never deletes an index early. A week's
// suffix has a day's layout (its Monday), so a day-layout suffix of a
// Monday counts to the end of that week: a daily Monday index is kept up to
// six days longer, never a weekly one six days shorter.
func latestEnd(suffix string) (time.Time, bool) {
	start, p, ok := ParseSuffix(suffix)
	if !ok {
		return time.Time{}, false
	}
	if p == Day && Week.Start(start).Equal(start) {
		p = Week
	}
	return p.End(start), true
}

// suffixEnd is the end of the period a dated index's suffix names, read
// with the configured rollover (a week's suffix has a day's layout): for
// indices made with that rollover, such as the one being created.
func suffixEnd(suffix string, rollover Period) (time.Time, bool) {
	start, p, ok := ParseSuffix(suffix)
	if p == Day && rollover == Week {
		p = Week
	}
	return p.End(start), ok
}
