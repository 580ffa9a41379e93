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

// searchNodeFlags are the flags of `flowline elasticsearch` and `flowline
// opensearch`.
func searchNodeFlags(name string) (*flag.FlagSet, *string, *int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	urlFile := fs.String("url-file", "", "write the node's URL to this file once it is healthy")
	heap := fs.Int("heap-mb", 1024, "JVM heap in MiB")
	return fs, urlFile, heap
}

func runElasticsearch(ctx context.Context, args []string, stdout io.Writer) error {
	return runSearchNode(ctx, esnode.Elasticsearch, args, stdout)
}

func runOpenSearch(ctx context.Context, args []string, stdout io.Writer) error {
	return runSearchNode(ctx, esnode.OpenSearch, args, stdout)
}

// runSearchNode provisions a local node of engine, prints its URL (and
// writes it to --url-file), and runs it until interrupted.
func runSearchNode(ctx context.Context, engine string, args []string, stdout io.Writer) error {
	fs, urlFile, heap := searchNodeFlags(engine)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := esnode.LoadConfig()
	if err != nil {
		return err
	}
	version := cfg.VersionOf(engine)
	node, err := esnode.Start(ctx, esnode.Options{Engine: engine, Version: version, HeapMB: *heap})
	if err != nil {
		return err
	}
	defer node.Stop()
	fmt.Fprintf(stdout, "%s %s ready at %s\n", productName(engine), version, node.URL())
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
		return fmt.Errorf("%s exited: %v", engine, err)
	}
}

func productName(engine string) string {
	if engine == esnode.OpenSearch {
		return "OpenSearch"
	}
	return "Elasticsearch"
}
