package simulate

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupportedBPMN: the BPMN uses an element or expression the simulated
// engine cannot run.
var ErrUnsupportedBPMN = errors.New("simulate: unsupported BPMN")

// node is one flow node of a process graph, read from the BPMN XML. Graphs
// are built once per workload and only read afterwards (safe to share).
type node struct {
	ID, Name  string
	Type      string // Zeebe's bpmnElementType, e.g. SERVICE_TASK
	EventType string // Zeebe's bpmnEventType: NONE, TIMER or UNSPECIFIED
	Out       []*flow
	Default   string // id of an exclusive gateway's default flow

	JobType        string // service task
	Retries        int32
	CandidateGroup string // user task
	DecisionID     string // business rule task
	ResultVariable string
	CalledElement  string   // call activity: the called process id
	CallInputs     []string // call activity: variables copied into the child
	Multi          *multiInstance
	Inner          *scope // sub-process
}

// flow is a sequence flow; Cond is "name = literal" or "" (unconditional).
type flow struct {
	ID     string
	Target *node
	Var    string // condition: variable name
	Lit    string // condition: the literal as JSON text
}

// multiInstance is a parallel multi-instance loop over a collection variable.
type multiInstance struct {
	Collection, Element string
}

// scope is a process or sub-process: its none start event.
type scope struct {
	Start *node
}

// graph is one process definition the engine can run.
type graph struct {
	ID, Name string
	Root     *scope
	nodes    map[string]*node
}

// xnode is a generic XML element.
type xnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xnode    `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (x *xnode) attr(name string) string {
	for _, a := range x.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// find returns the first descendant element with local name, depth first.
func (x *xnode) find(local string) *xnode {
	for i := range x.Nodes {
		c := &x.Nodes[i]
		if c.XMLName.Local == local {
			return c
		}
		if f := c.find(local); f != nil {
			return f
		}
	}
	return nil
}

// elementTypes maps BPMN element names to Zeebe's element types.
var elementTypes = map[string]string{
	"startEvent": "START_EVENT", "endEvent": "END_EVENT", "intermediateCatchEvent": "INTERMEDIATE_CATCH_EVENT",
	"serviceTask": "SERVICE_TASK", "userTask": "USER_TASK", "businessRuleTask": "BUSINESS_RULE_TASK",
	"exclusiveGateway": "EXCLUSIVE_GATEWAY", "subProcess": "SUB_PROCESS", "callActivity": "CALL_ACTIVITY",
}

// parseGraph reads process processID from a BPMN resource.
func parseGraph(resource []byte, processID string) (*graph, error) {
	var defs xnode
	if err := xml.Unmarshal(resource, &defs); err != nil {
		return nil, fmt.Errorf("simulate: BPMN of %s: %w", processID, err)
	}
	for i := range defs.Nodes {
		p := &defs.Nodes[i]
		if p.XMLName.Local == "process" && p.attr("id") == processID {
			g := &graph{ID: processID, Name: p.attr("name"), nodes: map[string]*node{}}
			root, err := g.scope(p)
			if err != nil {
				return nil, fmt.Errorf("%w: process %s: %v", ErrUnsupportedBPMN, processID, err)
			}
			g.Root = root
			return g, nil
		}
	}
	return nil, fmt.Errorf("%w: no process %q in resource", ErrUnsupportedBPMN, processID)
}

// scope reads the flow nodes and sequence flows directly inside x.
func (g *graph) scope(x *xnode) (*scope, error) {
	s := &scope{}
	local := map[string]*node{}
	for i := range x.Nodes {
		c := &x.Nodes[i]
		name := c.XMLName.Local
		if name == "sequenceFlow" || name == "extensionElements" {
			continue
		}
		typ, ok := elementTypes[name]
		if !ok {
			return nil, fmt.Errorf("element %s (%s)", c.attr("id"), name)
		}
		n, err := g.node(c, typ)
		if err != nil {
			return nil, err
		}
		local[n.ID] = n
		g.nodes[n.ID] = n
		if typ == "START_EVENT" {
			if s.Start != nil {
				return nil, fmt.Errorf("two start events in scope %s", x.attr("id"))
			}
			s.Start = n
		}
	}
	if s.Start == nil {
		return nil, fmt.Errorf("no start event in scope %s", x.attr("id"))
	}
	for i := range x.Nodes {
		c := &x.Nodes[i]
		if c.XMLName.Local != "sequenceFlow" {
			continue
		}
		src, dst := local[c.attr("sourceRef")], local[c.attr("targetRef")]
		if src == nil || dst == nil {
			return nil, fmt.Errorf("sequence flow %s joins unknown elements", c.attr("id"))
		}
		f := &flow{ID: c.attr("id"), Target: dst}
		if cond := c.find("conditionExpression"); cond != nil {
			var err error
			if f.Var, f.Lit, err = parseCondition(cond.Text); err != nil {
				return nil, fmt.Errorf("sequence flow %s: %w", f.ID, err)
			}
		}
		src.Out = append(src.Out, f)
	}
	return s, nil
}

// node reads one flow node and its Zeebe extension elements.
func (g *graph) node(x *xnode, typ string) (*node, error) {
	n := &node{ID: x.attr("id"), Name: x.attr("name"), Type: typ, EventType: "UNSPECIFIED", Default: x.attr("default"), Retries: 3}
	switch typ {
	case "START_EVENT", "END_EVENT":
		n.EventType = "NONE"
		if len(x.Nodes) > 0 && strings.HasSuffix(x.Nodes[0].XMLName.Local, "EventDefinition") {
			return nil, fmt.Errorf("%s: only none start and end events", n.ID)
		}
	case "INTERMEDIATE_CATCH_EVENT":
		if x.find("timerEventDefinition") == nil {
			return nil, fmt.Errorf("%s: only timer catch events", n.ID)
		}
		n.EventType = "TIMER"
	case "SERVICE_TASK":
		td := x.find("taskDefinition")
		if td == nil || td.attr("type") == "" {
			return nil, fmt.Errorf("%s: no job type", n.ID)
		}
		n.JobType = td.attr("type")
		if r := td.attr("retries"); r != "" {
			var v int32
			if _, err := fmt.Sscan(r, &v); err != nil || v < 1 {
				return nil, fmt.Errorf("%s: retries %q", n.ID, r)
			}
			n.Retries = v
		}
	case "USER_TASK":
		if a := x.find("assignmentDefinition"); a != nil {
			n.CandidateGroup = a.attr("candidateGroups")
		}
	case "BUSINESS_RULE_TASK":
		cd := x.find("calledDecision")
		if cd == nil || cd.attr("decisionId") == "" || cd.attr("resultVariable") == "" {
			return nil, fmt.Errorf("%s: no called decision with a result variable", n.ID)
		}
		n.DecisionID, n.ResultVariable = cd.attr("decisionId"), cd.attr("resultVariable")
	case "CALL_ACTIVITY":
		ce := x.find("calledElement")
		if ce == nil || ce.attr("processId") == "" {
			return nil, fmt.Errorf("%s: no called process", n.ID)
		}
		n.CalledElement = ce.attr("processId")
		if ce.attr("propagateAllParentVariables") != "false" {
			return nil, fmt.Errorf("%s: only propagateAllParentVariables=\"false\" with input mappings", n.ID)
		}
		if io := x.find("ioMapping"); io != nil {
			for _, in := range io.Nodes {
				if in.XMLName.Local == "input" {
					if in.attr("source") != "= "+in.attr("target") {
						return nil, fmt.Errorf("%s: input %q must copy a variable of the same name", n.ID, in.attr("source"))
					}
					n.CallInputs = append(n.CallInputs, in.attr("target"))
				}
			}
		}
	case "SUB_PROCESS":
		inner, err := g.scope(x)
		if err != nil {
			return nil, err
		}
		n.Inner = inner
	}
	if mi := x.find("multiInstanceLoopCharacteristics"); mi != nil && typ != "SUB_PROCESS" {
		lc := mi.find("loopCharacteristics")
		if lc == nil || mi.attr("isSequential") == "true" {
			return nil, fmt.Errorf("%s: only parallel multi-instance with zeebe:loopCharacteristics", n.ID)
		}
		coll := strings.TrimSpace(strings.TrimPrefix(lc.attr("inputCollection"), "="))
		if coll == "" || lc.attr("inputElement") == "" {
			return nil, fmt.Errorf("%s: multi-instance needs inputCollection and inputElement", n.ID)
		}
		n.Multi = &multiInstance{Collection: coll, Element: lc.attr("inputElement")}
	}
	return n, nil
}

// parseCondition reads "= name = literal" (a FEEL comparison of a variable
// with a literal; literals are JSON text: true, 12, "high").
func parseCondition(expr string) (name, lit string, err error) {
	e := strings.TrimSpace(expr)
	if !strings.HasPrefix(e, "=") {
		return "", "", fmt.Errorf("condition %q is not an expression", expr)
	}
	name, lit, ok := strings.Cut(e[1:], "=")
	name, lit = strings.TrimSpace(name), strings.TrimSpace(lit)
	if !ok || name == "" || lit == "" || strings.ContainsAny(name, " <>!()") || strings.HasPrefix(lit, "=") {
		return "", "", fmt.Errorf("condition %q: only `= name = literal`", expr)
	}
	return name, lit, nil
}
