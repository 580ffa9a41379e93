// Package layout holds the test that keeps the repository's rooms apart:
// what each top-level folder may depend on.
package layout

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/flowline/flowline/"

// Development tooling that production code must never link.
var devTooling = []string{
	module + "internal/dev/esnode",
	module + "internal/dev/c7engine",
	module + "internal/dev/devproc",
	module + "internal/dev/simulate",
	module + "internal/dev/natsserver",
	"github.com/nats-io/nats-server/v2/server",
}

// TestDependencyRules reads every package's transitive dependencies (tests
// excluded) from `go list -deps` and checks the layering: services never
// import each other, pkg/ never imports services/ or internal/, and no
// service or pkg/ library links development tooling (only cmd/flowline may,
// for `flowline dev`).
func TestDependencyRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	checked := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, deps := fields[0], fields[1:]
		rel := strings.TrimPrefix(pkg, module)
		switch {
		case strings.HasPrefix(rel, "services/"):
			checked["services"]++
			own := serviceOf(rel)
			for _, d := range deps {
				if other, ours := strings.CutPrefix(d, module); ours && strings.HasPrefix(other, "services/") && serviceOf(other) != own {
					t.Errorf("%s imports another service: %s", rel, other)
				}
			}
			forbid(t, rel, deps, devTooling)
		case strings.HasPrefix(rel, "pkg/"):
			checked["pkg"]++
			for _, d := range deps {
				if other, ours := strings.CutPrefix(d, module); ours && (strings.HasPrefix(other, "services/") || strings.HasPrefix(other, "internal/")) {
					t.Errorf("%s imports %s: pkg/ holds libraries that depend on nothing above them", rel, other)
				}
			}
			forbid(t, rel, deps, devTooling)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked["services"] < 5 || checked["pkg"] < 10 {
		t.Fatalf("checked only %v packages: go list found less than the repository holds", checked)
	}
}

// serviceOf is the service a package under services/ belongs to
// (services/ingest/replay belongs to ingest).
func serviceOf(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	return parts[1]
}

func forbid(t *testing.T, pkg string, deps, forbidden []string) {
	t.Helper()
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f {
				t.Errorf("%s links development tooling %s", pkg, f)
			}
		}
	}
}

// TestMultiServiceTestsLiveInE2E: a service's tests import no other
// service, and only test/e2e assembles a stack of services
// (internal/testenv/stack), so every test that runs several services
// together is found in one place.
func TestMultiServiceTestsLiveInE2E(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`, module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	const stack = module + "internal/testenv/stack"
	withTests := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rel, imports := strings.TrimPrefix(fields[0], module), fields[1:]
		if len(imports) > 0 {
			withTests++
		}
		for _, d := range imports {
			other, ours := strings.CutPrefix(d, module)
			switch {
			case !ours:
			case d == stack && rel != "test/e2e":
				t.Errorf("tests of %s assemble a stack of services: multi-service tests belong in test/e2e", rel)
			case strings.HasPrefix(rel, "services/") && strings.HasPrefix(other, "services/") && serviceOf(other) != serviceOf(rel):
				t.Errorf("tests of %s import another service, %s: multi-service tests belong in test/e2e", rel, other)
			}
		}
	}
	if withTests < 10 {
		t.Fatalf("only %d packages with tests: go list found less than the repository holds", withTests)
	}
}
