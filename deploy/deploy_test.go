package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	natsserver "github.com/nats-io/nats-server/v2/server"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/writer"
	"github.com/flowline/flowline/services/zeebeimport"
)

const (
	module = "github.com/flowline/flowline"
	// image is the image every deployment runs, built from ../Dockerfile.
	image = "flowline:latest"
	// buildCommand is the Dockerfile's build step; TestMain builds the
	// binary the same way.
	buildCommand = "CGO_ENABLED=0 go build -trimpath -o /out/flowline ./cmd/flowline"
	// buildInfoFlags are the linker flags of the build step that set what
	// flowline version says (pkg/buildinfo).
	buildInfoFlags = "-X github.com/flowline/flowline/pkg/buildinfo.version=${VERSION} -X github.com/flowline/flowline/pkg/buildinfo.revision=${REVISION}"
	envPrefix      = config.Prefix + "_"
)

// services are the subcommands that each run one service; compose and
// Kubernetes run each of them as its own container.
var services = []string{"ingest", "aggregator", "writer", "archiver"}

// The Camunda 7 import is a service of its own that neither compose nor
// the Kubernetes base starts by default: the compose profile c7Profile and
// the kustomize component c7Component add it.
const (
	c7Import    = "c7-import"
	c7Profile   = "c7"
	c7Component = "k8s/c7"
	c7ShellURL  = "http://host.docker.internal:8080/engine-rest"
)

// zeebeImportComponent is the kustomize component that adds the Zeebe
// import, as c7Component adds the Camunda 7 one.
const zeebeImportComponent = "k8s/zeebe-import"

// optionalComponents are the kustomize components that add the services
// the base does not run, by subcommand.
var optionalComponents = map[string]string{c7Import: c7Component, zeebeImport: zeebeImportComponent}

// commands are the subcommands compose or Kubernetes run.
var commands = append(slices.Clone(services), c7Import)

// The Zeebe import, like the Camunda 7 one, is opt-in: the compose profile
// zeebeImportProfile adds it.
const (
	zeebeImport        = "zeebe-import"
	zeebeImportProfile = "zeebe-import"
	demoProfile        = "demo"
	demoService        = "demo"
)

// observability are compose's services that watch Flowline: traces through
// the collector into Jaeger, metrics into Prometheus (NATS's through its
// exporter), Grafana with the dashboard.
var observability = []string{"otel-collector", "jaeger", "nats-exporter", "prometheus", "grafana"}

// helpCommands are the subcommands whose --help the tests read.
var helpCommands = append(slices.Clone(commands), zeebeImport)

// serviceConfigs returns, per subcommand, the config structs the binary
// loads besides config.Runtime (as cmd/flowline does: the aggregator
// process runs the c7 fold too).
var serviceConfigs = map[string]func() []config.Validator{
	"ingest": func() []config.Validator { return []config.Validator{&ingest.Config{}} },
	"aggregator": func() []config.Validator {
		c, fold := aggregator.NewConfig(), c7fold.NewConfig()
		return []config.Validator{&c, &fold}
	},
	"writer": func() []config.Validator { return []config.Validator{&writer.Config{}} },
	"archiver": func() []config.Validator {
		c := archiver.NewConfig()
		return []config.Validator{&c}
	},
	c7Import: func() []config.Validator {
		c := c7import.NewConfig()
		return []config.Validator{&c}
	},
	zeebeImport: func() []config.Validator {
		c := zeebeimport.NewConfig()
		return []config.Validator{&c}
	},
}

// shellDefaults are variables compose passes through from the shell
// (${VAR:-default}): unset there, each must get the binary's default.
var shellDefaults = []string{"FLOWLINE_LOG_LEVEL", "FLOWLINE_INDEX_PREFIX", "FLOWLINE_C7_ENGINE", "FLOWLINE_C7_SOURCE"}

var (
	// repoRoot is the repository's root directory.
	repoRoot string
	// knownVars maps each subcommand to the variables its --help lists,
	// with their defaults.
	knownVars = map[string]map[string]string{}
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests builds the flowline binary once, as the Dockerfile does, and reads
// every service's variables from its --help table.
func runTests(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "flowline-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "flowline")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/flowline")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building flowline: %v\n%s", err, out)
		return 1
	}
	for _, s := range helpCommands {
		var stderr bytes.Buffer
		help := exec.Command(bin, s, "--help")
		help.Stderr = &stderr
		out, err := help.Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "flowline %s --help: %v\n%s", s, err, stderr.Bytes())
			return 1
		}
		vars, err := parseHelp(string(out))
		if err != nil {
			fmt.Fprintf(os.Stderr, "flowline %s --help: %v\n%s", s, err, out)
			return 1
		}
		knownVars[s] = vars
	}
	return m.Run()
}

// parseHelp reads the variables and defaults from `flowline <cmd> --help`:
// tables whose header is VARIABLE DEFAULT DESCRIPTION.
func parseHelp(out string) (map[string]string, error) {
	vars := map[string]string{}
	defCol, descCol := -1, -1
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "VARIABLE") {
			defCol, descCol = strings.Index(line, "DEFAULT"), strings.Index(line, "DESCRIPTION")
			if defCol < 0 || descCol < defCol {
				return nil, fmt.Errorf("unexpected table header %q", line)
			}
			continue
		}
		if defCol < 0 || !strings.HasPrefix(line, envPrefix) {
			continue
		}
		name := strings.Fields(line)[0]
		def := ""
		if len(line) > defCol {
			def = strings.TrimSpace(line[defCol:min(descCol, len(line))])
		}
		vars[name] = def
	}
	if len(vars) == 0 {
		return nil, errors.New("no variables listed")
	}
	return vars, nil
}

// binaryDefault is the default of a variable every service reads.
func binaryDefault(t testing.TB, name string) string {
	t.Helper()
	v, ok := knownVars["ingest"][name]
	if !ok || v == "" {
		t.Fatalf("flowline ingest --help lists no default for %s", name)
	}
	return v
}

func adminPort(t testing.TB) int32  { return addrPort(t, binaryDefault(t, "FLOWLINE_ADMIN_ADDR")) }
func ingestPort(t testing.TB) int32 { return addrPort(t, binaryDefault(t, "FLOWLINE_INGEST_ADDR")) }

func drainTimeout(t testing.TB) time.Duration {
	d, err := time.ParseDuration(binaryDefault(t, "FLOWLINE_DRAIN_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func addrPort(t testing.TB, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int32(n)
}

// checkAdminAddr reports a service whose admin server would not be
// reachable from outside its container: the binary's default is loopback,
// so a deployment sets 0.0.0.0:<admin port> explicitly.
func checkAdminAddr(p *problems, where, addr string, admin int32) {
	if want := fmt.Sprintf("0.0.0.0:%d", admin); addr != want {
		p.addf("%s: FLOWLINE_ADMIN_ADDR is %q, want %s (the default listens on loopback, out of reach of probes and Prometheus)", where, addr, want)
	}
}

// checkStreamOwner reports unless exactly one service, ingest, manages the
// stream settings (FLOWLINE_STREAM_MANAGE=true): with none, a changed
// setting is never applied; with several, services started with different
// settings would reset each other's.
func checkStreamOwner(p *problems, where string, manage map[string]string) {
	var owners []string
	for svc, v := range manage {
		if b, err := strconv.ParseBool(v); err == nil && b {
			owners = append(owners, svc)
		}
	}
	slices.Sort(owners)
	if !slices.Equal(owners, []string{"ingest"}) {
		p.addf("%s: FLOWLINE_STREAM_MANAGE=true is set on %v, want on ingest alone (one owner of the stream settings)", where, owners)
	}
}

// validateEnv loads the config of subcommand cmd from exactly env, the way
// the binary does, and returns the validation error.
func validateEnv(t testing.TB, cmd string, env map[string]string) error {
	t.Helper()
	for name := range knownVars[cmd] {
		t.Setenv(name, "")
		_ = os.Unsetenv(name)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var rt config.Runtime
	if err := config.Load(&rt); err != nil {
		return err
	}
	for _, c := range serviceConfigs[cmd]() {
		if err := config.Load(c); err != nil {
			return err
		}
	}
	return nil
}

// problems collects what a check found wrong.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// unmarshalStrict decodes YAML y into v as the Kubernetes API server does:
// field names match case-sensitively, and an unknown or duplicate field is
// an error (yaml.UnmarshalStrict matches names regardless of case, so it
// lets `nodesets` pass for `nodeSets`).
func unmarshalStrict(y []byte, v any) error {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(j, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func (p problems) report(t *testing.T) {
	t.Helper()
	for _, s := range p {
		t.Error(s)
	}
}

// checkVarsKnown reports every FLOWLINE_ variable in names that subcommand
// cmd does not read.
func checkVarsKnown(p *problems, where, cmd string, names []string) {
	vars, ok := knownVars[cmd]
	if !ok {
		p.addf("%s: %q is not a flowline service subcommand", where, cmd)
		return
	}
	for _, n := range names {
		if _, ok := vars[n]; strings.HasPrefix(n, envPrefix) && !ok {
			p.addf("%s: %s is not a variable `flowline %s` reads (see flowline %s --help)", where, n, cmd, cmd)
		}
	}
}

func TestBinaryVariables(t *testing.T) {
	for _, s := range commands {
		for _, v := range []string{"FLOWLINE_NATS_URL", "FLOWLINE_ADMIN_ADDR", "FLOWLINE_DRAIN_TIMEOUT", "FLOWLINE_LOG_LEVEL"} {
			if _, ok := knownVars[s][v]; !ok {
				t.Errorf("flowline %s --help does not list %s", s, v)
			}
		}
	}
	for _, s := range []string{"writer", "archiver"} {
		for _, v := range []string{"FLOWLINE_ES_URL", "FLOWLINE_ES_PASSWORD", "FLOWLINE_INDEX_PREFIX"} {
			if _, ok := knownVars[s][v]; !ok {
				t.Errorf("flowline %s --help does not list %s", s, v)
			}
		}
	}
	// The lists differ per service, so the checks below can tell.
	if _, ok := knownVars["ingest"]["FLOWLINE_ES_URL"]; ok {
		t.Error("flowline ingest --help lists FLOWLINE_ES_URL")
	}
	if _, ok := knownVars["ingest"]["FLOWLINE_INGEST_TOKEN"]; !ok {
		t.Error("flowline ingest --help does not list FLOWLINE_INGEST_TOKEN")
	}
	// The aggregator process runs the c7 fold; the import is its own.
	for cmd, v := range map[string]string{"aggregator": "FLOWLINE_C7_FOLD_STATE_BUCKET", c7Import: "FLOWLINE_C7_URL"} {
		if _, ok := knownVars[cmd][v]; !ok {
			t.Errorf("flowline %s --help does not list %s", cmd, v)
		}
	}
	if _, ok := knownVars["aggregator"]["FLOWLINE_C7_URL"]; ok {
		t.Error("flowline aggregator --help lists the import's FLOWLINE_C7_URL")
	}
	if got := adminPort(t); got != 9600 {
		t.Errorf("admin port default is %d; the deployment files use 9600", got)
	}
	if host, _, _ := net.SplitHostPort(binaryDefault(t, "FLOWLINE_ADMIN_ADDR")); host != "127.0.0.1" {
		t.Errorf("admin address default listens on %q; a bare process must listen on loopback (127.0.0.1)", host)
	}
	if def := binaryDefault(t, "FLOWLINE_STREAM_MANAGE"); def != "false" {
		t.Errorf("FLOWLINE_STREAM_MANAGE defaults to %q; only the designated owner manages stream settings", def)
	}
	if got := ingestPort(t); got != 8080 {
		t.Errorf("ingest port default is %d; the deployment files use 8080", got)
	}
	if d := drainTimeout(t); d != 30*time.Second {
		t.Errorf("drain timeout default is %s; the deployment files allow for 30s", d)
	}
}

// ---------------------------------------------------------------------------
// Compose

// loadCompose loads a compose file as `docker compose [--profile P]... up`
// does, with env as the shell's environment.
func loadCompose(file string, env map[string]string, profiles ...string) (*composetypes.Project, error) {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithEnv(list), cli.WithInterpolation(true), cli.WithProfiles(profiles))
	if err != nil {
		return nil, err
	}
	return cli.ProjectFromOptions(context.Background(), opts)
}

// envValues flattens a compose environment; variables without a value (taken
// from the host at run time) are empty.
func envValues(m composetypes.MappingWithEquals) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

// moduleVersion is the version of a module that ../go.mod requires.
func moduleVersion(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(path) + `\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("go.mod does not require %s", path)
	}
	return string(m[1])
}

// goMinor is the Go version (major.minor) of ../go.mod's go directive.
func goMinor(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go\s+(\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// checkComposeProfiles checks a compose file (whose build context should
// be root) as `docker compose up` starts it, with the c7 profile on and
// FLOWLINE_C7_URL set in the shell, and with the zeebe profile on and an
// ingest token in the shell, as compose/README.md says.
func checkComposeProfiles(t testing.TB, file, root string) problems {
	t.Helper()
	p := checkCompose(t, file, root, nil)
	p = append(p, checkCompose(t, file, root, map[string]string{"FLOWLINE_C7_URL": c7ShellURL}, c7Profile)...)
	p = append(p, checkCompose(t, file, root, map[string]string{"FLOWLINE_ZEEBE_IMPORT_URL": "http://host.docker.internal:9200"}, zeebeImportProfile)...)
	p = append(p, checkCompose(t, file, root, nil, demoProfile)...)
	return append(p, checkCompose(t, file, root, map[string]string{"FLOWLINE_INGEST_TOKEN": "s3cret"}, zeebeProfile)...)
}

// checkCompose loads a compose file (whose build context should be root)
// with env as the environment and profiles on, and checks it.
func checkCompose(t testing.TB, file, root string, env map[string]string, profiles ...string) problems {
	t.Helper()
	var p problems
	shell := env
	proj, err := loadCompose(file, env, profiles...)
	if err != nil {
		p.addf("loading %s: %v", file, err)
		return p
	}
	flowline := slices.Clone(services)
	if slices.Contains(profiles, c7Profile) {
		flowline = append(flowline, c7Import)
	}
	if slices.Contains(profiles, zeebeImportProfile) {
		flowline = append(flowline, zeebeImport)
	}
	want := append(append([]string{"elasticsearch", "nats"}, flowline...), observability...)
	if slices.Contains(profiles, demoProfile) {
		want = append(want, demoService)
		checkComposeDemo(&p, proj, shell)
	}
	if slices.Contains(profiles, zeebeProfile) {
		want = append(want, zeebeService)
		checkComposeZeebe(t, &p, proj, root, shell)
	}
	sort.Strings(want)
	got := proj.ServiceNames()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		p.addf("compose services are %v, want %v", got, want)
	}
	checkComposeNATS(t, &p, proj)
	checkComposeElasticsearch(&p, proj)

	drain := drainTimeout(t)
	admin := adminPort(t)
	builders := 0
	manage := map[string]string{} // FLOWLINE_STREAM_MANAGE by service
	for _, name := range flowline {
		svc, ok := proj.Services[name]
		if !ok {
			continue
		}
		where := "compose service " + name
		if len(profiles) > 0 {
			where += " (profiles " + strings.Join(profiles, ",") + ")"
		}
		if svc.Image != image {
			p.addf("%s: image is %q, want %q", where, svc.Image, image)
		}
		if svc.Build != nil {
			builders++
			ctx := filepath.Clean(svc.Build.Context)
			if ctx != filepath.Clean(root) {
				p.addf("%s: build context is %s, want the repository root %s", where, ctx, root)
			}
			df := svc.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if !filepath.IsAbs(df) {
				df = filepath.Join(ctx, df)
			}
			if df != filepath.Join(root, "Dockerfile") {
				p.addf("%s: builds %s, want the repository's Dockerfile", where, df)
			}
		}
		if len(svc.Entrypoint) > 0 {
			p.addf("%s: entrypoint %v replaces the image's /flowline", where, svc.Entrypoint)
		}
		if !slices.Equal(svc.Command, []string{name}) {
			p.addf("%s: command is %v, want [%s]", where, []string(svc.Command), name)
		}

		env := envValues(svc.Environment)
		checkVarsKnown(&p, where, name, slices.Sorted(maps.Keys(env)))
		checkAdminAddr(&p, where, env["FLOWLINE_ADMIN_ADDR"], admin)
		manage[name] = env["FLOWLINE_STREAM_MANAGE"]
		if v := env["FLOWLINE_NATS_URL"]; v != "nats://nats:4222" {
			p.addf("%s: FLOWLINE_NATS_URL is %q, want nats://nats:4222", where, v)
		}
		if name == "writer" || name == "archiver" {
			if v := env["FLOWLINE_ES_URL"]; v != "http://elasticsearch:9200" {
				p.addf("%s: FLOWLINE_ES_URL is %q, want http://elasticsearch:9200", where, v)
			}
		}
		if err := validateEnv(t, name, env); err != nil {
			p.addf("%s: the binary rejects its environment: %v", where, err)
		}
		for _, v := range shellDefaults {
			got, ok := env[v]
			if _, fromShell := shell[v]; ok && !fromShell && got != knownVars[name][v] {
				p.addf("%s: %s defaults to %q, want the binary's default %q", where, v, got, knownVars[name][v])
			}
		}
		if name == c7Import {
			if got, want := env["FLOWLINE_C7_URL"], shell["FLOWLINE_C7_URL"]; got != want {
				p.addf("%s: FLOWLINE_C7_URL is %q with %q in the shell; pass it through (${FLOWLINE_C7_URL:-})", where, got, want)
			}
			if gw := svc.ExtraHosts["host.docker.internal"]; !slices.Contains(gw, "host-gateway") {
				p.addf("%s: extra_hosts does not map host.docker.internal to host-gateway (an engine on the Docker host, on Linux too)", where)
			}
		}

		if d, ok := svc.DependsOn["nats"]; !ok || (d.Condition != composetypes.ServiceConditionStarted && d.Condition != composetypes.ServiceConditionHealthy) {
			p.addf("%s: does not depend on nats being started (depends_on: %v)", where, svc.DependsOn)
		}
		if name == "writer" || name == "archiver" {
			if d, ok := svc.DependsOn["elasticsearch"]; !ok || d.Condition != composetypes.ServiceConditionHealthy {
				p.addf("%s: does not depend on elasticsearch being healthy (condition service_healthy)", where)
			}
		}
		if hc := svc.HealthCheck; hc == nil || hc.Disable {
			p.addf("%s: no healthcheck (flowline probe http://127.0.0.1:%d/readyz)", where, admin)
		} else {
			test := strings.Join(hc.Test, " ")
			if !strings.Contains(test, "/flowline probe ") || !strings.Contains(test, "/readyz") || !strings.Contains(test, fmt.Sprintf(":%d", admin)) {
				p.addf("%s: healthcheck %q does not run /flowline probe on the admin port %d's /readyz (the image has no shell)", where, test, admin)
			}
		}
		loopback := false
		for _, port := range svc.Ports {
			if int32(port.Target) == admin && port.HostIP == "127.0.0.1" && port.Published != "" {
				loopback = true
			}
		}
		if !loopback {
			p.addf("%s: admin port %d is not published on loopback (127.0.0.1:<port>:%d)", where, admin, admin)
		}
		if v := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; v != "http://otel-collector:4317" || env["OTEL_EXPORTER_OTLP_PROTOCOL"] != "grpc" {
			p.addf("%s: OTEL_EXPORTER_OTLP_ENDPOINT is %q (protocol %q), want the collector's http://otel-collector:4317 over grpc", where, v, env["OTEL_EXPORTER_OTLP_PROTOCOL"])
		}
		if name != "ingest" {
			if d, ok := svc.DependsOn["ingest"]; !ok || d.Condition != composetypes.ServiceConditionHealthy {
				if name != "archiver" {
					p.addf("%s: does not wait for ingest to be healthy (it sets up the streams)", where)
				}
			}
		}
		if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) < drain+5*time.Second {
			p.addf("%s: stop_grace_period must be at least the drain timeout %s + 5s", where, drain)
		}
	}
	if builders == 0 {
		p.addf("no compose service builds %s from the repository's Dockerfile", image)
	}
	checkStreamOwner(&p, "compose", manage)
	checkComposeObservability(t, &p, proj, flowline)

	if svc, ok := proj.Services["ingest"]; ok {
		addr := envValues(svc.Environment)["FLOWLINE_INGEST_ADDR"]
		if addr != "0.0.0.0:8080" {
			p.addf("compose service ingest: FLOWLINE_INGEST_ADDR is %q, want 0.0.0.0:8080", addr)
		}
		published := false
		for _, port := range svc.Ports {
			if int32(port.Target) == ingestPort(t) && port.Published == strconv.Itoa(int(ingestPort(t))) {
				published = true
			}
		}
		if !published {
			p.addf("compose service ingest: port %d is not published as %d", ingestPort(t), ingestPort(t))
		}
	}
	return p
}

// checkComposeNATS checks the NATS server: the release the tests embed,
// JetStream on with its store on a named volume, and every write synced
// before it is acknowledged (sync_interval: always; a single server keeps
// one copy). The server's options are read the way nats-server reads them,
// from its command line and the config files mounted into it.
func checkComposeNATS(t testing.TB, p *problems, proj *composetypes.Project) {
	svc, ok := proj.Services["nats"]
	if !ok {
		return
	}
	// The image runs the NATS release the tests embed (go.mod's nats-server).
	server := moduleVersion(t, "github.com/nats-io/nats-server/v2")
	wantMinor := strings.Join(strings.SplitN(strings.TrimPrefix(server, "v"), ".", 3)[:2], ".")
	m := regexp.MustCompile(`^nats:(\d+\.\d+)(\.\d+)?(-[a-z0-9.]+)?$`).FindStringSubmatch(svc.Image)
	if m == nil || m[1] != wantMinor {
		p.addf("compose service nats: image %q is not nats:%s[.x], the nats-server go.mod requires (%s)", svc.Image, wantMinor, server)
	}
	// Files mounted into the container, by their path inside it.
	mounted := map[string]string{}
	for _, c := range svc.Configs {
		if cfg, ok := proj.Configs[c.Source]; ok && cfg.File != "" {
			target := c.Target
			if target == "" {
				target = "/" + c.Source
			}
			mounted[target] = cfg.File
		}
	}
	args := slices.Clone([]string(svc.Command))
	for i, a := range args {
		if host, ok := mounted[a]; ok {
			args[i] = host
		}
	}
	fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts, err := natsserver.ConfigureOptions(fs, args, func() {}, func() {}, func() {})
	if err != nil {
		p.addf("compose service nats: nats-server rejects its command %v: %v", []string(svc.Command), err)
		return
	}
	if !opts.JetStream {
		p.addf("compose service nats: command %v does not enable JetStream", []string(svc.Command))
	}
	if !opts.SyncAlways {
		p.addf("compose service nats: JetStream does not sync every write (sync_interval: always); a single server's acknowledged messages would sit in the page cache")
	}
	if opts.StoreDir == "" {
		p.addf("compose service nats: command %v sets no JetStream store dir", []string(svc.Command))
		return
	}
	if !hasNamedVolume(proj, svc, opts.StoreDir) {
		p.addf("compose service nats: no named volume is mounted at its store dir %s", opts.StoreDir)
	}
}

func hasNamedVolume(proj *composetypes.Project, svc composetypes.ServiceConfig, target string) bool {
	for _, v := range svc.Volumes {
		if v.Type == composetypes.VolumeTypeVolume && v.Target == target {
			if _, ok := proj.Volumes[v.Source]; ok {
				return true
			}
		}
	}
	return false
}

func checkComposeElasticsearch(p *problems, proj *composetypes.Project) {
	svc, ok := proj.Services["elasticsearch"]
	if !ok {
		return
	}
	// The same release the tests run (internal/dev/esnode).
	want := "docker.elastic.co/elasticsearch/elasticsearch:" + esnode.DefaultVersion
	if svc.Image != want || !strings.HasPrefix(esnode.DefaultVersion, "8.19.") {
		p.addf("compose service elasticsearch: image is %q, want %q (esnode.DefaultVersion, an 8.19 release)", svc.Image, want)
	}
	env := envValues(svc.Environment)
	if env["discovery.type"] != "single-node" {
		p.addf("compose service elasticsearch: discovery.type is %q, want single-node", env["discovery.type"])
	}
	if env["xpack.security.enabled"] != "false" {
		p.addf("compose service elasticsearch: xpack.security.enabled is %q, want false", env["xpack.security.enabled"])
	}
	if hc := svc.HealthCheck; hc == nil || hc.Disable || !strings.Contains(strings.Join(hc.Test, " "), "/_cluster/health") {
		p.addf("compose service elasticsearch: no healthcheck on /_cluster/health")
	}
	if !hasNamedVolume(proj, svc, "/usr/share/elasticsearch/data") {
		p.addf("compose service elasticsearch: no named volume for its data")
	}
	published := false
	for _, port := range svc.Ports {
		if port.Target == 9200 && port.Published == "9200" {
			published = true
		}
	}
	if !published {
		p.addf("compose service elasticsearch: port 9200 is not published")
	}
}

func TestCompose(t *testing.T) {
	file := filepath.Join("compose", "compose.yaml")
	checkComposeProfiles(t, file, repoRoot).report(t)

	// Interpolation: the variables passed through from the shell.
	proj, err := loadCompose(file, map[string]string{"FLOWLINE_INDEX_PREFIX": "custom", "FLOWLINE_INGEST_TOKEN": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"writer", "archiver"} {
		if got := envValues(proj.Services[s].Environment)["FLOWLINE_INDEX_PREFIX"]; got != "custom" {
			t.Errorf("%s: FLOWLINE_INDEX_PREFIX=custom in the shell gives %q", s, got)
		}
	}
	if got := envValues(proj.Services["ingest"].Environment)["FLOWLINE_INGEST_TOKEN"]; got != "s3cret" {
		t.Errorf("ingest: FLOWLINE_INGEST_TOKEN=s3cret in the shell gives %q", got)
	}
	proj, err = loadCompose(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := envValues(proj.Services["writer"].Environment)["FLOWLINE_INDEX_PREFIX"]; got != "flowline" {
		t.Errorf("writer: FLOWLINE_INDEX_PREFIX defaults to %q, want flowline", got)
	}
	if _, ok := proj.Services[c7Import]; ok {
		t.Errorf("`docker compose up` starts %s; it belongs to the profile %s", c7Import, c7Profile)
	}

	// The c7 profile: the engine's settings come from the shell, and
	// without FLOWLINE_C7_URL the import refuses to start, naming it.
	shell := map[string]string{"FLOWLINE_C7_URL": c7ShellURL, "FLOWLINE_C7_SOURCE": "plant1", "FLOWLINE_C7_USERNAME": "demo", "FLOWLINE_C7_PASSWORD": "s3cret"}
	proj, err = loadCompose(file, shell, c7Profile)
	if err != nil {
		t.Fatal(err)
	}
	env := envValues(proj.Services[c7Import].Environment)
	for k, v := range shell {
		if env[k] != v {
			t.Errorf("%s: %s=%s in the shell gives %q", c7Import, k, v, env[k])
		}
	}
	proj, err = loadCompose(file, nil, c7Profile)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateEnv(t, c7Import, envValues(proj.Services[c7Import].Environment)); err == nil || !strings.Contains(err.Error(), "FLOWLINE_C7_URL is required") {
		t.Errorf("%s without FLOWLINE_C7_URL in the shell: the binary says %v, want FLOWLINE_C7_URL is required", c7Import, err)
	}
}

// ---------------------------------------------------------------------------
// Kubernetes

// k8sObjects is the decoded output of a kustomize build.
type k8sObjects struct {
	deployments     map[string]*appsv1.Deployment // by subcommand
	services        []*corev1.Service
	pdbs            []*policyv1.PodDisruptionBudget
	configMaps      map[string]*corev1.ConfigMap // by name
	scaledObjects   []*kedav1alpha1.ScaledObject
	podMonitors     []*monitoringv1.PodMonitor
	prometheusRules []*monitoringv1.PrometheusRule
	// namespaces are the namespaces the objects are in ("" for none).
	namespaces map[string]bool
}

// buildKustomize builds the kustomization in dir and strictly decodes every
// object into its Kubernetes API type.
func buildKustomize(p *problems, dir string) *k8sObjects {
	objs := &k8sObjects{deployments: map[string]*appsv1.Deployment{}, configMaps: map[string]*corev1.ConfigMap{}, namespaces: map[string]bool{}}
	abs, err := filepath.Abs(dir)
	if err != nil {
		p.addf("%v", err)
		return objs
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		p.addf("kustomize build %s: %v", dir, err)
		return objs
	}
	var deployments []*appsv1.Deployment
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			p.addf("%v", err)
			continue
		}
		var meta metav1.PartialObjectMetadata
		if err := yaml.Unmarshal(y, &meta); err != nil {
			p.addf("%v", err)
			continue
		}
		id := meta.APIVersion + " " + meta.Kind + " " + meta.Name
		objs.namespaces[meta.Namespace] = true
		var obj any
		switch meta.APIVersion + "/" + meta.Kind {
		case "apps/v1/Deployment":
			obj = appendNew(&deployments)
		case "v1/Service":
			obj = appendNew(&objs.services)
		case "policy/v1/PodDisruptionBudget":
			obj = appendNew(&objs.pdbs)
		case "v1/ConfigMap":
			c := &corev1.ConfigMap{}
			obj = c
			objs.configMaps[meta.Name] = c
		case "keda.sh/v1alpha1/ScaledObject":
			obj = appendNew(&objs.scaledObjects)
		case "monitoring.coreos.com/v1/PodMonitor":
			obj = appendNew(&objs.podMonitors)
		case "monitoring.coreos.com/v1/PrometheusRule":
			obj = appendNew(&objs.prometheusRules)
		default:
			p.addf("%s: unexpected kind", id)
			continue
		}
		if err := unmarshalStrict(y, obj); err != nil {
			p.addf("%s: %v", id, err)
		}
	}
	// Deployments by the subcommand they run.
	for _, d := range deployments {
		c := d.Spec.Template.Spec.Containers
		if len(c) == 0 || len(c[0].Args) == 0 {
			p.addf("Deployment %s: its first container has no args", d.Name)
			continue
		}
		if prev, dup := objs.deployments[c[0].Args[0]]; dup {
			p.addf("Deployments %s and %s both run %q", prev.Name, d.Name, c[0].Args[0])
		}
		objs.deployments[c[0].Args[0]] = d
	}
	return objs
}

// usage is a service's use of CPU and memory as measured on the build
// machine (docs/operations.md, "Sizing"): steady, per replica, at the
// soak's sustained rate (`flowline faults --soak 30m`: 6,405 records/s
// through 2 ingest, 2 aggregator, 2 writer and 1 archiver replicas, CPU
// from /proc over 150 s, RSS the largest of its samples); peak, the
// largest RSS of a replica at full speed (`flowline bench`, and its Camunda
// 7 run for the aggregator, whose pods run the c7 fold, the writer and
// c7-import). 0: not measured.
type usage struct {
	steadyCores        float64
	steadyMiB, peakMiB int64
}

var measured = map[string]usage{
	"ingest":     {steadyCores: 0.034, steadyMiB: 37, peakMiB: 121},
	"aggregator": {steadyCores: 0.058, steadyMiB: 45, peakMiB: 787},
	"writer":     {steadyCores: 0.012, steadyMiB: 39, peakMiB: 194},
	"archiver":   {steadyCores: 0.085, steadyMiB: 45, peakMiB: 116}, // peak: the largest sample of two soaks
	c7Import:     {peakMiB: 150},
	// zeebe-import: not measured; sized like c7-import, its twin (pages
	// of documents from a search engine into JetStream).
}

// checkSizing reports unless resources match what service svc was
// measured to use: requests at least its steady use (the scheduler places
// it where it fits) and no more than its peak, memory limits half again
// its peak (no OOM kill at full speed).
func checkSizing(p *problems, where, svc string, res corev1.ResourceRequirements) {
	u, ok := measured[svc]
	if !ok {
		return
	}
	const mib = 1 << 20
	reqMem, limMem, reqCPU := res.Requests.Memory().Value(), res.Limits.Memory().Value(), res.Requests.Cpu().AsApproximateFloat64()
	if u.steadyMiB > 0 && (reqMem < u.steadyMiB*mib || reqMem > max(u.peakMiB, 2*u.steadyMiB)*mib*2) {
		p.addf("%s: memory request %s, want between the %d MiB it uses steadily and twice its %d MiB peak", where, res.Requests.Memory(), u.steadyMiB, max(u.peakMiB, 2*u.steadyMiB))
	}
	if limMem < u.peakMiB*mib*3/2 {
		p.addf("%s: memory limit %s, want at least half again its %d MiB peak", where, res.Limits.Memory(), u.peakMiB)
	}
	if u.steadyCores > 0 && (reqCPU < u.steadyCores || reqCPU > max(4*u.steadyCores, 0.1)) {
		p.addf("%s: cpu request %s, want between the %.3f cores it uses steadily and four times that (at least 100m)", where, res.Requests.Cpu(), u.steadyCores)
	}
}

// appendNew appends a new zero T to list and returns it, for decoding into.
func appendNew[T any](list *[]*T) *T {
	v := new(T)
	*list = append(*list, v)
	return v
}

// scaledBy returns the ScaledObject that scales Deployment d, if any.
func (objs *k8sObjects) scaledBy(d *appsv1.Deployment) (*kedav1alpha1.ScaledObject, bool) {
	for _, so := range objs.scaledObjects {
		if ref := so.Spec.ScaleTargetRef; ref != nil && ref.Name == d.Name {
			return so, true
		}
	}
	return nil, false
}

// minReplicas is the fewest pods Deployment d runs: its ScaledObject's
// minReplicaCount when KEDA scales it, else its replicas (default 1).
func (objs *k8sObjects) minReplicas(d *appsv1.Deployment) int32 {
	if so, ok := objs.scaledBy(d); ok {
		if so.Spec.MinReplicaCount != nil {
			return *so.Spec.MinReplicaCount
		}
		return 0 // KEDA's default: scale to zero
	}
	if d.Spec.Replicas != nil {
		return *d.Spec.Replicas
	}
	return 1
}

func resolvePort(c corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

// selectsOnly reports to p unless selector (of the object what) selects the
// pods of deployment want and of no other.
func (objs *k8sObjects) selectsOnly(p *problems, what string, selector *metav1.LabelSelector, want string) {
	for name, d := range objs.deployments {
		if got := selects(selector, d.Spec.Template.Labels); got != (name == want) {
			p.addf("%s: selects the pods of %s: %v, want %v", what, d.Name, got, name == want)
		}
	}
}

func selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || sel == nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(podLabels))
}

// checkKustomize builds the kustomization in dir (the base, or an overlay
// of it) and checks it: it must run exactly the subcommands want. Secrets
// are optional (the base runs against open clusters) but for the variables
// required, which an overlay that fails closed makes required.
func checkKustomize(t testing.TB, dir string, want []string, required ...string) problems {
	t.Helper()
	var p problems

	// The kustomization lists every manifest beside it and sets no namespace.
	kb, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		p.addf("%v", err)
		return p
	}
	var k kustypes.Kustomization
	if err := unmarshalStrict(kb, &k); err != nil {
		p.addf("kustomization.yaml: %v", err)
	}
	var listed []string // files; an overlay lists its base directory
	overlay := false
	for _, r := range k.Resources {
		if strings.HasSuffix(r, ".yaml") {
			listed = append(listed, r)
		} else {
			overlay = true
		}
	}
	objs := buildKustomize(&p, dir)
	if !overlay {
		// The base: namespace-free, every manifest beside it listed.
		if k.Namespace != "" {
			p.addf("kustomization.yaml sets namespace %q; the base must be namespace-free", k.Namespace)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		var manifests []string
		for _, f := range files {
			if b := filepath.Base(f); b != "kustomization.yaml" {
				manifests = append(manifests, b)
			}
		}
		slices.Sort(listed)
		if !slices.Equal(listed, manifests) {
			p.addf("kustomization.yaml resources are %v, want every manifest beside it: %v", listed, manifests)
		}
	}
	// Every object in the kustomization's namespace (the base: none).
	for ns := range objs.namespaces {
		if ns != k.Namespace {
			p.addf("an object is in namespace %q; want %q (the base is namespace-free, an overlay sets one)", ns, k.Namespace)
		}
	}
	drain := drainTimeout(t)
	admin := adminPort(t)
	usedKeys := map[string]bool{}
	manage := map[string]string{} // FLOWLINE_STREAM_MANAGE by service

	for cmd, d := range objs.deployments {
		switch {
		case !slices.Contains(helpCommands, cmd):
			p.addf("Deployment %s: args[0] %q is not a flowline service subcommand", d.Name, cmd)
		case !slices.Contains(want, cmd):
			p.addf("Deployment %s: runs `flowline %s`, which %s must not run (it is optional: the component deploy/%s adds it)", d.Name, cmd, dir, optionalComponents[cmd])
		}
	}
	// Two of each: leases make two aggregators, archivers or imports safe
	// side by side, and two keep a service running through a node's loss.
	wantReplicas := map[string]int32{"ingest": 2, "aggregator": 2, "writer": 2, "archiver": 2, c7Import: 2, zeebeImport: 2}
	for _, svc := range want {
		d, ok := objs.deployments[svc]
		if !ok {
			p.addf("no Deployment runs `flowline %s`", svc)
			continue
		}
		where := "Deployment " + d.Name
		if d.Name != "flowline-"+svc {
			p.addf("%s: runs %s; name it flowline-%s", where, svc, svc)
		}
		replicas := objs.minReplicas(d)
		switch _, scaled := objs.scaledBy(d); {
		case scaled && d.Spec.Replicas != nil:
			p.addf("%s: sets replicas %d while a ScaledObject scales it: every apply would reset the autoscaler's count", where, *d.Spec.Replicas)
		case scaled:
		case wantReplicas[svc] != 0 && replicas != wantReplicas[svc]:
			p.addf("%s: replicas %d, want %d", where, replicas, wantReplicas[svc])
		case replicas < 1:
			p.addf("%s: replicas %d", where, replicas)
		}
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			p.addf("%s: strategy Recreate stops every replica at once on a rollout; leases make a rolling update safe", where)
		}
		if ru := d.Spec.Strategy.RollingUpdate; svc == "aggregator" && (ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0) {
			p.addf("%s: a rolling update must keep every replica until its successor is up (maxUnavailable: 0), so that no partition waits for an owner", where)
		}
		spread := false
		for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
			if c.TopologyKey == "kubernetes.io/hostname" && c.MaxSkew == 1 && selects(c.LabelSelector, d.Spec.Template.Labels) {
				for other, od := range objs.deployments {
					if other != svc && selects(c.LabelSelector, od.Spec.Template.Labels) {
						p.addf("%s: its topology spread also counts the pods of %s", where, od.Name)
					}
				}
				spread = true
			}
		}
		if !spread {
			p.addf("%s: no topology spread across nodes (kubernetes.io/hostname, maxSkew 1, selecting its own pods)", where)
		}
		if !selects(d.Spec.Selector, d.Spec.Template.Labels) {
			p.addf("%s: selector does not select its own pods", where)
		}
		for other, od := range objs.deployments {
			if other != svc && selects(d.Spec.Selector, od.Spec.Template.Labels) {
				p.addf("%s: selector also selects the pods of %s", where, od.Name)
			}
		}

		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 1 {
			p.addf("%s: %d containers, want 1", where, len(pod.Containers))
			continue
		}
		c := pod.Containers[0]
		if c.Image != image {
			p.addf("%s: image %q, want %q", where, c.Image, image)
		}
		if len(c.Command) > 0 {
			p.addf("%s: command %v replaces the image's /flowline entrypoint", where, c.Command)
		}
		if !slices.Equal(c.Args, []string{svc}) {
			p.addf("%s: args %v, want [%s]", where, c.Args, svc)
		}

		// Probes on the admin port.
		for _, pr := range []struct {
			kind, path string
			probe      *corev1.Probe
		}{{"readinessProbe", "/readyz", c.ReadinessProbe}, {"livenessProbe", "/healthz", c.LivenessProbe}, {"startupProbe", "/healthz", c.StartupProbe}} {
			if pr.probe == nil || pr.probe.HTTPGet == nil {
				p.addf("%s: no httpGet %s", where, pr.kind)
				continue
			}
			if pr.probe.HTTPGet.Path != pr.path {
				p.addf("%s: %s path %q, want %s", where, pr.kind, pr.probe.HTTPGet.Path, pr.path)
			}
			if got := resolvePort(c, pr.probe.HTTPGet.Port); got != admin {
				p.addf("%s: %s port %s is %d, want the admin port %d", where, pr.kind, pr.probe.HTTPGet.Port.String(), got, admin)
			}
		}
		if sp := c.StartupProbe; sp != nil && sp.PeriodSeconds*sp.FailureThreshold < 60 {
			p.addf("%s: the startupProbe gives start-up %ds, want at least 60s (a busy cluster)", where, sp.PeriodSeconds*sp.FailureThreshold)
		}

		// Resources.
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[r]
			lim, okLim := c.Resources.Limits[r]
			switch {
			case !okReq:
				p.addf("%s: no %s request", where, r)
			case !okLim:
				p.addf("%s: no %s limits", where, r)
			case lim.Cmp(req) < 0 || req.Cmp(resource.Quantity{}) <= 0:
				p.addf("%s: %s request %s and limit %s", where, r, req.String(), lim.String())
			}
		}
		checkSizing(&p, where, svc, c.Resources)

		// Security.
		nonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
		sc := c.SecurityContext
		if sc != nil && sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if !nonRoot {
			p.addf("%s: runAsNonRoot is not true", where)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p.addf("%s: readOnlyRootFilesystem is not true", where)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.addf("%s: allowPrivilegeEscalation is not false", where)
		}

		// Time to drain.
		minGrace := drain + 10*time.Second
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			minGrace = max(minGrace, time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second+drain+5*time.Second)
		}
		if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < minGrace {
			p.addf("%s: terminationGracePeriodSeconds must be at least %s (preStop + drain %s + margin)", where, minGrace, drain)
		}

		// Environment: resolved from the ConfigMap; secrets optional.
		env := map[string]string{}
		from := map[string]string{} // variable -> "value", "configmap" or "secret"
		var names []string
		for _, e := range c.Env {
			if _, dup := from[e.Name]; dup {
				p.addf("%s: %s is set twice", where, e.Name)
			}
			names = append(names, e.Name)
			switch {
			case e.ValueFrom == nil:
				env[e.Name], from[e.Name] = e.Value, "value"
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				from[e.Name] = "configmap"
				cm, ok := objs.configMaps[ref.Name]
				if !ok {
					p.addf("%s: %s refers to ConfigMap %q, which the base does not hold", where, e.Name, ref.Name)
					continue
				}
				v, ok := cm.Data[ref.Key]
				if !ok && ref.Optional != nil && *ref.Optional {
					continue // unset: the binary's default
				}
				if !ok {
					p.addf("%s: %s refers to key %s, which ConfigMap %s lacks", where, e.Name, ref.Key, ref.Name)
					continue
				}
				env[e.Name] = v
				usedKeys[ref.Key] = true
			case e.ValueFrom.SecretKeyRef != nil:
				from[e.Name] = "secret"
				optional := e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional
				switch {
				case slices.Contains(required, e.Name) && optional:
					p.addf("%s: %s comes from Secret %s with optional: true; this overlay requires it (a pod without it must not start)", where, e.Name, e.ValueFrom.SecretKeyRef.Name)
				case !slices.Contains(required, e.Name) && !optional:
					p.addf("%s: %s comes from Secret %s without optional: true", where, e.Name, e.ValueFrom.SecretKeyRef.Name)
				}
			default:
				from[e.Name] = "other"
			}
		}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				cm, ok := objs.configMaps[ef.ConfigMapRef.Name]
				if !ok {
					p.addf("%s: envFrom ConfigMap %q, which the base does not hold", where, ef.ConfigMapRef.Name)
					continue
				}
				for key, v := range cm.Data {
					names = append(names, ef.Prefix+key)
					env[ef.Prefix+key], from[ef.Prefix+key] = v, "configmap"
					usedKeys[key] = true
				}
			case ef.SecretRef != nil:
				if o := ef.SecretRef.Optional; o == nil || !*o {
					p.addf("%s: envFrom Secret %s without optional: true", where, ef.SecretRef.Name)
				}
			}
		}
		checkVarsKnown(&p, where, svc, names)
		checkAdminAddr(&p, where, env["FLOWLINE_ADMIN_ADDR"], admin)
		manage[svc] = env["FLOWLINE_STREAM_MANAGE"]
		wantFrom := map[string]string{"FLOWLINE_NATS_URL": "configmap"}
		switch svc {
		case "ingest":
			wantFrom["FLOWLINE_INGEST_ADDR"] = "value"
			wantFrom["FLOWLINE_INGEST_TOKEN"] = "secret"
		case "writer", "archiver":
			wantFrom["FLOWLINE_ES_URL"] = "configmap"
			wantFrom["FLOWLINE_INDEX_PREFIX"] = "configmap"
			wantFrom["FLOWLINE_ES_PASSWORD"] = "secret"
			// Both install the schema: the refresh intervals must agree.
			wantFrom["FLOWLINE_INDEX_REFRESH_INTERVAL"] = "configmap"
			wantFrom["FLOWLINE_INDEX_REFRESH_INTERVALS"] = "configmap"
		case c7Import:
			wantFrom["FLOWLINE_C7_URL"] = "configmap"
			wantFrom["FLOWLINE_C7_SOURCE"] = "configmap"
			wantFrom["FLOWLINE_C7_PASSWORD"] = "secret"
		case zeebeImport:
			wantFrom["FLOWLINE_ZEEBE_IMPORT_URL"] = "configmap"
			wantFrom["FLOWLINE_ZEEBE_IMPORT_PASSWORD"] = "secret"
			wantFrom["FLOWLINE_ZEEBE_IMPORT_API_KEY"] = "secret"
		}
		// Settings an overlay may set for every service that reads them.
		wantFrom["FLOWLINE_STREAM_REPLICAS"] = "configmap"
		wantFrom["FLOWLINE_STREAM_COMPRESSION"] = "configmap"
		if _, ok := knownVars[svc]["FLOWLINE_INDEX_REPLICAS"]; ok {
			wantFrom["FLOWLINE_INDEX_REPLICAS"] = "configmap"
			wantFrom["FLOWLINE_INDEX_SHARDS"] = "configmap"
		}
		for n, f := range wantFrom {
			if from[n] != f {
				p.addf("%s: %s should come from a %s (it comes from %q)", where, n, f, from[n])
			}
		}
		if err := validateEnv(t, svc, env); err != nil {
			p.addf("%s: the binary rejects its environment: %v", where, err)
		}
		if svc == "ingest" {
			if addr := env["FLOWLINE_INGEST_ADDR"]; addr != "0.0.0.0:8080" {
				p.addf("%s: FLOWLINE_INGEST_ADDR is %q, want 0.0.0.0:8080", where, addr)
			}
			declared := false
			for _, cp := range c.Ports {
				declared = declared || cp.ContainerPort == ingestPort(t)
			}
			if !declared {
				p.addf("%s: declares no container port %d", where, ingestPort(t))
			}
		}
	}

	checkStreamOwner(&p, "kustomize", manage)

	// The shared ConfigMap: every key known and read.
	if len(objs.configMaps) != 1 {
		p.addf("%d ConfigMaps, want 1", len(objs.configMaps))
	}
	for name, cm := range objs.configMaps {
		for _, key := range []string{"FLOWLINE_NATS_URL", "FLOWLINE_ES_URL", "FLOWLINE_INDEX_PREFIX"} {
			if _, ok := cm.Data[key]; !ok {
				p.addf("ConfigMap %s: no %s", name, key)
			}
		}
		for key := range cm.Data {
			if !usedKeys[key] {
				p.addf("ConfigMap %s: no container reads %s", name, key)
			}
		}
	}

	// The ingest Service.
	if len(objs.services) != 1 {
		p.addf("%d Services, want 1 (ingest)", len(objs.services))
	}
	if ing, ok := objs.deployments["ingest"]; ok {
		for _, s := range objs.services {
			objs.selectsOnly(&p, "Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, "ingest")
			found := false
			for _, sp := range s.Spec.Ports {
				if sp.Port == ingestPort(t) && len(ing.Spec.Template.Spec.Containers) > 0 &&
					resolvePort(ing.Spec.Template.Spec.Containers[0], sp.TargetPort) == ingestPort(t) {
					found = true
				}
			}
			if !found {
				p.addf("Service %s: no port %d to the ingest container's port %d", s.Name, ingestPort(t), ingestPort(t))
			}
		}
	}

	// A PodDisruptionBudget per Deployment, selecting only its pods.
	covered := map[string]bool{}
	for _, b := range objs.pdbs {
		var svc string
		for cmd, d := range objs.deployments {
			if selects(b.Spec.Selector, d.Spec.Template.Labels) {
				if svc != "" {
					p.addf("PodDisruptionBudget %s: selects the pods of %s and of flowline-%s", b.Name, d.Name, svc)
				}
				svc = cmd
			}
		}
		if svc == "" {
			p.addf("PodDisruptionBudget %s: selects no Deployment's pods", b.Name)
			continue
		}
		if covered[svc] {
			p.addf("PodDisruptionBudget %s: a second budget for flowline-%s", b.Name, svc)
		}
		covered[svc] = true
		replicas := objs.minReplicas(objs.deployments[svc])
		switch {
		case b.Spec.MinAvailable != nil && b.Spec.MinAvailable.Type == intstr.Int:
			if b.Spec.MinAvailable.IntVal < 1 || b.Spec.MinAvailable.IntVal >= replicas {
				p.addf("PodDisruptionBudget %s: minAvailable %d with %d %s replicas blocks drains or protects nothing", b.Name, b.Spec.MinAvailable.IntVal, replicas, svc)
			}
		case b.Spec.MaxUnavailable != nil && b.Spec.MaxUnavailable.Type == intstr.Int:
			if b.Spec.MaxUnavailable.IntVal < 1 || b.Spec.MaxUnavailable.IntVal >= replicas {
				p.addf("PodDisruptionBudget %s: maxUnavailable %d with %d %s replicas", b.Name, b.Spec.MaxUnavailable.IntVal, replicas, svc)
			}
		default:
			p.addf("PodDisruptionBudget %s: set minAvailable or maxUnavailable as a number", b.Name)
		}
	}
	for _, svc := range want {
		if _, ok := objs.deployments[svc]; ok && !covered[svc] {
			p.addf("Deployment flowline-%s: no PodDisruptionBudget", svc)
		}
	}
	return p
}

// withComponent writes an overlay of the base in dir base with the
// component in dir component, as k8s/README.md shows, with extra appended
// to its kustomization, and returns its directory.
func withComponent(t testing.TB, base, component string, extra ...string) string {
	t.Helper()
	return withComponents(t, base, []string{component}, extra...)
}

// withComponents is withComponent with any number of components.
func withComponents(t testing.TB, base string, components []string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	rel := func(target string) string {
		abs, err := filepath.Abs(target)
		if err != nil {
			t.Fatal(err)
		}
		r, err := filepath.Rel(dir, abs)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n", rel(base))
	for _, c := range components {
		k += fmt.Sprintf("  - %s\n", rel(c))
	}
	k += strings.Join(extra, "")
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// c7Settings is what an overlay with the Camunda 7 component sets, as
// k8s/README.md shows.
const c7Settings = "configMapGenerator:\n  - name: flowline\n    behavior: merge\n    literals:\n" +
	"      - FLOWLINE_C7_URL=http://engine.camunda.svc:8080/engine-rest\n      - FLOWLINE_C7_SOURCE=plant1\n"

func TestKustomize(t *testing.T) {
	checkKustomize(t, "k8s/base", services).report(t)
	checkKustomize(t, "k8s", services).report(t)
	overlay := withComponent(t, "k8s", c7Component, c7Settings)
	checkKustomize(t, overlay, commands).report(t)

	// The overlay's settings reach the import.
	var p problems
	objs := buildKustomize(&p, overlay)
	p.report(t)
	if d, ok := objs.deployments[c7Import]; ok {
		cms := slices.Collect(maps.Values(objs.configMaps))
		got := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if ref := e.ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil && len(cms) == 1 && ref.ConfigMapKeyRef.Name == cms[0].Name {
				got[e.Name] = cms[0].Data[ref.ConfigMapKeyRef.Key]
			}
		}
		if got["FLOWLINE_C7_URL"] != "http://engine.camunda.svc:8080/engine-rest" || got["FLOWLINE_C7_SOURCE"] != "plant1" {
			t.Errorf("the import's engine settings from the overlay's ConfigMap: %v", got)
		}
	}

	// Without FLOWLINE_C7_URL the import has no engine to read.
	expectProblem(t, checkKustomize(t, withComponent(t, "k8s", c7Component), commands), "FLOWLINE_C7_URL refers to key FLOWLINE_C7_URL, which ConfigMap")
}

// ---------------------------------------------------------------------------
// Dockerfile and .dockerignore

type instruction struct {
	cmd  string // upper case
	args string // whitespace collapsed
}

// parseDockerfile splits a Dockerfile into instructions, joining continued
// lines and dropping comments.
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(l, `\`); ok {
			cur = append(cur, rest)
			continue
		}
		cur = append(cur, l)
		fields := strings.Fields(strings.Join(cur, " "))
		cur = nil
		out = append(out, instruction{cmd: strings.ToUpper(fields[0]), args: strings.Join(fields[1:], " ")})
	}
	return out
}

// checkDockerfile checks the Dockerfile's text; ignore is .dockerignore's.
func checkDockerfile(t testing.TB, text, ignore string) problems {
	t.Helper()
	var p problems
	var stages [][]instruction
	for _, in := range parseDockerfile(text) {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				p.addf("Dockerfile: %s before the first FROM", in.cmd)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		p.addf("Dockerfile: %d stages, want a build stage and a final one", len(stages))
		return p
	}
	rules, err := parseIgnore(ignore)
	if err != nil {
		p.addf(".dockerignore: %v", err)
	}

	build, final := stages[0], stages[len(stages)-1]
	from := strings.Fields(build[0].args)
	goTag, _ := strings.CutPrefix(from[0], "golang:")
	minor := goMinor(t)
	if !strings.HasPrefix(from[0], "golang:") || (goTag != minor && !strings.HasPrefix(goTag, minor+".") && !strings.HasPrefix(goTag, minor+"-")) {
		p.addf("Dockerfile: build stage is FROM %s, want golang:%s (go.mod's go version)", from[0], minor)
	}
	buildName := ""
	if len(from) == 3 && strings.EqualFold(from[1], "AS") {
		buildName = from[2]
	} else {
		p.addf("Dockerfile: the build stage is not named (FROM golang:%s AS build)", minor)
	}
	built := false
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0 go build -trimpath ") && strings.HasSuffix(strings.TrimSpace(in.args), "-o /out/flowline ./cmd/flowline") {
			if !strings.Contains(in.args, buildInfoFlags) {
				p.addf("Dockerfile: the build does not set the version and revision (-ldflags %q)", buildInfoFlags)
			}
			built = true
		}
		if in.cmd == "COPY" && !strings.Contains(in.args, "--from") {
			srcs := strings.Fields(in.args)
			for _, s := range srcs[:len(srcs)-1] {
				if strings.HasPrefix(s, "--") || s == "." {
					continue
				}
				if isIgnored(rules, filepath.ToSlash(filepath.Clean(s))) {
					p.addf("Dockerfile: COPY %s, which .dockerignore excludes", s)
				}
			}
		}
	}
	if !built {
		p.addf("Dockerfile: the build stage has no RUN %s (the go build this test runs)", buildCommand)
	}

	if img := strings.Fields(final[0].args)[0]; img != "gcr.io/distroless/static-debian12:nonroot" {
		p.addf("Dockerfile: final stage is FROM %s, want gcr.io/distroless/static-debian12:nonroot", img)
	}
	var copied, entry bool
	exposed := map[string]bool{}
	for _, in := range final {
		switch in.cmd {
		case "COPY":
			copied = copied || in.args == "--from="+buildName+" /out/flowline /flowline"
		case "ENTRYPOINT":
			var argv []string
			entry = json.Unmarshal([]byte(in.args), &argv) == nil && slices.Equal(argv, []string{"/flowline"})
		case "EXPOSE":
			for _, port := range strings.Fields(in.args) {
				exposed[strings.TrimSuffix(port, "/tcp")] = true
			}
		case "USER":
			if u, _, _ := strings.Cut(in.args, ":"); u == "root" || u == "0" {
				p.addf("Dockerfile: USER %s; the image must run as non-root", in.args)
			}
		}
	}
	if !copied {
		p.addf("Dockerfile: the final stage does not COPY --from=%s /out/flowline /flowline", buildName)
	}
	if !entry {
		p.addf(`Dockerfile: the final stage's ENTRYPOINT is not ["/flowline"]`)
	}
	for _, port := range []int32{ingestPort(t), adminPort(t)} {
		if !exposed[strconv.Itoa(int(port))] {
			p.addf("Dockerfile: does not EXPOSE %d", port)
		}
	}
	return p
}

type ignoreRule struct {
	pattern string
	negate  bool
}

// parseIgnore reads .dockerignore rules. It supports the patterns Docker
// matches with filepath.Match (not "**"), which is all this repository uses.
func parseIgnore(text string) ([]ignoreRule, error) {
	var rules []ignoreRule
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(l, "!"); ok {
			r.negate, l = true, strings.TrimSpace(rest)
		}
		if strings.Contains(l, "**") {
			return nil, fmt.Errorf("pattern %q: this check does not support **", l)
		}
		r.pattern = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(l)), "/")
		if _, err := filepath.Match(r.pattern, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %v", l, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// isIgnored reports whether .dockerignore's rules exclude path (slash
// separated, relative to the context): the last rule matching the path or
// one of its parent directories decides.
func isIgnored(rules []ignoreRule, path string) bool {
	parts := strings.Split(path, "/")
	ignored := false
	for _, r := range rules {
		for i := 1; i <= len(parts); i++ {
			if ok, _ := filepath.Match(r.pattern, strings.Join(parts[:i], "/")); ok {
				ignored = !r.negate
				break
			}
		}
	}
	return ignored
}

// buildInputs lists every file `go build ./cmd/flowline` reads from the
// repository, relative to its root.
func buildInputs(t testing.TB) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,EmbedFiles", "./cmd/flowline")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	files := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg struct {
			Dir                           string
			Module                        *struct{ Path string }
			GoFiles, CgoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || pkg.Module.Path != module {
			continue
		}
		for _, f := range slices.Concat(pkg.GoFiles, pkg.CgoFiles, pkg.EmbedFiles) {
			rel, err := filepath.Rel(repoRoot, filepath.Join(pkg.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if len(files) < 10 {
		t.Fatalf("go list found only %v", files)
	}
	return files
}

func checkDockerignore(ignore string, inputs []string) problems {
	var p problems
	rules, err := parseIgnore(ignore)
	if err != nil {
		p.addf(".dockerignore: %v", err)
		return p
	}
	for _, f := range inputs {
		if isIgnored(rules, f) {
			p.addf(".dockerignore excludes %s, which go build ./cmd/flowline needs", f)
		}
	}
	for _, f := range []string{".git/HEAD", "deploy/compose/compose.yaml"} {
		if !isIgnored(rules, f) {
			p.addf(".dockerignore does not exclude %s", f)
		}
	}
	return p
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerfile(t *testing.T) {
	ignore := readFile(t, filepath.Join(repoRoot, ".dockerignore"))
	checkDockerfile(t, readFile(t, filepath.Join(repoRoot, "Dockerfile")), ignore).report(t)
	checkDockerignore(ignore, buildInputs(t)).report(t)
}

// ---------------------------------------------------------------------------
// The checks catch mistakes: each case breaks one thing in a copy of a file
// and expects a problem that names it.

type mutation struct {
	file     string // relative to the copied directory
	old, new string
	last     bool // replace the last occurrence instead of the first
	want     string
}

func (m mutation) apply(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, m.old)
	if m.last {
		i = strings.LastIndex(text, m.old)
	}
	if i < 0 {
		t.Fatalf("%s does not contain %q", m.file, m.old)
	}
	return text[:i] + m.new + text[i+len(m.old):]
}

func expectProblem(t *testing.T, p problems, want string) {
	t.Helper()
	for _, s := range p {
		if strings.Contains(s, want) {
			return
		}
	}
	t.Errorf("no problem mentions %q; got %d:\n%s", want, len(p), strings.Join(p, "\n"))
}

// copyDir copies the regular files of src (not recursively) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.WriteFile(filepath.Join(dst, e.Name()), []byte(readFile(t, filepath.Join(src, e.Name()))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestComposeChecksCatchMistakes(t *testing.T) {
	cases := map[string]mutation{
		"unknown variable":            {old: "FLOWLINE_NATS_URL: nats://nats:4222", new: "FLOWLINE_NATS_ULR: nats://nats:4222", want: "FLOWLINE_NATS_ULR is not a variable"},
		"variable of another cmd":     {old: "command: [\"writer\"]\n    environment:\n", new: "command: [\"writer\"]\n    environment:\n      FLOWLINE_INGEST_TOKEN: x\n", want: "FLOWLINE_INGEST_TOKEN is not a variable `flowline writer`"},
		"wrong NATS URL":              {old: "FLOWLINE_NATS_URL: nats://nats:4222", new: "FLOWLINE_NATS_URL: nats://localhost:4222", want: "FLOWLINE_NATS_URL"},
		"value the binary rejects":    {old: "${FLOWLINE_ES_URL:-http://elasticsearch:9200}", new: "${FLOWLINE_ES_URL:-elasticsearch:9200}", want: "invalid configuration"},
		"no jetstream":                {file: "nats.conf", old: "jetstream {", new: "jetstream_off {", want: "nats-server rejects"},
		"jetstream disabled":          {file: "nats.conf", old: "jetstream {", new: "jetstream {\n  enabled: false", want: "does not enable JetStream"},
		"page-cache durability":       {file: "nats.conf", old: "sync_interval: always", new: `sync_interval: "2m"`, want: "sync_interval: always"},
		"config not mounted":          {old: "target: /etc/nats/nats.conf", new: "target: /etc/nats/other.conf", want: "nats-server rejects"},
		"store not on a volume":       {old: "nats-data:/data", new: "nats-data:/store", want: "store dir"},
		"admin on loopback":           {old: "FLOWLINE_ADMIN_ADDR: 0.0.0.0:9600", new: "FLOWLINE_ADMIN_ADDR: 127.0.0.1:9600", want: "ingest: FLOWLINE_ADMIN_ADDR"},
		"admin address unset":         {old: "command: [\"archiver\"]\n    environment:\n      <<: *flowline-env\n", new: "command: [\"archiver\"]\n    environment:\n      <<: *flowline-env\n      FLOWLINE_ADMIN_ADDR: \"\"\n", want: "archiver: FLOWLINE_ADMIN_ADDR"},
		"no stream owner":             {old: `FLOWLINE_STREAM_MANAGE: "true"`, new: `FLOWLINE_STREAM_MANAGE: "false"`, want: "FLOWLINE_STREAM_MANAGE=true is set on []"},
		"two stream owners":           {old: "command: [\"writer\"]\n    environment:\n", new: "command: [\"writer\"]\n    environment:\n      FLOWLINE_STREAM_MANAGE: \"true\"\n", want: "[ingest writer]"},
		"other nats release":          {old: "nats:2.", new: "nats:1.", want: "nats-server"},
		"other elasticsearch":         {old: "elasticsearch:8.19.", new: "elasticsearch:8.18.", want: "esnode.DefaultVersion"},
		"security on":                 {old: `xpack.security.enabled: "false"`, new: `xpack.security.enabled: "true"`, want: "xpack.security.enabled"},
		"healthcheck elsewhere":       {old: "/_cluster/health?", new: "/_cat/health?", want: "/_cluster/health"},
		"es not awaited":              {old: "      elasticsearch:\n        condition: service_healthy\n      writer:", new: "      elasticsearch:\n        condition: service_started\n      writer:", want: "archiver: does not depend on elasticsearch"},
		"ingest port not published":   {old: "127.0.0.1:8080:8080", new: "127.0.0.1:8081:8080", want: "is not published"},
		"ingest on loopback":          {old: "FLOWLINE_INGEST_ADDR: 0.0.0.0:8080", new: "FLOWLINE_INGEST_ADDR: 127.0.0.1:8080", want: "FLOWLINE_INGEST_ADDR"},
		"wrong subcommand":            {old: `command: ["archiver"]`, new: `command: ["writer"]`, want: "archiver: command"},
		"short grace period":          {old: "stop_grace_period: 40s", new: "stop_grace_period: 10s", want: "stop_grace_period"},
		"other image":                 {old: "image: flowline:latest", new: "image: flowline:dev", want: "flowline:latest"},
		"other build context":         {old: "context: ../..", new: "context: ..", want: "build context"},
		"unknown compose key":         {old: "read_only: true", new: "readonly: true", want: "readonly"},
		"c7 import by default":        {old: "    profiles: [\"c7\"]\n", new: "", want: "compose services are [aggregator archiver c7-import"},
		"c7 URL not passed through":   {old: "FLOWLINE_C7_URL: ${FLOWLINE_C7_URL:-}", new: "FLOWLINE_C7_URL: http://camunda:8080/engine-rest", want: "FLOWLINE_C7_URL is \"http://camunda:8080/engine-rest\""},
		"c7 source default":           {old: "${FLOWLINE_C7_SOURCE:-camunda7}", new: "${FLOWLINE_C7_SOURCE:-c7}", want: "FLOWLINE_C7_SOURCE defaults to \"c7\""},
		"c7 variable of the fold":     {old: "FLOWLINE_C7_URL: ${FLOWLINE_C7_URL:-}", new: "FLOWLINE_C7_URL: ${FLOWLINE_C7_URL:-}\n      FLOWLINE_C7_FOLD_FETCH_BATCH: \"8\"", want: "FLOWLINE_C7_FOLD_FETCH_BATCH is not a variable `flowline c7-import`"},
		"c7 engine unreachable":       {old: "host.docker.internal:host-gateway", new: "engine.local:10.0.0.1", last: true, want: "host-gateway"},
		"c7 import without NATS":      {old: "      nats:\n        condition: service_started\n      ingest:\n        condition: service_healthy\n\n  # The demo profile", new: "      ingest:\n        condition: service_healthy\n\n  # The demo profile", want: "c7-import (profiles c7): does not depend on nats"},
		"health probed elsewhere":     {old: `"http://127.0.0.1:9600/readyz"]`, new: `"http://127.0.0.1:9600/healthz"]`, want: "/readyz"},
		"health by shell":             {old: `test: ["CMD", "/flowline", "probe", "http://127.0.0.1:9600/readyz"]`, new: `test: ["CMD-SHELL", "curl -f http://127.0.0.1:9600/readyz"]`, want: "the image has no shell"},
		"admin port on every address": {old: `"127.0.0.1:9603:9600"`, new: `"9603:9600"`, want: "writer: admin port 9600 is not published on loopback"},
		"ingest not awaited":          {old: "      ingest:\n        condition: service_healthy\n      elasticsearch:", new: "      ingest:\n        condition: service_started\n      elasticsearch:", want: "writer: does not wait for ingest"},
		"traces elsewhere":            {old: "OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317", new: "OTEL_EXPORTER_OTLP_ENDPOINT: http://jaeger:4317", want: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		"service not scraped":         {file: "prometheus.yml", old: "  - job_name: flowline-writer\n    static_configs: [{targets: [\"writer:9600\"]}]\n", new: "", want: "writer is not scraped"},
		"scraped on another port":     {file: "prometheus.yml", old: "archiver:9600", new: "archiver:9090", want: "archiver is not scraped"},
		"nats not scraped":            {file: "prometheus.yml", old: "nats-exporter:7777", new: "nats:8222", want: "NATS is not scraped"},
		"rules not loaded":            {file: "prometheus.yml", old: "  - /etc/prometheus/flowline-rules.yaml\n", new: "", want: "rule files"},
		"exporter without jetstream":  {old: `"-jsz=all", `, new: "", want: "-jsz=all"},
		"no data source":              {file: "grafana/datasource.yaml", old: "url: http://prometheus:9090", new: "url: http://localhost:9090", want: "no Prometheus data source"},
		"dashboard not provisioned":   {file: "grafana/dashboards.yaml", old: "path: /var/lib/grafana/dashboards", new: "path: /var/lib/grafana/other", want: "dashboard deploy/grafana/flowline.json is not provisioned"},
		"collector not to jaeger":     {file: "otel-collector.yaml", old: "endpoint: jaeger:4317", new: "endpoint: tempo:4317", want: "jaeger:4317"},
		"demo elsewhere":              {old: `"--ingest", "http://ingest:8080"]`, new: `"--ingest", "http://localhost:8080"]`, want: "compose service demo"},
		"demo by default":             {old: "    profiles: [\"demo\"]\n", new: "", want: "compose services are"},
		"zeebe: zeebe by default":     {old: "    profiles: [\"zeebe\"]\n", new: "", want: "compose services are"},
		"zeebe: other zeebe minor":    {old: "camunda/zeebe:8.8.0", new: "camunda/zeebe:8.7.4", want: "camunda/zeebe:8.8.x"},
		"zeebe: jar path":             {old: "/exporters/flowline-zeebe-exporter-", new: "/exporters/zeebe-exporter-", want: "JARPATH"},
		"zeebe: target not mounted":   {old: "source: ../../exporter/target", new: "source: ../../exporter", want: "not bind-mounted"},
		"zeebe: target writable":      {old: "        read_only: true\n", new: "", want: "mounted writable"},
		"zeebe: token not passed":     {old: "      # The exporter sends the token from this variable (its tokenEnv).\n      FLOWLINE_INGEST_TOKEN: ${FLOWLINE_INGEST_TOKEN:-}\n", new: "", want: "FLOWLINE_INGEST_TOKEN is \"\""},
		"zeebe: argument misspelled":  {old: "ZEEBE_BROKER_EXPORTERS_FLOWLINE_ARGS_URL: http://ingest:8080", new: "ZEEBE_BROKER_EXPORTERS_FLOWLINE_ARGS_URL: http://ingest:8080\n      ZEEBE_BROKER_EXPORTERS_FLOWLINE_ARGS_FLUSHDELAYMS: \"500\"", want: "ARGS_FLUSHDELAYMS is not an argument"},
		"zeebe: ingest port mismatch": {old: "ARGS_URL: http://ingest:8080", new: "ARGS_URL: http://ingest:9090", want: "want ingest at"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "deploy", "compose")
			for _, sub := range []string{"compose", filepath.Join("compose", "grafana"), "prometheus", "grafana"} {
				copyDir(t, sub, filepath.Join(root, "deploy", sub))
			}
			if m.file == "" {
				m.file = "compose.yaml"
			}
			path := filepath.Join(dir, m.file)
			if err := os.WriteFile(path, []byte(m.apply(t, readFile(t, path))), 0o644); err != nil {
				t.Fatal(err)
			}
			expectProblem(t, checkComposeProfiles(t, filepath.Join(dir, "compose.yaml"), root), m.want)
		})
	}
}

func TestKustomizeChecksCatchMistakes(t *testing.T) {
	cases := map[string]mutation{
		"aggregator recreated":   {file: "aggregator.yaml", old: "    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 0\n      maxSurge: 1\n", new: "    type: Recreate\n", want: "strategy Recreate"},
		"aggregator unavailable": {file: "aggregator.yaml", old: "maxUnavailable: 0", new: "maxUnavailable: 1", want: "maxUnavailable: 0"},
		"one aggregator":         {file: "aggregator.yaml", old: "replicas: 2", new: "replicas: 1", want: "replicas 1, want 2"},
		"no spread":              {file: "archiver.yaml", old: "topologyKey: kubernetes.io/hostname", new: "topologyKey: topology.kubernetes.io/zone", want: "flowline-archiver: no topology spread"},
		"no startup probe":       {file: "writer.yaml", old: "          startupProbe:\n            httpGet:\n              path: /healthz\n              port: admin\n            periodSeconds: 2\n            failureThreshold: 60\n", new: "", want: "no httpGet startupProbe"},
		"short startup":          {file: "ingest.yaml", old: "failureThreshold: 60", new: "failureThreshold: 5", want: "startupProbe gives start-up 10s"},
		"no pdb":                 {file: "aggregator.yaml", old: "kind: PodDisruptionBudget", new: "kind: PodDisruptionBudgetX", want: "PodDisruptionBudgetX"},
		"pdb blocks drains":      {file: "archiver.yaml", old: "minAvailable: 1", new: "minAvailable: 2", want: "minAvailable 2 with 2 archiver replicas"},
		"one writer":             {file: "writer.yaml", old: "replicas: 2", new: "replicas: 1", want: "replicas 1, want 2"},
		"readiness path":         {file: "ingest.yaml", old: "path: /readyz", new: "path: /ready", want: "readinessProbe path"},
		"liveness path":          {file: "archiver.yaml", old: "path: /healthz", new: "path: /readyz", last: true, want: "livenessProbe path"},
		"admin port":             {file: "archiver.yaml", old: "containerPort: 9600", new: "containerPort: 9601", want: "want the admin port 9600"},
		"missing configmap key":  {file: "writer.yaml", old: "key: FLOWLINE_ES_URL", new: "key: FLOWLINE_ES_URI", want: "FLOWLINE_ES_URI, which ConfigMap"},
		"unknown variable":       {file: "ingest.yaml", old: "- name: FLOWLINE_INGEST_TOKEN", new: "- name: FLOWLINE_ES_PASSWORD", want: "FLOWLINE_ES_PASSWORD is not a variable `flowline ingest`"},
		"required secret":        {file: "ingest.yaml", old: "key: ingest-token\n                  optional: true", new: "key: ingest-token\n                  optional: false", want: "without optional: true"},
		"writable root":          {file: "aggregator.yaml", old: "readOnlyRootFilesystem: true", new: "readOnlyRootFilesystem: false", want: "readOnlyRootFilesystem"},
		"root":                   {file: "archiver.yaml", old: "runAsNonRoot: true", new: "runAsNonRoot: false", want: "runAsNonRoot"},
		"short grace":            {file: "writer.yaml", old: "terminationGracePeriodSeconds: 45", new: "terminationGracePeriodSeconds: 30", want: "terminationGracePeriodSeconds"},
		"preStop too long":       {file: "ingest.yaml", old: "seconds: 5", new: "seconds: 20", want: "terminationGracePeriodSeconds"},
		"unknown field":          {file: "aggregator.yaml", old: "failureThreshold: 2", new: "failureTreshold: 2", want: "failureTreshold"},
		"wrong args":             {file: "writer.yaml", old: `args: ["writer"]`, new: `args: ["write"]`, want: `"write" is not a flowline service subcommand`},
		"no limits":              {file: "archiver.yaml", old: "            limits:\n              cpu: \"1\"\n              memory: 512Mi\n", new: "", want: "no cpu limits"},
		"limit under the peak":   {file: "aggregator.yaml", old: "memory: 1536Mi", new: "memory: 1Gi", want: "flowline-aggregator: memory limit 1Gi, want at least half again its 787 MiB peak"},
		"request under use":      {file: "ingest.yaml", old: "cpu: 100m", new: "cpu: 10m", want: "flowline-ingest: cpu request 10m"},
		"request far over use":   {file: "writer.yaml", old: "memory: 128Mi", new: "memory: 2Gi", want: "flowline-writer: memory request 2Gi"},
		"invalid URL":            {file: "kustomization.yaml", old: "FLOWLINE_NATS_URL=nats://nats:4222", new: "FLOWLINE_NATS_URL=http://nats:4222", want: "invalid configuration"},
		"unused configmap key":   {file: "kustomization.yaml", old: "      - FLOWLINE_INDEX_PREFIX=flowline\n", new: "      - FLOWLINE_INDEX_PREFIX=flowline\n      - FLOWLINE_LOG_LEVEL=debug\n", want: "no container reads FLOWLINE_LOG_LEVEL"},
		"unlisted manifest":      {file: "kustomization.yaml", old: "  - archiver.yaml\n", new: "", want: "no Deployment runs `flowline archiver`"},
		"namespace":              {file: "kustomization.yaml", old: "kind: Kustomization\n", new: "kind: Kustomization\nnamespace: flowline\n", want: "namespace-free"},
		"pdb selects ingest":     {file: "writer.yaml", old: "app.kubernetes.io/component: writer", new: "app.kubernetes.io/component: ingest", last: true, want: "PodDisruptionBudget flowline-writer: a second budget for flowline-ingest"},
		"service target port":    {file: "ingest.yaml", old: "targetPort: http", new: "targetPort: admin", want: "Service flowline-ingest: no port 8080"},
		"ingest on loopback":     {file: "ingest.yaml", old: `value: "0.0.0.0:8080"`, new: `value: "127.0.0.1:8080"`, want: "FLOWLINE_INGEST_ADDR"},
		"admin on loopback":      {file: "writer.yaml", old: `value: "0.0.0.0:9600"`, new: `value: "127.0.0.1:9600"`, want: "flowline-writer: FLOWLINE_ADMIN_ADDR"},
		"no stream owner":        {file: "ingest.yaml", old: "- name: FLOWLINE_STREAM_MANAGE\n              value: \"true\"", new: "- name: FLOWLINE_STREAM_MANAGE\n              value: \"false\"", want: "FLOWLINE_STREAM_MANAGE=true is set on []"},
		"two stream owners":      {file: "aggregator.yaml", old: "          env:\n", new: "          env:\n            - name: FLOWLINE_STREAM_MANAGE\n              value: \"true\"\n", want: "[aggregator ingest]"},
		// The Camunda 7 component (deploy/k8s/c7; a change under c7/ is
		// checked in an overlay of the base with the component, the others
		// in the base).
		"c7 import in the base":       {file: "kustomization.yaml", old: "  - archiver.yaml\n", new: "  - archiver.yaml\n  - c7/c7-import.yaml\n", want: "runs `flowline c7-import`, which"},
		"c7 not a component":          {file: "c7/kustomization.yaml", old: "kind: Component", new: "kind: Kustomization", want: "kustomize build"},
		"c7 URL inline":               {file: "c7/c7-import.yaml", old: "            - name: FLOWLINE_C7_URL\n              valueFrom:\n                configMapKeyRef:\n                  name: flowline\n                  key: FLOWLINE_C7_URL\n", new: "            - name: FLOWLINE_C7_URL\n              value: http://camunda:8080/engine-rest\n", want: "FLOWLINE_C7_URL should come from a configmap"},
		"c7 default in the component": {file: "c7/kustomization.yaml", old: "resources:\n", new: "configMapGenerator:\n  - name: flowline\n    behavior: merge\n    literals:\n      - FLOWLINE_C7_URL=ftp://camunda/engine-rest\nresources:\n", want: "rejects its environment: invalid configuration: FLOWLINE_C7_URL"},
		"c7 fold variable":            {file: "c7/c7-import.yaml", old: "- name: FLOWLINE_C7_SOURCE", new: "- name: FLOWLINE_C7_FOLD_STATE_BUCKET", want: "FLOWLINE_C7_FOLD_STATE_BUCKET is not a variable `flowline c7-import`"},
		"c7 password required":        {file: "c7/c7-import.yaml", old: "optional: true", new: "optional: false", last: true, want: "FLOWLINE_C7_PASSWORD comes from Secret flowline without optional: true"},
		"c7 import scaled to 0":       {file: "c7/c7-import.yaml", old: "replicas: 2", new: "replicas: 0", want: "flowline-c7-import: replicas 0, want 2"},
		"c7 import as root":           {file: "c7/c7-import.yaml", old: "runAsNonRoot: true", new: "runAsNonRoot: false", want: "flowline-c7-import: runAsNonRoot"},
		"c7 unlisted manifest":        {file: "c7/kustomization.yaml", old: "  - c7-import.yaml\n", new: "", want: "no Deployment runs `flowline c7-import`"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "k8s")
			copyDir(t, "k8s/base", dir)
			component := filepath.Join(dir, filepath.Base(c7Component))
			copyDir(t, c7Component, component)
			path := filepath.Join(dir, m.file)
			if err := os.WriteFile(path, []byte(m.apply(t, readFile(t, path))), 0o644); err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(path) == component {
				expectProblem(t, checkKustomize(t, withComponent(t, dir, component, c7Settings), commands), m.want)
				return
			}
			expectProblem(t, checkKustomize(t, dir, services), m.want)
		})
	}
}

func TestDockerChecksCatchMistakes(t *testing.T) {
	dockerfile := readFile(t, filepath.Join(repoRoot, "Dockerfile"))
	ignore := readFile(t, filepath.Join(repoRoot, ".dockerignore"))
	cases := map[string]mutation{
		"other package":   {old: "./cmd/flowline\n", new: "./cmd/other\n", want: "no RUN"},
		"cgo":             {old: "CGO_ENABLED=0 ", new: "", want: "no RUN"},
		"entrypoint":      {old: `ENTRYPOINT ["/flowline"]`, new: `ENTRYPOINT /flowline`, want: "ENTRYPOINT"},
		"admin port":      {old: "EXPOSE 8080 9600", new: "EXPOSE 8080", want: "EXPOSE 9600"},
		"old go":          {old: "golang:1.", new: "golang:0.", want: "go.mod's go version"},
		"base image":      {old: "static-debian12:nonroot", new: "static-debian12", want: "distroless"},
		"root":            {old: "USER 65532:65532", new: "USER root", want: "non-root"},
		"binary not cp'd": {old: "COPY --from=build /out/flowline /flowline", new: "COPY --from=build /out/flowline /bin/flowline", want: "does not COPY"},
		"no version":      {old: "buildinfo.revision=${REVISION}", new: "buildinfo.commit=${REVISION}", want: "does not set the version and revision"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			expectProblem(t, checkDockerfile(t, m.apply(t, dockerfile), ignore), m.want)
		})
	}
	inputs := buildInputs(t)
	ignoreCases := map[string]struct{ add, want string }{
		"pkg excluded":    {"pkg\n", "excludes pkg/"},
		"go.sum excluded": {"go.sum\n", "excludes go.sum"},
		"embedded json":   {"pkg/schema/mappings/*.json\n", "excludes pkg/schema/mappings/"},
		"double star":     {"**/*.go\n", "does not support **"},
		"deploy kept":     {"!deploy\n", "does not exclude deploy/"},
	}
	for name, c := range ignoreCases {
		t.Run(name, func(t *testing.T) {
			expectProblem(t, checkDockerignore(ignore+c.add, inputs), c.want)
		})
	}
	t.Run("go.mod not copied", func(t *testing.T) {
		expectProblem(t, checkDockerfile(t, dockerfile, ignore+"go.mod\n"), "COPY go.mod")
	})
}
