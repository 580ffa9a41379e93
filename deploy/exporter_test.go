package deploy_test

import (
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	composetypes "github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
)

// The Zeebe exporter's deployments: the compose profile zeebeProfile (a
// Camunda 8.8 broker loading the jar from a bind mount of exporter/target)
// and the Helm values of deploy/k8s/zeebe-exporter (an init container
// copying the jar out of the image exporter/Dockerfile builds). Both are
// checked against what the exporter module says about itself.
const (
	zeebeProfile   = "zeebe"
	zeebeService   = "zeebe"
	exporterEnv    = "ZEEBE_BROKER_EXPORTERS_FLOWLINE_"
	exporterValues = "k8s/zeebe-exporter/values.yaml"
)

// exporterModule is what exporter/ says about the exporter: its class, its
// jar's name, the arguments its configuration class binds, the Zeebe
// release it is built against, and where its image holds the jar.
type exporterModule struct {
	class     string          // fully qualified exporter class
	jar       string          // <artifactId>-<version>.jar, Maven's output
	args      map[string]bool // argument names, lower-cased (the broker binds them case-insensitively)
	zeebe     string          // the pom's zeebe.version
	imageJar  string          // where exporter/Dockerfile's final stage puts the jar
	sourceDir string          // exporter/src/main/java
}

// readExporterModule reads exporter/ of the checkout at root: pom.xml, the
// configuration class's public instance fields and the Dockerfile.
func readExporterModule(t testing.TB, root string) exporterModule {
	t.Helper()
	var pom struct {
		ArtifactID string `xml:"artifactId"`
		Version    string `xml:"version"`
		Properties struct {
			Zeebe string `xml:"zeebe.version"`
		} `xml:"properties"`
	}
	if err := xml.Unmarshal([]byte(readFile(t, filepath.Join(root, "exporter", "pom.xml"))), &pom); err != nil {
		t.Fatalf("exporter/pom.xml: %v", err)
	}
	m := exporterModule{class: "io.flowline.zeebe.exporter.FlowlineExporter", jar: pom.ArtifactID + "-" + pom.Version + ".jar",
		args: map[string]bool{}, zeebe: pom.Properties.Zeebe, sourceDir: filepath.Join(root, "exporter", "src", "main", "java")}
	if pom.ArtifactID == "" || pom.Version == "" || m.zeebe == "" {
		t.Fatalf("exporter/pom.xml: artifactId %q, version %q, zeebe.version %q", pom.ArtifactID, pom.Version, m.zeebe)
	}
	cfgSrc := readFile(t, filepath.Join(m.sourceDir, "io", "flowline", "zeebe", "exporter", "FlowlineExporterConfiguration.java"))
	for _, f := range regexp.MustCompile(`(?m)^  public (?:String|int|long|boolean|Object) (\w+)\b`).FindAllStringSubmatch(cfgSrc, -1) {
		m.args[strings.ToLower(f[1])] = true
	}
	if !m.args["url"] {
		t.Fatalf("FlowlineExporterConfiguration.java: no url field among %v", m.args)
	}
	stages := 0
	for _, in := range parseDockerfile(readFile(t, filepath.Join(root, "exporter", "Dockerfile"))) {
		switch {
		case in.cmd == "FROM":
			stages++
			m.imageJar = ""
		case in.cmd == "COPY" && strings.Contains(in.args, "--from=") && strings.Contains(in.args, "/target/"+m.jar):
			f := strings.Fields(in.args)
			m.imageJar = f[len(f)-1]
		}
	}
	if stages < 2 || m.imageJar == "" {
		t.Fatalf("exporter/Dockerfile: %d stages; its final stage copies no target/%s out of the build stage", stages, m.jar)
	}
	return m
}

// classExists reports whether the module has the source of class.
func (m exporterModule) classExists(class string) bool {
	_, err := os.Stat(filepath.Join(m.sourceDir, filepath.FromSlash(strings.ReplaceAll(class, ".", "/"))+".java"))
	return err == nil
}

// checkExporterEnv checks a broker's exporter variables (env, by name) in
// where: the class, a jar path in jarDir named jarName, arguments the
// configuration binds, and the URL of ingest at ingestURL.
func checkExporterEnv(p *problems, where string, m exporterModule, env map[string]string, jarDir, jarName, ingestURL string) {
	if got := env[exporterEnv+"CLASSNAME"]; got != m.class || !m.classExists(got) {
		p.addf("%s: %sCLASSNAME is %q, want %s (exporter/src/main/java)", where, exporterEnv, got, m.class)
	}
	if got, want := env[exporterEnv+"JARPATH"], path.Join(jarDir, jarName); got != want {
		p.addf("%s: %sJARPATH is %q, want %s", where, exporterEnv, got, want)
	}
	for name := range env {
		arg, ok := strings.CutPrefix(name, exporterEnv+"ARGS_")
		if ok && !m.args[strings.ToLower(arg)] {
			p.addf("%s: %s is not an argument of the exporter (FlowlineExporterConfiguration has %v)", where, name, slices.Sorted(maps.Keys(m.args)))
		}
	}
	if got := env[exporterEnv+"ARGS_URL"]; got != ingestURL {
		p.addf("%s: %sARGS_URL is %q, want ingest at %s", where, exporterEnv, got, ingestURL)
	}
}

// checkComposeZeebe checks the broker of the zeebe profile: a Camunda
// release of the exporter's Zeebe minor, loading the jar Maven builds into
// exporter/target (bind-mounted read-only), exporting to the compose
// ingest, with the shell's ingest token.
func checkComposeZeebe(t testing.TB, p *problems, proj *composetypes.Project, root string, shell map[string]string) {
	t.Helper()
	m := readExporterModule(t, repoRoot)
	svc, ok := proj.Services[zeebeService]
	if !ok {
		p.addf("compose profile %s: no service %s", zeebeProfile, zeebeService)
		return
	}
	where := "compose service " + zeebeService
	minor := strings.Join(strings.SplitN(m.zeebe, ".", 3)[:2], ".")
	if !regexp.MustCompile(`^camunda/(zeebe|camunda):` + regexp.QuoteMeta(minor) + `\.\d+$`).MatchString(svc.Image) {
		p.addf("%s: image %q is not a camunda/zeebe:%s.x release (the exporter is built against zeebe-exporter-api %s)", where, svc.Image, minor, m.zeebe)
	}
	env := envValues(svc.Environment)
	jarDir := ""
	for _, v := range svc.Volumes {
		if v.Type == composetypes.VolumeTypeBind && filepath.Clean(v.Source) == filepath.Join(root, "exporter", "target") {
			jarDir = v.Target
			if !v.ReadOnly {
				p.addf("%s: exporter/target is mounted writable", where)
			}
		}
	}
	if jarDir == "" {
		p.addf("%s: exporter/target (where Maven builds %s) is not bind-mounted", where, m.jar)
	}
	checkExporterEnv(p, where, m, env, jarDir, m.jar, fmt.Sprintf("http://ingest:%d", ingestPort(t)))
	if got, want := env["FLOWLINE_INGEST_TOKEN"], shell["FLOWLINE_INGEST_TOKEN"]; got != want {
		p.addf("%s: FLOWLINE_INGEST_TOKEN is %q with %q in the shell; pass it through as ingest does", where, got, want)
	}
	if _, ok := svc.DependsOn["ingest"]; !ok {
		p.addf("%s: does not depend on ingest", where)
	}
}

// helmValues is the part of the Camunda chart's values the exporter sets,
// in Kubernetes' own types.
type helmValues struct {
	Orchestration struct {
		ExtraInitContainers []corev1.Container   `json:"extraInitContainers"`
		ExtraVolumes        []corev1.Volume      `json:"extraVolumes"`
		ExtraVolumeMounts   []corev1.VolumeMount `json:"extraVolumeMounts"`
		Env                 []corev1.EnvVar      `json:"env"`
	} `json:"orchestration"`
}

// checkHelmValues checks the Helm values in text: strictly decoded; an
// init container copies the jar from where the exporter's image holds it
// into a volume the broker mounts at the directory of JARPATH; the URL is
// the base's ingest Service; the token is the base's ingest-token Secret key.
func checkHelmValues(t testing.TB, text string) problems {
	t.Helper()
	var p problems
	m := readExporterModule(t, repoRoot)
	var v helmValues
	if err := unmarshalStrict([]byte(text), &v); err != nil {
		p.addf("%s: %v", exporterValues, err)
		return p
	}
	o := v.Orchestration
	env := map[string]string{}
	for _, e := range o.Env {
		env[e.Name] = e.Value
	}
	jarPath := env[exporterEnv+"JARPATH"]
	jarDir, jarName := path.Split(jarPath)
	jarDir = path.Clean(jarDir)
	checkExporterEnv(&p, exporterValues, m, env, jarDir, jarName, fmt.Sprintf("http://flowline-ingest:%d", ingestPort(t)))

	volumes := map[string]bool{}
	for _, vol := range o.ExtraVolumes {
		volumes[vol.Name] = vol.EmptyDir != nil
	}
	brokerVolume := ""
	for _, vm := range o.ExtraVolumeMounts {
		if vm.MountPath == jarDir {
			brokerVolume = vm.Name
		}
	}
	if !volumes[brokerVolume] {
		p.addf("%s: the broker mounts no emptyDir of extraVolumes at %s (JARPATH's directory)", exporterValues, jarDir)
	}
	copied := false
	for _, c := range o.ExtraInitContainers {
		for _, vm := range c.VolumeMounts {
			if vm.Name != brokerVolume || vm.ReadOnly {
				continue
			}
			want := []string{"cp", m.imageJar, path.Join(vm.MountPath, jarName)}
			if slices.Equal(c.Command, want) {
				copied = true
			}
		}
	}
	if !copied {
		p.addf("%s: no init container copies %s (exporter/Dockerfile) to %s in the volume %q", exporterValues, m.imageJar, jarName, brokerVolume)
	}
	token := false
	for _, e := range o.Env {
		if e.Name == "FLOWLINE_INGEST_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			r := e.ValueFrom.SecretKeyRef
			token = r.Name == "flowline" && r.Key == "ingest-token" && r.Optional != nil && *r.Optional
		}
	}
	if !token {
		p.addf("%s: FLOWLINE_INGEST_TOKEN does not come from the optional key ingest-token of the Secret flowline (ingest's)", exporterValues)
	}
	return p
}

func TestZeebeExporterHelmValues(t *testing.T) {
	checkHelmValues(t, readFile(t, exporterValues)).report(t)
}

func TestZeebeExporterHelmChecksCatchMistakes(t *testing.T) {
	values := map[string]mutation{
		"unknown key":         {old: "extraVolumeMounts:", new: "extraVolumeMount:", want: "unknown field"},
		"other class":         {old: "value: io.flowline.zeebe.exporter.FlowlineExporter", new: "value: io.flowline.FlowlineExporter", want: "CLASSNAME"},
		"jar not in a volume": {old: "value: /exporters/flowline-zeebe-exporter.jar", new: "value: /opt/flowline-zeebe-exporter.jar", want: "mounts no emptyDir"},
		"jar not copied":      {old: `"/flowline-zeebe-exporter.jar", "/exporters`, new: `"/exporter.jar", "/exporters`, want: "no init container copies"},
		"argument misspelled": {old: "ARGS_URL\n", new: "ARGS_URI\n", want: "ARGS_URI is not an argument"},
		"ingest elsewhere":    {old: "http://flowline-ingest:8080", new: "http://ingest:8080", want: "want ingest at"},
		"token required":      {old: "          optional: true", new: "          optional: false", want: "FLOWLINE_INGEST_TOKEN"},
	}
	for name, m := range values {
		t.Run(name, func(t *testing.T) {
			expectProblem(t, checkHelmValues(t, m.apply(t, readFile(t, exporterValues))), m.want)
		})
	}
}
