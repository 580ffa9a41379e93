package testenv

import (
	"testing"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
)

// Env is where a service's integration test starts from: an embedded NATS
// JetStream server (NATS), the shared search node (ES, ESConfig: Elasticsearch,
// or the engine of NewEnvOn) and an
// index prefix of the test's own (Prefix), whose indices and index templates
// are deleted at cleanup. ConnectStreams adds Flowline's streams.
type Env struct {
	NATS     *natsserver.Server
	ES       *search.Client
	ESConfig config.Search
	Prefix   string
}

// NewEnv sets up an Env for t; opts adjust its NATS server.
func NewEnv(t testing.TB, opts ...natsserver.Option) *Env {
	t.Helper()
	return NewEnvOn(t, config.EngineElasticsearch, opts...)
}

// NewEnvOn sets up an Env for t on the search engine engine.
func NewEnvOn(t testing.TB, engine config.Engine, opts ...natsserver.Option) *Env {
	t.Helper()
	env := &Env{NATS: NATS(t, opts...)}
	env.ES, env.ESConfig = Search(t, engine)
	env.Prefix = IndexPrefix(t)
	DropIndices(t, env.ES, env.Prefix)
	return env
}
