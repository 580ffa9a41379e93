package c7fold

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flowline/flowline/pkg/c7"
)

// instanceState is everything the fold knows of one process instance: the
// most advanced version of each of its entities, whatever the order they
// arrived in. It is the JSON value of the instance's key in the state
// bucket; a worker owns the states of its source (one goroutine).
//
// Merging is commutative and idempotent, which makes any arrival order and
// any redelivery converge on the engine's state: of two versions of an
// entity the ended one wins (a completed activity is never reopened by its
// running version fetched earlier or later), and between versions equally
// ended the one from the later page message (seq, the FLOWLINE_C7 stream
// sequence); of a variable's updates the one with the highest revision.
type instanceState struct {
	Instance   *entry[processInstance]             `json:"instance,omitempty"`
	Activities map[string]*entry[activityInstance] `json:"activities,omitempty"`
	Tasks      map[string]*entry[taskInstance]     `json:"tasks,omitempty"`
	Variables  map[string]*entry[variableUpdate]   `json:"variables,omitempty"` // by variable instance id
	Incidents  map[string]*entry[incident]         `json:"incidents,omitempty"`
	Links      map[string]identityLink             `json:"links,omitempty"`      // by log entry id
	Operations map[string]userOperation            `json:"operations,omitempty"` // suspensions and activations
}

// entry is one entity's version with where it came from.
type entry[T any] struct {
	Seq   uint64 `json:"seq"`   // FLOWLINE_C7 stream sequence of its page
	Ended bool   `json:"ended"` // completed, canceled, resolved, deleted
	E     T      `json:"e"`
}

// replaces reports whether version next of an entity supersedes cur.
func replaces[T any](cur, next *entry[T]) bool {
	switch {
	case cur == nil:
		return true
	case cur.Ended != next.Ended:
		return next.Ended
	default:
		return next.Seq >= cur.Seq
	}
}

// put stores next under id in m if it supersedes the version there.
func put[T any](m *map[string]*entry[T], id string, next *entry[T]) {
	if *m == nil {
		*m = map[string]*entry[T]{}
	}
	if replaces((*m)[id], next) {
		(*m)[id] = next
	}
}

// touched is what a batch of pages touched of one instance: the documents
// to render again (all of them, changed or not, so that a batch redelivered
// after a crash publishes what the first delivery may not have).
type touched struct {
	instance    bool
	activities  map[string]bool
	tasks       map[string]bool
	variables   map[string]bool
	incidents   map[string]bool
	activityIDs map[string]bool // flow nodes whose incident flag may have changed
}

func mark(m *map[string]bool, id string) {
	if *m == nil {
		*m = map[string]bool{}
	}
	(*m)[id] = true
}

// primitiveTypes are the variable types imported, as Optimize imports
// them: primitive values, dates, and JSON or XML text. Object values are
// left out (the import asks for excludeObjectValues).
var primitiveTypes = map[string]bool{
	"String": true, "Integer": true, "Long": true, "Short": true, "Double": true,
	"Boolean": true, "Date": true, "Json": true, "Xml": true, "Null": true,
}

// errNoInstance: an entity without a process instance (a standalone task's,
// a timer start event's incident, the history cleanup job's incident, a
// definition's suspension): it is not part of any instance document and is
// left out, as Optimize leaves it out.
var errNoInstance = errors.New("c7 fold: entity of no process instance")

// errNotImported: a variable of a type Optimize does not import (an
// object value); left out.
var errNotImported = errors.New("c7 fold: variable type not imported")

// applier folds one page's entities (of kind, from the message with stream
// sequence seq) into instance states obtained through get, and notes what
// it touched in mark.
type applier struct {
	kind  c7.Kind
	seq   uint64
	get   func(instanceID string) *instanceState
	touch func(instanceID string) *touched
}

// apply folds one raw entity; it returns errNoInstance for an entity that
// belongs to no process instance, another error for one that does not
// decode (both leave the states as they were).
func (a applier) apply(raw json.RawMessage) error {
	switch a.kind.Name {
	case c7.ProcessInstanceRunning.Name, c7.ProcessInstanceCompleted.Name:
		var e processInstance
		if err := decode(raw, &e); err != nil {
			return err
		}
		next := &entry[processInstance]{Seq: a.seq, Ended: e.EndTime != nil, E: e}
		st := a.get(e.ID)
		if replaces(st.Instance, next) {
			st.Instance = next
		}
		a.touch(e.ID).instance = true
	case c7.ActivityInstanceRunning.Name, c7.ActivityInstanceCompleted.Name:
		var e activityInstance
		if err := decode(raw, &e); err != nil {
			return err
		}
		if e.ProcessInstanceID == nil {
			return errNoInstance
		}
		put(&a.get(*e.ProcessInstanceID).Activities, e.ID, &entry[activityInstance]{Seq: a.seq, Ended: e.EndTime != nil, E: e})
		t := a.touch(*e.ProcessInstanceID)
		t.instance = true
		mark(&t.activities, e.ID)
	case c7.TaskInstanceRunning.Name, c7.TaskInstanceCompleted.Name:
		var e taskInstance
		if err := decode(raw, &e); err != nil {
			return err
		}
		if e.ProcessInstanceID == nil {
			return errNoInstance
		}
		put(&a.get(*e.ProcessInstanceID).Tasks, e.ID, &entry[taskInstance]{Seq: a.seq, Ended: e.EndTime != nil, E: e})
		t := a.touch(*e.ProcessInstanceID)
		t.instance = true
		mark(&t.tasks, e.ID)
	case c7.VariableUpdate.Name:
		var e variableUpdate
		if err := decode(raw, &e); err != nil {
			return err
		}
		if e.ProcessInstanceID == nil {
			return errNoInstance
		}
		if !primitiveTypes[e.VariableType] {
			return errNotImported
		}
		st := a.get(*e.ProcessInstanceID)
		if st.Variables == nil {
			st.Variables = map[string]*entry[variableUpdate]{}
		}
		if cur := st.Variables[e.VariableInstanceID]; cur == nil || newerUpdate(e, a.seq, cur.E, cur.Seq) {
			st.Variables[e.VariableInstanceID] = &entry[variableUpdate]{Seq: a.seq, E: e}
		}
		t := a.touch(*e.ProcessInstanceID)
		t.instance = true
		mark(&t.variables, e.VariableInstanceID)
	case c7.IdentityLinkLog.Name:
		var e identityLink
		if err := decode(raw, &e); err != nil {
			return err
		}
		if e.ProcessInstanceID == nil || e.TaskID == nil {
			return errNoInstance
		}
		st := a.get(*e.ProcessInstanceID)
		if st.Links == nil {
			st.Links = map[string]identityLink{}
		}
		st.Links[e.ID] = e
		t := a.touch(*e.ProcessInstanceID)
		t.instance = true
		mark(&t.tasks, *e.TaskID)
	case c7.IncidentOpen.Name, c7.IncidentCompleted.Name:
		var e incident
		if err := decode(raw, &e); err != nil {
			return err
		}
		if e.ProcessInstanceID == nil {
			return errNoInstance
		}
		put(&a.get(*e.ProcessInstanceID).Incidents, e.ID, &entry[incident]{Seq: a.seq, Ended: e.EndTime != nil, E: e})
		t := a.touch(*e.ProcessInstanceID)
		t.instance = true
		mark(&t.incidents, e.ID)
		if e.ActivityID != nil {
			mark(&t.activityIDs, *e.ActivityID)
		}
	case c7.UserOperation.Name:
		var e userOperation
		if err := decode(raw, &e); err != nil {
			return err
		}
		if e.ProcessInstanceID == nil || e.EntityType != "ProcessInstance" || (e.OperationType != "Suspend" && e.OperationType != "Activate") {
			return errNoInstance
		}
		st := a.get(*e.ProcessInstanceID)
		if st.Operations == nil {
			st.Operations = map[string]userOperation{}
		}
		st.Operations[e.ID] = e
		a.touch(*e.ProcessInstanceID).instance = true
	default:
		return fmt.Errorf("c7 fold: kind %s is not an instance's", a.kind.Name)
	}
	return nil
}

// newerUpdate reports whether variable update a (from the page with stream
// sequence aSeq) is newer than b: by revision, then the execution's
// sequence counter, then time (several updates in one transaction may
// share a revision), and only then by page.
func newerUpdate(a variableUpdate, aSeq uint64, b variableUpdate, bSeq uint64) bool {
	if a.Revision != b.Revision {
		return a.Revision > b.Revision
	}
	if a.SequenceCounter != b.SequenceCounter {
		return a.SequenceCounter > b.SequenceCounter
	}
	at, _ := c7.ParseDate(a.Time)
	bt, _ := c7.ParseDate(b.Time)
	if at != bt {
		return at > bt
	}
	return aSeq >= bSeq
}

// decode decodes an entity, with a clear error.
func decode(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("c7 fold: entity does not decode: %w", err)
	}
	return nil
}
