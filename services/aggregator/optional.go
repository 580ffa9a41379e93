package aggregator

import "github.com/flowline/flowline/pkg/schema"

// optionalDate renders epoch ms as a date, or nil for Zeebe's -1 / 0.
func optionalDate(epochMillis int64) *string {
	if epochMillis <= 0 {
		return nil
	}
	return schema.FormatDate(epochMillis)
}

// optionalString is nil for "", else a pointer to s.
func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
