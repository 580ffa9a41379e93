package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The queries of deploy/: the dashboard's panels and the alert rules.
var (
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "flowline.json")
	rulesFile     = filepath.Join("..", "..", "deploy", "prometheus", "flowline-rules.yaml")
)

// kedaDir holds the KEDA component's ScaledObjects.
var kedaDir = filepath.Join("..", "..", "deploy", "k8s", "components", "keda")

// kedaConsumers returns the (stream, consumer) pairs the KEDA component's
// nats-jetstream triggers read the lag of, as "stream/consumer".
func kedaConsumers(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kedaDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", kedaDir, err)
	}
	var pairs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var so struct {
			Kind string
			Spec struct {
				Triggers []struct {
					Type     string
					Metadata map[string]string
				}
			}
		}
		if err := yaml.Unmarshal(b, &so); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tr := range so.Spec.Triggers {
			if tr.Type == "nats-jetstream" {
				pairs = append(pairs, tr.Metadata["stream"]+"/"+tr.Metadata["consumer"])
			}
		}
	}
	if len(pairs) == 0 {
		t.Fatalf("no nats-jetstream trigger in %s", kedaDir)
	}
	return pairs
}

// deployQueries returns every PromQL expression of the dashboard and the
// alert rules, each with where it is used.
func deployQueries(t *testing.T) map[string]string {
	t.Helper()
	queries := map[string]string{}
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries[tg.Expr] = "dashboard panel " + p.Title
		}
	}
	b, err = os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			queries[r.Expr] = "alert " + r.Alert
		}
	}
	if len(queries) < 10 {
		t.Fatalf("only %d queries found in the dashboard and the rules", len(queries))
	}
	return queries
}

// selector is one metric a query selects: a name, or a regular expression
// on __name__.
type selector struct {
	name  string
	regex *regexp.Regexp
}

func (s selector) String() string {
	if s.regex != nil {
		return `{__name__=~"` + s.regex.String() + `"}`
	}
	return s.name
}

// matches says whether the selector selects metric name.
func (s selector) matches(name string) bool {
	if s.regex != nil {
		return s.regex.MatchString(name)
	}
	return s.name == name
}

var (
	promString    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRange     = regexp.MustCompile(`\[[^\]]*\]`)
	promNameRegex = regexp.MustCompile(`__name__\s*=~\s*"((?:[^"\\]|\\.)*)"`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords  = []string{"and", "or", "unless", "offset", "bool", "le", "inf", "nan"}
)

// selectors returns the metric selectors of a PromQL expression: the
// identifiers that are neither functions (followed by "("), keywords,
// grouping labels, label matchers, ranges nor strings; and the __name__
// regular expressions of matchers.
func selectors(t *testing.T, expr string) []selector {
	t.Helper()
	var out []selector
	for _, m := range promNameRegex.FindAllStringSubmatch(expr, -1) {
		re, err := regexp.Compile("^(?:" + m[1] + ")$")
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		out = append(out, selector{regex: re})
	}
	s := promMatchers.ReplaceAllString(expr, " ")
	s = promString.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || slices.Contains(promKeywords, strings.ToLower(word)) {
			continue
		}
		if loc[0] > 0 && s[loc[0]-1] == '$' { // $__rate_interval and other Grafana variables
			continue
		}
		out = append(out, selector{name: word})
	}
	return out
}

// TestSelectorsOfAQuery: the extraction the observability tests rely on.
func TestSelectorsOfAQuery(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (partition) (rate(flowline_aggregator_records_total[$__rate_interval]))`:                    "flowline_aggregator_records_total",
		`histogram_quantile(0.99, sum by (partition, le) (rate(flowline_writer_lag_seconds_bucket[5m])))`:   "flowline_writer_lag_seconds_bucket",
		`max by (service) (flowline_lease_partitions) > sum by (service) (flowline_lease_partitions_owned)`: "flowline_lease_partitions flowline_lease_partitions_owned",
		`flowline_ready == 0`: "flowline_ready",
		`sum by (__name__) (rate({__name__=~"flowline_.+_errors_total"}[1m]))`:                 `{__name__=~"^(?:flowline_.+_errors_total)$"}`,
		`max(x) > 10000 and max(deriv(y{job="a"}[30m])) > 0`:                                   "x y",
		`sum by (job) (rate(process_cpu_seconds_total{job=~"flowline-.+"}[$__rate_interval]))`: "process_cpu_seconds_total",
	} {
		var got []string
		for _, s := range selectors(t, expr) {
			got = append(got, s.String())
		}
		if strings.Join(got, " ") != want {
			t.Errorf("selectors(%s) = %v, want %s", expr, got, want)
		}
	}
}
