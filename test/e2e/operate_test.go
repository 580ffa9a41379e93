package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/pkg/search"
)

// TestGoldenFixturesInTheOperateSchema sends every golden fixture through
// the stack in the operate schema on OpenSearch (the engine here whose
// modules hold Operate's join fields and path analysis): every document is
// accepted by Camunda's strict mappings (nothing dead-lettered), every
// process instance, flow node instance and variable of the Flowline run is
// in the list-view with its children, and the list-view answers the
// queries Operate makes the way the Flowline documents say it must:
// instances with an incident, instances with an active flow node of a
// given id (has_child), the instances under a tree path (path hierarchy),
// instances with a variable of a given name and value (has_child).
func TestGoldenFixturesInTheOperateSchema(t *testing.T) {
	files, err := filepath.Glob("../../services/aggregator/testdata/golden/*.ndjson")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden fixtures found: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".ndjson")
		t.Run(name, func(t *testing.T) {
			s, want := fixtureThroughTheStack(t, file, stack.Options{ArchiveAfter: tenYears, Engine: config.EngineOpenSearch, Schema: config.SchemaOperate})
			checkOperateListView(t, s, want)
			expectNoDeadLetters(t, s.NATS)
		})
	}
}

// flowlineDocs are the expected Flowline documents of a fixture, by family.
type flowlineDocs map[string][]map[string]any

func byFamily(want map[string]map[string]any) flowlineDocs {
	out := flowlineDocs{}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a deterministic choice of examples below
	for _, k := range keys {
		fam, _, _ := strings.Cut(k, "/")
		out[fam] = append(out[fam], want[k])
	}
	return out
}

func checkOperateListView(t *testing.T, s *stack.Stack, want map[string]map[string]any) {
	t.Helper()
	docs := byFamily(want)
	lv := operate.ListView.Alias(s.Prefix)
	count := func(query map[string]any) (int64, error) {
		return search.Count(context.Background(), s.ES, lv, query)
	}
	join := func(name string) map[string]any {
		return map[string]any{"term": map[string]any{"joinRelation": name}}
	}
	and := func(qs ...map[string]any) map[string]any {
		return map[string]any{"bool": map[string]any{"filter": qs}}
	}
	term := func(field string, v any) map[string]any { return map[string]any{"term": map[string]any{field: v}} }
	hasChild := func(typ string, q map[string]any) map[string]any {
		return map[string]any{"has_child": map[string]any{"type": typ, "query": q}}
	}

	// Everything arrived: as many instances, activities and variables as
	// the Flowline run has (a missing or refused document never arrives).
	expect := map[string]int{"processInstance": len(docs["list-view"]), "activity": len(docs["flownode-instance"]), "variable": len(docs["variable"])}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := search.Refresh(context.Background(), s.ES, lv); err != nil {
			return err
		}
		for rel, n := range expect {
			got, err := count(join(rel))
			if err != nil {
				return err
			}
			if got != int64(n) {
				return fmt.Errorf("%d %s documents in %s, want %d", got, rel, lv, n)
			}
		}
		return nil
	})

	// Every other index holds a document per Flowline document of its
	// family (a refused one never arrives).
	testenv.Eventually(t, 30*time.Second, func() error {
		for ix, fam := range map[*operate.Index]string{&operate.FlowNodeInstance: "flownode-instance", &operate.Variable: "variable",
			&operate.Incident: "incident", &operate.SequenceFlow: "sequence-flow", &operate.Process: "process",
			&operate.DecisionInstance: "decision-instance", &operate.Decision: "decision", &operate.DecisionRequirements: "decision-requirements"} {
			alias := ix.Alias(s.Prefix)
			if err := search.Refresh(context.Background(), s.ES, alias); err != nil {
				return err
			}
			got, err := search.Count(context.Background(), s.ES, alias, nil)
			if err != nil {
				return err
			}
			if got != int64(len(docs[fam])) {
				return fmt.Errorf("%s holds %d documents, want %d (%s)", alias, got, len(docs[fam]), fam)
			}
		}
		return nil
	})

	type check struct {
		what  string
		query map[string]any
		want  int
	}
	var checks []check

	incidents := 0
	for _, pi := range docs["list-view"] {
		if pi["incident"] == true {
			incidents++
		}
	}
	checks = append(checks, check{"instances with an incident", and(join("processInstance"), term("incident", true)), incidents})

	for _, fn := range docs["flownode-instance"] {
		if fn["state"] != "ACTIVE" {
			continue
		}
		id := fn["flowNodeId"]
		holders := map[any]bool{}
		for _, other := range docs["flownode-instance"] {
			if other["state"] == "ACTIVE" && other["flowNodeId"] == id {
				holders[other["processInstanceKey"]] = true
			}
		}
		checks = append(checks, check{fmt.Sprintf("instances with an active %v", id),
			and(join("processInstance"), hasChild("activity", and(term("activityState", "ACTIVE"), term("activityId", id)))), len(holders)})
		break
	}

	for _, pi := range docs["list-view"] {
		path, _ := pi["treePath"].(string)
		if strings.Contains(path, "/") { // a root instance's path has one segment
			continue
		}
		under := 0
		for _, other := range docs["list-view"] {
			if p, _ := other["treePath"].(string); p == path || strings.HasPrefix(p, path+"/") {
				under++
			}
		}
		checks = append(checks, check{"instances under " + path, and(join("processInstance"), term("treePath", path)), under})
		break
	}

	for _, v := range docs["variable"] {
		value, _ := v["value"].(string)
		if full, ok := v["fullValue"].(string); ok {
			value = full
		}
		if len(value) > 8191 {
			continue // kept, not indexed (ignore_above): Operate cannot filter by it
		}
		holders := map[any]bool{}
		for _, other := range docs["variable"] {
			ov, _ := other["value"].(string)
			if full, ok := other["fullValue"].(string); ok {
				ov = full
			}
			if other["name"] == v["name"] && ov == value {
				holders[other["processInstanceKey"]] = true
			}
		}
		checks = append(checks, check{fmt.Sprintf("instances with %v = %s", v["name"], value),
			and(join("processInstance"), hasChild("variable", and(term("varName", v["name"]), term("varValue", value)))), len(holders)})
		break
	}

	// Tasklist's index: the instances, tasks and variables joined.
	tl := operate.TasklistTask.Alias(s.Prefix)
	locals, open := 0, 0
	for _, v := range docs["variable"] {
		if fmt.Sprint(v["scopeKey"]) != fmt.Sprint(v["processInstanceKey"]) {
			locals++
		}
	}
	for _, task := range docs["task"] {
		if task["state"] == "CREATED" {
			open++
		}
	}
	tlJoin := func(name string) map[string]any { return map[string]any{"term": map[string]any{"join": name}} }
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := search.Refresh(context.Background(), s.ES, tl); err != nil {
			return err
		}
		for rel, n := range map[string]int{"process": len(docs["list-view"]), "task": len(docs["task"]), "variable": len(docs["variable"]), "localVariable": locals} {
			got, err := search.Count(context.Background(), s.ES, tl, tlJoin(rel))
			if err != nil {
				return err
			}
			if got != int64(n) {
				return fmt.Errorf("%s: %d %s documents, want %d", tl, got, rel, n)
			}
		}
		return nil
	})
	got, err := search.Count(context.Background(), s.ES, tl, and(tlJoin("task"), term("state", "CREATED"),
		map[string]any{"has_parent": map[string]any{"parent_type": "process", "query": map[string]any{"match_all": map[string]any{}}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got != int64(open) {
		t.Errorf("open tasks joined to their instance: %d, want %d", got, open)
	}

	for _, c := range checks {
		got, err := count(c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		q, _ := json.Marshal(c.query)
		if got != int64(c.want) {
			t.Errorf("%s: %d, want %d (query %s)", c.what, got, c.want, q)
		} else {
			t.Logf("%s: %d (query %s)", c.what, got, q)
		}
	}
}

// TestOperateSchemaArchiving: in the operate schema on OpenSearch, an
// ended instance moves into Camunda's dated indices of its end date's day
// (<index><yyyy-MM-dd>) with its list-view children (routed by it, as
// before) and its flow node instances and variables; a running one stays;
// the alias still answers Operate's join queries over both.
func TestOperateSchemaArchiving(t *testing.T) {
	const fixture = "../../services/aggregator/testdata/golden/incidents"
	s, expected := fixtureThroughTheStack(t, fixture+".ndjson", stack.Options{ArchiveAfter: time.Hour, Engine: config.EngineOpenSearch, Schema: config.SchemaOperate}) // the fixture ended in 2025
	want := byFamily(expected)
	// Where each instance belongs: the runtime index, or the dated one of
	// its end date.
	home := map[string]string{} // process instance key -> "" or the date
	for _, pi := range want["list-view"] {
		key := fmt.Sprint(pi["key"])
		if end, ok := pi["endDate"].(string); ok {
			home[key] = end[:10]
		} else {
			home[key] = ""
		}
	}
	expect := map[string]int{} // index -> documents
	lv, fni, vars := operate.ListView, operate.FlowNodeInstance, operate.Variable
	add := func(ix operate.Index, pi any) {
		expect[ix.FQN(s.Prefix)+home[fmt.Sprint(pi)]]++
	}
	for _, pi := range want["list-view"] {
		add(lv, pi["key"])
	}
	for _, fn := range want["flownode-instance"] {
		add(lv, fn["processInstanceKey"]) // the activity child
		add(fni, fn["processInstanceKey"])
	}
	for _, v := range want["variable"] {
		add(lv, v["processInstanceKey"]) // the variable child
		add(vars, v["processInstanceKey"])
	}
	archived := 0
	for _, date := range home {
		if date != "" {
			archived++
		}
	}
	if archived == 0 || archived == len(home) {
		t.Fatalf("the fixture has %d ended instances of %d: need both kinds", archived, len(home))
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		for index, n := range expect {
			if err := search.Refresh(context.Background(), s.ES, index); err != nil {
				return err
			}
			got, err := search.Count(context.Background(), s.ES, index, nil)
			if err != nil {
				return err
			}
			if got != int64(n) {
				return fmt.Errorf("%s holds %d documents, want %d", index, got, n)
			}
		}
		return nil
	})
	// Operate's join queries over the runtime and dated indices alike.
	checkOperateListView(t, s, expected)
}
