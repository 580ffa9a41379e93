package deploy_test

// The Kubernetes add-ons around the base: the KEDA and monitoring
// components, the production overlay and what it runs against (values for
// the official NATS chart, an ECK Elasticsearch). Each is decoded strictly
// into the real API types (KEDA's, the Prometheus Operator's, ECK's), and
// its wiring is checked against the binary and the base: consumer names,
// ports, the alert rules Prometheus loads, service names, versions.

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	eckv1 "github.com/elastic/cloud-on-k8s/v3/pkg/apis/elasticsearch/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/stream"
)

// Paths below deploy/k8s.
const (
	kedaComponent       = "components/keda"
	monitoringComponent = "components/monitoring"
	productionOverlay   = "overlays/production"
	natsValuesFile      = "overlays/production/nats-values.yaml"
	eckFile             = "overlays/production/elasticsearch.yaml"
)

// rulesFile holds the alert rules compose's Prometheus loads and promtool
// tests; the monitoring component's PrometheusRule carries the same groups.
const rulesFile = "prometheus/flowline-rules.yaml"

// The NATS the production overlay and the KEDA triggers expect: the official
// chart installed as release natsRelease in namespace natsNamespace (its
// client service <release>, its headless service <release>-headless).
const (
	natsRelease    = "nats"
	natsNamespace  = "nats"
	natsClientPort = 4222
)

// scalable are the services with a ScaledObject in the KEDA component: the
// two that work off a consumer's backlog, and ingest on CPU.
var scalable = []string{"ingest", "aggregator", "writer"}

// natsChartValues are the keys of the official NATS chart's values.yaml
// (nats-io/k8s, chart 1.x) that nats-values.yaml sets, with the chart's
// names: a key the chart does not have fails the strict decoding.
type natsChartValues struct {
	Config struct {
		Cluster struct {
			Enabled  bool `json:"enabled"`
			Replicas int  `json:"replicas"`
		} `json:"cluster"`
		JetStream struct {
			Enabled   bool `json:"enabled"`
			FileStore struct {
				Enabled bool   `json:"enabled"`
				Dir     string `json:"dir"`
				MaxSize string `json:"maxSize"`
				PVC     struct {
					Enabled bool   `json:"enabled"`
					Size    string `json:"size"`
				} `json:"pvc"`
			} `json:"fileStore"`
			MemoryStore struct {
				Enabled bool `json:"enabled"`
			} `json:"memoryStore"`
		} `json:"jetstream"`
		Monitor struct {
			Enabled bool  `json:"enabled"`
			Port    int32 `json:"port"`
		} `json:"monitor"`
	} `json:"config"`
	Container struct {
		Image struct {
			Tag string `json:"tag"`
		} `json:"image"`
		Env   map[string]string `json:"env"`
		Merge struct {
			Resources corev1.ResourceRequirements `json:"resources"`
		} `json:"merge"`
	} `json:"container"`
	PodTemplate struct {
		TopologySpreadConstraints map[string]struct {
			MaxSkew           int    `json:"maxSkew"`
			WhenUnsatisfiable string `json:"whenUnsatisfiable"`
		} `json:"topologySpreadConstraints"`
	} `json:"podTemplate"`
	PodDisruptionBudget struct {
		Enabled bool `json:"enabled"`
	} `json:"podDisruptionBudget"`
	PromExporter struct {
		Enabled    bool  `json:"enabled"`
		Port       int32 `json:"port"`
		PodMonitor struct {
			Enabled bool `json:"enabled"`
		} `json:"podMonitor"`
	} `json:"promExporter"`
}

// loadNATSValues strictly decodes the NATS chart values and checks the
// cluster they describe.
func loadNATSValues(t testing.TB, p *problems, file string) natsChartValues {
	var v natsChartValues
	b, err := os.ReadFile(file)
	if err != nil {
		p.addf("%v", err)
		return v
	}
	if err := unmarshalStrict(b, &v); err != nil {
		p.addf("%s: %v", file, err)
		return v
	}
	where := filepath.Base(file)
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas != 3 {
		p.addf("%s: a cluster of 3 servers (config.cluster), got enabled %v with %d", where, c.Cluster.Enabled, c.Cluster.Replicas)
	}
	if !c.JetStream.Enabled || !c.JetStream.FileStore.Enabled || !c.JetStream.FileStore.PVC.Enabled {
		p.addf("%s: JetStream with its file store on a persistent volume (config.jetstream.fileStore.pvc)", where)
	}
	size, err := resource.ParseQuantity(c.JetStream.FileStore.PVC.Size)
	if err != nil || size.Sign() <= 0 {
		p.addf("%s: the file store volume size %q: %v", where, c.JetStream.FileStore.PVC.Size, err)
	}
	if limit, err := resource.ParseQuantity(c.JetStream.FileStore.MaxSize); err != nil || limit.Sign() <= 0 || limit.Cmp(size) >= 0 {
		p.addf("%s: the file store's maxSize %q must be under the volume's size %s", where, c.JetStream.FileStore.MaxSize, size.String())
	}
	if server := "v" + strings.TrimSuffix(v.Container.Image.Tag, "-alpine"); server != moduleVersion(t, "github.com/nats-io/nats-server/v2") {
		p.addf("%s: container.image.tag %q, want the nats-server release the tests run, %s", where, v.Container.Image.Tag, moduleVersion(t, "github.com/nats-io/nats-server/v2"))
	}
	if !c.Monitor.Enabled || c.Monitor.Port <= 0 {
		p.addf("%s: the monitoring port (config.monitor) must be on: KEDA reads consumer lag from it", where)
	}
	if !v.PromExporter.Enabled || !v.PromExporter.PodMonitor.Enabled {
		p.addf("%s: the exporter (promExporter) and its PodMonitor feed the dashboard's NATS panels", where)
	}
	if tsc, ok := v.PodTemplate.TopologySpreadConstraints["kubernetes.io/hostname"]; !ok || tsc.MaxSkew != 1 {
		p.addf("%s: one server per node (podTemplate.topologySpreadConstraints on kubernetes.io/hostname, maxSkew 1)", where)
	}
	if !v.PodDisruptionBudget.Enabled {
		p.addf("%s: a PodDisruptionBudget keeps a quorum through drains", where)
	}
	limit, ok := v.Container.Merge.Resources.Limits[corev1.ResourceMemory]
	gml, err := config.ParseBytes(v.Container.Env["GOMEMLIMIT"])
	switch {
	case !ok:
		p.addf("%s: no memory limit (container.merge.resources.limits)", where)
	case err != nil || gml <= 0 || gml >= limit.Value():
		p.addf("%s: GOMEMLIMIT %q must be under the memory limit %s", where, v.Container.Env["GOMEMLIMIT"], limit.String())
	}
	return v
}

// loadECK strictly decodes the example ECK Elasticsearch and checks it.
func loadECK(p *problems, file string) *eckv1.Elasticsearch {
	es := &eckv1.Elasticsearch{}
	b, err := os.ReadFile(file)
	if err != nil {
		p.addf("%v", err)
		return es
	}
	if err := unmarshalStrict(b, es); err != nil {
		p.addf("%s: %v", file, err)
		return es
	}
	where := filepath.Base(file)
	if es.APIVersion != eckv1.GroupVersion.String() || es.Kind != eckv1.Kind {
		p.addf("%s: %s %s, want %s %s", where, es.APIVersion, es.Kind, eckv1.GroupVersion, eckv1.Kind)
	}
	if es.Spec.Version != esnode.DefaultVersion {
		p.addf("%s: version %s, want %s, the one the tests run against", where, es.Spec.Version, esnode.DefaultVersion)
	}
	if n := es.Spec.NodeCount(); n != 3 {
		p.addf("%s: %d nodes, want 3", where, n)
	}
	for _, ns := range es.Spec.NodeSets {
		spread := false
		for _, c := range ns.PodTemplate.Spec.TopologySpreadConstraints {
			spread = spread || (c.TopologyKey == "kubernetes.io/hostname" && c.MaxSkew == 1 && c.WhenUnsatisfiable == corev1.DoNotSchedule)
		}
		if !spread {
			p.addf("%s: node set %s: one Elasticsearch node per Kubernetes node (topology spread on kubernetes.io/hostname, DoNotSchedule)", where, ns.Name)
		}
		if len(ns.VolumeClaimTemplates) == 0 {
			p.addf("%s: node set %s: no volume claim for its data", where, ns.Name)
		}
	}
	return es
}

// containerEnv resolves the literal and ConfigMap-sourced variables of
// Deployment svc's container in objs.
func (objs *k8sObjects) containerEnv(svc string) map[string]string {
	env := map[string]string{}
	d, ok := objs.deployments[svc]
	if !ok || len(d.Spec.Template.Spec.Containers) == 0 {
		return env
	}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if cm, ok := objs.configMaps[ref.Name]; ok {
				if v, ok := cm.Data[ref.Key]; ok {
					env[e.Name] = v
				}
			}
		}
	}
	return env
}

// checkProduction checks the production overlay's settings against the NATS
// chart values and the ECK Elasticsearch it runs with.
func checkProduction(p *problems, objs *k8sObjects, nats natsChartValues, es *eckv1.Elasticsearch) {
	wantNATS := fmt.Sprintf("nats://%s.%s.svc.cluster.local:%d", natsRelease, natsNamespace, natsClientPort)
	for _, svc := range services {
		env := objs.containerEnv(svc)
		if got := env["FLOWLINE_NATS_URL"]; got != wantNATS {
			p.addf("production: %s: FLOWLINE_NATS_URL %q, want the NATS chart's client service %s", svc, got, wantNATS)
		}
		if got, want := env["FLOWLINE_STREAM_REPLICAS"], strconv.Itoa(nats.Config.Cluster.Replicas); got != want {
			p.addf("production: %s: FLOWLINE_STREAM_REPLICAS %q, want %s, one per NATS server", svc, got, want)
		}
		if _, reads := knownVars[svc]["FLOWLINE_INDEX_REPLICAS"]; !reads {
			continue
		}
		r, err := strconv.Atoi(env["FLOWLINE_INDEX_REPLICAS"])
		if err != nil || r < 1 || int32(r) >= es.Spec.NodeCount() {
			p.addf("production: %s: FLOWLINE_INDEX_REPLICAS %q, want at least 1 and fewer than the %d Elasticsearch nodes", svc, env["FLOWLINE_INDEX_REPLICAS"], es.Spec.NodeCount())
		}
		u, err := url.Parse(env["FLOWLINE_ES_URL"])
		if err != nil {
			p.addf("production: %s: FLOWLINE_ES_URL: %v", svc, err)
			continue
		}
		wantScheme := "http"
		if es.Spec.HTTP.TLS.Enabled() {
			wantScheme = "https"
		}
		if host := strings.SplitN(u.Hostname(), ".", 2)[0]; host != eckv1.HTTPService(es.Name) || u.Scheme != wantScheme || u.Port() != "9200" {
			p.addf("production: %s: FLOWLINE_ES_URL %s, want %s://%s:9200, the HTTP service of ECK's %s", svc, u, wantScheme, eckv1.HTTPService(es.Name), es.Name)
		}
		if es.Spec.HTTP.TLS.Enabled() {
			checkECKCA(p, svc, objs.deployments[svc], env["FLOWLINE_ES_CA_CERT"], eckv1.ESNamer.Suffix(es.Name, "http", "certs-public"))
		}
	}
}

// checkECKCA reports unless caFile (FLOWLINE_ES_CA_CERT of Deployment d)
// is ca.crt of Secret secret (where ECK publishes its HTTP CA), mounted.
func checkECKCA(p *problems, svc string, d *appsv1.Deployment, caFile, secret string) {
	pod := d.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.Secret == nil || v.Secret.SecretName != secret {
			continue
		}
		for _, m := range pod.Containers[0].VolumeMounts {
			if m.Name != v.Name {
				continue
			}
			file := "ca.crt"
			for _, it := range v.Secret.Items {
				if it.Key == "ca.crt" {
					file = it.Path
				}
			}
			if filepath.Join(m.MountPath, file) == caFile {
				return
			}
		}
	}
	p.addf("production: %s: FLOWLINE_ES_CA_CERT %q is not ca.crt of the Secret %s mounted: with ECK's TLS on, the writer and the archiver verify Elasticsearch with that CA", svc, caFile, secret)
}

// kedaTriggerKeys are the metadata keys of KEDA's nats-jetstream trigger:
// KEDA ignores others silently, so a misspelt one is caught here.
var kedaTriggerKeys = []string{"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold", "activationLagThreshold", "useHttps"}

// checkKEDA checks the ScaledObjects in objs: one per scalable service,
// targeting its Deployment, on the consumer that service really reads.
func checkKEDA(p *problems, objs *k8sObjects, monitorPort int32) {
	endpoint := fmt.Sprintf("%s-headless.%s.svc.cluster.local:%d", natsRelease, natsNamespace, monitorPort)
	prefix := knownVars["aggregator"]["FLOWLINE_AGGREGATOR_CONSUMER_PREFIX"]
	writerConsumer := knownVars["writer"]["FLOWLINE_WRITER_CONSUMER"]
	scaled := map[string]bool{}
	for _, so := range objs.scaledObjects {
		where := "ScaledObject " + so.Name
		ref := so.Spec.ScaleTargetRef
		if ref == nil || (ref.Kind != "" && ref.Kind != "Deployment") || (ref.APIVersion != "" && ref.APIVersion != "apps/v1") {
			p.addf("%s: scaleTargetRef must name a Deployment", where)
			continue
		}
		svc := ""
		for cmd, d := range objs.deployments {
			if d.Name == ref.Name {
				svc = cmd
			}
		}
		if svc == "" {
			p.addf("%s: scales %s, which is not a Deployment of the build", where, ref.Name)
			continue
		}
		if !slices.Contains(scalable, svc) {
			p.addf("%s: scales %s; only %v scale by load", where, ref.Name, scalable)
		}
		if scaled[svc] {
			p.addf("%s: a second ScaledObject for %s", where, ref.Name)
		}
		scaled[svc] = true
		lo, hi := int32(0), int32(100) // KEDA's defaults
		if so.Spec.MinReplicaCount != nil {
			lo = *so.Spec.MinReplicaCount
		}
		if so.Spec.MaxReplicaCount != nil {
			hi = *so.Spec.MaxReplicaCount
		}
		if lo < 2 || hi < lo {
			p.addf("%s: replicas %d to %d; at least 2 keep the service up through a pod's loss, as the base", where, lo, hi)
		}
		var partitions []int
		for i, tr := range so.Spec.Triggers {
			tw := fmt.Sprintf("%s: trigger %d (%s)", where, i, tr.Type)
			switch tr.Type {
			case "nats-jetstream":
				for k := range tr.Metadata {
					if !slices.Contains(kedaTriggerKeys, k) {
						p.addf("%s: metadata %q is not a nats-jetstream setting", tw, k)
					}
				}
				md := tr.Metadata
				if md["natsServerMonitoringEndpoint"] != endpoint {
					p.addf("%s: natsServerMonitoringEndpoint %q, want %s (the NATS chart's headless service: KEDA asks each consumer's leader)", tw, md["natsServerMonitoringEndpoint"], endpoint)
				}
				if md["account"] != "$G" {
					p.addf("%s: account %q, want $G (no NATS accounts)", tw, md["account"])
				}
				if n, err := strconv.Atoi(md["lagThreshold"]); err != nil || n <= 0 {
					p.addf("%s: lagThreshold %q is not a positive number", tw, md["lagThreshold"])
				}
				switch svc {
				case "aggregator":
					part, err := strconv.Atoi(strings.TrimPrefix(md["consumer"], prefix+"-"))
					if md["stream"] != stream.RecordsStream || !strings.HasPrefix(md["consumer"], prefix+"-") || err != nil {
						p.addf("%s: stream %q consumer %q, want %s and %s-<partition>", tw, md["stream"], md["consumer"], stream.RecordsStream, prefix)
						continue
					}
					partitions = append(partitions, part)
				case "writer":
					if md["stream"] != stream.DocsStream || md["consumer"] != writerConsumer {
						p.addf("%s: stream %q consumer %q, want %s and %s", tw, md["stream"], md["consumer"], stream.DocsStream, writerConsumer)
					}
				default:
					p.addf("%s: %s reads no consumer", tw, svc)
				}
			case "cpu":
				v, err := strconv.Atoi(tr.Metadata["value"])
				if err != nil || v <= 0 || v > 100 || tr.MetricType != "Utilization" {
					p.addf("%s: want metricType Utilization and a value in 1..100, got %q %q", tw, tr.MetricType, tr.Metadata["value"])
				}
				if c := objs.deployments[svc].Spec.Template.Spec.Containers; len(c) == 0 || c[0].Resources.Requests.Cpu().IsZero() {
					p.addf("%s: utilization needs the container's CPU request", tw)
				}
			default:
				p.addf("%s: unexpected trigger type", tw)
			}
		}
		if svc == "aggregator" {
			slices.Sort(partitions)
			for i, part := range partitions {
				if part != i+1 {
					p.addf("%s: partitions %v, want one trigger for each of 1..N (Zeebe numbers partitions from 1)", where, partitions)
					break
				}
			}
			if int(hi) != len(partitions) {
				p.addf("%s: maxReplicaCount %d, want the partition count %d: a partition has one owner, so more replicas idle", where, hi, len(partitions))
			}
		}
	}
	for _, svc := range scalable {
		if !scaled[svc] {
			p.addf("no ScaledObject scales flowline-%s", svc)
		}
	}
}

// jobRegexp is the dashboard's selector of Flowline's scrape jobs.
var jobRegexp = regexp.MustCompile(`^flowline-.+$`)

// checkMonitoring checks the PodMonitor (every Flowline pod's admin port,
// job flowline-<service> as in compose) and the PrometheusRule (the rules
// file's groups).
func checkMonitoring(t testing.TB, p *problems, objs *k8sObjects, rules string) {
	admin := adminPort(t)
	if len(objs.podMonitors) != 1 {
		p.addf("%d PodMonitors, want 1", len(objs.podMonitors))
	}
	for _, pm := range objs.podMonitors {
		where := "PodMonitor " + pm.Name
		if len(pm.Spec.PodMetricsEndpoints) != 1 {
			p.addf("%s: %d endpoints, want 1", where, len(pm.Spec.PodMetricsEndpoints))
			continue
		}
		ep := pm.Spec.PodMetricsEndpoints[0]
		if ep.Path != "" && ep.Path != "/metrics" {
			p.addf("%s: path %q, want /metrics", where, ep.Path)
		}
		for svc, d := range objs.deployments {
			if !selects(&pm.Spec.Selector, d.Spec.Template.Labels) {
				p.addf("%s: does not select the pods of %s", where, d.Name)
				continue
			}
			c := d.Spec.Template.Spec.Containers[0]
			if ep.Port == nil || resolvePort(c, intstr.FromString(*ep.Port)) != admin {
				p.addf("%s: port %v is not the admin port %d of %s", where, ep.Port, admin, d.Name)
			}
			if job := relabelJob(p, where, ep.RelabelConfigs, d.Spec.Template.Labels); job != "flowline-"+svc || !jobRegexp.MatchString(job) {
				p.addf("%s: the pods of %s get job %q, want flowline-%s (compose's job names, the dashboard's %s)", where, d.Name, job, svc, jobRegexp)
			}
		}
	}

	want := monitoringv1.PrometheusRuleSpec{}
	if b, err := os.ReadFile(rules); err != nil {
		p.addf("%v", err)
	} else if err := unmarshalStrict(b, &want); err != nil {
		p.addf("%s: %v", rules, err)
	}
	if len(objs.prometheusRules) != 1 {
		p.addf("%d PrometheusRules, want 1", len(objs.prometheusRules))
	}
	for _, r := range objs.prometheusRules {
		if len(want.Groups) == 0 || !reflect.DeepEqual(r.Spec, want) {
			p.addf("PrometheusRule %s: its groups differ from %s (keep them the same: promtool tests that file)", r.Name, rules)
		}
	}
}

// relabelJob applies the relabelings that set the job label to a pod with
// podLabels, as Prometheus would (regex (.*), action replace: the only form
// the check supports), and returns the job.
func relabelJob(p *problems, where string, relabels []monitoringv1.RelabelConfig, podLabels map[string]string) string {
	job := ""
	for _, r := range relabels {
		if r.TargetLabel != "job" {
			continue
		}
		if (r.Action != "" && strings.ToLower(r.Action) != "replace") || (r.Regex != "" && r.Regex != "(.*)") {
			p.addf("%s: the job relabeling must use action replace and regex (.*)", where)
			return ""
		}
		var values []string
		for _, l := range r.SourceLabels {
			name := strings.TrimPrefix(string(l), "__meta_kubernetes_pod_label_")
			if name == string(l) {
				p.addf("%s: the job relabeling reads %s; want pod labels", where, l)
				return ""
			}
			v := ""
			for k, lv := range podLabels {
				if regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(k, "_") == name {
					v = lv
				}
			}
			values = append(values, v)
		}
		sep := ";"
		if r.Separator != nil {
			sep = *r.Separator
		}
		replacement := "$1"
		if r.Replacement != nil {
			replacement = *r.Replacement
		}
		re := regexp.MustCompile(`^(.*)$`)
		src := strings.Join(values, sep)
		job = string(re.ExpandString(nil, replacement, src, re.FindStringSubmatchIndex(src)))
	}
	return job
}

// checkAddons checks the add-ons of the Kubernetes tree rooted at k8s: the
// production overlay by itself, and with every component (KEDA,
// monitoring, both imports) added.
func checkAddons(t testing.TB, k8s string) problems {
	t.Helper()
	var p problems
	nats := loadNATSValues(t, &p, filepath.Join(k8s, natsValuesFile))
	es := loadECK(&p, filepath.Join(k8s, eckFile))

	prod := filepath.Join(k8s, productionOverlay)
	p = append(p, checkKustomize(t, prod, services, productionSecrets...)...)
	checkProduction(&p, buildKustomize(&p, prod), nats, es)

	all := append(slices.Clone(commands), zeebeImport)
	full := withComponents(t, prod,
		[]string{filepath.Join(k8s, kedaComponent), filepath.Join(k8s, monitoringComponent), filepath.Join(k8s, "c7"), filepath.Join(k8s, "zeebe-import")},
		importSettings)
	p = append(p, checkKustomize(t, full, all, productionSecrets...)...)
	objs := buildKustomize(&p, full)
	checkKEDA(&p, objs, nats.Config.Monitor.Port)
	checkMonitoring(t, &p, objs, filepath.Join(k8s, "..", rulesFile))
	return p
}

// productionSecrets are the variables the production overlay requires from
// the Secret (fail closed: no unauthenticated pushes, no anonymous writes).
var productionSecrets = []string{"FLOWLINE_INGEST_TOKEN", "FLOWLINE_ES_USERNAME", "FLOWLINE_ES_PASSWORD"}

// importSettings is what an overlay of the production overlay with both
// import components sets: the engines to import from, and the namespace
// (kustomize resolves the components' references to the ConfigMap only
// within one namespace).
const importSettings = "namespace: flowline\nconfigMapGenerator:\n  - name: flowline\n    behavior: merge\n    literals:\n" +
	"      - FLOWLINE_C7_URL=http://engine.camunda.svc:8080/engine-rest\n" +
	"      - FLOWLINE_ZEEBE_IMPORT_URL=http://camunda-elasticsearch.camunda.svc:9200\n"

func TestKubernetesAddons(t *testing.T) {
	checkAddons(t, "k8s").report(t)
}

// copyTree copies the regular files under src into dst, keeping the layout.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKubernetesAddonsCatchMistakes(t *testing.T) {
	// Files relative to deploy/ (the copy keeps deploy/k8s and
	// deploy/prometheus side by side).
	cases := map[string]mutation{
		"consumer misspelt":        {file: "k8s/components/keda/writer.yaml", old: "consumer: writer", new: "consumer: writers", want: `consumer "writers", want FLOWLINE_DOCS and writer`},
		"wrong stream":             {file: "k8s/components/keda/aggregator.yaml", old: "stream: FLOWLINE_RECORDS", new: "stream: FLOWLINE_DOCS", want: "want FLOWLINE_RECORDS and aggregator-<partition>"},
		"partition missing":        {file: "k8s/components/keda/aggregator.yaml", old: "consumer: aggregator-2", new: "consumer: aggregator-4", want: "partitions [1 3 4]"},
		"beyond partitions":        {file: "k8s/components/keda/aggregator.yaml", old: "maxReplicaCount: 3", new: "maxReplicaCount: 6", want: "maxReplicaCount 6, want the partition count 3"},
		"scaled to one":            {file: "k8s/components/keda/writer.yaml", old: "minReplicaCount: 2", new: "minReplicaCount: 1", want: "replicas 1 to 6"},
		"metadata misspelt":        {file: "k8s/components/keda/writer.yaml", old: "lagThreshold:", new: "lagTreshold:", want: `"lagTreshold" is not a nats-jetstream setting`},
		"monitoring endpoint":      {file: "k8s/components/keda/writer.yaml", old: "nats-headless.nats.svc.cluster.local:8222", new: "nats:8222", want: "natsServerMonitoringEndpoint \"nats:8222\""},
		"target not a deployment":  {file: "k8s/components/keda/writer.yaml", old: "name: flowline-writer\n  pollingInterval", new: "name: flowline-writers\n  pollingInterval", want: "flowline-writers, which is not a Deployment"},
		"archiver scaled":          {file: "k8s/components/keda/ingest.yaml", old: "name: flowline-ingest\n  minReplicaCount", new: "name: flowline-archiver\n  minReplicaCount", want: "scales flowline-archiver; only"},
		"unknown ScaledObject key": {file: "k8s/components/keda/ingest.yaml", old: "minReplicaCount: 2", new: "minReplicas: 2", want: "minReplicas"},
		"podmonitor port":          {file: "k8s/components/monitoring/podmonitor.yaml", old: "port: admin", new: "port: http", want: "is not the admin port 9600"},
		"podmonitor job":           {file: "k8s/components/monitoring/podmonitor.yaml", old: "replacement: flowline-$1", new: "replacement: $1", want: `job "ingest", want flowline-ingest`},
		"podmonitor selector":      {file: "k8s/components/monitoring/podmonitor.yaml", old: "      app.kubernetes.io/name: flowline\n  podMetricsEndpoints", new: "      app.kubernetes.io/component: writer\n  podMetricsEndpoints", want: "does not select the pods of flowline-ingest"},
		"rule drifted":             {file: "k8s/components/monitoring/prometheusrule.yaml", old: "> 1000", new: "> 5000", want: "its groups differ"},
		"rules file drifted":       {file: "prometheus/flowline-rules.yaml", old: "for: 2m", new: "for: 3m", want: "its groups differ"},
		"rule field misspelt":      {file: "k8s/components/monitoring/prometheusrule.yaml", old: "annotations:", new: "anotations:", want: "anotations"},
		"one stream replica":       {file: "k8s/overlays/production/kustomization.yaml", old: "FLOWLINE_STREAM_REPLICAS=3", new: "FLOWLINE_STREAM_REPLICAS=1", want: `FLOWLINE_STREAM_REPLICAS "1", want 3`},
		"no index replica":         {file: "k8s/overlays/production/kustomization.yaml", old: "FLOWLINE_INDEX_REPLICAS=1", new: "FLOWLINE_INDEX_REPLICAS=0", want: `FLOWLINE_INDEX_REPLICAS "0"`},
		"nats url":                 {file: "k8s/overlays/production/kustomization.yaml", old: "nats://nats.nats.svc.cluster.local:4222", new: "nats://nats:4222", want: "want the NATS chart's client service"},
		"nats servers":             {file: "k8s/overlays/production/nats-values.yaml", old: "replicas: 3", new: "replicas: 5", want: "a cluster of 3 servers"},
		"nats key misspelt":        {file: "k8s/overlays/production/nats-values.yaml", old: "fileStore:", new: "filestore:", want: "filestore"},
		"nats monitor port":        {file: "k8s/overlays/production/nats-values.yaml", old: "port: 8222", new: "port: 8223", want: "natsServerMonitoringEndpoint"},
		"nats server version":      {file: "k8s/overlays/production/nats-values.yaml", old: "tag: 2.15.2-alpine", new: "tag: 2.10.0-alpine", want: "want the nats-server release the tests run"},
		"nats store over volume":   {file: "k8s/overlays/production/nats-values.yaml", old: "maxSize: 90Gi", new: "maxSize: 200Gi", want: "maxSize \"200Gi\" must be under"},
		"nats memory limit":        {file: "k8s/overlays/production/nats-values.yaml", old: "GOMEMLIMIT: 3GiB", new: "GOMEMLIMIT: 5GiB", want: "GOMEMLIMIT"},
		"eck name":                 {file: "k8s/overlays/production/elasticsearch.yaml", old: "  name: flowline\nspec", new: "  name: search\nspec", want: "the HTTP service of ECK's search"},
		"eck tls off":              {file: "k8s/overlays/production/elasticsearch.yaml", old: "spec:\n  version", new: "spec:\n  http:\n    tls:\n      selfSignedCertificate:\n        disabled: true\n  version", want: "want http://flowline-es-http:9200"},
		"eck CA not mounted":       {file: "k8s/overlays/production/kustomization.yaml", old: "mountPath: /etc/flowline/es-ca", new: "mountPath: /etc/flowline/ca", want: "writer: FLOWLINE_ES_CA_CERT"},
		"eck CA of another secret": {file: "k8s/overlays/production/kustomization.yaml", old: "secretName: flowline-es-http-certs-public", new: "secretName: flowline-es-transport-certs-public", last: true, want: "archiver: FLOWLINE_ES_CA_CERT"},
		"token optional":           {file: "k8s/overlays/production/kustomization.yaml", old: "key: ingest-token\n                        optional: false", new: "key: ingest-token\n                        optional: true", want: "FLOWLINE_INGEST_TOKEN comes from Secret flowline with optional: true"},
		"replicas fight KEDA":      {file: "k8s/components/keda/kustomization.yaml", old: "name: flowline-(ingest|aggregator|writer)", new: "name: flowline-(ingest|aggregator)", want: "flowline-writer: sets replicas 2 while a ScaledObject scales it"},
		"eck version":              {file: "k8s/overlays/production/elasticsearch.yaml", old: "version: 8.19.21", new: "version: 8.18.0", want: "version 8.18.0"},
		"eck two nodes":            {file: "k8s/overlays/production/elasticsearch.yaml", old: "count: 3", new: "count: 2", want: "2 nodes, want 3"},
		"eck field misspelt":       {file: "k8s/overlays/production/elasticsearch.yaml", old: "nodeSets:", new: "nodesets:", want: "nodesets"},
		"zeebe import URL inline":  {file: "k8s/zeebe-import/zeebe-import.yaml", old: "            - name: FLOWLINE_ZEEBE_IMPORT_URL\n              valueFrom:\n                configMapKeyRef:\n                  name: flowline\n                  key: FLOWLINE_ZEEBE_IMPORT_URL\n", new: "            - name: FLOWLINE_ZEEBE_IMPORT_URL\n              value: http://es:9200\n", want: "FLOWLINE_ZEEBE_IMPORT_URL should come from a configmap"},
		"zeebe import one replica": {file: "k8s/zeebe-import/zeebe-import.yaml", old: "replicas: 2", new: "replicas: 1", want: "flowline-zeebe-import: replicas 1, want 2"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			copyTree(t, "k8s", filepath.Join(root, "k8s"))
			copyTree(t, "prometheus", filepath.Join(root, "prometheus"))
			path := filepath.Join(root, m.file)
			if err := os.WriteFile(path, []byte(m.apply(t, readFile(t, path))), 0o644); err != nil {
				t.Fatal(err)
			}
			expectProblem(t, checkAddons(t, filepath.Join(root, "k8s")), m.want)
		})
	}
}
