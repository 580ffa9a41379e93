package faults

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Through the proxy, against the real Elasticsearch: bulks are refused
// with 429 (retryable, ErrUnavailable) while told, and go through again
// after; the engine is still detected through it.
func TestProxyRejectsBulksForAWhile(t *testing.T) {
	_, esCfg := testenv.Elasticsearch(t)
	p, err := StartProxy(esCfg.ES.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := search.NewClient(config.Search{ES: config.Elasticsearch{URL: p.URL()}}) // detected through the proxy
	if err != nil {
		t.Fatal(err)
	}
	index := testenv.IndexPrefix(t) + "-proxy"
	t.Cleanup(func() { _ = search.DeleteIndices(context.Background(), c, index) })
	body := []byte(`{"index":{"_index":"` + index + `","_id":"1"}}` + "\n" + `{"a":1}` + "\n")
	ctx := context.Background()

	p.RejectBulksFor(time.Hour)
	_, err = search.BulkBody(ctx, c, body, 1)
	var se *search.StatusError
	if !errors.Is(err, search.ErrUnavailable) || !errors.As(err, &se) || se.Status != 429 || p.Rejected() != 1 {
		t.Fatalf("bulk while rejecting: %v (rejected %d); want a 429", err, p.Rejected())
	}
	if engine, err := c.Engine(ctx); err != nil || engine != config.EngineElasticsearch {
		t.Fatalf("engine through the proxy: %q, %v", engine, err)
	}

	p.RejectBulksFor(0)
	res, err := search.BulkBody(ctx, c, body, 1)
	if err != nil || len(res) != 1 || res[0].Outcome != search.Done {
		t.Fatalf("bulk after the window: %+v, %v", res, err)
	}
}

// TestProxyDropsConnectionsWhileTheEngineIsDown: with nothing listening
// behind it, the proxy drops the client's connection, as a dead node
// would, and counts the request.
func TestProxyDropsConnectionsWhileTheEngineIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	p, err := StartProxy(down)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := http.Post(p.URL()+"/_bulk", "application/x-ndjson", strings.NewReader("{}\n"))
	if err == nil {
		res.Body.Close()
		t.Fatalf("HTTP %d from a proxy in front of nothing, want the connection dropped", res.StatusCode)
	}
	if p.Unreachable() != 1 {
		t.Fatalf("%d requests counted as unreachable, want 1", p.Unreachable())
	}
}
