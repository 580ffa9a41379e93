package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/flowline/flowline/internal/dev/esnode"
)

func specElasticsearch() []any { return []any{esnode.NewConfig()} }

// runElasticsearch provisions a local node, prints its URL (and writes it
// to --url-file), and runs it until interrupted.
func runElasticsearch(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("elasticsearch", flag.ContinueOnError)
	urlFile := fs.String("url-file", "", "write the node's URL to this file once it is healthy")
	heap := fs.Int("heap-mb", 1024, "JVM heap in MiB")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := esnode.LoadConfig()
	if err != nil {
		return err
	}
	node, err := esnode.Start(ctx, esnode.Options{Version: cfg.Version, HeapMB: *heap})
	if err != nil {
		return err
	}
	defer node.Stop()
	fmt.Fprintf(stdout, "Elasticsearch %s ready at %s\n", cfg.Version, node.URL())
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(node.URL()+"\n"), 0o644); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- node.Wait() }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-done:
		return fmt.Errorf("elasticsearch exited: %v", err)
	}
}
