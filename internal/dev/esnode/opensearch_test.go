package esnode

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// TestOpenSearchJavaRange: OpenSearch 2.x needs Java 11 to 23 (its security
// manager is gone from Java 24), 3.x Java 21.
func TestOpenSearchJavaRange(t *testing.T) {
	for _, tc := range []struct {
		version  string
		min, max int
		bad      bool
	}{
		{"2.19.6", 11, 23, false},
		{"3.1.0", 21, 0, false},
		{"1.3.20", 0, 0, true},
		{"x.1.0", 0, 0, true},
	} {
		min, max, err := openSearchFlavor.javaRange(tc.version)
		if (err != nil) != tc.bad || min != tc.min || max != tc.max {
			t.Errorf("javaRange(%q) = %d, %d, %v; want %d, %d, error %v", tc.version, min, max, err, tc.min, tc.max, tc.bad)
		}
	}
}

// TestOpenSearchSkipsATooNewJava: a JDK newer than OpenSearch 2.x runs on
// is skipped for one in range under /usr/lib/jvm; with none in range the
// error names the range and OPENSEARCH_JAVA_HOME.
func TestOpenSearchSkipsATooNewJava(t *testing.T) {
	majors := map[string]int{"/jdk25": 25, "/usr/lib/jvm/jdk17": 17, "/usr/lib/jvm/jdk25": 25}
	lookup := devproc.JavaLookup{
		Getenv: func(k string) string { return map[string]string{"JAVA_HOME": "/jdk25"}[k] },
		Scan: func() []devproc.JDK {
			return []devproc.JDK{{Home: "/usr/lib/jvm/jdk25", Major: 25}, {Home: "/usr/lib/jvm/jdk17", Major: 17}}
		},
		FromPath: func() (string, error) { return "", errors.New("none") },
		Major:    func(h string) (int, error) { return majors[h], nil },
	}
	if home, err := openSearchFlavor.resolveJava("", "2.19.6", lookup); err != nil || home != "/usr/lib/jvm/jdk17" {
		t.Fatalf("JAVA_HOME Java 25, Java 17 installed: %q, %v; want the Java 17", home, err)
	}
	lookup.Scan = func() []devproc.JDK { return []devproc.JDK{{Home: "/usr/lib/jvm/jdk25", Major: 25}} }
	_, err := openSearchFlavor.resolveJava("", "2.19.6", lookup)
	if !errors.Is(err, devproc.ErrNoJava) || !strings.Contains(err.Error(), "OPENSEARCH_JAVA_HOME") || !strings.Contains(err.Error(), "Java 11 to 23") {
		t.Fatalf("err = %v; want ErrNoJava naming Java 11 to 23 and OPENSEARCH_JAVA_HOME", err)
	}
}

// TestOpenSearchModulesPOM: the generated project asks for the zip and each
// module's jar, painless with its dependencies but without OpenSearch itself.
func TestOpenSearchModulesPOM(t *testing.T) {
	pom := openSearchFlavor.modulesPOM("2.19.6")
	for _, want := range []string{
		"<artifactId>opensearch</artifactId><version>2.19.6</version><type>zip</type>",
		"<artifactId>lang-painless</artifactId><version>2.19.6</version><exclusions><exclusion><groupId>org.opensearch</groupId><artifactId>opensearch</artifactId>",
		"<artifactId>analysis-common</artifactId><version>2.19.6</version><exclusions><exclusion><groupId>*</groupId>",
		"<artifactId>parent-join-client</artifactId>",
		"<artifactId>mapper-extras-client</artifactId>",
	} {
		if !strings.Contains(pom, want) {
			t.Errorf("pom lacks %q:\n%s", want, pom)
		}
	}
}

// TestOpenSearchAddModules: single-jar modules get their jar, painless gets
// every other jar, each module its descriptor, painless its policy; a
// missing module jar is an error naming it.
func TestOpenSearchAddModules(t *testing.T) {
	jars := t.TempDir()
	for _, j := range []string{"lang-painless-2.19.6.jar", "antlr4-runtime-4.13.1.jar", "asm-9.7.jar",
		"analysis-common-2.19.6.jar", "parent-join-client-2.19.6.jar", "mapper-extras-client-2.19.6.jar", "opensearch-2.19.6.zip"} {
		if err := os.WriteFile(filepath.Join(jars, j), []byte(j), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	if err := openSearchFlavor.addModules(home, jars, "2.19.6"); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"lang-painless":   {"antlr4-runtime-4.13.1.jar", "asm-9.7.jar", "lang-painless-2.19.6.jar", "plugin-descriptor.properties", "plugin-security.policy"},
		"analysis-common": {"analysis-common-2.19.6.jar", "plugin-descriptor.properties"},
		"parent-join":     {"parent-join-client-2.19.6.jar", "plugin-descriptor.properties"},
		"mapper-extras":   {"mapper-extras-client-2.19.6.jar", "plugin-descriptor.properties"},
	}
	for mod, files := range want {
		entries, err := os.ReadDir(filepath.Join(home, "modules", mod))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if strings.Join(got, ",") != strings.Join(files, ",") {
			t.Errorf("modules/%s = %v, want %v", mod, got, files)
		}
	}
	desc, _ := os.ReadFile(filepath.Join(home, "modules", "analysis-common", "plugin-descriptor.properties"))
	for _, want := range []string{"name=analysis-common\n", "classname=org.opensearch.analysis.common.CommonAnalysisPlugin\n", "extended.plugins=lang-painless\n", "opensearch.version=2.19.6\n"} {
		if !strings.Contains(string(desc), want) {
			t.Errorf("analysis-common descriptor lacks %q:\n%s", want, desc)
		}
	}
	os.Remove(filepath.Join(jars, "parent-join-client-2.19.6.jar"))
	if err := openSearchFlavor.addModules(t.TempDir(), jars, "2.19.6"); err == nil || !strings.Contains(err.Error(), "parent-join") {
		t.Errorf("missing jar: err = %v, want one naming parent-join", err)
	}
}

// TestOpenSearchNode starts the assembled OpenSearch and uses what the
// added modules give: a join field, a path_hierarchy tokenizer, a lowercase
// normalizer, a painless script.
func TestOpenSearchNode(t *testing.T) {
	requireNodePrereqs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Engine: OpenSearch, HeapMB: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	do := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, n.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
		return out
	}
	root := do("GET", "/", "")
	if v, _ := root["version"].(map[string]any); v["distribution"] != "opensearch" || v["number"] != DefaultOpenSearchVersion {
		t.Fatalf("GET / = %v; want OpenSearch %s", root, DefaultOpenSearchVersion)
	}
	do("PUT", "/probe", `{
	  "settings": {"number_of_replicas": 0, "analysis": {
	    "analyzer": {"path": {"type": "custom", "tokenizer": "path"}},
	    "tokenizer": {"path": {"type": "path_hierarchy", "delimiter": "/"}},
	    "normalizer": {"ci": {"type": "custom", "filter": ["lowercase"]}}}},
	  "mappings": {"dynamic": "strict", "properties": {
	    "join": {"type": "join", "relations": {"parent": "child"}},
	    "treePath": {"type": "text", "analyzer": "path"},
	    "name": {"type": "keyword", "normalizer": "ci"},
	    "n": {"type": "long"}}}}`)
	do("PUT", "/probe/_doc/p?refresh=true", `{"join": "parent", "treePath": "PI_1/FN_a/FNI_2", "name": "Alpha", "n": 1}`)
	do("PUT", "/probe/_doc/c?routing=p&refresh=true", `{"join": {"name": "child", "parent": "p"}, "n": 2}`)
	hits := func(q string) float64 {
		r := do("POST", "/probe/_search", q)
		return r["hits"].(map[string]any)["total"].(map[string]any)["value"].(float64)
	}
	for name, q := range map[string]string{
		"has_child":      `{"query": {"has_child": {"type": "child", "query": {"term": {"n": 2}}}}}`,
		"path hierarchy": `{"query": {"term": {"treePath": "PI_1/FN_a"}}}`,
		"normalizer":     `{"query": {"term": {"name": "ALPHA"}}}`,
		"painless":       `{"query": {"script": {"script": {"lang": "painless", "source": "doc['n'].value * 2 == params.x", "params": {"x": 2}}}}}`,
	} {
		if got := hits(q); got != 1 {
			t.Errorf("%s: %v hits, want 1", name, got)
		}
	}
}

// TestAnchorJVMPaths: the GC log, error file and heap dump paths of
// OpenSearch's jvm.options point into the node directory; other lines stay.
func TestAnchorJVMPaths(t *testing.T) {
	p := filepath.Join(t.TempDir(), "jvm.options")
	in := "-XX:HeapDumpPath=data\n-XX:ErrorFile=logs/hs_err_pid%p.log\n8:-Xloggc:logs/gc.log\n9-:-Xlog:gc*:file=logs/gc.log:utctime\n-Djava.io.tmpdir=${OPENSEARCH_TMPDIR}\n"
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := anchorJVMPaths(p, "/n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := "-XX:HeapDumpPath=/n/data\n-XX:ErrorFile=/n/logs/hs_err_pid%p.log\n8:-Xloggc:/n/logs/gc.log\n9-:-Xlog:gc*:file=/n/logs/gc.log:utctime\n-Djava.io.tmpdir=${OPENSEARCH_TMPDIR}\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
