package archiver_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/services/archiver"
)

// Dated indices made while the rollover was weekly are named after their
// week's Monday, like a daily index of that Monday. After the rollover
// became daily, retention still counts such an index until its week ended:
// the weekly index whose week ended before the retention limit is deleted,
// the one whose week ends after it stays (counted as a day, it would be
// deleted up to six days early).
func TestRetentionKeepsAWeeklyIndexUntilItsWeekEndedAfterTheRolloverBecameDaily(t *testing.T) {
	env := testenv.NewEnv(t)

	now := time.Now().UTC()
	monday := archiver.Week.Start(now.AddDate(0, 0, -40))
	// The retention limit falls in the middle of that week.
	retention := now.Sub(monday.Add(84 * time.Hour))
	// The list-view family is judged first, so once the job index is
	// deleted, the list-view index has been judged too.
	expired := schema.RuntimeIndex(env.Prefix, schema.Job) + archiver.Week.Suffix(monday.AddDate(0, 0, -7))
	current := schema.RuntimeIndex(env.Prefix, schema.ListView) + archiver.Week.Suffix(monday)

	setup, _ := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) { c.Rollover = archiver.Week })
	testenv.Run(t, setup)() // the templates must exist before the indices are made
	for _, name := range []string{expired, current} {
		createIndex(t, env.ES, name)
	}

	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) {
		c.Rollover = archiver.Day
		c.Retention = archiver.Retention(retention)
	})
	stop := testenv.Run(t, a)
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_retention_deleted_indices_total", nil); n < 1 {
			return fmt.Errorf("%v indices deleted", n)
		}
		return nil
	})
	stop()
	if exists(t, env.ES, expired) {
		t.Errorf("%s (its week ended before the retention limit) still exists", expired)
	}
	if !exists(t, env.ES, current) {
		t.Errorf("%s was deleted although its week ends after the retention limit", current)
	}
}
