// Package schema is Flowline's document model: the document families, their
// documents (documents.go) with the names of the fields code queries by, and
// their Elasticsearch indices, aliases and mappings. It is pure data: no I/O.
//
// Each family is written to the runtime index <prefix>-<family>-<version>_
// and read through the alias <prefix>-<family>, which also covers the dated
// archive indices <prefix>-<family>-<version>_<period> created from the same
// template.
package schema

import (
	"embed"
	"encoding/json"
	"fmt"
)

// Family is a document family.
type Family string

// The families.
const (
	Process              Family = "process"
	DecisionRequirements Family = "decision-requirements"
	Decision             Family = "decision"
	Form                 Family = "form"
	ListView             Family = "list-view"
	FlowNodeInstance     Family = "flownode-instance"
	SequenceFlow         Family = "sequence-flow"
	Variable             Family = "variable"
	Incident             Family = "incident"
	Job                  Family = "job"
	Task                 Family = "task"
	DecisionInstance     Family = "decision-instance"
)

// Families lists every family, in the order templates are installed: the
// Zeebe families, then the Camunda 7 ones (C7Families). New families go at
// the end: the writer numbers families by their place in this list.
var Families = append([]Family{
	Process, DecisionRequirements, Decision, Form, ListView, FlowNodeInstance,
	SequenceFlow, Variable, Incident, Job, Task, DecisionInstance,
}, C7Families...)

// Version is the schema version embedded in index names; bumping it creates
// new indices rather than changing mappings in place.
const Version = 1

// Alias is the read alias of a family.
func Alias(prefix string, f Family) string { return prefix + "-" + string(f) }

// RuntimeIndex is the index a family's live documents are written to.
func RuntimeIndex(prefix string, f Family) string {
	return fmt.Sprintf("%s-%s-%d_", prefix, f, Version)
}

// IndexPattern matches the runtime index and every dated archive index of a
// family.
func IndexPattern(prefix string, f Family) string { return RuntimeIndex(prefix, f) + "*" }

// TemplateName is the name of a family's composable index template.
func TemplateName(prefix string, f Family) string { return Alias(prefix, f) }

//go:embed mappings/*.json
var mappingFiles embed.FS

// Mappings returns the mappings of family f as JSON.
func Mappings(f Family) (json.RawMessage, error) {
	b, err := mappingFiles.ReadFile("mappings/" + string(f) + ".json")
	if err != nil {
		return nil, fmt.Errorf("schema: no mappings for family %q: %w", f, err)
	}
	return b, nil
}

// Known reports whether f is a family of this schema.
func Known(f Family) bool {
	for _, k := range Families {
		if k == f {
			return true
		}
	}
	return false
}
