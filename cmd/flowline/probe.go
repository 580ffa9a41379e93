package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

const probeSummary = "health check for images without a shell: flowline probe [--timeout D] URL exits 0 when GET URL answers 200 (e.g. http://127.0.0.1:9600/readyz), 1 otherwise"

// probeFlags are `flowline probe`'s flags.
func probeFlags() (*flag.FlagSet, *time.Duration) {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	return fs, timeout
}

// runProbe is `flowline probe URL`: what compose's health checks run, as
// the image has no shell and no curl.
func runProbe(ctx context.Context, args []string, stdout io.Writer) error {
	fs, timeout := probeFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("want one URL: flowline probe [--timeout D] URL")}
	}
	raw := fs.Arg(0)
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Errorf("%q is not an http(s) URL", config.Redact(raw))}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", config.Redact(raw), err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", config.Redact(raw), res.Status, body)
	}
	_, err = stdout.Write(body)
	return err
}
