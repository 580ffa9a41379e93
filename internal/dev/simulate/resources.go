package simulate

import (
	"embed"
	"fmt"
	"sort"

	"github.com/flowline/flowline/pkg/bpmn"
)

// resources holds the BPMN and DMN files the workloads deploy.
//
//go:embed bpmn/*.bpmn bpmn/*.dmn
var resources embed.FS

// Resource is a deployable file of a workload.
type Resource struct {
	Name    string // resource name, e.g. typical.bpmn
	Content []byte
}

// processResource names a process and the file that defines it.
type processResource struct {
	File, ProcessID string
}

// decisionResource is a DMN file with its decision requirements graph.
type decisionResource struct {
	File, DRGID, DRGName, Namespace string
	Decisions                       []decisionDef
}

type decisionDef struct{ ID, Name string }

// loadResource reads an embedded file.
func loadResource(name string) (Resource, error) {
	b, err := resources.ReadFile("bpmn/" + name)
	if err != nil {
		return Resource{}, fmt.Errorf("simulate: resource %s: %w", name, err)
	}
	return Resource{Name: name, Content: b}, nil
}

// Resources returns the BPMN and DMN files workload w deploys.
func Resources(w Workload) ([]Resource, error) {
	spec, err := workloadSpec(w)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, p := range spec.processes {
		r, err := loadResource(p.File)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	for _, d := range spec.decisions {
		r, err := loadResource(d.File)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// callActivityIDs are the sorted call activity ids of a process, as Zeebe's
// callingElementPath indexes them (read with pkg/bpmn, as the aggregator does).
func callActivityIDs(resource []byte, processID string) ([]string, error) {
	p, err := bpmn.Parse(resource, processID)
	if err != nil {
		return nil, err
	}
	ids := append([]string(nil), p.CallActivityIDs...)
	sort.Strings(ids)
	return ids, nil
}
