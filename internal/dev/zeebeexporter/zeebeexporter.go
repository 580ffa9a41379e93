// Package zeebeexporter builds the repository's Zeebe exporter (the Maven
// module in exporter/) and runs its broker harness (BrokerHarness, in the
// module's test sources) against a real ingest: FlowlineExporter instances
// driven the way a broker drives them, one per partition, over a file of
// exporter JSON records. The stack integration test (test/e2e) and `flowline
// bench --exporter` use it. Development tooling: it needs the repository
// checkout, Maven and a JDK 21+.
package zeebeexporter

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/flowline/flowline/internal/dev/devproc"
	"github.com/flowline/flowline/pkg/config"
)

// ErrBuild is returned when the module cannot be found or built.
var ErrBuild = errors.New("cannot build the Zeebe exporter")

// MinJava is the Java release the exporter's classes target (--release 21).
const MinJava = 21

// Config is what the environment says about building the exporter:
// FLOWLINE_EXPORTER_JAVA_HOME, read through pkg/config.
type Config struct {
	JavaHome string `envconfig:"EXPORTER_JAVA_HOME" desc:"JDK (21+) that builds the Zeebe exporter module (exporter/) and runs its broker harness (unset: $JAVA_HOME if 21+, else the oldest 21+ under /usr/lib/jvm, else java on PATH)"`
}

// NewConfig returns a Config holding the defaults: to load into, or to list
// in --help.
func NewConfig() *Config { return &Config{} }

// Validate implements config.Validator: a JDK path must be absolute.
func (c Config) Validate() error {
	if c.JavaHome != "" && !filepath.IsAbs(c.JavaHome) {
		return fmt.Errorf("%w: %s_EXPORTER_JAVA_HOME: %q is not an absolute path", config.ErrInvalid, config.Prefix, c.JavaHome)
	}
	return nil
}

// LoadConfig reads and validates Config from the environment.
func LoadConfig() (Config, error) {
	c := NewConfig()
	if err := config.Load(c); err != nil {
		return Config{}, err
	}
	return *c, nil
}

// Module is a built exporter module.
type Module struct {
	Dir       string   // the module (exporter/ of the checkout)
	Jar       string   // target/flowline-zeebe-exporter-<version>.jar, what a broker loads
	JavaHome  string   // the JDK that built it and runs the harness
	classpath []string // test classes, classes, the broker-provided and test jars
}

// FindDir returns the exporter module of the checkout holding dir (or one
// of its parents): the directory "exporter" next to go.mod.
func FindDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			pom := filepath.Join(d, "exporter", "pom.xml")
			if _, err := os.Stat(pom); err != nil {
				return "", fmt.Errorf("%w: no %s (run from a Flowline checkout)", ErrBuild, pom)
			}
			return filepath.Dir(pom), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: %s is not inside a Flowline checkout (no go.mod above it)", ErrBuild, dir)
		}
	}
}

// Build compiles and packages the module in dir with `mvn -q -B package
// -DskipTests` (Maven's incremental build: quick when nothing changed),
// which also writes target/test-classpath.txt. javaHome is the JDK ("":
// Config's rule). ctx bounds the build.
func Build(ctx context.Context, dir, javaHome string) (*Module, error) {
	home, err := maven(ctx, dir, javaHome, "package", "-DskipTests")
	if err != nil {
		return nil, err
	}
	target := filepath.Join(dir, "target")
	jars, _ := filepath.Glob(filepath.Join(target, "flowline-zeebe-exporter-*.jar"))
	if len(jars) != 1 {
		return nil, fmt.Errorf("zeebeexporter: %w: want one flowline-zeebe-exporter-*.jar in %s, found %v", ErrBuild, target, jars)
	}
	if err := devproc.CheckZip(jars[0]); err != nil {
		return nil, fmt.Errorf("zeebeexporter: %w: %w", ErrBuild, err)
	}
	deps, err := os.ReadFile(filepath.Join(target, "test-classpath.txt"))
	if err != nil {
		return nil, fmt.Errorf("zeebeexporter: %w: %w", ErrBuild, err)
	}
	cp := []string{filepath.Join(target, "test-classes"), filepath.Join(target, "classes")}
	cp = append(cp, filepath.SplitList(strings.TrimSpace(string(deps)))...)
	return &Module{Dir: dir, Jar: jars[0], JavaHome: home, classpath: cp}, nil
}

// Verify runs the module's whole Maven build, unit tests included (`mvn
// -q -B verify`), and returns what its JUnit reports say. A failing test
// fails the build: the error holds Maven's last lines.
func Verify(ctx context.Context, dir, javaHome string) (TestCounts, error) {
	if _, err := maven(ctx, dir, javaHome, "verify"); err != nil {
		return TestCounts{}, err
	}
	return readReports(filepath.Join(dir, "target", "surefire-reports"))
}

// maven runs mvn with goals on the module in dir with the JDK javaHome (""
// picks one as Config says), and returns that JDK. Runs on the same module
// from several processes (test binaries) take turns on a lock file.
func maven(ctx context.Context, dir, javaHome string, goals ...string) (string, error) {
	home, err := devproc.FindJava(javaHome, MinJava, "the Zeebe exporter", []string{"JAVA_HOME"}, devproc.SystemJava)
	if err != nil {
		return "", fmt.Errorf("zeebeexporter: %w", err)
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("zeebeexporter: %w: Maven (mvn) is not on PATH", ErrBuild)
	}
	sum := sha256.Sum256([]byte(dir))
	unlock, err := devproc.LockFile(ctx, filepath.Join(os.TempDir(), "flowline-exporter-"+hex.EncodeToString(sum[:8])+".lock"))
	if err != nil {
		return "", fmt.Errorf("zeebeexporter: %w", err)
	}
	defer unlock()
	cmd := exec.CommandContext(ctx, mvn, append([]string{"-q", "-B", "-f", filepath.Join(dir, "pom.xml")}, goals...)...)
	cmd.Dir = dir
	cmd.Env = append(devproc.FilteredEnv(os.Environ(), "JAVA_HOME"), "JAVA_HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return "", fmt.Errorf("zeebeexporter: %w: mvn %s (java %s): %w; last lines:\n%s",
			ErrBuild, strings.Join(goals, " "), home, err, devproc.Indent(devproc.LastLines(string(out), 40)))
	}
	return home, nil
}

// TestCounts sums the JUnit (surefire) reports of a build.
type TestCounts struct {
	Suites, Tests, Failures, Errors, Skipped int
}

// readReports sums the TEST-*.xml reports in dir.
func readReports(dir string) (TestCounts, error) {
	files, err := filepath.Glob(filepath.Join(dir, "TEST-*.xml"))
	if err != nil || len(files) == 0 {
		return TestCounts{}, fmt.Errorf("zeebeexporter: no JUnit reports in %s (%v)", dir, err)
	}
	var c TestCounts
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return TestCounts{}, err
		}
		var suite struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Skipped  int `xml:"skipped,attr"`
		}
		if err := xml.Unmarshal(body, &suite); err != nil {
			return TestCounts{}, fmt.Errorf("zeebeexporter: %s: %w", f, err)
		}
		c.Suites++
		c.Tests += suite.Tests
		c.Failures += suite.Failures
		c.Errors += suite.Errors
		c.Skipped += suite.Skipped
	}
	return c, nil
}

// HarnessOptions are the broker harness's arguments.
type HarnessOptions struct {
	Records string            // NDJSON file of exporter JSON records, all partitions
	Args    map[string]string // the exporter's arguments (url is required)
	Rate    float64           // records per second per partition; 0: as fast as it goes
	Report  string            // progress interval ("": 200ms)
	Timeout string            // wait for the last acknowledgement ("": 2m)
	// State is a directory keeping each partition's exported position, as
	// a broker keeps it: a run on the same directory resumes after it.
	State string
}

// HarnessCommand is the command running the broker harness with opts; the
// caller starts it and reads its output with ReadEvents.
func (m *Module) HarnessCommand(ctx context.Context, opts HarnessOptions) *exec.Cmd {
	args := []string{"-cp", strings.Join(m.classpath, string(filepath.ListSeparator)),
		"io.flowline.zeebe.exporter.BrokerHarness", "--records", opts.Records}
	for k, v := range opts.Args {
		args = append(args, "--arg", k+"="+v)
	}
	if opts.Rate > 0 {
		args = append(args, "--rate", fmt.Sprint(opts.Rate))
	}
	if opts.Report != "" {
		args = append(args, "--report", opts.Report)
	}
	if opts.Timeout != "" {
		args = append(args, "--timeout", opts.Timeout)
	}
	if opts.State != "" {
		args = append(args, "--state", opts.State)
	}
	return exec.CommandContext(ctx, filepath.Join(m.JavaHome, "bin", "java"), args...)
}

// Event is one line of the harness's output: "progress" (per partition,
// each report interval), "done" (per partition, at the end) or "cpu" (once,
// last).
type Event struct {
	Event     string `json:"event"`
	Partition int    `json:"partition"`
	Records   int    `json:"records"`      // the partition's records in the file
	Handed    int    `json:"handed"`       // records handed to the exporter (or filtered)
	Acked     int64  `json:"acknowledged"` // the position the exporter acknowledged to the "broker"
	// FailedExports counts export() calls that threw (the harness retried
	// the record, as the broker does).
	FailedExports int64 `json:"failedExports"`

	// done
	ResumedFrom        int64   `json:"resumedFrom"`        // the position kept by an earlier run (State), -1: none
	LastHandedPosition int64   `json:"lastHandedPosition"` // last record export() took
	LastLogPosition    int64   `json:"lastLogPosition"`    // last record of the partition
	Sent               int64   `json:"sent"`               // flowline.exporter.records.sent
	Batches            int64   `json:"batches"`            // flowline.exporter.batches
	Retries            int64   `json:"retries"`            // flowline.exporter.retries
	Duplicates         int64   `json:"duplicates"`         // flowline.exporter.duplicates
	Crash              *string `json:"crash"`              // the harness's own failure

	// cpu
	ElapsedNanos    int64 `json:"elapsedNanos"`    // from the first record handed over to the last acknowledgement
	ProcessCPUNanos int64 `json:"processCpuNanos"` // the JVM's CPU time over that span
	ActorCPUNanos   int64 `json:"actorCpuNanos"`   // CPU time of the partitions' actor threads
	OK              bool  `json:"ok"`
}

// ReadEvents decodes the harness's output r line by line, calling each for
// every event, until r ends. A line that is not an event is an error.
func ReadEvents(r io.Reader, each func(Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil || e.Event == "" {
			return fmt.Errorf("zeebeexporter: harness printed %q, not an event: %v", line, err)
		}
		each(e)
	}
	return sc.Err()
}
