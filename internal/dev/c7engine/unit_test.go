package c7engine

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flowline/flowline/pkg/config"
)

func TestSourceHash(t *testing.T) {
	base := fstest.MapFS{
		"pom.xml":                   {Data: []byte("<project/>")},
		"src/main/java/Engine.java": {Data: []byte("class Engine {}")},
	}
	with := func(edit func(fstest.MapFS)) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = &fstest.MapFile{Data: append([]byte(nil), v.Data...)}
		}
		edit(m)
		return m
	}
	want, err := sourceHash(base)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(want) {
		t.Fatalf("sourceHash = %q, want 16 hex digits", want)
	}
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		same bool
	}{
		{"same files", with(func(fstest.MapFS) {}), true},
		{"empty directory added", with(func(m fstest.MapFS) { m["src/test"] = &fstest.MapFile{Mode: fs.ModeDir} }), true},
		{"content changed", with(func(m fstest.MapFS) { m["pom.xml"].Data = []byte("<project> </project>") }), false},
		{"file renamed", with(func(m fstest.MapFS) { m["pom2.xml"] = m["pom.xml"]; delete(m, "pom.xml") }), false},
		{"file added", with(func(m fstest.MapFS) { m["src/main/resources/application.yaml"] = &fstest.MapFile{} }), false},
		{"file removed", with(func(m fstest.MapFS) { delete(m, "src/main/java/Engine.java") }), false},
		{"bytes moved from body to name", fstest.MapFS{
			"pom.xml<":                  {Data: []byte("project/>")},
			"src/main/java/Engine.java": {Data: []byte("class Engine {}")},
		}, false},
	} {
		got, err := sourceHash(tc.fsys)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (got == want) != tc.same {
			t.Errorf("%s: hash %s vs %s, want same=%v", tc.name, got, want, tc.same)
		}
	}
}

// TestEmbeddedApp: the embedded project is the Maven app, without build
// output, and SourceHash is its hash.
func TestEmbeddedApp(t *testing.T) {
	var files []string
	err := fs.WalkDir(app, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pom.xml", "src/main/java/dev/flowline/c7engine/Engine.java", "src/main/resources/application.yaml"} {
		found := false
		for _, f := range files {
			found = found || f == want
		}
		if !found {
			t.Errorf("embedded app lacks %s (has %v)", want, files)
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f, "target/") || strings.HasPrefix(f, ".") {
			t.Errorf("embedded app holds %s", f)
		}
	}
	want, err := sourceHash(app)
	if err != nil {
		t.Fatal(err)
	}
	if got := SourceHash(); got != want {
		t.Errorf("SourceHash() = %s, want %s", got, want)
	}
}

func TestCheckExtraArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		persist bool
		ok      bool
	}{
		{nil, false, true},
		{[]string{"--camunda.bpm.job-execution.enabled=false"}, true, true},
		{[]string{"--spring.datasource.url=jdbc:h2:mem:x"}, false, true},
		{[]string{"--spring.datasource.url=jdbc:h2:mem:x"}, true, false},
		{[]string{"--server.port=9999"}, false, false},
		{[]string{"--logging.level.root=INFO", "--server.address=0.0.0.0"}, false, false},
		{[]string{"--server.port-extra=1"}, false, true},
	} {
		if err := checkExtraArgs(tc.args, tc.persist); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrOptions)) {
			t.Errorf("checkExtraArgs(%v, persist=%v) = %v, want ok=%v", tc.args, tc.persist, err, tc.ok)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want string
		ok   bool
	}{
		{"", "", true},
		{"/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-amd64", true},
		{"jvm/java-17", "", false},
	} {
		t.Setenv("FLOWLINE_C7_JAVA_HOME", tc.env)
		got, err := LoadConfig()
		if tc.ok != (err == nil) || got.JavaHome != tc.want {
			t.Errorf("FLOWLINE_C7_JAVA_HOME=%q: LoadConfig = %+v, %v; want %q, ok=%v", tc.env, got, err, tc.want, tc.ok)
		}
		if err != nil && (!errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "FLOWLINE_C7_JAVA_HOME")) {
			t.Errorf("error %v should wrap config.ErrInvalid and name the variable", err)
		}
	}
}
