package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/ingest"
)

// A token on the command line is visible to every user of the machine:
// replay and generate refuse --token with a usage error saying why and
// what to use instead.
func TestTokenOnTheCommandLineIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "--token", "s3cret", "--no-checkpoint", "dump.ndjson"},
		{"generate", "--token", "s3cret", "--ingest", "http://127.0.0.1:1"},
	} {
		t.Run(args[0], func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2 (usage): %s", code, errOut.String())
			}
			for _, m := range []string{"--token is not accepted", "visible to every user", "--token-file", "FLOWLINE_INGEST_TOKEN"} {
				if !strings.Contains(errOut.String(), m) {
					t.Errorf("stderr %q lacks %q", errOut.String(), m)
				}
			}
			if strings.Contains(errOut.String(), "s3cret") {
				t.Error("the refusal repeats the token")
			}
		})
	}
}

// The token comes from --token-file, FLOWLINE_INGEST_TOKEN_FILE or
// FLOWLINE_INGEST_TOKEN; replay sends it to a real ingest that needs it.
func TestReplayTokenFromAFileOrTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLOWLINE_INGEST_TOKEN", "")
	t.Setenv("FLOWLINE_INGEST_TOKEN_FILE", "")
	if got, err := ingestToken(file); err != nil || got != "s3cret" {
		t.Fatalf("--token-file: %q %v", got, err)
	}
	if _, err := ingestToken(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("missing --token-file: %v", err)
	}
	t.Setenv("FLOWLINE_INGEST_TOKEN_FILE", file)
	if got, err := ingestToken(""); err != nil || got != "s3cret" {
		t.Fatalf("FLOWLINE_INGEST_TOKEN_FILE: %q %v", got, err)
	}
	t.Setenv("FLOWLINE_INGEST_TOKEN", "other")
	if _, err := ingestToken(""); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both variables: %v", err)
	}
	t.Setenv("FLOWLINE_INGEST_TOKEN_FILE", "")
	if got, err := ingestToken(""); err != nil || got != "other" {
		t.Fatalf("FLOWLINE_INGEST_TOKEN: %q %v", got, err)
	}

	ns := testenv.NATS(t)
	cfg := ingest.Config{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 20, MaxRecords: 100,
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 10, BatchBytes: 32 << 10}, NATS: testenv.NATSConfig(ns), Streams: testenv.Streams()}
	cfg.Token = "s3cret"
	s := ingest.New(cfg, testenv.Deps(t))
	testenv.Run(t, s)
	dump := filepath.Join(dir, "dump.ndjson")
	line := `{"partitionId":1,"position":1,"key":1,"timestamp":1763884800000,"recordType":"EVENT","valueType":"VARIABLE","intent":"CREATED","value":{"name":"a","value":"1"}}`
	if err := os.WriteFile(dump, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	url := fmt.Sprintf("http://%s/v1/records", s.Addr())
	if code := run([]string{"replay", "--ingest", url, "--token-file", file, "--no-checkpoint", dump}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "1 accepted") {
		t.Fatalf("replay with --token-file: exit %d, %s %s", code, out.String(), errOut.String())
	}
}
