package esnode

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// nobodyUID and nobodyGID are the credentials the node runs under when this
// process is root: Elasticsearch refuses to run as root.
const (
	nobodyUID = 65534
	nobodyGID = 65534
)

// rootRuntimeDir is where installs and node directories live when this
// process is root: /root is mode 700, so nobody cannot reach the user cache.
const rootRuntimeDir = "/var/tmp/flowline-elasticsearch"

// completeMarker is written into an install directory once it is fully
// unpacked; an install without it is never used.
const completeMarker = ".flowline-complete"

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.]+)?$`)

func (f *flavor) checkVersion(version string) error {
	if !versionRE.MatchString(version) {
		return fmt.Errorf("esnode: invalid %s version %q (want e.g. %s)", f.product, version, f.defaultVersion)
	}
	return nil
}

// cacheDir is where downloads are kept: os.UserCacheDir()/flowline/elasticsearch
// (Elasticsearch) or .../flowline/opensearch.
func (f *flavor) cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("esnode: no user cache dir (set XDG_CACHE_HOME or HOME): %w", err)
	}
	return filepath.Join(base, "flowline", f.engine), nil
}

// runtimeDir is where installs (<dir>/<version>) and node directories
// (<dir>/nodes/node-*) live. As root it is rootRuntimeDir so that the
// unprivileged node user can traverse it; otherwise it is the cache dir.
func runtimeDir() (string, error) {
	if os.Geteuid() != 0 {
		return elasticsearchFlavor.cacheDir()
	}
	if err := os.MkdirAll(rootRuntimeDir, 0o755); err != nil {
		return "", fmt.Errorf("esnode: create %s: %w", rootRuntimeDir, err)
	}
	// Refuse a directory somebody else planted in the world-writable /var/tmp.
	fi, err := os.Lstat(rootRuntimeDir)
	if err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || (ok && st.Uid != 0) {
		return "", fmt.Errorf("esnode: %s is not a directory owned by root; remove it", rootRuntimeDir)
	}
	if fi.Mode().Perm() != 0o755 {
		if err := os.Chmod(rootRuntimeDir, 0o755); err != nil {
			return "", fmt.Errorf("esnode: %w", err)
		}
	}
	return rootRuntimeDir, nil
}

// fetch downloads the distribution zip of version with Maven into the
// flavor's cache dir (os.UserCacheDir()/flowline/<engine>/) and returns its
// path; for a flavor with extra modules it downloads their jars too, into
// jarsDir beside the zip (Elasticsearch: jarsDir is ""). It does nothing
// when the download is already cached. Concurrent calls, also from other
// processes, are serialised with a lock file. Maven also keeps its own copy
// in its local repository (~/.m2).
//
// Elasticsearch is one `mvn dependency:copy` (no pom needed) of a file
// renamed into place; OpenSearch is one `mvn dependency:copy-dependencies`
// of a generated pom into a directory renamed into place.
func (f *flavor) fetch(ctx context.Context, version string) (zipPath, jarsDir string, err error) {
	if err := f.checkVersion(version); err != nil {
		return "", "", err
	}
	dir, err := f.cacheDir()
	if err != nil {
		return "", "", err
	}
	// target is what the download is complete with: the zip, or the
	// directory holding the zip and the jars.
	target, zipPath := filepath.Join(dir, f.zipName(version)), ""
	zipPath = target
	if len(f.modules) > 0 {
		target = filepath.Join(dir, f.engine+"-"+version)
		zipPath, jarsDir = filepath.Join(target, f.zipName(version)), filepath.Join(target, "jars")
	}
	if fetched(target) {
		return zipPath, jarsDir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("esnode: create cache dir: %w", err)
	}
	unlock, err := devproc.LockFile(ctx, target+".lock")
	if err != nil {
		return "", "", fmt.Errorf("esnode: %w", err)
	}
	defer unlock()
	if fetched(target) {
		return zipPath, jarsDir, nil // another process fetched it while we waited
	}

	artifact := f.coordinate(version)
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		hint := "put the zip at " + zipPath
		if len(f.modules) > 0 {
			hint = "put the zip and its modules' jars (see modulesPOM) in " + target
		}
		return "", "", fmt.Errorf("esnode: Maven (mvn) is not on PATH; it is needed to download %s %s (%s). Install Maven, or %s", f.product, version, artifact, hint)
	}
	tmp, err := os.MkdirTemp(dir, ".fetch-"+version+"-")
	if err != nil {
		return "", "", fmt.Errorf("esnode: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"-q", "-B", "dependency:copy", "-Dartifact=" + artifact, "-DoutputDirectory=" + tmp}
	what := "mvn dependency:copy -Dartifact=" + artifact
	if len(f.modules) > 0 {
		if err := os.WriteFile(filepath.Join(tmp, "pom.xml"), []byte(f.modulesPOM(version)), 0o644); err != nil {
			return "", "", fmt.Errorf("esnode: %w", err)
		}
		args = []string{"-q", "-B", "dependency:copy-dependencies", "-DoutputDirectory=" + filepath.Join(tmp, "jars")}
		what = fmt.Sprintf("mvn dependency:copy-dependencies (%s and its modules' jars)", artifact)
	}
	cmd := exec.CommandContext(ctx, mvn, args...)
	cmd.Dir = tmp // never pick up a pom.xml from the caller's working directory
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return "", "", fmt.Errorf("esnode: %s failed: %w\n%s", what, err, devproc.LastLines(string(out), 30))
	}
	got := filepath.Join(tmp, f.zipName(version))
	if len(f.modules) > 0 {
		if err := os.Rename(filepath.Join(tmp, "jars", f.zipName(version)), got); err != nil {
			return "", "", fmt.Errorf("esnode: %s: %w", what, err)
		}
		_ = os.Remove(filepath.Join(tmp, "pom.xml"))
	}
	if err := devproc.CheckZip(got); err != nil {
		return "", "", fmt.Errorf("esnode: %s: %w\n%s", what, err, devproc.LastLines(string(out), 30))
	}
	if len(f.modules) == 0 {
		tmp = got
	}
	if err := os.Rename(tmp, target); err != nil {
		return "", "", fmt.Errorf("esnode: %w", err)
	}
	return zipPath, jarsDir, nil
}

// fetched reports whether a download target (zip or directory) is in place.
func fetched(target string) bool {
	fi, err := os.Stat(target)
	return err == nil && (fi.IsDir() || (fi.Mode().IsRegular() && fi.Size() > 0))
}

// forget removes a download target found corrupt, so that the next fetch
// downloads it again.
func (f *flavor) forget(zipPath string) {
	if len(f.modules) > 0 {
		_ = os.RemoveAll(filepath.Dir(zipPath))
		return
	}
	_ = os.Remove(zipPath)
}

// install unpacks zipPath (the distribution of version) once into
// <runtimeDir>/<installName> (adding the extra modules from jarsDir) and
// returns the home directory in it.
// Unpacking goes to a temporary directory that is renamed into place, under a
// lock file, so concurrent callers in any process see either nothing or a
// complete install.
func (f *flavor) install(ctx context.Context, version, zipPath, jarsDir string) (home string, err error) {
	root, err := runtimeDir()
	if err != nil {
		return "", err
	}
	name := f.installName(version)
	final := filepath.Join(root, name)
	if _, err := os.Stat(filepath.Join(final, completeMarker)); err == nil {
		return f.findHome(final)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	unlock, err := devproc.LockFile(ctx, filepath.Join(root, "."+name+".lock"))
	if err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(final, completeMarker)); err == nil {
		return f.findHome(final)
	}
	// Leftovers of an interrupted unpack: nobody else can be using them
	// because we hold the lock.
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("esnode: remove incomplete install: %w", err)
	}
	if old, _ := filepath.Glob(filepath.Join(root, ".unzip-"+name+"-*")); len(old) > 0 {
		for _, o := range old {
			_ = os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(root, ".unzip-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	if err := unzip(ctx, zipPath, tmp); err != nil {
		return "", fmt.Errorf("esnode: unpack %s: %w", zipPath, err)
	}
	home, err = f.findHome(tmp)
	if err != nil {
		return "", err
	}
	if err := f.addModules(home, jarsDir, version); err != nil {
		return "", fmt.Errorf("esnode: add modules to %s: %w", home, err)
	}
	if err := openDirs(tmp); err != nil { // a restrictive umask must not hide the install
		return "", fmt.Errorf("esnode: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	return f.findHome(final)
}

// findHome returns the single directory under dir that holds the launcher
// (bin/elasticsearch, bin/opensearch).
func (f *flavor) findHome(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		h := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(filepath.Join(h, "bin", f.bin)); err == nil && fi.Mode().IsRegular() {
			return h, nil
		}
	}
	return "", fmt.Errorf("esnode: no %s home (a directory with bin/%s) in %s", f.product, f.bin, dir)
}

// unzip extracts zipPath into dst, which must exist. Directories get mode
// 0755; files 0755 when they are executable in the zip or sit in a bin/
// directory, else 0644 (everything world-readable, so the install can be
// shared with the unprivileged node user). Entries escaping dst are rejected.
func unzip(ctx context.Context, zipPath, dst string) error {
	r, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, f := range r.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := strings.TrimSuffix(f.Name, "/")
		if name == "" {
			continue
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("zip entry %q escapes the target directory", f.Name)
		}
		path := filepath.Join(dst, filepath.FromSlash(name))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			if err := extractSymlink(f, dst, path); err != nil {
				return err
			}
		case mode.IsRegular():
			perm := fs.FileMode(0o644)
			if mode.Perm()&0o111 != 0 || filepath.Base(filepath.Dir(path)) == "bin" {
				perm = 0o755
			}
			if err := extractFile(f, path, perm); err != nil {
				return err
			}
		default:
			return fmt.Errorf("zip entry %q has unsupported type %v", f.Name, mode.Type())
		}
	}
	return nil
}

func extractFile(f *zip.File, path string, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(path, perm) // umask may have cleared bits
}

func extractSymlink(f *zip.File, dst, path string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	target, err := io.ReadAll(io.LimitReader(rc, 4096))
	rc.Close()
	if err != nil {
		return err
	}
	t := string(target)
	rel, err := filepath.Rel(dst, filepath.Join(filepath.Dir(path), t))
	if filepath.IsAbs(t) || err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("zip symlink %q -> %q escapes the target directory", f.Name, t)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.Symlink(t, path)
}

// copyTree copies the regular files and directories under src to dst
// (directories 0755, files 0644).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		default:
			return nil
		}
	})
}

// openDirs makes every directory under dir mode 0755.
func openDirs(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(path, 0o755)
	})
}

// chownTree hands everything under dir to uid:gid.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}
