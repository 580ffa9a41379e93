package esnode

import (
	"fmt"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// minJavaMajor is the oldest Java feature release the given Elasticsearch
// version runs on: 17 for 8.x, 21 for 9.x and later, 11 for 7.x.
func minJavaMajor(esVersion string) (int, error) {
	min, _, err := elasticsearchFlavor.javaRange(esVersion)
	return min, err
}

// resolveJavaHome picks the JDK for an Elasticsearch version (see
// resolveJava).
func resolveJavaHome(explicit, esVersion string, l devproc.JavaLookup) (string, error) {
	return elasticsearchFlavor.resolveJava(explicit, esVersion, l)
}

// resolveJava picks the JDK for version of the flavor (see
// devproc.FindJava): an explicit home, else $<ENV>_JAVA_HOME (ES_JAVA_HOME,
// OPENSEARCH_JAVA_HOME), $JAVA_HOME, the oldest suitable JDK under
// /usr/lib/jvm, the JDK of `java` on PATH. A JDK newer than the flavor
// supports (OpenSearch 2.x on Java 24+) is refused with a message naming
// the variable to set.
func (f *flavor) resolveJava(explicit, version string, l devproc.JavaLookup) (string, error) {
	min, max, err := f.javaRange(version)
	if err != nil {
		return "", err
	}
	what := f.product + " " + version
	envs := []string{f.env + "_JAVA_HOME", "JAVA_HOME"}
	home, err := devproc.FindJava(explicit, min, what, envs, l)
	if err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	if max > 0 {
		if m, err := l.Major(home); err == nil && m > max {
			return "", fmt.Errorf("esnode: %w: %s runs on Java %d to %d, and the JDK found (%s) is Java %d; set %s_JAVA_HOME to a JDK in that range (e.g. 17)",
				devproc.ErrNoJava, what, min, max, home, m, f.env)
		}
	}
	return home, nil
}
