package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// documents maps every family to its document type.
var documents = map[Family]any{
	Process:              ProcessDoc{},
	DecisionRequirements: DecisionRequirementsDoc{},
	Decision:             DecisionDoc{},
	Form:                 FormDoc{},
	ListView:             ListViewDoc{},
	FlowNodeInstance:     FlowNodeInstanceDoc{},
	SequenceFlow:         SequenceFlowDoc{},
	Variable:             VariableDoc{},
	Incident:             IncidentDoc{},
	Job:                  JobDoc{},
	Task:                 TaskDoc{},
	DecisionInstance:     DecisionInstanceDoc{},
	C7Process:            C7ProcessDoc{},
	C7Decision:           C7DecisionDoc{},
	C7ProcessInstance:    C7ProcessInstanceDoc{},
	C7ListView:           C7ListViewDoc{},
	C7FlowNodeInstance:   C7FlowNodeInstanceDoc{},
	C7Variable:           C7VariableDoc{},
	C7Incident:           C7IncidentDoc{},
	C7Task:               C7TaskDoc{},
	C7DecisionInstance:   C7DecisionInstanceDoc{},
}

// mappingProperties is the part of a mapping that names fields and types
// them.
type mappingProperties struct {
	Type       string                       `json:"type"`
	Properties map[string]mappingProperties `json:"properties"`
}

// typeOf is a property's type; one without a type is an object.
func (p mappingProperties) typeOf() string {
	if p.Type == "" {
		return "object"
	}
	return p.Type
}

// readMapping reads family f's mapping.
func readMapping(t *testing.T, f Family) mappingProperties {
	t.Helper()
	raw, err := Mappings(f)
	if err != nil {
		t.Fatal(err)
	}
	var m mappingProperties
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return m
}

// TestDocumentsMatchMappings: the JSON fields of every family's document
// type are exactly the properties of its (strict) mapping, also within
// objects, so that no document is refused for an unmapped field and no
// mapped field is left unwritten.
func TestDocumentsMatchMappings(t *testing.T) {
	for _, f := range Families {
		doc, ok := documents[f]
		if !ok {
			t.Errorf("%s: no document type", f)
			continue
		}
		compareFields(t, string(f), reflect.TypeOf(doc), readMapping(t, f).Properties)
	}
	if len(documents) != len(Families) {
		t.Errorf("%d document types for %d families", len(documents), len(Families))
	}
}

// compareFields reports the JSON fields of struct type typ (at path) that
// props lacks and the properties typ lacks, and compares the fields of
// nested structs (or slices of them) with the properties of their objects.
func compareFields(t *testing.T, path string, typ reflect.Type, props map[string]mappingProperties) {
	t.Helper()
	fields := jsonFields(typ)
	for name, ft := range fields {
		p, ok := props[name]
		if !ok {
			t.Errorf("%s.%s: a field of the document, not in the mapping", path, name)
			continue
		}
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			compareFields(t, path+"."+name, ft, p.Properties)
		} else if len(p.Properties) > 0 {
			t.Errorf("%s.%s: an object in the mapping, a %s in the document", path, name, ft)
		}
	}
	for name := range props {
		if _, ok := fields[name]; !ok {
			t.Errorf("%s.%s: in the mapping, not a field of the document", path, name)
		}
	}
}

// TestFieldNames: every field name code queries by is a field of the
// document types of the families the archiver queries with it.
func TestFieldNames(t *testing.T) {
	dependents := []Family{FlowNodeInstance, Variable, Incident, Job, Task, SequenceFlow, DecisionInstance}
	for _, tt := range []struct {
		field    string
		families []Family
	}{
		{FieldKey, []Family{ListView}},
		{FieldPartitionID, []Family{ListView}},
		{FieldEndDate, []Family{ListView}},
		{FieldPosition, Families},
		{FieldProcessInstanceKey, dependents},
	} {
		for _, f := range tt.families {
			if _, ok := jsonFields(reflect.TypeOf(documents[f]))[tt.field]; !ok {
				t.Errorf("%s: no field %q", f, tt.field)
			}
		}
	}
}

// jsonFields maps the JSON names of struct type typ's fields to their
// types (a field without a JSON name in its tag is listed under "").
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "-" {
			continue // not encoded (held for the Operate-compatible schema)
		}
		out[name] = typ.Field(i).Type
	}
	return out
}
