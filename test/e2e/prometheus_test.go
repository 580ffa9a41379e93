package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
)

// prometheusTools returns the paths of prometheus and promtool (Debian's
// prometheus package, which scripts/test.sh installs).
func prometheusTools(t *testing.T) (prometheus, promtool string) {
	t.Helper()
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is not installed: scripts/test.sh installs it (apt-get install prometheus): %v", name, err)
		}
		return p
	}
	return look("prometheus"), look("promtool")
}

// TestAlertRulesPassPromtool: the rules file is valid and every alert's
// unit tests (firing and not firing) pass, as promtool judges them.
func TestAlertRulesPassPromtool(t *testing.T) {
	_, promtool := prometheusTools(t)
	dir := filepath.Dir(rulesFile)
	for _, args := range [][]string{{"check", "rules", "flowline-rules.yaml"}, {"test", "rules", "flowline-rules.test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert has unit tests.
	tests, err := os.ReadFile(filepath.Join(dir, "flowline-rules.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for expr, where := range deployQueries(t) {
		if name, ok := strings.CutPrefix(where, "alert "); ok && !strings.Contains(string(tests), "alertname: "+name+"\n") {
			t.Errorf("alert %s (%s) has no unit test", name, expr)
		}
	}
}

// promQuery runs an instant query against Prometheus' HTTP API and returns
// how many series it answered.
func promQuery(base, expr string) (int, error) {
	res, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []json.RawMessage
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("%s: %s", expr, body.Error)
	}
	return len(body.Data.Result), nil
}

// freePort returns a loopback address with a free port.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPrometheusScrapesFlowlineAndEverySelectorHasSeries: a real
// Prometheus scrapes `flowline dev` under a workload with the alert rules
// loaded: the rules are healthy, every metric selector of the dashboard
// and the alerts returns series, and every dashboard query evaluates.
// With FLOWLINE_TEST_SCREENSHOT=FILE, headless Chromium also takes a PNG
// of Prometheus' graph of the end-to-end lag per partition (the README's
// picture, docs/img/prometheus-lag.png).
func TestPrometheusScrapesFlowlineAndEverySelectorHasSeries(t *testing.T) {
	prometheus, _ := prometheusTools(t)
	queries := deployQueries(t)
	dev, admin := startDev(t, 40)

	dir := t.TempDir()
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: flowline-dev
    static_configs:
      - targets: [%q]
`, rules, admin)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	prom := exec.CommandContext(ctx, prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen)
	var promOut testenv.Buffer
	prom.Stdout, prom.Stderr = &promOut, &promOut
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", promOut.String())
		}
	})
	base := "http://" + listen

	testenv.Eventually(t, 60*time.Second, func() error {
		n, err := promQuery(base, `up{job="flowline-dev"} == 1`)
		if err != nil || n != 1 {
			return fmt.Errorf("flowline dev not scraped yet: %d series, %v", n, err)
		}
		return nil
	})
	// The workload has gone through: documents written, instances archived.
	testenv.Eventually(t, 3*time.Minute, func() error {
		for _, q := range []string{"flowline_writer_bulk_requests_total > 0", "flowline_archiver_instances_total > 0"} {
			if n, err := promQuery(base, q); err != nil || n == 0 {
				return fmt.Errorf("%s: %d series, %v", q, n, err)
			}
		}
		return nil
	})

	// The rules are loaded and evaluate without error.
	res, err := http.Get(base + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var rulesAnswer struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Health, LastError string }
			}
		}
	}
	err = json.NewDecoder(res.Body).Decode(&rulesAnswer)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range rulesAnswer.Data.Groups {
		for _, r := range g.Rules {
			loaded++
			if r.Health != "ok" && r.Health != "unknown" {
				t.Errorf("rule %s: health %s: %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if loaded < 5 {
		t.Errorf("%d rules loaded, want the 5 alerts", loaded)
	}

	// Every selector has series; every dashboard query evaluates.
	testenv.Eventually(t, 30*time.Second, func() error {
		var problems []string
		for expr, where := range queries {
			for _, s := range selectors(t, expr) {
				if n, err := promQuery(base, s.String()); err != nil || n == 0 {
					problems = append(problems, fmt.Sprintf("%s (%s): %d series, %v", s, where, n, err))
				}
			}
			q := strings.ReplaceAll(expr, "$__rate_interval", "1m")
			if _, err := promQuery(base, q); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			}
		}
		if len(problems) > 0 {
			sort.Strings(problems)
			return fmt.Errorf("%s", strings.Join(problems, "\n"))
		}
		return nil
	})

	if shot, ok := config.Lookup("TEST_SCREENSHOT"); ok && shot != "" {
		// A workload spread over a couple of minutes, for a graph to show,
		// stamped when sent (--live) so that the lag is the pipeline's.
		m := regexp.MustCompile(`push records to (http://\S+/v1/records)`).FindStringSubmatch(dev.Output())
		if m == nil {
			t.Fatalf("flowline dev did not print its push URL:\n%s", dev.Output())
		}
		// The graph shows the live workload only, from shortly after its
		// start: dev's own workload before it carries the simulated clock.
		liveFrom := time.Now().Add(20 * time.Second)
		gen := testenv.StartFlowline(t, os.Environ(), "generate", "--workload", "realistic", "--instances", "300", "--partitions", "3",
			"--rate", "300", "--seed", "5", "--live", "--ingest", m[1])
		testenv.Eventually(t, 5*time.Minute, func() error {
			if gen.Running() == nil {
				return errors.New("generate still running")
			}
			return nil
		})
		time.Sleep(20 * time.Second) // the last records written and scraped
		screenshot(t, base, shot, time.Since(liveFrom))
	}
}

// screenshot saves a PNG of Prometheus' graph of the end-to-end lag per
// partition over the last span, taken by headless Chromium.
func screenshot(t *testing.T, base, file string, span time.Duration) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("FLOWLINE_TEST_SCREENSHOT needs chromium (apt-get install chromium): %v", err)
	}
	expr := `histogram_quantile(0.99, sum by (partition, le) (rate(flowline_writer_lag_seconds_bucket[20s])))`
	page := base + "/graph?g0.expr=" + url.QueryEscape(expr) + "&g0.tab=0&g0.range_input=" + fmt.Sprintf("%ds", int(span.Seconds())) + "&g0.stacked=0&g0.show_exemplars=0"
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1400,900", "--virtual-time-budget=15000", "--screenshot="+abs, page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	t.Logf("screenshot of %s in %s", page, abs)
}
