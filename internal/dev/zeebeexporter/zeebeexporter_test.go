package zeebeexporter

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"
)

// TestModuleBuildsAndItsTestsPass runs the exporter module's Maven build
// with its JUnit tests (exporter/src/test: batching, acknowledgement only
// after 202, retries, 413 splits, close) as part of `go test ./...`, so that
// the README's test command and CI build and test it; then checks the jar
// a broker loads: the exporter's classes, nothing bundled of what the
// broker provides.
func TestModuleBuildsAndItsTestsPass(t *testing.T) {
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := FindDir(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	counts, err := Verify(ctx, dir, cfg.JavaHome)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exporter JUnit: %+v", counts)
	if counts.Tests == 0 || counts.Failures+counts.Errors+counts.Skipped != 0 {
		t.Fatalf("exporter JUnit reports: %+v, want tests, none failed or skipped", counts)
	}

	mod, err := Build(ctx, dir, cfg.JavaHome)
	if err != nil {
		t.Fatal(err)
	}
	jar, err := zip.OpenReader(mod.Jar)
	if err != nil {
		t.Fatal(err)
	}
	defer jar.Close()
	var classes []string
	for _, f := range jar.File {
		if !strings.HasSuffix(f.Name, ".class") {
			continue
		}
		classes = append(classes, f.Name)
		if major := classMajor(t, f); major != java21ClassMajor {
			t.Errorf("%s: class file version %d, want %d (Java 21: --release 21)", f.Name, major, java21ClassMajor)
		}
	}
	wantClass := "io/flowline/zeebe/exporter/FlowlineExporter.class"
	found := false
	for _, c := range classes {
		if c == wantClass {
			found = true
		}
		if !strings.HasPrefix(c, "io/flowline/zeebe/exporter/") || strings.Contains(c, "Harness") || strings.Contains(c, "Fakes") {
			t.Errorf("%s holds %s: only the exporter's own main classes belong in it", mod.Jar, c)
		}
	}
	if !found {
		t.Errorf("%s lacks %s (has %v)", mod.Jar, wantClass, classes)
	}
}

// java21ClassMajor is the class file major version of Java 21.
const java21ClassMajor = 65

// classMajor reads the major version of a class file (bytes 6-7).
func classMajor(t *testing.T, f *zip.File) int {
	t.Helper()
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return int(binary.BigEndian.Uint16(head[6:]))
}
