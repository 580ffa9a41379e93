package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/generated"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/ingest"
)

// TestGenerateThroughTheStack: a realistic workload with incidents,
// cancellations and instances left running goes through `flowline generate
// --ingest` into the real ingest, aggregator and writer (embedded NATS, real
// Elasticsearch); every instance, incident, decision and user task of the
// generated records arrives as a document, and nothing is dead-lettered.
func TestGenerateThroughTheStack(t *testing.T) {
	s := stack.Start(t, stack.Options{Ingest: func(c *ingest.Config) {
		c.BatchRecords, c.BatchBytes = 500, 512<<10 // 1 MiB bodies: generate's 5000-record batches are halved
	}})
	es, ns, prefix := s.ES, s.NATS, s.Prefix
	bin := testenv.Flowline(t)
	generate := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, append([]string{"generate"}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return out.String(), fmt.Errorf("flowline generate %v: %w: %s", args, err, errOut.String())
		}
		return out.String(), nil
	}

	args := []string{"--workload", "realistic", "--instances", "40", "--partitions", "3", "--items", "4", "--seed", "11",
		"--start", "2026-11-23T12:00:00Z", "--resume", "0", "--incident-rate", "0.1", "--cancel-rate", "0.2", "--running-rate", "0.15"}
	file := filepath.Join(t.TempDir(), "expected.ndjson")
	if _, err := generate(append([]string{"--out", file}, args...)...); err != nil {
		t.Fatal(err)
	}
	want := generated.Read(t, file)
	out, err := generate(append([]string{"--ingest", "http://" + s.IngestAddr()}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf("%d accepted, 0 duplicates", want.Records)) {
		t.Fatalf("ingest did not accept the %d records: %s", want.Records, out)
	}

	expectGeneratedDocuments(t, es, prefix, want, 40)
	expectNoDeadLetters(t, ns)
}

// expectGeneratedDocuments checks that the indices of prefix come to hold
// every instance, flow node, incident, decision and user task of the
// generated records want, with their final states, and that want has at
// least minInstances instances and something of each kind to check.
func expectGeneratedDocuments(t *testing.T, es *search.Client, prefix string, want generated.File, minInstances int) {
	t.Helper()
	active := generated.Count(want.Instances, "ELEMENT_ACTIVATED")
	checks := []struct {
		family schema.Family
		query  string
		want   int
	}{
		{schema.ListView, "", len(want.Instances)},
		{schema.ListView, "state:COMPLETED", generated.Count(want.Instances, "ELEMENT_COMPLETED")},
		{schema.ListView, "state:CANCELED", generated.Count(want.Instances, "ELEMENT_TERMINATED")},
		{schema.ListView, "state:ACTIVE", active},
		{schema.FlowNodeInstance, "", len(want.FlowNodes)},
		{schema.Incident, "", len(want.Incidents)},
		{schema.Incident, "state:RESOLVED", generated.Count(want.Incidents, "RESOLVED")},
		{schema.DecisionInstance, "", want.Decisions},
		{schema.Task, "", len(want.Tasks)},
		{schema.Task, "state:COMPLETED", generated.Count(want.Tasks, "COMPLETED")},
		{schema.Task, "state:CANCELED", generated.Count(want.Tasks, "CANCELED")},
	}
	if len(want.Instances) <= minInstances || active == 0 || len(want.Incidents) == 0 || want.Decisions == 0 || len(want.Tasks) == 0 ||
		generated.Count(want.Instances, "ELEMENT_TERMINATED") == 0 {
		t.Fatalf("the workload lacks something to check: %d instances (%d active), %d incidents, %d decisions, %d user tasks",
			len(want.Instances), active, len(want.Incidents), want.Decisions, len(want.Tasks))
	}
	t.Logf("generated %d records: %d instances (%d active), %d flow nodes, %d incidents, %d decisions, %d user tasks",
		want.Records, len(want.Instances), active, len(want.FlowNodes), len(want.Incidents), want.Decisions, len(want.Tasks))
	testenv.Eventually(t, 90*time.Second, func() error {
		for _, c := range checks {
			got, err := countDocs(es, schema.Alias(prefix, c.family), c.query)
			if err != nil {
				return err
			}
			if got != c.want {
				return fmt.Errorf("%s %q: %d documents, want %d", c.family, c.query, got, c.want)
			}
		}
		return nil
	})
}

// expectNoDeadLetters fails the test when the dead-letter stream of ns
// holds anything.
func expectNoDeadLetters(t *testing.T, ns *natsserver.Server) {
	t.Helper()
	if n := testenv.StreamMessages(t, testenv.Connect(t, ns).JS, stream.DLQStream); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// countDocs counts the documents of alias matching a query string ("" for
// all), after a refresh.
func countDocs(es *search.Client, alias, query string) (int, error) {
	ctx := context.Background()
	if err := search.Refresh(ctx, es, alias); err != nil {
		return 0, err
	}
	q := url.Values{}
	if query != "" {
		q.Set("q", query)
	}
	b, err := es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + alias + "/_count", Query: q, What: "count " + alias})
	if err != nil {
		return 0, err
	}
	var body struct {
		Count *int `json:"count"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Count == nil {
		return 0, fmt.Errorf("count %s: unreadable answer %s: %v", alias, b, err)
	}
	return *body.Count, nil
}
