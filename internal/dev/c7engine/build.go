package c7engine

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// JarName is the file name of the engine's executable jar, in the build
// cache and in Maven's target/.
const JarName = "flowline-c7-engine.jar"

// ErrBuild is returned when the engine's jar cannot be built (no Maven, a
// failing build, an unusable result).
var ErrBuild = errors.New("cannot build the Camunda 7 engine")

// appFiles holds the engine's Maven project (internal/dev/c7engine/app):
// its pom.xml and sources, never its build output.
//
//go:embed app/pom.xml app/src
var appFiles embed.FS

// app is the Maven project with pom.xml at its root.
var app = func() fs.FS {
	sub, err := fs.Sub(appFiles, "app")
	if err != nil {
		panic(err)
	}
	return sub
}()

// SourceHash is the build cache key of the embedded Maven project: 16 hex
// digits of a SHA-256 over every file's path and contents. Any change to the
// project gives a new key, so a new jar.
var SourceHash = sync.OnceValue(func() string {
	h, err := sourceHash(app)
	if err != nil {
		panic(fmt.Sprintf("c7engine: hash the embedded app: %v", err))
	}
	return h
})

// sourceHash hashes the regular files of fsys, in lexical path order, each
// as its path and contents with their lengths (so no two trees collide by
// moving bytes between a name and a body).
func sourceHash(fsys fs.FS) (string, error) {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		body, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		field([]byte(path))
		field(body)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// cacheDir is where jars are built and kept: os.UserCacheDir()/flowline/c7engine.
// The engine runs as whoever runs Flowline (root included), so a root-only
// cache is fine.
func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("c7engine: no user cache dir (set XDG_CACHE_HOME or HOME): %w", err)
	}
	return filepath.Join(base, "flowline", "c7engine"), nil
}

// findJava picks the JDK (17+) for building and running the engine; see
// Options.JavaHome.
func findJava(explicit string) (string, error) {
	home, err := devproc.FindJava(explicit, 17, "the Camunda 7 engine", []string{"JAVA_HOME"}, devproc.SystemJava)
	if err != nil {
		return "", fmt.Errorf("c7engine: %w", err)
	}
	return home, nil
}

// Build returns the path of the engine's executable jar,
// os.UserCacheDir()/flowline/c7engine/<SourceHash>/flowline-c7-engine.jar,
// building it first with `mvn -q -B package -DskipTests` (in a copy of the
// embedded project under the cache dir; Maven's own repository is ~/.m2)
// when it is not there yet. javaHome is the JDK for Maven ("" picks one as
// Options.JavaHome says). Concurrent calls, also from other processes
// (test binaries), build once: they wait on a lock file, and the jar appears
// under its final name only when complete. ctx bounds the build.
func Build(ctx context.Context, javaHome string) (string, error) {
	root, err := cacheDir()
	if err != nil {
		return "", err
	}
	hash := SourceHash()
	jar := filepath.Join(root, hash, JarName)
	if jarReady(jar) {
		return jar, nil
	}
	if javaHome, err = findJava(javaHome); err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("c7engine: create cache dir: %w", err)
	}
	unlock, err := devproc.LockFile(ctx, filepath.Join(root, hash+".lock"))
	if err != nil {
		return "", fmt.Errorf("c7engine: %w", err)
	}
	defer unlock()
	if jarReady(jar) {
		return jar, nil // another process built it while we waited
	}
	// Leftovers of an interrupted build: nobody else can be using them
	// because we hold the lock.
	if old, _ := filepath.Glob(filepath.Join(root, ".build-"+hash+"-*")); len(old) > 0 {
		for _, o := range old {
			_ = os.RemoveAll(o)
		}
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("c7engine: %w: Maven (mvn) is not on PATH; install Maven or put a built %s at %s", ErrBuild, JarName, jar)
	}
	tmp, err := os.MkdirTemp(root, ".build-"+hash+"-")
	if err != nil {
		return "", fmt.Errorf("c7engine: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.CopyFS(tmp, app); err != nil {
		return "", fmt.Errorf("c7engine: copy the embedded app to %s: %w", tmp, err)
	}
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "package", "-DskipTests")
	cmd.Dir = tmp
	cmd.Env = append(devproc.FilteredEnv(os.Environ(), "JAVA_HOME"), "JAVA_HOME="+javaHome)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return "", fmt.Errorf("c7engine: %w: mvn package (java %s): %w; last lines:\n%s",
			ErrBuild, javaHome, err, devproc.Indent(devproc.LastLines(string(out), 30)))
	}
	built := filepath.Join(tmp, "target", JarName)
	if err := devproc.CheckZip(built); err != nil {
		return "", fmt.Errorf("c7engine: %w: mvn package: %w", ErrBuild, err)
	}
	if err := os.MkdirAll(filepath.Dir(jar), 0o755); err != nil {
		return "", fmt.Errorf("c7engine: %w", err)
	}
	if err := os.Rename(built, jar); err != nil {
		return "", fmt.Errorf("c7engine: %w", err)
	}
	return jar, nil
}

// jarReady reports whether a complete jar is at path: jars are renamed into
// place only once built.
func jarReady(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}
