package archiver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/archiver"
)

// The archiver moves and expires Zeebe process instances only: Camunda 7
// documents, even of an instance that ended long ago, stay in their
// runtime indices, it makes no dated index of a C7 family, and retention
// deletes none (an expired-looking dated C7 index stays), while the Zeebe
// instances beside them are archived and an expired Zeebe index deleted.
func TestLeavesCamunda7DocumentsAlone(t *testing.T) {
	env := testenv.NewEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	old := now.AddDate(0, 0, -40)

	setup, _ := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, nil)
	testenv.Run(t, setup)() // the templates must exist before the indices are made
	expiredZeebe := schema.RuntimeIndex(env.Prefix, schema.Job) + archiver.Day.Suffix(old)
	expiredC7 := schema.RuntimeIndex(env.Prefix, schema.C7ListView) + archiver.Day.Suffix(old)
	for _, name := range []string{expiredZeebe, expiredC7} {
		createIndex(t, env.ES, name)
	}

	// An instance of a C7 engine that ended 40 days ago, with its parts.
	ended := old.Format("2006-01-02T15:04:05.000Z")
	c7 := map[schema.Family]any{
		schema.C7ListView: schema.C7ListViewDoc{Key: "pi-1", ProcessDefinitionKey: "order:1:a", BpmnProcessID: "order", Version: 1,
			State: schema.StateCompleted, StartDate: &ended, EndDate: &ended, TenantID: "<default>", Source: "eu", Position: 4},
		schema.C7ProcessInstance: schema.C7ProcessInstanceDoc{ProcessInstanceID: "pi-1", ProcessDefinitionKey: "order", ProcessDefinitionVersion: 1,
			ProcessDefinitionID: "order:1:a", StartDate: &ended, EndDate: &ended, State: "COMPLETED", Source: "eu", Position: 4},
		schema.C7FlowNodeInstance: schema.C7FlowNodeInstanceDoc{Key: "a-1", ProcessInstanceKey: "pi-1", ProcessDefinitionKey: "order:1:a",
			BpmnProcessID: "order", FlowNodeID: "start", Type: "START_EVENT", State: schema.StateCompleted, StartDate: &ended, EndDate: &ended,
			TenantID: "<default>", Source: "eu", Position: 2},
		schema.C7Variable: schema.C7VariableDoc{Name: "amount", Type: "Long", Value: "42", ProcessInstanceKey: "pi-1",
			ProcessDefinitionKey: "order:1:a", BpmnProcessID: "order", TenantID: "<default>", Source: "eu", Position: 3},
	}
	var ops []search.Op
	for f, doc := range c7 {
		src, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, search.Op{Index: schema.RuntimeIndex(env.Prefix, f), ID: "pi-1", Version: 7, Source: src})
	}
	err := search.NewBulkExecutor(env.ES, search.BulkPolicy{MaxAttempts: 5}).Do(ctx, len(ops), func(buf []byte, i int) []byte {
		return search.AppendOp(buf, ops[i])
	}, func(i int, r search.Result) bool {
		if r.Outcome != search.Done {
			t.Fatalf("seeding %s: %d %s", ops[i].Index, r.Status, r.Reason)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	fx := archivertest.NewFixture(env.Prefix, 1, 20, 5, now, 58*time.Hour)
	fx.Index(t, env.ES)

	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) {
		c.Retention = archiver.Retention(30 * 24 * time.Hour)
	})
	stop := testenv.Run(t, a)
	testenv.Eventually(t, 60*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n < 20 {
			return fmt.Errorf("%v instances archived", n)
		}
		if n := testenv.Metric(t, reg, "flowline_archiver_retention_deleted_indices_total", nil); n < 1 {
			return fmt.Errorf("%v indices deleted", n)
		}
		return nil
	})
	stop()
	if err := fx.Check(t, env.ES, archiver.Day, nil); err != nil {
		t.Fatal(err)
	}
	if exists(t, env.ES, expiredZeebe) {
		t.Errorf("%s (expired) still exists", expiredZeebe)
	}

	// The C7 indices are exactly those of the templates and the one made
	// above, and each C7 document is where it was, at its version.
	want := []string{expiredC7}
	for _, f := range schema.C7Families {
		want = append(want, schema.RuntimeIndex(env.Prefix, f))
	}
	b, err := env.ES.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + url.PathEscape(env.Prefix+"-c7-*"), What: "list C7 indices"})
	if err != nil {
		t.Fatal(err)
	}
	var indices map[string]json.RawMessage
	if err := json.Unmarshal(b, &indices); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(indices)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("C7 indices after archiving: %s, want %s", strings.Join(got, " "), strings.Join(slices.Sorted(slices.Values(want)), " "))
	}
	for f := range c7 {
		runtime := schema.RuntimeIndex(env.Prefix, f)
		versions, err := search.Versions(ctx, env.ES, runtime, []string{"pi-1"})
		if err != nil {
			t.Fatal(err)
		}
		if versions["pi-1"] != 7 {
			t.Errorf("%s/pi-1: version %d, want it still there at 7", runtime, versions["pi-1"])
		}
	}
}
