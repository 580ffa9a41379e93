package simulate

import (
	"math/rand/v2"
	"time"
)

// tree is a root process instance and the instances it called, on one
// partition: the unit the generator interleaves. It runs like Zeebe's
// stream processor: each step resumes one element waiting for the outside
// world (a job worker, a user, a timer) and runs the process until every
// token waits again. Owned by one generator; not safe for concurrent use.
type tree struct {
	g     *Generator
	p     *Partition
	rng   *rand.Rand
	root  *procInst
	waits []wait
	src   int64 // source position of the records of the current step
	steps int
	// cancelAt and stopAt: the step at which the root is canceled, or
	// left running (0: never).
	cancelAt, stopAt int
	done             bool
}

// waitKind is what an element waits for.
type waitKind uint8

const (
	waitJob      waitKind = iota // a worker completes (or fails) the job
	waitRetries                  // an operator gives the failed job retries back
	waitTimer                    // the timer is due
	waitAssign                   // a user claims the user task
	waitComplete                 // the user completes the user task
)

// wait is an element in a wait state and the record that began it.
type wait struct {
	el   *elemInst
	kind waitKind
	src  int64
}

// procInst is a process instance.
type procInst struct {
	key    int64
	def    *definition
	parent *procInst
	callEl *elemInst // the call activity instance that created it
	el     *elemInst // the process element
}

// elemInst is an element instance: the process element, a flow node, or a
// multi-instance body.
type elemInst struct {
	key      int64
	n        *node // nil for the process element
	typ      string
	pi       *procInst
	scope    *elemInst   // flow scope; nil for the process element
	children []*elemInst // active element instances in this scope
	vars     []*variable // variables of this scope
	inner    bool        // an instance inside a multi-instance body
	ended    bool
	job      *job      // the active job of a service task
	incident int64     // key of the open incident, 0 when none
	taskKey  int64     // the user task, 0 when none
	taskTS   int64     // its creation time
	assignee string    // its assignee, "" until claimed
	child    *procInst // the instance a call activity created
}

type variable struct {
	key         int64
	name, value string
}

type job struct {
	key     int64
	retries int32
	failed  bool // failed once: the next attempt succeeds
}

// id is the element id as records carry it.
func (e *elemInst) id() string {
	if e.n == nil {
		return e.pi.def.g.ID
	}
	return e.n.ID
}

// chain is the element instance keys from the process instance down to e.
func (e *elemInst) chain() []int64 {
	if e.scope == nil {
		return []int64{e.key}
	}
	return append(e.scope.chain(), e.key)
}

// startTree creates a root instance on partition p with the client's
// variables: VARIABLE CREATED for each, then the process activates and runs
// until it waits.
func (g *Generator) startTree(p *Partition) *tree {
	t := &tree{g: g, p: p, rng: g.rng, src: -1}
	p.Tick(time.Millisecond)
	pi := t.newInstance(g.dep.root, nil, nil)
	t.root = pi
	for _, v := range g.spec.startVariables(g.rng, g.cfg.MultiInstanceItems) {
		t.setLocal(pi.el, v.Name, v.Value)
	}
	t.activate(pi.el, nil)
	return t
}

func (t *tree) newInstance(def *definition, parent *procInst, callEl *elemInst) *procInst {
	pi := &procInst{key: t.p.NextKey(), def: def, parent: parent, callEl: callEl}
	pi.el = &elemInst{key: pi.key, typ: "PROCESS", pi: pi}
	if parent == nil {
		t.g.stats.Instances++
	} else {
		t.g.stats.ChildInstances++
	}
	return pi
}

// step resumes one waiting element (chosen at random: workers finish out
// of order), or cancels the root or leaves it running when their step has
// come. It reports whether the tree still has work.
func (t *tree) step() bool {
	if t.done {
		return false
	}
	t.steps++
	t.p.Tick(time.Millisecond)
	switch {
	case t.cancelAt > 0 && t.steps >= t.cancelAt:
		t.src = -1 // the client's CANCEL command is not exported
		t.terminate(t.root.el)
		t.g.stats.Canceled++
		t.waits, t.done = nil, true
		return false
	case t.stopAt > 0 && t.steps >= t.stopAt:
		t.g.stats.Running++
		t.done = true
		return false
	case len(t.waits) == 0: // nothing can move the instance on: an engine bug
		t.g.stuck++
		t.done = true
		return false
	}
	i := t.rng.IntN(len(t.waits))
	w := t.waits[i]
	t.waits[i] = t.waits[len(t.waits)-1]
	t.waits = t.waits[:len(t.waits)-1]
	t.src = w.src
	switch w.kind {
	case waitJob:
		t.workJob(w.el)
	case waitRetries:
		t.resolveIncident(w.el)
	case waitTimer:
		t.complete(w.el, nil)
	case waitAssign:
		t.assignTask(w.el)
	case waitComplete:
		t.completeTask(w.el)
	}
	if t.root.el.ended {
		t.g.stats.Completed++
		t.done = true
		return false
	}
	return true
}

// waitFor puts e in a wait state begun by the newest record.
func (t *tree) waitFor(e *elemInst, k waitKind) {
	t.waits = append(t.waits, wait{el: e, kind: k, src: t.p.pos})
}

// newElement creates an element instance of n in scope (not yet activated).
func (t *tree) newElement(n *node, scope *elemInst, typ string) *elemInst {
	return &elemInst{key: t.p.NextKey(), n: n, typ: typ, pi: scope.pi, scope: scope}
}

// activate runs an element's activation; locals are variables created on
// the element right after ELEMENT_ACTIVATING (a multi-instance inner
// instance's input element and loop counter).
func (t *tree) activate(e *elemInst, locals []kv) {
	if e.scope != nil {
		e.scope.children = append(e.scope.children, e)
	}
	t.lifecycle(e, "ELEMENT_ACTIVATING")
	for _, v := range locals {
		t.setLocal(e, v.Name, v.Value)
	}
	switch e.typ {
	case "PROCESS":
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.enter(e, e.pi.def.g.Root)
	case "SUB_PROCESS":
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.enter(e, e.n.Inner)
	case "MULTI_INSTANCE_BODY":
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.spawnInner(e)
	case "SERVICE_TASK":
		t.createJob(e)
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.waitFor(e, waitJob)
	case "USER_TASK":
		t.createTask(e)
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.waitFor(e, waitAssign)
	case "BUSINESS_RULE_TASK":
		result := t.evaluateDecision(e)
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.complete(e, []kv{{e.n.ResultVariable, result}})
	case "CALL_ACTIVITY":
		t.callProcess(e)
	case "INTERMEDIATE_CATCH_EVENT":
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.waitFor(e, waitTimer)
	default: // none start and end events, exclusive gateways
		t.lifecycle(e, "ELEMENT_ACTIVATED")
		t.complete(e, nil)
	}
}

// enter starts a process or sub-process at its start event.
func (t *tree) enter(scope *elemInst, s *scope) {
	t.activate(t.newElement(s.Start, scope, s.Start.Type), nil)
}

// spawnInner activates one inner instance per item of the body's input
// collection (all at once: a parallel multi-instance).
func (t *tree) spawnInner(body *elemInst) {
	items := jsonArray(t.lookup(body, body.n.Multi.Collection))
	if len(items) == 0 {
		t.complete(body, nil)
		return
	}
	for i, item := range items {
		in := t.newElement(body.n, body, body.n.Type)
		in.inner = true
		t.activate(in, []kv{{body.n.Multi.Element, item}, {"loopCounter", itoa(i + 1)}})
	}
}

// callProcess creates the called instance: its input variables, the call
// activity activated, then the child process activated.
func (t *tree) callProcess(ca *elemInst) {
	def := t.g.dep.processes[ca.n.CalledElement]
	child := t.newInstance(def, ca.pi, ca)
	ca.child = child
	for _, name := range ca.n.CallInputs {
		if v := t.lookup(ca, name); v != "" {
			t.setLocal(child.el, name, v)
		}
	}
	t.lifecycle(ca, "ELEMENT_ACTIVATED")
	t.activate(child.el, nil)
}

// complete completes an element: outputs are merged into its scopes while
// it completes; then the token moves on (or the scope completes).
func (t *tree) complete(e *elemInst, outputs []kv) {
	t.lifecycle(e, "ELEMENT_COMPLETING")
	for _, v := range outputs {
		t.merge(e, v.Name, v.Value)
	}
	t.lifecycle(e, "ELEMENT_COMPLETED")
	t.ended(e)
	switch {
	case e.typ == "PROCESS":
		if ca := e.pi.callEl; ca != nil {
			t.complete(ca, varsOf(e)) // propagateAllChildVariables
		}
	case e.inner:
		if len(e.scope.children) == 0 {
			t.complete(e.scope, nil)
		}
	default:
		t.leave(e)
	}
}

// leave takes e's outgoing flows; with none (an end event) the scope
// completes once nothing else is active in it.
func (t *tree) leave(e *elemInst) {
	flows := t.outgoing(e)
	if len(flows) == 0 {
		if len(e.scope.children) == 0 {
			t.complete(e.scope, nil)
		}
		return
	}
	for _, f := range flows {
		t.p.emit(t.src, t.p.NextKey(), "PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN", t.flowValue(e.scope, f.ID))
		typ := f.Target.Type
		if f.Target.Multi != nil {
			typ = "MULTI_INSTANCE_BODY"
		}
		t.activate(t.newElement(f.Target, e.scope, typ), nil)
	}
}

// outgoing are the flows a token takes after e: an exclusive gateway's
// first flow whose condition holds, else its default; all flows otherwise.
func (t *tree) outgoing(e *elemInst) []*flow {
	if e.typ != "EXCLUSIVE_GATEWAY" {
		return e.n.Out
	}
	var def *flow
	for _, f := range e.n.Out {
		if f.ID == e.n.Default {
			def = f
			continue
		}
		if f.Var == "" || t.lookup(e, f.Var) == f.Lit {
			return []*flow{f}
		}
	}
	if def == nil { // Zeebe would raise an incident; the workloads always have a way out
		def = e.n.Out[len(e.n.Out)-1]
	}
	return []*flow{def}
}

// ended removes e from its scope's active children.
func (t *tree) ended(e *elemInst) {
	e.ended = true
	if e.scope == nil {
		return
	}
	c := e.scope.children
	for i, x := range c {
		if x == e {
			copy(c[i:], c[i+1:])
			c[len(c)-1] = nil
			e.scope.children = c[:len(c)-1]
			return
		}
	}
}

// lifecycle emits a PROCESS_INSTANCE record of e.
func (t *tree) lifecycle(e *elemInst, intent string) {
	t.p.emit(t.src, e.key, "PROCESS_INSTANCE", intent, t.elementValue(e, intent == "ELEMENT_ACTIVATING"))
}
