package esnode

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Engines Options.Engine names.
const (
	Elasticsearch = "elasticsearch"
	OpenSearch    = "opensearch"
)

// DefaultOpenSearchVersion is the OpenSearch version provisioned when none
// is configured: the newest 2.x whose modules Maven Central serves as jars
// and that runs on Java 17.
const DefaultOpenSearchVersion = "2.19.6"

// flavor is what differs between the two search engines esnode runs: where
// the distribution comes from, how its launcher is called, which settings
// it knows, which Java it runs on. Everything else (node directories,
// running as nobody, health, stop) is the same code.
type flavor struct {
	engine         string // Options.Engine
	product        string // for messages: "Elasticsearch", "OpenSearch"
	defaultVersion string
	// group and artifactID name the distribution zip on Maven Central.
	group, artifactID string
	// bin is the launcher under <home>/bin.
	bin string
	// env is the prefix of the launcher's variables (<env>_JAVA_HOME,
	// <env>_JAVA_OPTS, <env>_PATH_CONF, <env>_TMPDIR).
	env string
	// defaults are the node settings Start sets unless Options.Settings
	// overrides them.
	defaults map[string]string
	// modules are the modules the zip lacks and esnode adds from Maven
	// Central jars (OpenSearch only).
	modules []extraModule
}

var elasticsearchFlavor = flavor{
	engine:         Elasticsearch,
	product:        "Elasticsearch",
	defaultVersion: DefaultVersion,
	group:          "org.elasticsearch.distribution.integ-test-zip",
	artifactID:     "elasticsearch",
	bin:            "elasticsearch",
	env:            "ES",
	defaults: map[string]string{
		"xpack.security.enabled":                            "false",
		"cluster.routing.allocation.disk.threshold_enabled": "false",
		"action.destructive_requires_name":                  "false",
	},
}

// openSearchFlavor is OpenSearch's integ-test-zip (transport-netty4 only)
// completed with the modules Flowline's Operate-compatible schema and the
// archiver need: painless scripts, the analysis-common analysers,
// tokenizers and normalizers, join fields, and mapper-extras.
var openSearchFlavor = flavor{
	engine:         OpenSearch,
	product:        "OpenSearch",
	defaultVersion: DefaultOpenSearchVersion,
	group:          "org.opensearch.distribution.integ-test-zip",
	artifactID:     "opensearch",
	bin:            "opensearch",
	env:            "OPENSEARCH",
	defaults: map[string]string{
		"cluster.routing.allocation.disk.threshold_enabled": "false",
		"action.destructive_requires_name":                  "false",
	},
	modules: []extraModule{
		{name: "lang-painless", artifactID: "lang-painless", classname: "org.opensearch.painless.PainlessPlugin",
			transitive: true, policy: painlessPolicy},
		{name: "analysis-common", artifactID: "analysis-common", classname: "org.opensearch.analysis.common.CommonAnalysisPlugin",
			extends: "lang-painless"},
		{name: "parent-join", artifactID: "parent-join-client", classname: "org.opensearch.join.ParentJoinPlugin"},
		{name: "mapper-extras", artifactID: "mapper-extras-client", classname: "org.opensearch.index.mapper.MapperExtrasPlugin"},
	},
}

// extraModule is a module that the OpenSearch integ-test-zip lacks, put
// together from its Maven Central jar (org.opensearch.plugin:<artifactID>,
// the node's version) and a plugin descriptor esnode writes.
type extraModule struct {
	name       string // directory under modules/ and plugin name
	artifactID string
	classname  string
	extends    string // extended.plugins
	// transitive: the module's runtime dependencies (all but OpenSearch
	// itself, which the node has) go into its directory too.
	transitive bool
	policy     string // plugin-security.policy, if the module needs one
}

// painlessPolicy grants what painless needs to compile scripts into classes.
const painlessPolicy = `grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
`

// flavorOf returns the flavor of engine ("" is Elasticsearch).
func flavorOf(engine string) (*flavor, error) {
	switch engine {
	case "", Elasticsearch:
		return &elasticsearchFlavor, nil
	case OpenSearch:
		return &openSearchFlavor, nil
	default:
		return nil, fmt.Errorf("esnode: unknown engine %q (want %s or %s)", engine, Elasticsearch, OpenSearch)
	}
}

// javaRange is the feature releases of Java that version of the engine runs
// on; max 0 means no known upper bound.
func (f *flavor) javaRange(version string) (min, max int, err error) {
	major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if err != nil {
		return 0, 0, fmt.Errorf("esnode: invalid %s version %q", f.product, version)
	}
	if f.engine == OpenSearch {
		switch {
		case major >= 3:
			return 21, 0, nil
		case major == 2:
			// 2.x installs a security manager, which Java 24 removed.
			return 11, 23, nil
		default:
			return 0, 0, fmt.Errorf("esnode: OpenSearch %s is not supported (need 2.x or later)", version)
		}
	}
	switch {
	case major >= 9:
		return 21, 0, nil
	case major == 8:
		return 17, 0, nil
	case major == 7:
		return 11, 0, nil
	default:
		return 0, 0, fmt.Errorf("esnode: Elasticsearch %s is not supported (need 7.x or later)", version)
	}
}

// coordinate is the Maven coordinate of the distribution zip of version.
func (f *flavor) coordinate(version string) string {
	return f.group + ":" + f.artifactID + ":" + version + ":zip"
}

// zipName is the file name Maven gives the distribution zip of version.
func (f *flavor) zipName(version string) string { return f.artifactID + "-" + version + ".zip" }

// installName is the directory under the runtime dir holding the install
// of version (Elasticsearch keeps its historical bare version).
func (f *flavor) installName(version string) string {
	if f.engine == Elasticsearch {
		return version
	}
	return f.engine + "-" + version
}

// modulesPOM is a Maven project whose dependencies are the distribution zip
// and the extra modules' jars of version, for `mvn dependency:copy-dependencies`.
func (f *flavor) modulesPOM(version string) string {
	var deps strings.Builder
	fmt.Fprintf(&deps, "    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version><type>zip</type></dependency>\n",
		f.group, f.artifactID, version)
	for _, m := range f.modules {
		excl := "<exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>"
		if m.transitive {
			excl = "<exclusion><groupId>org.opensearch</groupId><artifactId>opensearch</artifactId></exclusion>"
		}
		fmt.Fprintf(&deps, "    <dependency><groupId>org.opensearch.plugin</groupId><artifactId>%s</artifactId><version>%s</version><exclusions>%s</exclusions></dependency>\n",
			m.artifactID, version, excl)
	}
	return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.flowline.esnode</groupId>
  <artifactId>` + f.engine + `-modules</artifactId>
  <version>` + version + `</version>
  <packaging>pom</packaging>
  <dependencies>
` + deps.String() + `  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
  </plugin></plugins></build>
</project>
`
}

// addModules puts the extra modules into home/modules from jarsDir, where
// `mvn dependency:copy-dependencies` left every jar of modulesPOM: the jar
// of a module without transitive dependencies by its name, all other jars
// into the one module that has them.
func (f *flavor) addModules(home, jarsDir, version string) error {
	if len(f.modules) == 0 {
		return nil
	}
	entries, err := os.ReadDir(jarsDir)
	if err != nil {
		return err
	}
	owner := map[string]string{} // jar file -> module
	var catchAll string
	for _, m := range f.modules {
		if m.transitive {
			catchAll = m.name
			continue
		}
		owner[m.artifactID+"-"+version+".jar"] = m.name
	}
	placed := map[string][]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".jar") {
			continue
		}
		m, ok := owner[name]
		if !ok {
			m = catchAll
		}
		placed[m] = append(placed[m], name)
	}
	for _, m := range f.modules {
		jars := placed[m.name]
		if len(jars) == 0 {
			return fmt.Errorf("esnode: no jar for module %s (org.opensearch.plugin:%s:%s) in %s", m.name, m.artifactID, version, jarsDir)
		}
		sort.Strings(jars)
		dir := filepath.Join(home, "modules", m.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, j := range jars {
			data, err := os.ReadFile(filepath.Join(jarsDir, j))
			if err != nil {
				return err
			}
			if err := writeReadable(filepath.Join(dir, j), data); err != nil {
				return err
			}
		}
		if err := writeReadable(filepath.Join(dir, "plugin-descriptor.properties"), []byte(m.descriptor(version))); err != nil {
			return err
		}
		if m.policy != "" {
			if err := writeReadable(filepath.Join(dir, "plugin-security.policy"), []byte(m.policy)); err != nil {
				return err
			}
		}
	}
	return nil
}

// descriptor is the module's plugin-descriptor.properties for version.
func (m extraModule) descriptor(version string) string {
	return fmt.Sprintf(`description=%s module, assembled by Flowline's esnode from Maven Central
version=%s
name=%s
classname=%s
java.version=11
opensearch.version=%s
extended.plugins=%s
has.native.controller=false
`, m.name, version, m.name, m.classname, version, m.extends)
}

// writeReadable writes a file of the shared install readable by everyone
// (the node may run as nobody), whatever the umask.
func writeReadable(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}
