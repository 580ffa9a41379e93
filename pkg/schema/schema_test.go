package schema

import (
	"encoding/json"
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
			if isKey || name == "key" || name == "position" {
				if p["type"] != "long" {
					t.Errorf("%s.%s: type %v, want long", f, name, p["type"])
				}
			}
		}
	}
	if _, err := Mappings("nope"); err == nil {
		t.Error("unknown family: want error")
	}
}
