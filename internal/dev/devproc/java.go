package devproc

import (
	"bufio"
	"context"
	"errors"
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

// ErrNoJava is returned by FindJava when no JDK recent enough is found.
var ErrNoJava = errors.New("no suitable Java")

// jvmDir is where Debian/Ubuntu (and the Temurin packages) install JDKs.
const jvmDir = "/usr/lib/jvm"

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

// JavaMajor returns the feature release of the JDK at home (from its release
// file, else by running bin/java -version). It fails if home has no bin/java.
func JavaMajor(home string) (int, error) {
	java := filepath.Join(home, "bin", "java")
	if fi, err := os.Stat(java); err != nil || fi.IsDir() {
		return 0, fmt.Errorf("%s is not a Java home (no bin/java)", home)
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
	return 0, fmt.Errorf("cannot tell the Java version of %s: %v %s", home, err, LastLines(string(out), 3))
}

// JDK is a candidate Java home and its feature release.
type JDK struct {
	Home  string
	Major int
}

// scanJDKs lists the distinct JDKs directly under dir (symlinked aliases
// resolved and deduplicated), sorted by path.
func scanJDKs(dir string) []JDK {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []JDK
	for _, e := range entries {
		home, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name()))
		if err != nil || seen[home] {
			continue
		}
		seen[home] = true
		if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
			continue
		}
		if m, err := JavaMajor(home); err == nil {
			out = append(out, JDK{Home: home, Major: m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Home < out[j].Home })
	return out
}

// pickJDK chooses among candidates the oldest feature release that is at
// least min (the best-tested combination); ties go to the earlier candidate.
func pickJDK(candidates []JDK, min, max int) (JDK, bool) {
	best, found := JDK{}, false
	for _, c := range candidates {
		if c.Major >= min && (max == 0 || c.Major <= max) && (!found || c.Major < best.Major) {
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

// JavaLookup is what FindJava consults: the environment, the installed
// JDKs, `java` on PATH. SystemJava is the real one; tests build others.
type JavaLookup struct {
	Getenv   func(string) string
	Scan     func() []JDK
	FromPath func() (string, error)
	Major    func(home string) (int, error)
}

// SystemJava looks at this process's environment, /usr/lib/jvm and PATH.
// The JDK variables it reads (e.g. JAVA_HOME) are the JDK's own, not
// Flowline settings, which pkg/config reads.
var SystemJava = JavaLookup{
	Getenv:   os.Getenv,
	Scan:     func() []JDK { return scanJDKs(jvmDir) },
	FromPath: javaHomeFromPath,
	Major:    JavaMajor,
}

// FindJava picks a JDK of feature release min or later for what (named in
// errors, e.g. "Elasticsearch 8.19.21"). An explicit home is used as given
// (it fails if its version is known to be too old). Otherwise, in order: the
// variables envs (each skipped if missing or too old), the oldest suitable
// JDK under /usr/lib/jvm, the JDK of `java` on PATH. Nothing suitable fails
// with ErrNoJava, naming what was rejected.
func FindJava(explicit string, min int, what string, envs []string, l JavaLookup) (string, error) {
	return FindJavaBetween(explicit, min, 0, what, envs, l)
}

// FindJavaBetween is FindJava for software that runs on Java min to max
// (max 0: no upper bound): a JDK outside the range is skipped like one too
// old.
func FindJavaBetween(explicit string, min, max int, what string, envs []string, l JavaLookup) (string, error) {
	fits := func(m int) bool { return m >= min && (max == 0 || m <= max) }
	needs := fmt.Sprintf("Java %d or later", min)
	if max > 0 {
		needs = fmt.Sprintf("Java %d to %d", min, max)
	}
	if explicit != "" {
		m, err := l.Major(explicit)
		if err != nil {
			return "", err
		}
		if !fits(m) {
			return "", fmt.Errorf("%w: JavaHome %s is Java %d; %s needs %s", ErrNoJava, explicit, m, what, needs)
		}
		return explicit, nil
	}
	var rejected []string
	for _, env := range envs {
		home := l.Getenv(env)
		if home == "" {
			continue
		}
		m, err := l.Major(home)
		if err == nil && fits(m) {
			return home, nil
		}
		rejected = append(rejected, fmt.Sprintf("$%s=%s (Java %d, %v)", env, home, m, err))
	}
	if j, ok := pickJDK(l.Scan(), min, max); ok {
		return j.Home, nil
	}
	if home, err := l.FromPath(); err == nil {
		m, err := l.Major(home)
		if err == nil && fits(m) {
			return home, nil
		}
		rejected = append(rejected, fmt.Sprintf("java on PATH at %s (Java %d, %v)", home, m, err))
	}
	looked := make([]string, 0, len(envs)+2)
	for _, env := range envs {
		looked = append(looked, "$"+env)
	}
	looked = append(looked, jvmDir+"/*", "java on PATH")
	msg := fmt.Sprintf("%s needs %s (looked at %s)", what, needs, strings.Join(looked, ", "))
	if len(rejected) > 0 {
		msg += "; rejected: " + strings.Join(rejected, "; ")
	}
	return "", fmt.Errorf("%w: %s; set Options.JavaHome", ErrNoJava, msg)
}
