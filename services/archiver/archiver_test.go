package archiver_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/archiver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The must-show test of issue 5: 1,000 completed and 200 running instances
// with all their documents; afterwards the runtime indices hold exactly the
// running ones, the dated indices exactly the completed ones (identical
// documents, in the index of their end date's day), and the aliases all.
func TestArchivesCompletedInstancesWithAllTheirDocuments(t *testing.T) {
	env := testenv.NewEnv(t)

	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) { c.BatchSize = 300 })
	stop := testenv.Run(t, a) // installs the templates
	fx := archivertest.NewFixture(env.Prefix, 3, 1000, 200, time.Now(), 58*time.Hour)
	fx.Index(t, env.ES)

	testenv.Eventually(t, 60*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n < 1000 {
			return fmt.Errorf("%v instances archived", n)
		}
		return nil
	})
	stop()
	if err := fx.Check(t, env.ES, archiver.Day, nil); err != nil {
		t.Fatal(err)
	}
	if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n != 1000 {
		t.Errorf("flowline_archiver_instances_total = %v, want 1000", n)
	}
	if n, want := testenv.Metric(t, reg, "flowline_archiver_documents_total", nil), float64(fx.Count()*1000/1200); n != want {
		t.Errorf("flowline_archiver_documents_total = %v, want %v", n, want)
	}
	if n := testenv.Metric(t, reg, "flowline_archiver_backlog", nil); n != 0 {
		t.Errorf("flowline_archiver_backlog = %v after archiving everything", n)
	}
	if n := testenv.Metric(t, reg, "flowline_archiver_batch_seconds", nil); n < 4 {
		t.Errorf("%v batches observed, want at least 4 (1000 instances in batches of 300)", n)
	}
	if n := testenv.Metric(t, reg, "flowline_archiver_errors_total", nil); n != 0 {
		t.Errorf("flowline_archiver_errors_total = %v", n)
	}

	// A second run finds nothing to do and changes nothing.
	a2, reg2 := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, nil)
	stop = testenv.Run(t, a2)
	time.Sleep(500 * time.Millisecond)
	stop()
	if n := testenv.Metric(t, reg2, "flowline_archiver_instances_total", nil); n != 0 {
		t.Errorf("second run archived %v instances", n)
	}
	if err := fx.Check(t, env.ES, archiver.Day, nil); err != nil {
		t.Fatal(err)
	}
}

// Instances that ended less than the wait period ago stay.
func TestWaitPeriodIsRespected(t *testing.T) {
	env := testenv.NewEnv(t)

	// The fixture's instances ended 2 h to 60 h ago: with a 30 h wait, the
	// younger half stays.
	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) { c.WaitPeriod = config.Duration(30 * time.Hour) })
	stop := testenv.Run(t, a)
	now := time.Now()
	fx := archivertest.NewFixture(env.Prefix, 1, 100, 10, now, 58*time.Hour)
	fx.Index(t, env.ES)
	stay := map[int64]bool{}
	for _, k := range fx.Completed {
		if fx.Ends[k].After(now.Add(-30*time.Hour - time.Minute)) {
			stay[k] = true
		}
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n < float64(100-len(stay)) {
			return fmt.Errorf("%v instances archived", n)
		}
		return nil
	})
	stop()
	if len(stay) < 30 || len(stay) > 70 {
		t.Fatalf("fixture: %d of 100 instances ended within 30 h", len(stay))
	}
	if err := fx.Check(t, env.ES, archiver.Day, stay); err != nil {
		t.Fatal(err)
	}
}

// Retention deletes dated indices whose period ended before it, and only
// those. On Elasticsearch and on OpenSearch, neither of which has a lifecycle
// manager here (no ILM, no ISM plugin), the archiver deletes them itself.
func TestRetentionDeletesExpiredDatedIndices(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(string(engine), func(t *testing.T) { retentionDeletesExpiredDatedIndices(t, engine) })
	}
}

func retentionDeletesExpiredDatedIndices(t *testing.T, engine config.Engine) {
	env := testenv.NewEnvOn(t, engine)

	now := time.Now().UTC()
	lv := schema.RuntimeIndex(env.Prefix, schema.ListView)
	job := schema.RuntimeIndex(env.Prefix, schema.Job)
	old := []string{lv + archiver.Day.Suffix(now.AddDate(0, 0, -40)), job + archiver.Day.Suffix(now.AddDate(0, 0, -31))}
	kept := []string{lv + archiver.Day.Suffix(now.AddDate(0, 0, -29)), job + archiver.Day.Suffix(now), lv}
	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) {
		c.Retention = archiver.Retention(30 * 24 * time.Hour)
		c.RetentionILM = "flowline-retention" // this cluster has no ILM or ISM: the archiver deletes itself
	})
	// The templates must exist before the indices are made.
	setup, _ := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, nil)
	testenv.Run(t, setup)()
	for _, name := range append(append([]string{}, old...), kept[:2]...) {
		createIndex(t, env.ES, name)
	}
	stop := testenv.Run(t, a)
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_retention_deleted_indices_total", nil); n < 2 {
			return fmt.Errorf("%v indices deleted", n)
		}
		return nil
	})
	stop()
	for _, name := range old {
		if exists(t, env.ES, name) {
			t.Errorf("%s (expired) still exists", name)
		}
	}
	for _, name := range kept {
		if !exists(t, env.ES, name) {
			t.Errorf("%s was deleted", name)
		}
	}
}

// createIndex creates index (its mappings and alias come from the matching
// template); it must not exist yet.
func createIndex(t testing.TB, es *search.Client, index string) {
	t.Helper()
	if _, err := es.Do(context.Background(), search.Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index), What: "create index " + index}); err != nil {
		t.Fatalf("create %s: %v", index, err)
	}
}

func exists(t testing.TB, es *search.Client, index string) bool {
	t.Helper()
	_, err := es.Do(context.Background(), search.Request{Method: http.MethodHead, Path: "/" + url.PathEscape(index), What: "index exists " + index})
	var se *search.StatusError
	switch {
	case err == nil:
		return true
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return false
	}
	t.Fatal(err)
	return false
}
