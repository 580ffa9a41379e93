// Package devproctest builds fakes of what internal/dev/devproc looks for,
// for the tests of devproc and of the packages that use it.
package devproctest

import (
	"os"
	"path/filepath"
	"testing"
)

// FakeJDK makes dir/name look like a JDK of the given version (a release
// file saying so) whose bin/java is the shell script java ("" for one that
// does nothing), and returns its home.
func FakeJDK(t testing.TB, dir, name, version, java string) string {
	t.Helper()
	if java == "" {
		java = "#!/bin/sh\n"
	}
	home := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(home, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "bin", "java"), []byte(java), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "release"), []byte("JAVA_VERSION=\""+version+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}
