package c7import_test

// The Camunda 7 import against a real Camunda 7 engine (internal/dev/
// c7engine, through c7enginetest) and an embedded NATS server: what it
// stores on FLOWLINE_C7 is compared with the engine's own history API.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/dev/c7engine"
	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/c7enginetest"
	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/c7import"
)

func TestMain(m *testing.M) { c7enginetest.Main(m) }

// importConfig is an import of engine under source (the defaults an
// operator gets otherwise), storing on srv, quick to page (pageSize) and to
// notice new data, settling nothing.
func importConfig(t *testing.T, engine string, srv *natsserver.Server, source string, pageSize int) c7import.Config {
	t.Helper()
	cfg := c7import.NewConfig()
	if err := config.Process(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.NATS, cfg.Streams = testenv.NATSConfig(srv), testenv.Streams()
	cfg.Engine.URL = engine
	cfg.Engine.Source = source
	cfg.Engine.PageSize = pageSize
	cfg.Engine.Settle = 0
	cfg.Engine.BackoffInterval, cfg.Engine.BackoffMax = config.Duration(50*time.Millisecond), config.Duration(300*time.Millisecond)
	cfg.Engine.QueueSize, cfg.Engine.Concurrency = 2, 2
	cfg.Lease.TTL = config.Duration(2 * time.Second)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// storedIDs reads every page source stored on FLOWLINE_C7 and returns, per
// kind, the ids of the entities for which keep is true (all ids stored,
// duplicates once), and how often each id was stored.
func storedIDs(t *testing.T, js jetstream.JetStream, payloads *stream.Payloads, source string, keep func(kind string, e map[string]any) bool) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, m := range testenv.Messages(t, js, stream.C7Stream) {
		if m.Headers().Get(stream.HeaderC7Source) != source {
			continue
		}
		kind := m.Headers().Get(stream.HeaderC7Kind)
		if m.Subject() != stream.C7Subject(source, kind) {
			t.Fatalf("page of kind %s on subject %s", kind, m.Subject())
		}
		body, err := payloads.Body(context.Background(), m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		var ents []map[string]any
		if err := json.Unmarshal(body, &ents); err != nil {
			t.Fatalf("%s page: %v", kind, err)
		}
		if out[kind] == nil {
			out[kind] = map[string]int{}
		}
		for _, e := range ents {
			if kind == c7.Deployment.Name {
				e = e["deployment"].(map[string]any)
			}
			if keep(kind, e) {
				out[kind][e["id"].(string)]++
			}
		}
	}
	return out
}

// historyIDs returns the ids of the engine's history API list at path.
func historyIDs(t *testing.T, engine, path string) []string {
	t.Helper()
	var list []map[string]any
	c7enginetest.Get(t, engine, path, &list)
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, e["id"].(string))
	}
	sort.Strings(ids)
	return ids
}

// keys are m's keys, sorted.
func keys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

// TestImportStoresEveryEntityOfEveryKind: a real engine runs orders
// (c7enginetest.RunOrders: completed, failed, resolved, canceled and
// running instances); the
// import, paging three entities at a time with two executors per kind,
// stores every entity of every kind, which the engine's own history API
// lists for the process: completed ones exactly, running ones at least
// (some completed after they were stored as running). Each kind's index
// ends at its newest entity.
func TestImportStoresEveryEntityOfEveryKind(t *testing.T) {
	engine := c7enginetest.Shared(t)
	key := "order" + strings.ReplaceAll(testenv.IndexPrefix(t), "-", "")
	orders := c7enginetest.RunOrders(t, engine, key)
	deployment, instances := orders.Deployment, orders.All()

	srv := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, srv)
	source := "src-" + key
	cfg := importConfig(t, engine, srv, source, 3)
	testenv.Run(t, c7import.New(cfg, testenv.Deps(t)))

	var defs []struct{ ID string }
	c7enginetest.Get(t, engine, "/process-definition?key="+key, &defs)
	def := defs[0].ID
	ours := func(kind string, e map[string]any) bool {
		if kind == c7.Deployment.Name {
			return e["id"] == deployment
		}
		return e["processDefinitionKey"] == key
	}
	var incidents []struct {
		ID      string
		EndTime *string
	}
	c7enginetest.Get(t, engine, "/history/incident?processDefinitionKey="+key, &incidents)
	var openIncidents, endedIncidents []string
	for _, in := range incidents {
		if in.EndTime == nil {
			openIncidents = append(openIncidents, in.ID)
		} else {
			endedIncidents = append(endedIncidents, in.ID)
		}
	}
	sort.Strings(openIncidents)
	sort.Strings(endedIncidents)
	if len(openIncidents) != 1 || len(endedIncidents) != 1 {
		t.Fatalf("the engine has %d open and %d ended incidents, want 1 and 1", len(openIncidents), len(endedIncidents))
	}
	exact := map[string][]string{
		c7.Deployment.Name:                {deployment},
		c7.ProcessInstanceCompleted.Name:  historyIDs(t, engine, "/history/process-instance?finished=true&processDefinitionKey="+key),
		c7.ActivityInstanceCompleted.Name: historyIDs(t, engine, "/history/activity-instance?finished=true&processDefinitionId="+def),
		c7.TaskInstanceCompleted.Name:     historyIDs(t, engine, "/history/task?finished=true&processDefinitionKey="+key),
		c7.VariableUpdate.Name:            historyIDs(t, engine, "/history/detail?variableUpdates=true&processInstanceIdIn="+strings.Join(instances, ",")),
		c7.IdentityLinkLog.Name:           historyIDs(t, engine, "/history/identity-link-log?processDefinitionKey="+key),
		c7.IncidentCompleted.Name:         endedIncidents,
	}
	atLeast := map[string][]string{
		c7.ProcessInstanceRunning.Name:  historyIDs(t, engine, "/history/process-instance?unfinished=true&processDefinitionKey="+key),
		c7.ActivityInstanceRunning.Name: historyIDs(t, engine, "/history/activity-instance?unfinished=true&processDefinitionId="+def),
		c7.TaskInstanceRunning.Name:     historyIDs(t, engine, "/history/task?unfinished=true&processDefinitionKey="+key),
		c7.IncidentOpen.Name:            openIncidents,
	}
	for kind, ids := range exact {
		if len(ids) == 0 {
			t.Fatalf("the engine lists no %s for the test's process: the scenario is broken", kind)
		}
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		stored := storedIDs(t, conn.JS, conn.Payloads, source, ours)
		for kind, want := range exact {
			if got := keys(stored[kind]); !slices.Equal(got, want) {
				return fmt.Errorf("%s: stored %v, the engine has %v", kind, got, want)
			}
		}
		for kind, want := range atLeast {
			for _, id := range want {
				if stored[kind][id] == 0 {
					return fmt.Errorf("%s: %s not stored (stored %v)", kind, id, keys(stored[kind]))
				}
			}
		}
		return nil
	})

	// Every kind's index is at its newest entity.
	kv, err := conn.JS.KeyValue(context.Background(), cfg.Engine.IndexBucket)
	if err != nil {
		t.Fatal(err)
	}
	client, err := c7.New(c7.Options{URL: engine})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []c7.Kind{c7.ActivityInstanceCompleted, c7.VariableUpdate, c7.Deployment} {
		all, err := client.After(context.Background(), kind, -1, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		newest := all.Entities[len(all.Entities)-1].Time
		testenv.Eventually(t, 10*time.Second, func() error {
			e, err := kv.Get(context.Background(), c7import.IndexKey(source, kind.Name))
			if err != nil {
				return err
			}
			var idx c7import.ImportIndex
			if err := json.Unmarshal(e.Value(), &idx); err != nil {
				return err
			}
			if idx.Time != newest || idx.CountAt < 1 {
				return fmt.Errorf("%s index %+v, want time %d (the newest entity's)", kind.Name, idx, newest)
			}
			return nil
		})
	}
}

// TestEntitiesSharingOneMillisecondAreAllImported: with the engine's clock
// stopped, 25 variables created at one instance's start share one
// millisecond, more than six pages of four: the import stores them all,
// although every page boundary falls among them. Then, the index standing
// at that millisecond, five more variables are created at it (as a
// transaction committing late would): the import stores them too, by
// fetching the entities at the index's timestamp again.
func TestEntitiesSharingOneMillisecondAreAllImported(t *testing.T) {
	engine := c7enginetest.Start(context.Background(), t, c7engine.Options{}).URL()
	frozen := time.Now().Add(-time.Hour).Truncate(time.Millisecond).UnixMilli()
	c7enginetest.SetClock(t, engine, frozen)
	defer c7enginetest.ResetClock(t, engine)
	c7enginetest.Deploy(t, engine, "burst", map[string][]byte{"burst.bpmn": c7enginetest.UserTaskBPMN("burst")})
	vars := map[string]any{}
	for i := range 25 {
		vars[fmt.Sprintf("v%02d", i)] = i
	}
	pi := c7enginetest.StartInstance(t, engine, "burst", vars)

	client, err := c7.New(c7.Options{URL: engine})
	if err != nil {
		t.Fatal(err)
	}
	at, err := client.At(context.Background(), c7.VariableUpdate, frozen, nil)
	if err != nil || len(at.Entities) != 25 {
		t.Fatalf("the engine has %d variable updates at the stopped clock (%v), want 25", len(at.Entities), err)
	}

	srv := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, srv)
	const pageSize = 4
	testenv.Run(t, c7import.New(importConfig(t, engine, srv, "burst", pageSize), testenv.Deps(t)))
	ofInstance := func(kind string, e map[string]any) bool {
		return kind == c7.VariableUpdate.Name && e["processInstanceId"] == pi
	}
	waitFor := func(want int) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, func() error {
			if got := storedIDs(t, conn.JS, conn.Payloads, "burst", ofInstance)[c7.VariableUpdate.Name]; len(got) != want {
				return fmt.Errorf("%d of the instance's %d variable updates stored", len(got), want)
			}
			return nil
		})
	}
	waitFor(25)

	for i := 25; i < 30; i++ {
		c7enginetest.Do(t, "PUT", engine, fmt.Sprintf("/process-instance/%s/variables/v%02d", pi, i), map[string]any{"value": i, "type": "Integer"}, nil)
	}
	waitFor(30)
}

// TestReplicasShareTheKinds: two replicas of the import of one engine
// share its entity kinds through leases (each holds some, none holds a
// kind the other holds), and between them store everything: every
// completed activity instance and every variable update of the test's
// orders, each kind's index moved by its one holder only.
func TestReplicasShareTheKinds(t *testing.T) {
	engine := c7enginetest.Shared(t)
	key := "share" + strings.ReplaceAll(testenv.IndexPrefix(t), "-", "")
	orders := c7enginetest.RunOrders(t, engine, key)
	srv := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, srv)
	source := "src-" + key
	var services []lifecycle.Service
	for _, replica := range []string{"replica-a", "replica-b"} {
		cfg := importConfig(t, engine, srv, source, 50)
		cfg.Lease.ReplicaID = replica
		services = append(services, c7import.New(cfg, testenv.Deps(t)))
	}
	testenv.Run(t, services...)

	var defs []struct{ ID string }
	c7enginetest.Get(t, engine, "/process-definition?key="+key, &defs)
	want := map[string][]string{
		c7.ActivityInstanceCompleted.Name: historyIDs(t, engine, "/history/activity-instance?finished=true&processDefinitionId="+defs[0].ID),
		c7.VariableUpdate.Name:            historyIDs(t, engine, "/history/detail?variableUpdates=true&processInstanceIdIn="+strings.Join(orders.All(), ",")),
	}
	ours := func(_ string, e map[string]any) bool { return e["processDefinitionKey"] == key }
	testenv.Eventually(t, 60*time.Second, func() error {
		stored := storedIDs(t, conn.JS, conn.Payloads, source, ours)
		for kind, ids := range want {
			if got := keys(stored[kind]); !slices.Equal(got, ids) {
				return fmt.Errorf("%s: stored %d of %d", kind, len(got), len(ids))
			}
		}
		return nil
	})
	leases, err := conn.JS.KeyValue(context.Background(), "flowline-c7-leases-"+source)
	if err != nil {
		t.Fatal(err)
	}
	holders := map[string]int{}
	for p := range c7.Kinds {
		e, err := leases.Get(context.Background(), fmt.Sprintf("partition.%d", p))
		if err != nil {
			t.Fatalf("lease of kind %s: %v", c7.Kinds[p].Name, err)
		}
		var v struct{ Replica string }
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			t.Fatal(err)
		}
		holders[v.Replica]++
	}
	if len(holders) != 2 || holders["replica-a"]+holders["replica-b"] != len(c7.Kinds) {
		t.Errorf("kinds held %v; want the %d kinds shared by both replicas", holders, len(c7.Kinds))
	}
}
