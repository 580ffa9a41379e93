package esnode

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// jvmDir is where Debian/Ubuntu (and the Temurin packages) install JDKs.
const jvmDir = "/usr/lib/jvm"

// minJavaMajor is the oldest Java feature release the given Elasticsearch
// version runs on: 17 for 8.x, 21 for 9.x and later, 11 for 7.x.
func minJavaMajor(esVersion string) (int, error) {
	major, err := strconv.Atoi(strings.SplitN(esVersion, ".", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("esnode: invalid Elasticsearch version %q", esVersion)
	}
	switch {
	case major >= 9:
		return 21, nil
	case major == 8:
		return 17, nil
	case major == 7:
		return 11, nil
	default:
		return 0, fmt.Errorf("esnode: Elasticsearch %s is not supported (need 7.x or later)", esVersion)
	}
}

// javaFeature returns the feature release of a Java version string:
// "17.0.15" -> 17, "25" -> 25, "21-ea" -> 21, "1.8.0_292" -> 8. 0 if unknown.
func javaFeature(v string) int {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if rest, ok := strings.CutPrefix(v, "1."); ok {
		v = rest
	}
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}

// releaseJavaVersion extracts JAVA_VERSION from a JDK "release" file.
func releaseJavaVersion(release string) int {
	sc := bufio.NewScanner(strings.NewReader(release))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "JAVA_VERSION="); ok {
			return javaFeature(v)
		}
	}
	return 0
}

var javaVersionOutputRE = regexp.MustCompile(`version "([^"]+)"`)

// javaVersionOutput extracts the feature release from `java -version` output.
func javaVersionOutput(out string) int {
	m := javaVersionOutputRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	return javaFeature(m[1])
}

// javaMajor returns the feature release of the JDK at home (from its release
// file, else by running bin/java -version). It fails if home has no bin/java.
func javaMajor(home string) (int, error) {
	java := filepath.Join(home, "bin", "java")
	if fi, err := os.Stat(java); err != nil || fi.IsDir() {
		return 0, fmt.Errorf("esnode: %s is not a Java home (no bin/java)", home)
	}
	if b, err := os.ReadFile(filepath.Join(home, "release")); err == nil {
		if v := releaseJavaVersion(string(b)); v > 0 {
			return v, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, "-version").CombinedOutput()
	if v := javaVersionOutput(string(out)); v > 0 {
		return v, nil
	}
	return 0, fmt.Errorf("esnode: cannot tell the Java version of %s: %v %s", home, err, lastLines(string(out), 3))
}

// jdk is a candidate Java home and its feature release.
type jdk struct {
	Home  string
	Major int
}

// scanJDKs lists the distinct JDKs directly under dir (symlinked aliases
// resolved and deduplicated), sorted by path.
func scanJDKs(dir string) []jdk {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []jdk
	for _, e := range entries {
		home, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name()))
		if err != nil || seen[home] {
			continue
		}
		seen[home] = true
		if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
			continue
		}
		if m, err := javaMajor(home); err == nil {
			out = append(out, jdk{Home: home, Major: m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Home < out[j].Home })
	return out
}

// pickJDK chooses among candidates the oldest feature release that is at
// least min (the best-tested combination); ties go to the earlier candidate.
func pickJDK(candidates []jdk, min int) (jdk, bool) {
	best, found := jdk{}, false
	for _, c := range candidates {
		if c.Major >= min && (!found || c.Major < best.Major) {
			best, found = c, true
		}
	}
	return best, found
}

// javaHomeFromPath derives a Java home from `java` on PATH
// (/usr/bin/java -> /usr/lib/jvm/x/bin/java -> /usr/lib/jvm/x).
func javaHomeFromPath() (string, error) {
	p, err := exec.LookPath("java")
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Dir(filepath.Dir(real)), nil
}

// javaLookup is what resolveJavaHome consults; a seam for tests.
type javaLookup struct {
	getenv   func(string) string
	scan     func() []jdk
	fromPath func() (string, error)
	major    func(home string) (int, error)
}

var systemJava = javaLookup{
	getenv:   os.Getenv,
	scan:     func() []jdk { return scanJDKs(jvmDir) },
	fromPath: javaHomeFromPath,
	major:    javaMajor,
}

// resolveJavaHome picks the JDK for esVersion. An explicit home is used as
// given (it fails if its version is known to be too old). Otherwise, in
// order: $ES_JAVA_HOME, $JAVA_HOME (each skipped if missing or too old), the
// oldest suitable JDK under /usr/lib/jvm, the JDK of `java` on PATH.
func resolveJavaHome(explicit, esVersion string, l javaLookup) (string, error) {
	min, err := minJavaMajor(esVersion)
	if err != nil {
		return "", err
	}
	if explicit != "" {
		m, err := l.major(explicit)
		if err != nil {
			return "", err
		}
		if m < min {
			return "", fmt.Errorf("esnode: JavaHome %s is Java %d; Elasticsearch %s needs Java %d or later", explicit, m, esVersion, min)
		}
		return explicit, nil
	}
	var rejected []string
	for _, env := range []string{"ES_JAVA_HOME", "JAVA_HOME"} {
		home := l.getenv(env)
		if home == "" {
			continue
		}
		m, err := l.major(home)
		if err == nil && m >= min {
			return home, nil
		}
		rejected = append(rejected, fmt.Sprintf("$%s=%s (Java %d, %v)", env, home, m, err))
	}
	if j, ok := pickJDK(l.scan(), min); ok {
		return j.Home, nil
	}
	if home, err := l.fromPath(); err == nil {
		m, err := l.major(home)
		if err == nil && m >= min {
			return home, nil
		}
		rejected = append(rejected, fmt.Sprintf("java on PATH at %s (Java %d, %v)", home, m, err))
	}
	msg := fmt.Sprintf("esnode: no Java %d+ found for Elasticsearch %s (looked at $ES_JAVA_HOME, $JAVA_HOME, %s/*, java on PATH)", min, esVersion, jvmDir)
	if len(rejected) > 0 {
		msg += "; rejected: " + strings.Join(rejected, "; ")
	}
	return "", fmt.Errorf("%s; set Options.JavaHome", msg)
}
