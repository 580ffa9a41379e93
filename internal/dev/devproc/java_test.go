package devproc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowline/flowline/internal/dev/devproc/devproctest"
)

func TestJavaVersionParsing(t *testing.T) {
	for in, want := range map[string]int{`"17.0.15"`: 17, "25": 25, `"25.0.3"`: 25, "21-ea": 21, "1.8.0_292": 8, "": 0, "abc": 0} {
		if got := javaFeature(in); got != want {
			t.Errorf("javaFeature(%q) = %d, want %d", in, got, want)
		}
	}
	release := "IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_RUNTIME_VERSION=\"x\"\nJAVA_VERSION=\"25.0.3\"\n"
	if got := releaseJavaVersion(release); got != 25 {
		t.Errorf("releaseJavaVersion = %d, want 25", got)
	}
	out := "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\n"
	if got := javaVersionOutput(out); got != 17 {
		t.Errorf("javaVersionOutput = %d, want 17", got)
	}
	if got := javaVersionOutput(`java version "1.8.0_292"`); got != 8 {
		t.Errorf("javaVersionOutput(1.8) = %d, want 8", got)
	}
}

func TestScanPickAndFindJava(t *testing.T) {
	dir := t.TempDir()
	j11 := devproctest.FakeJDK(t, dir, "java-11-openjdk-amd64", "11.0.2", "")
	j17 := devproctest.FakeJDK(t, dir, "java-17-openjdk-amd64", "17.0.15", "")
	j25 := devproctest.FakeJDK(t, dir, "temurin-25-jdk-amd64", "25.0.3", "")
	if err := os.Symlink("java-17-openjdk-amd64", filepath.Join(dir, "java-1.17.0-openjdk-amd64")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "not-a-jdk"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".jinfo"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	jdks := scanJDKs(dir)
	if len(jdks) != 3 {
		t.Fatalf("scanJDKs = %+v, want 3 distinct JDKs", jdks)
	}
	for _, tc := range []struct {
		min  int
		want string
	}{{17, j17}, {21, j25}, {11, j11}} {
		got, ok := pickJDK(jdks, tc.min, 0)
		if !ok || got.Home != tc.want {
			t.Errorf("pickJDK(%d) = %+v, %v; want %s", tc.min, got, ok, tc.want)
		}
	}
	if _, ok := pickJDK([]JDK{{"a", 17}}, 21, 0); ok {
		t.Error("pickJDK: Java 17 must not satisfy 21")
	}

	lookup := func(env map[string]string, scanned []JDK, path string) JavaLookup {
		return JavaLookup{
			Getenv:   func(k string) string { return env[k] },
			Scan:     func() []JDK { return scanned },
			FromPath: func() (string, error) { return path, nil },
			Major:    JavaMajor,
		}
	}
	envs := []string{"ES_JAVA_HOME", "JAVA_HOME"}
	for _, tc := range []struct {
		name     string
		explicit string
		env      map[string]string
		scanned  []JDK
		path     string
		min      int
		want     string
		wantErr  error
	}{
		{name: "explicit", explicit: j25, env: map[string]string{"ES_JAVA_HOME": j17}, min: 17, want: j25},
		{name: "explicit too old", explicit: j11, min: 17, wantErr: ErrNoJava},
		{name: "first variable first", env: map[string]string{"ES_JAVA_HOME": j25, "JAVA_HOME": j17}, min: 17, want: j25},
		{name: "JAVA_HOME", env: map[string]string{"JAVA_HOME": j17}, scanned: jdks, min: 17, want: j17},
		{name: "unlisted variable ignored", env: map[string]string{"OTHER_JAVA_HOME": j25}, scanned: jdks, min: 17, want: j17},
		{name: "env too old skipped", env: map[string]string{"JAVA_HOME": j17}, scanned: jdks, min: 21, want: j25},
		{name: "env missing skipped", env: map[string]string{"ES_JAVA_HOME": filepath.Join(dir, "nope")}, scanned: jdks, min: 17, want: j17},
		{name: "from PATH", path: j17, min: 17, want: j17},
		{name: "nothing suitable", path: j17, min: 21, wantErr: ErrNoJava},
	} {
		got, err := FindJava(tc.explicit, tc.min, "the test", envs, lookup(tc.env, tc.scanned, tc.path))
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: got %q, %v; want %v", tc.name, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
