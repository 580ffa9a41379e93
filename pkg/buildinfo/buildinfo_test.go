package buildinfo

import (
	"strings"
	"testing"
)

// TestInfoIsNeverEmpty: without linker flags a test binary still says
// something for each field, and the line names them all.
func TestInfoIsNeverEmpty(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Revision == "" || !strings.HasPrefix(i.Go, "go") {
		t.Fatalf("build info %+v", i)
	}
	if s := i.String(); !strings.Contains(s, i.Version) || !strings.Contains(s, i.Revision) || !strings.HasPrefix(s, "flowline ") {
		t.Errorf("line %q", s)
	}
}
