package c7

import (
	"fmt"
	"time"
)

// DateLayout is the engine REST API's default date format
// (yyyy-MM-dd'T'HH:mm:ss.SSSZ), in requests and responses.
const DateLayout = "2006-01-02T15:04:05.000-0700"

// ParseDate parses a date of the engine into epoch milliseconds.
func ParseDate(s string) (int64, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		// Some serializers write an ISO offset with a colon.
		t2, err2 := time.Parse("2006-01-02T15:04:05.000Z07:00", s)
		if err2 != nil {
			return 0, fmt.Errorf("c7: date %q is not yyyy-MM-dd'T'HH:mm:ss.SSSZ: %w", s, err)
		}
		t = t2
	}
	return t.UnixMilli(), nil
}

// FormatDate formats epoch milliseconds as a query parameter of the engine
// (UTC; the caller URL-encodes the "+").
func FormatDate(ms int64) string { return time.UnixMilli(ms).UTC().Format(DateLayout) }
