package aggregator

import (
	"context"
	"sync"
)

// memDefinitions is a definitionStore in memory, for tests.
type memDefinitions struct {
	mu   sync.Mutex
	defs map[int64]*processDef
}

func (m *memDefinitions) Get(_ context.Context, key int64) (*processDef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.defs[key]; ok {
		return d, nil
	}
	return nil, errNoDefinition
}

func (m *memDefinitions) Put(_ context.Context, def *processDef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.defs == nil {
		m.defs = map[int64]*processDef{}
	}
	m.defs[def.Key] = def
	return nil
}
