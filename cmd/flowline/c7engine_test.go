package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/c7engine"
)

// TestC7EngineCommand runs `flowline c7-engine` until interrupted: it
// prints the REST URL, writes it to --url-file, keeps its log in
// --data-dir, and stops the engine when its context ends.
func TestC7EngineCommand(t *testing.T) {
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	dataDir := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runC7Engine(ctx, []string{"--port", "0", "--url-file", urlFile, "--data-dir", dataDir}, &out)
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Minute); url == ""; {
		if b, err := os.ReadFile(urlFile); err == nil && strings.HasSuffix(string(b), "\n") {
			url = strings.TrimSpace(string(b))
			continue
		}
		select {
		case err := <-done:
			t.Fatalf("c7-engine returned before writing --url-file: %v\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no --url-file within 5 minutes")
		}
	}
	if err := c7engine.CheckReady(ctx, url); err != nil {
		t.Fatalf("engine at %s: %v", url, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "engine.log")); err != nil {
		t.Errorf("no log in --data-dir: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("c7-engine after interrupt: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("c7-engine did not return after interrupt")
	}
	if !strings.Contains(out.String(), "Camunda 7 engine ready at "+url) {
		t.Errorf("stdout %q lacks the URL %s", out.String(), url)
	}
	if err := c7engine.CheckReady(context.Background(), url); err == nil {
		t.Errorf("engine at %s still answers after the command returned", url)
	}
}
