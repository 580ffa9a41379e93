package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/c7engine"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/c7enginetest"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
)

// The load of TestCamunda7ImportKilledMidRunResumes: instances of
// c7engine.LoadBPMN (each 1 process instance, 13 activity instances, 12
// variables, 1 user task with its identity link), paged restartPageSize
// entities at a time: some 170 pages of the load alone.
const (
	restartLoad     = 600
	restartPageSize = 100
	entitiesPerLoad = 1 + 13 + 12 + 1 + 1
)

// TestCamunda7ImportKilledMidRunResumes: a restart of the import mid-run
// (kill -9) resumes from the stored import indices: nothing lost, nothing
// duplicated, documents identical to an uninterrupted run.
//
// The engine runs the orders (c7enginetest.RunOrders) and a load of
// restartLoad instances. Run A: `flowline c7-import` runs as a child
// process into a stack that folds and indexes; once a quarter of the
// load's pages are stored it is killed with SIGKILL, the stored indices
// are checked to be behind the engine, and a new process finishes the
// import, storing of each kind exactly what its index moved by since the
// kill (it resumed, it did not start afresh). Run B: another stack (its own NATS and index prefix) imports the
// same engine under the same source, never interrupted. Then run A's
// documents say what the engine says of the orders (c7enginetest.Compare),
// hold exactly one document per engine entity of the load, and every c7
// family of A and B holds the same ids with the same documents, but for
// their position (the version, which differs between runs).
func TestCamunda7ImportKilledMidRunResumes(t *testing.T) {
	engine := c7enginetest.Shared(t)
	key := "kill" + strings.ReplaceAll(testenv.IndexPrefix(t), "-", "")
	load := key + "-load"
	orders := c7enginetest.RunOrders(t, engine, key)
	c7enginetest.Deploy(t, engine, load, map[string][]byte{load + ".bpmn": c7engine.LoadBPMN(load)})
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c7engine.Generate(ctx, engine, load, restartLoad, 2); err != nil {
		t.Fatal(err)
	}
	t.Logf("engine: %d load instances driven in %v", restartLoad, time.Since(t0).Round(time.Millisecond))
	c7 := stack.C7{URL: engine, Source: "restart", PageSize: restartPageSize}

	// Run A: the import as a child process, killed mid-run, then restarted.
	t0 = time.Now()
	fold := c7
	fold.WithoutImport = true
	a := stack.Start(t, stack.Options{C7: &fold})
	env := append(os.Environ(), stack.C7ImportEnv(t, a.NATS, c7)...)
	js := testenv.Connect(t, a.NATS).JS
	first := testenv.StartFlowline(t, env, "c7-import")
	killAt := uint64(restartLoad * entitiesPerLoad / restartPageSize / 4)
	testenv.Eventually(t, 2*time.Minute, func() error {
		if err := first.Running(); err != nil {
			t.Fatal(err)
		}
		if n := testenv.StreamMessages(t, js, stream.C7Stream); n < killAt {
			return fmt.Errorf("%d page messages stored, waiting for %d", n, killAt)
		}
		return nil
	})
	first.Kill()
	stored := testenv.StreamMessages(t, js, stream.C7Stream)
	progress, err := a.C7Progress(c7)
	if err != nil {
		t.Fatal(err)
	}
	behind, moved := 0, 0
	atKill := map[string]c7import.ImportIndex{}
	var report []string
	for _, p := range progress {
		report = append(report, p.String())
		atKill[p.Kind] = p.Index
		if p.Behind {
			behind++
		}
		if p.Index.Imported > 0 {
			moved++
		}
	}
	t.Logf("killed after %v with %d page messages stored; import indices:\n%s", time.Since(t0).Round(time.Millisecond), stored, strings.Join(report, "\n"))
	if behind == 0 || moved == 0 {
		t.Fatalf("the kill was not mid-run: %d kinds behind the engine, %d with a stored index", behind, moved)
	}
	second := testenv.StartFlowline(t, env, "c7-import")
	testenv.Eventually(t, 3*time.Minute, func() error {
		if err := second.Running(); err != nil {
			t.Fatal(err)
		}
		return a.C7Settled(c7)
	})
	// The second process resumed from the stored indices: what it stored
	// of each kind is exactly what the index moved by since the kill (an
	// import starting afresh would have stored everything again).
	final, err := a.C7Progress(c7)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range final {
		n, err := second.Metric("flowline_c7_import_stored_entities_total", map[string]string{"kind": p.Kind})
		if err != nil {
			t.Fatal(err)
		}
		if moved := p.Index.Imported - atKill[p.Kind].Imported; int64(n) != moved {
			t.Errorf("%s: the restarted import stored %v entities, its index moved by %d since the kill (%d imported then, %d now)",
				p.Kind, n, moved, atKill[p.Kind].Imported, p.Index.Imported)
		}
	}
	second.Stop()
	t.Logf("run A settled after %v, %d page messages stored", time.Since(t0).Round(time.Millisecond), testenv.StreamMessages(t, js, stream.C7Stream))

	// Run B: the same engine and source, never interrupted.
	t0 = time.Now()
	b := stack.Start(t, stack.Options{C7: &c7})
	testenv.Eventually(t, 3*time.Minute, func() error { return b.C7Settled(c7) })
	t.Logf("run B settled after %v", time.Since(t0).Round(time.Millisecond))

	docsA, docsB := map[schema.Family]map[string]map[string]any{}, map[schema.Family]map[string]map[string]any{}
	for _, f := range schema.C7Families {
		docsA[f], docsB[f] = c7Documents(t, a, f), c7Documents(t, b, f)
	}

	// Nothing lost: the orders as the engine has them, and one document
	// per entity of the load.
	if diffs := c7enginetest.Compare(t, engine, key, orders, func(f schema.Family, id string) map[string]any {
		return docsA[f][c7fold.DocID(c7.Source, id)]
	}); len(diffs) > 0 {
		t.Errorf("run A's documents of the orders differ from the engine's history (%d):\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
	var defs []struct{ ID string }
	c7enginetest.Get(t, engine, "/process-definition?key="+load, &defs)
	if len(defs) != 1 {
		t.Fatalf("%d definitions of %s, want 1", len(defs), load)
	}
	count := func(path string) int {
		var n struct{ Count int }
		c7enginetest.Get(t, engine, path, &n)
		return n.Count
	}
	instances := count("/history/process-instance/count?processDefinitionKey=" + load)
	if instances != restartLoad {
		t.Fatalf("the engine has %d instances of %s, want %d", instances, load, restartLoad)
	}
	for _, c := range []struct {
		family schema.Family
		field  string // holding the definition key
		engine string // the engine's count
	}{
		{schema.C7ProcessInstance, "processDefinitionKey", "/history/process-instance/count?processDefinitionKey=" + load},
		{schema.C7ListView, "bpmnProcessId", "/history/process-instance/count?processDefinitionKey=" + load},
		{schema.C7FlowNodeInstance, "bpmnProcessId", "/history/activity-instance/count?processDefinitionId=" + defs[0].ID},
		{schema.C7Variable, "bpmnProcessId", "/history/variable-instance/count?processDefinitionId=" + defs[0].ID},
		{schema.C7Task, "bpmnProcessId", "/history/task/count?processDefinitionKey=" + load},
	} {
		got := 0
		for _, d := range docsA[c.family] {
			if d[c.field] == load {
				got++
			}
		}
		if want := count(c.engine); got != want || want < restartLoad {
			t.Errorf("run A: %d %s documents of %s, the engine has %d entities (%s)", got, c.family, load, want, c.engine)
		}
	}

	// Nothing duplicated and identical: the same ids, the same documents.
	for _, f := range schema.C7Families {
		inA, inB := docsA[f], docsB[f]
		if len(inA) == 0 {
			t.Errorf("%s: no documents", f)
		}
		var diffs []string
		for id, da := range inA {
			db, ok := inB[id]
			switch {
			case !ok:
				diffs = append(diffs, "only in run A: "+id)
			case !bytes.Equal(withoutPosition(t, da), withoutPosition(t, db)):
				diffs = append(diffs, fmt.Sprintf("%s differs:\n  A %s\n  B %s", id, withoutPosition(t, da), withoutPosition(t, db)))
			}
		}
		for id := range inB {
			if _, ok := inA[id]; !ok {
				diffs = append(diffs, "only in run B: "+id)
			}
		}
		if len(diffs) > 0 {
			t.Errorf("%s: run A (killed, %d documents) and run B (%d) differ in %d:\n%s", f, len(inA), len(inB), len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "\n"))
		}
	}
}

// c7Documents reads every document of family f of stack s, by id, its
// source decoded exactly (numbers as json.Number).
func c7Documents(t *testing.T, s *stack.Stack, f schema.Family) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	alias := schema.Alias(s.Prefix, f)
	if err := search.Refresh(ctx, s.ES, alias); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	if err := search.Scan(ctx, s.ES, alias, map[string]any{"match_all": map[string]any{}}, 1000, func(hits []search.Hit) error {
		for _, h := range hits {
			dec := json.NewDecoder(bytes.NewReader(h.Source))
			dec.UseNumber()
			var src map[string]any
			if err := dec.Decode(&src); err != nil {
				return fmt.Errorf("%s document %s: %w", f, h.ID, err)
			}
			if _, dup := out[h.ID]; dup {
				return fmt.Errorf("%s document %s read twice", f, h.ID)
			}
			out[h.ID] = src
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutPosition is a document's source as canonical JSON (keys sorted)
// without its position.
func withoutPosition(t *testing.T, src map[string]any) []byte {
	t.Helper()
	rest := make(map[string]any, len(src))
	for k, v := range src {
		if k != "position" {
			rest[k] = v
		}
	}
	b, err := json.Marshal(rest)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
