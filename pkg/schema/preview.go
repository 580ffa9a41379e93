package schema

import "unicode/utf8"

// PreviewLimit is the most characters a variable document's value holds;
// longer values are cut, and kept whole in fullValue (as Operate's
// importer does).
const PreviewLimit = 8191

// VariablePreview returns what a variable document holds of value: value
// itself, or its first PreviewLimit characters with the whole value as
// full and isPreview true.
func VariablePreview(value string) (preview string, full *string, isPreview bool) {
	if utf8.RuneCountInString(value) <= PreviewLimit {
		return value, nil, false
	}
	i := 0
	for range PreviewLimit {
		_, size := utf8.DecodeRuneInString(value[i:])
		i += size
	}
	return value[:i], &value, true
}
