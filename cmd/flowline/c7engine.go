package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/flowline/flowline/internal/dev/c7engine"
)

func specC7Engine() []any { return []any{c7engine.NewConfig()} }

// c7EngineArgs are `flowline c7-engine`'s flags.
type c7EngineArgs struct {
	urlFile string
	port    int
	dataDir string
	heapMB  int
}

func c7EngineFlags() (*flag.FlagSet, *c7EngineArgs) {
	a := &c7EngineArgs{}
	fs := flag.NewFlagSet("c7-engine", flag.ContinueOnError)
	fs.StringVar(&a.urlFile, "url-file", "", "write the engine's REST URL to this file once it answers")
	fs.IntVar(&a.port, "port", 0, "HTTP port on 127.0.0.1 (0: a free one)")
	fs.StringVar(&a.dataDir, "data-dir", "", "keep the engine's H2 database and log in this directory across restarts (empty: H2 in memory)")
	fs.IntVar(&a.heapMB, "heap-mb", 512, "JVM maximum heap in MiB")
	return fs, a
}

// runC7Engine builds (once) and starts a local Camunda 7 engine, prints its
// REST URL (and writes it to --url-file), and runs it until interrupted.
func runC7Engine(ctx context.Context, args []string, stdout io.Writer) error {
	fs, a := c7EngineFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := c7engine.LoadConfig()
	if err != nil {
		return err
	}
	e, err := c7engine.Start(ctx, c7engine.Options{Port: a.port, HeapMB: a.heapMB, JavaHome: cfg.JavaHome, DataDir: a.dataDir})
	if err != nil {
		return err
	}
	defer e.Stop()
	fmt.Fprintf(stdout, "Camunda 7 engine ready at %s (log %s)\n", e.URL(), e.LogPath())
	if a.urlFile != "" {
		if err := os.WriteFile(a.urlFile, []byte(e.URL()+"\n"), 0o644); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- e.Wait() }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-done:
		return fmt.Errorf("camunda 7 engine exited: %v; log: %s", err, e.LogPath())
	}
}
