package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/bpmn"
)

// ProcessDef is a process definition as the aggregator keeps it: what
// documents of other families need (name, version tag, flow-node names, call
// activities) and, in the store only, the rest of the process document, so
// that a PROCESS DELETED record (which carries no resource) can still write
// the whole document.
type ProcessDef struct {
	Key             int64           `json:"key"`
	BpmnProcessID   string          `json:"bpmnProcessId"`
	Version         int32           `json:"version"`
	Name            string          `json:"name"`
	VersionTag      string          `json:"versionTag"`
	ResourceName    string          `json:"resourceName"`
	TenantID        string          `json:"tenantId"`
	FlowNodes       []bpmn.FlowNode `json:"flowNodes"`
	CallActivityIDs []string        `json:"callActivityIds"`
	// BpmnXML is kept in the store, never in the in-memory cache.
	BpmnXML string `json:"bpmnXml,omitempty"`
}

// FlowNodeName is the name of a flow node, or its id when it has no name.
func (d *ProcessDef) FlowNodeName(id string) string {
	if d != nil {
		for _, n := range d.FlowNodes {
			if n.ID == id {
				if n.Name != "" {
					return n.Name
				}
				break
			}
		}
	}
	return id
}

// ErrNoDefinition: the definition is neither cached nor stored.
var ErrNoDefinition = errors.New("process definition not found")

// DefinitionStore keeps process definitions beyond the memory of one
// aggregator (a JetStream KV bucket in production, a map in unit tests).
type DefinitionStore interface {
	Get(ctx context.Context, key int64) (*ProcessDef, error) // ErrNoDefinition when absent
	Put(ctx context.Context, def *ProcessDef) error
}

// definitions is a bounded cache in front of a DefinitionStore, shared by
// the partition workers of one aggregator; safe for concurrent use.
type definitions struct {
	store DefinitionStore
	limit int

	mu      sync.Mutex
	entries map[int64]*ProcessDef
	order   []int64 // insertion order, for FIFO eviction
}

func newDefinitions(store DefinitionStore, limit int) *definitions {
	return &definitions{store: store, limit: limit, entries: map[int64]*ProcessDef{}}
}

// get returns the definition of key from memory or the store; nil (and no
// error) when nobody has seen it.
func (d *definitions) get(ctx context.Context, key int64) (*ProcessDef, error) {
	if key <= 0 {
		return nil, nil
	}
	d.mu.Lock()
	def, ok := d.entries[key]
	d.mu.Unlock()
	if ok {
		return def, nil
	}
	def, err := d.store.Get(ctx, key)
	if errors.Is(err, ErrNoDefinition) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("process definition %d: %w", key, err)
	}
	d.remember(def)
	return def, nil
}

// put remembers def and stores it for other replicas and restarts.
func (d *definitions) put(ctx context.Context, def *ProcessDef) error {
	d.remember(def)
	if err := d.store.Put(ctx, def); err != nil {
		return fmt.Errorf("store process definition %d: %w", def.Key, err)
	}
	return nil
}

// stored returns the whole stored definition (with its XML), bypassing the
// cache; nil when there is none.
func (d *definitions) stored(ctx context.Context, key int64) (*ProcessDef, error) {
	def, err := d.store.Get(ctx, key)
	if errors.Is(err, ErrNoDefinition) {
		return nil, nil
	}
	return def, err
}

func (d *definitions) remember(def *ProcessDef) {
	if def.BpmnXML != "" {
		lean := *def
		lean.BpmnXML = ""
		def = &lean
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.entries[def.Key]; !ok {
		d.order = append(d.order, def.Key)
	}
	d.entries[def.Key] = def
	for len(d.order) > d.limit {
		delete(d.entries, d.order[0])
		d.order = d.order[1:]
	}
}

// objectDefinitions stores definitions as JSON objects "process.<key>" in a
// JetStream object store (no size limit, so any BPMN XML fits).
type objectDefinitions struct{ store jetstream.ObjectStore }

func defName(key int64) string { return "process." + strconv.FormatInt(key, 10) }

func (s objectDefinitions) Get(ctx context.Context, key int64) (*ProcessDef, error) {
	b, err := s.store.GetBytes(ctx, defName(key))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, ErrNoDefinition
	}
	if err != nil {
		return nil, err
	}
	var def ProcessDef
	if err := json.Unmarshal(b, &def); err != nil {
		return nil, fmt.Errorf("stored definition %s is unreadable: %w", defName(key), err)
	}
	return &def, nil
}

func (s objectDefinitions) Put(ctx context.Context, def *ProcessDef) error {
	b, err := json.Marshal(def)
	if err != nil {
		return err
	}
	_, err = s.store.PutBytes(ctx, defName(def.Key), b)
	return err
}

// memDefinitions is a DefinitionStore in memory (tests, tools).
type memDefinitions struct {
	mu   sync.Mutex
	defs map[int64]*ProcessDef
}

func (m *memDefinitions) Get(_ context.Context, key int64) (*ProcessDef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.defs[key]; ok {
		return d, nil
	}
	return nil, ErrNoDefinition
}

func (m *memDefinitions) Put(_ context.Context, def *ProcessDef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.defs == nil {
		m.defs = map[int64]*ProcessDef{}
	}
	m.defs[def.Key] = def
	return nil
}
