package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/config"
	lc "github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/writer"
	"github.com/flowline/flowline/services/zeebeimport"
)

// TestEveryServiceWaitsForJetStreamAtStart: every service started while
// its NATS server answers without JetStream (a node restarting, a cluster
// electing its leaders) keeps running, says why it is not ready, and
// becomes ready once JetStream is enabled, instead of ending at the first
// JetStream error.
func TestEveryServiceWaitsForJetStreamAtStart(t *testing.T) {
	es, esCfg := testenv.Elasticsearch(t)
	prefix := testenv.IndexPrefix(t)
	testenv.DropIndices(t, es, prefix)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(ns.Shutdown)
	srv := &natsserver.Server{Server: ns}

	imp := zeebeimport.NewConfig()
	if err := config.Process(&imp); err != nil {
		t.Fatal(err)
	}
	imp.NATS, imp.Streams, imp.Source.URL, imp.Source.IndexPrefix = testenv.NATSConfig(srv), testenv.Streams(), esCfg.ES.URL, prefix+"-zeebe-record"
	deps := func() lc.Deps { return testenv.Deps(t) }
	services := []lc.Service{
		writer.New(stack.WriterConfig(srv, esCfg, prefix), deps()),
		archiver.New(stack.ArchiverConfig(t, srv, esCfg, prefix), deps()),
		aggregator.New(stack.AggregatorConfig(srv), deps()),
		ingest.New(stack.IngestConfig(srv), deps()),
		zeebeimport.New(imp, deps()),
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, len(services))
	for _, s := range services {
		go func() {
			err := s.Run(ctx)
			stopped <- fmt.Errorf("%s returned: %v", s.Name(), err)
		}()
	}
	t.Cleanup(func() {
		cancel()
		for range services {
			<-stopped
		}
	})

	// Without JetStream: every service waits, saying so.
	testenv.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-stopped:
			t.Fatalf("a service stopped while JetStream was unavailable: %v", err)
		default:
		}
		for _, s := range services {
			if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "no responders") {
				return fmt.Errorf("%s: readiness %v does not say JetStream does not answer", s.Name(), err)
			}
		}
		return nil
	})

	if err := ns.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		select {
		case err := <-stopped:
			t.Fatalf("a service stopped: %v", err)
		default:
		}
		var errs []error
		for _, s := range services {
			if err := s.Ready(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
			}
		}
		return errors.Join(errs...)
	})
}
