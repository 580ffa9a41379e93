package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
)

// devEnv is the environment of a `flowline dev` of a test: its own data
// directory, free ports, the test's Elasticsearch and index prefix, and a
// short archiving wait so that the archiver has work.
func devEnv(t *testing.T) []string {
	_, esCfg := testenv.Elasticsearch(t)
	prefix := testenv.IndexPrefix(t)
	return append(os.Environ(),
		"FLOWLINE_DATA_DIR="+t.TempDir(), "FLOWLINE_DEV_NATS_PORT=0",
		"FLOWLINE_ADMIN_ADDR=127.0.0.1:0", "FLOWLINE_INGEST_ADDR=127.0.0.1:0",
		"FLOWLINE_ES_URL="+esCfg.ES.URL, "FLOWLINE_INDEX_PREFIX="+prefix,
		"FLOWLINE_ARCHIVER_WAIT_PERIOD=1s", "FLOWLINE_ARCHIVER_SWEEP_INTERVAL=2s",
		"FLOWLINE_LOG_LEVEL=info")
}

// startDev starts `flowline dev` (devEnv) with a realistic workload of
// instances process instances and returns it with its admin address.
func startDev(t *testing.T, instances int) (*testenv.Child, string) {
	dev := testenv.StartFlowline(t, devEnv(t), "dev", "--workload", "realistic", "--instances", strconv.Itoa(instances))
	var addr string
	testenv.Eventually(t, 60*time.Second, func() (err error) {
		addr, err = dev.AdminAddr()
		return err
	})
	return dev, addr
}

// scrape returns the body of a 200 answer to GET url.
func scrape(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s %v", url, res.Status, err)
	}
	return string(body), nil
}

// metricName is the name of a sample line of the text format.
var metricName = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// scrapeNames returns the metric names (samples' names: a histogram's
// _bucket, _sum, _count) exposed at url.
func scrapeNames(url string) (map[string]bool, error) {
	body, err := scrape(url)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if m := metricName.FindString(line); m != "" && !strings.HasPrefix(line, "#") {
			names[m] = true
		}
	}
	return names, nil
}

// TestEveryMetricTheDashboardAndAlertsQueryExists: `flowline dev` (every
// service in one process) runs a workload; its /metrics then exposes every
// metric the Grafana dashboard and the alert rules of deploy/ select, so
// that none of them is a query of a metric that no longer exists (or
// never did).
func TestEveryMetricTheDashboardAndAlertsQueryExists(t *testing.T) {
	queries := deployQueries(t)
	dev, addr := startDev(t, 20)
	// Documents written and instances archived: the workload went through.
	testenv.Eventually(t, 3*time.Minute, func() error {
		for _, m := range []string{"flowline_writer_bulk_requests_total", "flowline_archiver_instances_total"} {
			if v, err := dev.Metric(m, nil); err != nil || v == 0 {
				return fmt.Errorf("%s = %v (%v)", m, v, err)
			}
		}
		return nil
	})
	var missing []string
	testenv.Eventually(t, 30*time.Second, func() error {
		names, err := scrapeNames("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		missing = missing[:0]
		for expr, where := range queries {
			for _, s := range selectors(t, expr) {
				found := false
				for n := range names {
					if s.matches(n) && (strings.HasPrefix(n, "flowline_") || strings.HasPrefix(n, "process_")) {
						found = true
						break
					}
				}
				if !found {
					missing = append(missing, fmt.Sprintf("%s (%s: %s)", s, where, expr))
				}
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return fmt.Errorf("not exposed by flowline dev:\n%s", strings.Join(missing, "\n"))
		}
		return nil
	})

	// The consumers KEDA scales on are the ones the services read: each
	// has its series in the stream state the stack reports.
	want := kedaConsumers(t)
	testenv.Eventually(t, 30*time.Second, func() error {
		have, err := consumerSeries("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		var absent []string
		for _, c := range want {
			if !have[c] {
				absent = append(absent, c)
			}
		}
		if len(absent) > 0 {
			return fmt.Errorf("KEDA triggers read consumers the stack does not have: %v (it has %v)", absent, have)
		}
		return nil
	})
}

// consumerSample matches a flowline_consumer_pending_messages sample.
var consumerSample = regexp.MustCompile(`^flowline_consumer_pending_messages\{([^}]*)\}`)

// consumerSeries returns the consumers, as "stream/consumer", that the
// /metrics at url reports flowline_consumer_pending_messages of.
func consumerSeries(url string) (map[string]bool, error) {
	body, err := scrape(url)
	if err != nil {
		return nil, err
	}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	have := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		m := consumerSample.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range label.FindAllStringSubmatch(m[1], -1) {
			l[kv[1]] = kv[2]
		}
		have[l["stream"]+"/"+l["consumer"]] = true
	}
	return have, nil
}
