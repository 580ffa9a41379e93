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

// processDef is a process definition as the aggregator keeps it: what
// documents of other families need (name, version tag, flow-node names, call
// activities) and, in the store only, the rest of the process document, so
// that a PROCESS DELETED record (which carries no resource) can still write
// the whole document.
type processDef struct {
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

// flowNodeName is the name of a flow node, or its id when it has no name.
func (d *processDef) flowNodeName(id string) string {
	if n := d.flowNodeNameOrEmpty(id); n != "" {
		return n
	}
	return id
}

// flowNodeNameOrEmpty is the name of a flow node, "" when it has none (or
// the definition is unknown): what Camunda's documents hold.
func (d *processDef) flowNodeNameOrEmpty(id string) string {
	if d != nil {
		for _, n := range d.FlowNodes {
			if n.ID == id {
				return n.Name
			}
		}
	}
	return ""
}

// errNoDefinition: the definition is neither cached nor stored.
var errNoDefinition = errors.New("process definition not found")

// definitionStore keeps process definitions beyond the memory of one
// aggregator (a JetStream KV bucket in production, a map in unit tests).
type definitionStore interface {
	Get(ctx context.Context, key int64) (*processDef, error) // errNoDefinition when absent
	Put(ctx context.Context, def *processDef) error
}

// definitions is a bounded cache in front of a definitionStore, shared by
// the partition workers of one aggregator; safe for concurrent use.
type definitions struct {
	store definitionStore
	limit int

	mu      sync.Mutex
	entries map[int64]*processDef
	order   []int64 // insertion order, for FIFO eviction
}

func newDefinitions(store definitionStore, limit int) *definitions {
	return &definitions{store: store, limit: limit, entries: map[int64]*processDef{}}
}

// get returns the definition of key from memory or the store; nil (and no
// error) when nobody has seen it.
func (d *definitions) get(ctx context.Context, key int64) (*processDef, error) {
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
	if errors.Is(err, errNoDefinition) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("process definition %d: %w", key, err)
	}
	d.remember(def)
	return def, nil
}

// put remembers def and stores it for other replicas and restarts.
func (d *definitions) put(ctx context.Context, def *processDef) error {
	d.remember(def)
	if err := d.store.Put(ctx, def); err != nil {
		return fmt.Errorf("store process definition %d: %w", def.Key, err)
	}
	return nil
}

// stored returns the whole stored definition (with its XML), bypassing the
// cache; nil when there is none.
func (d *definitions) stored(ctx context.Context, key int64) (*processDef, error) {
	def, err := d.store.Get(ctx, key)
	if errors.Is(err, errNoDefinition) {
		return nil, nil
	}
	return def, err
}

func (d *definitions) remember(def *processDef) {
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

func (s objectDefinitions) Get(ctx context.Context, key int64) (*processDef, error) {
	b, err := s.store.GetBytes(ctx, defName(key))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, errNoDefinition
	}
	if err != nil {
		return nil, err
	}
	var def processDef
	if err := json.Unmarshal(b, &def); err != nil {
		return nil, fmt.Errorf("stored definition %s is unreadable: %w", defName(key), err)
	}
	return &def, nil
}

func (s objectDefinitions) Put(ctx context.Context, def *processDef) error {
	b, err := json.Marshal(def)
	if err != nil {
		return err
	}
	_, err = s.store.PutBytes(ctx, defName(def.Key), b)
	return err
}
