package esnode

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowline/flowline/internal/dev/devproc"
)

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

// javaEnv are the variables naming a JDK that the node honours, in order.
var javaEnv = []string{"ES_JAVA_HOME", "JAVA_HOME"}

// resolveJavaHome picks the JDK for esVersion (see devproc.FindJava): an
// explicit home, else $ES_JAVA_HOME, $JAVA_HOME, the oldest suitable JDK
// under /usr/lib/jvm, the JDK of `java` on PATH.
func resolveJavaHome(explicit, esVersion string, l devproc.JavaLookup) (string, error) {
	min, err := minJavaMajor(esVersion)
	if err != nil {
		return "", err
	}
	home, err := devproc.FindJava(explicit, min, "Elasticsearch "+esVersion, javaEnv, l)
	if err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	return home, nil
}
