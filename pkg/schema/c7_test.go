package schema

import (
	"slices"
	"strings"
	"testing"
)

// c7IDFields are the only fields a Camunda 7 family may map differently
// from the Zeebe family of the same name: entity ids, keyword in the C7
// family (the engine's ids are strings) and long in the Zeebe one (Zeebe's
// keys). A term query on such a field over both aliases matches in both
// only with a numeric value (a C7 id such as "aProcess:1:42" fails to
// parse on the long side), and sorting or aggregating on it over both
// fails; queries across the engines use the fields of the same type.
var c7IDFields = []string{
	"key", "processDefinitionKey", "processInstanceKey", "parentProcessInstanceKey",
	"rootProcessInstanceKey", "scopeKey", "flowNodeInstanceKey", "decisionKey",
	"decisionRequirementsKey",
}

// zeebeCounterpart is the Zeebe family f is the Camunda 7 variant of: its
// name without c7-, when that is a Zeebe family.
func zeebeCounterpart(f Family) (Family, bool) {
	z, ok := strings.CutPrefix(string(f), "c7-")
	if !ok || !Known(Family(z)) || slices.Contains(C7Families, Family(z)) {
		return "", false
	}
	return Family(z), true
}

// TestC7FamiliesMapSharedFieldsLikeZeebe: every field a Camunda 7 family
// shares with its Zeebe family (also within objects) has the same mapping
// type there, except the id fields of c7IDFields (keyword against long),
// so that one query over <prefix>-<family>,<prefix>-c7-<family> filters,
// sorts and aggregates on them alike.
func TestC7FamiliesMapSharedFieldsLikeZeebe(t *testing.T) {
	var paired []Family
	usedExceptions := map[string]bool{}
	for _, f := range C7Families {
		z, ok := zeebeCounterpart(f)
		if !ok {
			continue
		}
		paired = append(paired, z)
		sharedFieldsAgree(t, string(f), readMapping(t, f).Properties, readMapping(t, z).Properties, usedExceptions)
	}
	want := []Family{Process, Decision, ListView, FlowNodeInstance, Variable, Incident, Task, DecisionInstance}
	if !slices.Equal(paired, want) {
		t.Errorf("C7 families with a Zeebe counterpart: %v, want %v", paired, want)
	}
	for _, name := range c7IDFields {
		if !usedExceptions[name] {
			t.Errorf("c7IDFields lists %s, which no C7 family maps differently from its Zeebe family", name)
		}
	}
}

// sharedFieldsAgree reports the properties of c7 (at path) that zeebe has
// with another type, outside the id exceptions, and compares objects'
// properties likewise; used notes the exceptions met.
func sharedFieldsAgree(t *testing.T, path string, c7, zeebe map[string]mappingProperties, used map[string]bool) {
	t.Helper()
	for name, c := range c7 {
		z, ok := zeebe[name]
		switch {
		case !ok:
		case c.typeOf() == z.typeOf():
			sharedFieldsAgree(t, path+"."+name, c.Properties, z.Properties, used)
		case slices.Contains(c7IDFields, name) && c.typeOf() == "keyword" && z.typeOf() == "long":
			used[name] = true
		default:
			t.Errorf("%s.%s: %s, but %s in the Zeebe family", path, name, c.typeOf(), z.typeOf())
		}
	}
}

// TestC7QueryFieldsAreShared: the fields a query over both engines'
// indices filters by exist, with one type, in both families.
func TestC7QueryFieldsAreShared(t *testing.T) {
	for _, tt := range []struct {
		c7     Family
		fields []string
	}{
		{C7ListView, []string{"bpmnProcessId", "version", "state", "startDate", "endDate", "incident", "tenantId", "position"}},
		{C7FlowNodeInstance, []string{"bpmnProcessId", "flowNodeId", "type", "state", "startDate", "endDate", "incident", "tenantId"}},
		{C7Variable, []string{"name", "value", "bpmnProcessId", "tenantId"}},
		{C7Incident, []string{"bpmnProcessId", "flowNodeId", "errorType", "state", "creationTime", "resolutionTime", "tenantId"}},
		{C7Task, []string{"bpmnProcessId", "flowNodeBpmnId", "state", "assignee", "candidateGroups", "candidateUsers", "creationTime", "completionTime", "tenantId"}},
		{C7DecisionInstance, []string{"decisionId", "state", "evaluationDate", "elementId", "tenantId"}},
		{C7Process, []string{"bpmnProcessId", "version", "versionTag", "name", "tenantId"}},
		{C7Decision, []string{"decisionId", "version", "name", "tenantId"}},
	} {
		z, ok := zeebeCounterpart(tt.c7)
		if !ok {
			t.Errorf("%s: no Zeebe counterpart", tt.c7)
			continue
		}
		c7m, zm := readMapping(t, tt.c7).Properties, readMapping(t, z).Properties
		for _, name := range tt.fields {
			c, inC7 := c7m[name]
			zf, inZeebe := zm[name]
			if !inC7 || !inZeebe || c.typeOf() != zf.typeOf() {
				t.Errorf("%s.%s: %s (mapped %v) against %s (mapped %v), want one type in both", tt.c7, name, c.Type, inC7, zf.Type, inZeebe)
			}
		}
	}
}

// TestC7ProcessInstancePartsAreNested: the parts of Optimize's process
// instance view are nested (its reports query each part on its own), and
// the family's other fields are not.
func TestC7ProcessInstancePartsAreNested(t *testing.T) {
	props := readMapping(t, C7ProcessInstance).Properties
	nested := []string{"flowNodeInstances", "userTasks", "variables", "incidents"}
	for name, p := range props {
		if got, want := p.typeOf() == "nested", slices.Contains(nested, name); got != want {
			t.Errorf("%s.%s: type %s, nested: want %v", C7ProcessInstance, name, p.typeOf(), want)
		}
	}
	for _, name := range nested {
		if _, ok := props[name]; !ok {
			t.Errorf("%s: no %s", C7ProcessInstance, name)
		}
	}
}
