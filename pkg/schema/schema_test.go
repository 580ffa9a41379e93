package schema

import (
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Alias("flowline", ListView), "flowline-list-view"},
		{RuntimeIndex("flowline", ListView), "flowline-list-view-1_"},
		{IndexPattern("acme", FlowNodeInstance), "acme-flownode-instance-1_*"},
		{Alias("flowline", C7ListView), "flowline-c7-list-view"},
		{RuntimeIndex("flowline", C7ListView), "flowline-c7-list-view-1_"},
		{IndexPattern("acme", C7FlowNodeInstance), "acme-c7-flownode-instance-1_*"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestEveryFamilyHasStrictMappings(t *testing.T) {
	for _, f := range Families {
		raw, err := Mappings(f)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Dynamic    string                    `json:"dynamic"`
			Properties map[string]map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if m.Dynamic != "strict" {
			t.Errorf("%s: dynamic = %q, want strict", f, m.Dynamic)
		}
		for name, p := range m.Properties {
			// Tasklist's formKey is a reference string (a form key in
			// decimal or an external reference), not an entity key.
			isKey := strings.HasSuffix(name, "Key") && !(f == Task && name == "formKey")
			want := ""
			switch {
			case name == "position":
				want = "long"
			case (isKey || name == "key") && slices.Contains(C7Families, f):
				want = "keyword" // a Camunda 7 engine's ids are strings
			case isKey || name == "key":
				want = "long"
			}
			if want != "" && p["type"] != want {
				t.Errorf("%s.%s: type %v, want %s", f, name, p["type"], want)
			}
		}
	}
	if _, err := Mappings("nope"); err == nil {
		t.Error("unknown family: want error")
	}
}

// TestFamilies: the Zeebe families keep their places in Families (the
// writer numbers families by them), the Camunda 7 families follow, every
// family is listed once, and Known knows exactly the listed ones.
func TestFamilies(t *testing.T) {
	zeebe := []Family{
		Process, DecisionRequirements, Decision, Form, ListView, FlowNodeInstance,
		SequenceFlow, Variable, Incident, Job, Task, DecisionInstance,
	}
	if want := slices.Concat(zeebe, C7Families); !slices.Equal(Families, want) {
		t.Errorf("Families = %v, want %v", Families, want)
	}
	seen := map[Family]bool{}
	for _, f := range Families {
		if seen[f] {
			t.Errorf("%s listed twice", f)
		}
		seen[f] = true
	}
	for _, f := range C7Families {
		if !strings.HasPrefix(string(f), "c7-") {
			t.Errorf("%s: a Camunda 7 family's name starts with c7-", f)
		}
	}
	for _, tt := range []struct {
		f    Family
		want bool
	}{
		{ListView, true}, {DecisionInstance, true}, {C7Process, true}, {C7ProcessInstance, true},
		{C7DecisionInstance, true}, {"c7-job", false}, {"c7-", false}, {"", false}, {"nope", false},
	} {
		if got := Known(tt.f); got != tt.want {
			t.Errorf("Known(%q) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

// TestIndexPatternsAreDisjoint: no family's index pattern (its template's)
// matches another family's runtime or dated index, so no template, query
// or retention by pattern of one family reaches another's documents; in
// particular <prefix>-list-view-1_* does not match <prefix>-c7-list-view-1_.
func TestIndexPatternsAreDisjoint(t *testing.T) {
	for _, f := range Families {
		pattern := IndexPattern("flowline", f)
		for _, g := range Families {
			for _, index := range []string{RuntimeIndex("flowline", g), RuntimeIndex("flowline", g) + "2026-11-23"} {
				matched, err := path.Match(pattern, index)
				if err != nil {
					t.Fatal(err)
				}
				if matched != (f == g) {
					t.Errorf("pattern %s matches %s: %v, want %v", pattern, index, matched, f == g)
				}
			}
		}
	}
}
