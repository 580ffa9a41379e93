package esnode

import (
	"fmt"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// resolveJava picks the JDK for version of the flavor (see
// devproc.FindJavaBetween): an explicit home, else $<ENV>_JAVA_HOME
// (ES_JAVA_HOME, OPENSEARCH_JAVA_HOME), $JAVA_HOME, the oldest suitable JDK
// under /usr/lib/jvm, the JDK of `java` on PATH. A JDK newer than the
// flavor supports (OpenSearch 2.x on Java 24+) is skipped like one too old.
func (f *flavor) resolveJava(explicit, version string, l devproc.JavaLookup) (string, error) {
	min, max, err := f.javaRange(version)
	if err != nil {
		return "", err
	}
	what := f.product + " " + version
	home, err := devproc.FindJavaBetween(explicit, min, max, what, []string{f.env + "_JAVA_HOME", "JAVA_HOME"}, l)
	if err != nil {
		return "", fmt.Errorf("esnode: %w (set %s_JAVA_HOME)", err, f.env)
	}
	return home, nil
}
