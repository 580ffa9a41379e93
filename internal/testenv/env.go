package testenv

import (
	"testing"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/pkg/config"
)

// Env is where a service's integration test starts from: an embedded NATS
// JetStream server (NATS), the shared Elasticsearch (ES, ESConfig) and an
// index prefix of the test's own (Prefix), whose indices and index templates
// are deleted at cleanup. ConnectStreams adds Flowline's streams.
type Env struct {
	NATS     *natsserver.Server
	ES       *elasticsearch.Client
	ESConfig config.Elasticsearch
	Prefix   string
}

// NewEnv sets up an Env for t; opts adjust its NATS server.
func NewEnv(t testing.TB, opts ...natsserver.Option) *Env {
	t.Helper()
	env := &Env{NATS: NATS(t, opts...)}
	env.ES, env.ESConfig = Elasticsearch(t)
	env.Prefix = IndexPrefix(t)
	DropIndices(t, env.ES, env.Prefix)
	return env
}
