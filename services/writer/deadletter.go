package writer

import "github.com/flowline/flowline/pkg/schema"

// familyName is the name of the family newFamilies numbered n: the schema's
// n-th family, "" for 0 (a family this writer does not know). A dead letter
// carries it so that `flowline dlq redrive` can send the document back.
func familyName(n uint8) string {
	if n == 0 || int(n) > len(schema.Families) {
		return ""
	}
	return string(schema.Families[n-1])
}
