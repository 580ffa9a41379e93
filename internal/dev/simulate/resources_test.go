package simulate

import (
	"sort"
	"testing"

	"github.com/flowline/flowline/pkg/bpmn"
)

// TestResourcesParse: every embedded BPMN parses with pkg/bpmn (as the
// aggregator reads it) and with the engine's graph reader, and both see
// the same flow nodes.
func TestResourcesParse(t *testing.T) {
	tests := []struct {
		file, process, name string
		calls               []string
		nodes               int
	}{
		{"typical.bpmn", "flowline-typical", "Typical benchmark process", nil, 16},
		{"realistic.bpmn", "flowline-dispute", "Card dispute handling", []string{"notify-customer"}, 14},
		{"notify.bpmn", "flowline-notify", "Customer notification", nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res, err := loadResource(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := bpmn.Parse(res.Content, tt.process)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.name || len(p.FlowNodes) != tt.nodes || len(p.CallActivityIDs) != len(tt.calls) {
				t.Errorf("pkg/bpmn: name %q, %d flow nodes, call activities %v; want %q, %d, %v", p.Name, len(p.FlowNodes), p.CallActivityIDs, tt.name, tt.nodes, tt.calls)
			}
			g, err := parseGraph(res.Content, tt.process)
			if err != nil {
				t.Fatal(err)
			}
			var fromBPMN, fromGraph []string
			for _, n := range p.FlowNodes {
				fromBPMN = append(fromBPMN, n.ID)
				if gn := g.nodes[n.ID]; gn == nil || gn.Name != n.Name {
					t.Errorf("graph lacks flow node %s (%q)", n.ID, n.Name)
				}
			}
			for id := range g.nodes {
				fromGraph = append(fromGraph, id)
			}
			sort.Strings(fromBPMN)
			sort.Strings(fromGraph)
			if len(fromBPMN) != len(fromGraph) {
				t.Errorf("flow nodes: pkg/bpmn %v, graph %v", fromBPMN, fromGraph)
			}
		})
	}
}

func TestWorkloadResources(t *testing.T) {
	for _, w := range Workloads() {
		res, err := Resources(w)
		if err != nil || len(res) == 0 {
			t.Fatalf("%s: %v, %d resources", w, err, len(res))
		}
	}
	if _, err := Resources("huge"); err == nil {
		t.Error("unknown workload accepted")
	}
}

func TestGraphRejectsWhatTheEngineCannotRun(t *testing.T) {
	tests := map[string]string{
		"parallel gateway": `<definitions><process id="p"><startEvent id="s"/><parallelGateway id="g"/></process></definitions>`,
		"no start event":   `<definitions><process id="p"><endEvent id="e"/></process></definitions>`,
		"no job type":      `<definitions><process id="p"><startEvent id="s"/><serviceTask id="t"/></process></definitions>`,
		"complex condition": `<definitions><process id="p"><startEvent id="s"/><endEvent id="e"/>` +
			`<sequenceFlow id="f" sourceRef="s" targetRef="e"><conditionExpression>= a &gt; 3</conditionExpression></sequenceFlow></process></definitions>`,
		"dangling flow":   `<definitions><process id="p"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="x"/></process></definitions>`,
		"missing process": `<definitions><process id="q"><startEvent id="s"/></process></definitions>`,
	}
	for name, xml := range tests {
		if _, err := parseGraph([]byte(xml), "p"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
