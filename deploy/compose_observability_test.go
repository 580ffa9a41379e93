package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	composetypes "github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// mountedConfig returns the host file compose mounts into svc at target
// (a config or a bind mount), "" when none is.
func mountedConfig(proj *composetypes.Project, svc composetypes.ServiceConfig, target string) string {
	for _, c := range svc.Configs {
		if c.Target == target {
			if cfg, ok := proj.Configs[c.Source]; ok {
				return cfg.File
			}
		}
	}
	for _, v := range svc.Volumes {
		if v.Type == composetypes.VolumeTypeBind && v.Target == target {
			return v.Source
		}
	}
	return ""
}

// readYAML reads a YAML file into v (through JSON, as Kubernetes does).
func readYAML(p *problems, where, file string, v any) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		p.addf("%s: %v", where, err)
		return false
	}
	if err := unmarshalStrict(b, v); err != nil {
		p.addf("%s: %s: %v", where, file, err)
		return false
	}
	return true
}

// checkComposeObservability checks compose's eyes: Prometheus scrapes
// every Flowline service's admin port (a job flowline-<service> each) and
// NATS through its exporter, with the alert rules of deploy/prometheus
// loaded; Grafana has the Prometheus data source and the dashboard of
// deploy/grafana; the collector sends traces to Jaeger.
func checkComposeObservability(t testing.TB, p *problems, proj *composetypes.Project, flowline []string) {
	t.Helper()
	admin := adminPort(t)

	prom, ok := proj.Services["prometheus"]
	if ok {
		file := mountedConfig(proj, prom, "/etc/prometheus/prometheus.yml")
		var conf struct {
			Global        map[string]any `json:"global"`
			RuleFiles     []string       `json:"rule_files"`
			ScrapeConfigs []struct {
				JobName       string `json:"job_name"`
				StaticConfigs []struct {
					Targets []string `json:"targets"`
				} `json:"static_configs"`
			} `json:"scrape_configs"`
		}
		if file == "" {
			p.addf("compose service prometheus: no configuration mounted at /etc/prometheus/prometheus.yml")
		} else if readYAML(p, "compose service prometheus", file, &conf) {
			targets := map[string][]string{}
			for _, sc := range conf.ScrapeConfigs {
				for _, s := range sc.StaticConfigs {
					targets[sc.JobName] = append(targets[sc.JobName], s.Targets...)
				}
			}
			for _, name := range flowline {
				want := name + ":" + itoa(admin)
				if !slices.Contains(targets["flowline-"+name], want) {
					p.addf("compose service prometheus: %s is not scraped (a job flowline-%s with target %s)", name, name, want)
				}
			}
			if !slices.Contains(targets["nats"], "nats-exporter:7777") {
				p.addf("compose service prometheus: NATS is not scraped through nats-exporter:7777")
			}
			rules := ""
			for _, r := range conf.RuleFiles {
				if host := mountedConfig(proj, prom, r); host != "" {
					rules = host
				}
			}
			if want := filepath.Join(repoRootOf(file), "deploy", "prometheus", "flowline-rules.yaml"); filepath.Clean(rules) != want {
				p.addf("compose service prometheus: the rule files %v are not deploy/prometheus/flowline-rules.yaml mounted (got %q)", conf.RuleFiles, rules)
			}
		}
	}

	if exp, ok := proj.Services["nats-exporter"]; ok {
		if !slices.Contains(exp.Command, "http://nats:8222") || !slices.Contains(exp.Command, "-jsz=all") {
			p.addf("compose service nats-exporter: command %v does not read JetStream (-jsz=all) from NATS's monitoring port http://nats:8222", []string(exp.Command))
		}
	}

	if g, ok := proj.Services["grafana"]; ok {
		var ds struct {
			APIVersion  int `json:"apiVersion"`
			Datasources []struct {
				Name      string `json:"name"`
				UID       string `json:"uid"`
				Type      string `json:"type"`
				Access    string `json:"access"`
				URL       string `json:"url"`
				IsDefault bool   `json:"isDefault"`
			} `json:"datasources"`
		}
		file := mountedConfig(proj, g, "/etc/grafana/provisioning/datasources/prometheus.yaml")
		if file == "" || !readYAML(p, "compose service grafana", file, &ds) || len(ds.Datasources) != 1 ||
			ds.Datasources[0].URL != "http://prometheus:9090" || ds.Datasources[0].Type != "prometheus" {
			p.addf("compose service grafana: no Prometheus data source at http://prometheus:9090 provisioned (%s: %+v)", file, ds.Datasources)
		}
		var dp struct {
			APIVersion int `json:"apiVersion"`
			Providers  []struct {
				Name           string            `json:"name"`
				Type           string            `json:"type"`
				AllowUIUpdates bool              `json:"allowUiUpdates"`
				Options        map[string]string `json:"options"`
			} `json:"providers"`
		}
		file = mountedConfig(proj, g, "/etc/grafana/provisioning/dashboards/flowline.yaml")
		path := ""
		if file != "" && readYAML(p, "compose service grafana", file, &dp) && len(dp.Providers) == 1 {
			path = dp.Providers[0].Options["path"]
		}
		dash := mountedConfig(proj, g, path+"/flowline.json")
		if path == "" || filepath.Clean(dash) != filepath.Join(repoRootOf(file), "deploy", "grafana", "flowline.json") {
			p.addf("compose service grafana: the dashboard deploy/grafana/flowline.json is not provisioned (provider path %q, mounted there: %q)", path, dash)
		} else if b, err := os.ReadFile(dash); err != nil || !json.Valid(b) {
			p.addf("compose service grafana: the dashboard %s is not JSON: %v", dash, err)
		}
	}

	if c, ok := proj.Services["otel-collector"]; ok {
		var conf struct {
			Exporters map[string]struct {
				Endpoint string `json:"endpoint"`
			} `json:"exporters"`
			Service struct {
				Pipelines map[string]struct {
					Receivers, Processors, Exporters []string
				} `json:"pipelines"`
			} `json:"service"`
		}
		file := mountedConfig(proj, c, "/etc/otelcol/config.yaml")
		toJaeger := false
		if file != "" {
			// The collector's own keys (receivers, processors) are not all
			// modelled here: read leniently.
			if b, err := os.ReadFile(file); err == nil && yaml.Unmarshal(b, &conf) == nil {
				for _, e := range conf.Service.Pipelines["traces"].Exporters {
					if strings.HasPrefix(conf.Exporters[e].Endpoint, "jaeger:4317") {
						toJaeger = true
					}
				}
			}
		}
		if !toJaeger {
			p.addf("compose service otel-collector: its traces pipeline (%s) exports nowhere near jaeger:4317", file)
		}
		if j, ok := proj.Services["jaeger"]; !ok || envValues(j.Environment)["COLLECTOR_OTLP_ENABLED"] != "true" {
			p.addf("compose service jaeger: does not take OTLP (COLLECTOR_OTLP_ENABLED=true)")
		}
	}
}

// checkComposeDemo checks the demo profile: flowline generate pushing to
// ingest once ingest is healthy, with ingest's token.
func checkComposeDemo(p *problems, proj *composetypes.Project, shell map[string]string) {
	svc, ok := proj.Services[demoService]
	if !ok {
		return
	}
	cmd := []string(svc.Command)
	if svc.Image != image || len(cmd) == 0 || cmd[0] != "generate" {
		p.addf("compose service demo: runs %s %v, want %s generate ...", svc.Image, cmd, image)
	}
	if i := slices.Index(cmd, "--ingest"); i < 0 || i+1 >= len(cmd) || (cmd[i+1] != "http://ingest:8080" && cmd[i+1] != "http://ingest:8080/v1/records") {
		p.addf("compose service demo: command %v does not push to ingest (--ingest http://ingest:8080)", cmd)
	}
	if d, ok := svc.DependsOn["ingest"]; !ok || d.Condition != composetypes.ServiceConditionHealthy {
		p.addf("compose service demo: does not wait for ingest to be healthy")
	}
	if _, ok := envValues(svc.Environment)["FLOWLINE_INGEST_TOKEN"]; !ok {
		p.addf("compose service demo: FLOWLINE_INGEST_TOKEN is not passed (ingest may require it)")
	}
	_ = shell
}

// repoRootOf is the repository root of a file under <root>/deploy/...
func repoRootOf(file string) string {
	dir := filepath.Dir(file)
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if filepath.Base(d) == "deploy" {
			return filepath.Dir(d)
		}
	}
	return dir
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
