package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDLQCommandLine: `flowline dlq --help` lists the subcommands' flags
// and the NATS variables; bad invocations exit 2 naming the problem before
// any connection is tried.
func TestDLQCommandLine(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"dlq", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("help: exit %d: %s", code, errOut.String())
	}
	for _, w := range []string{"list", "show SEQ", "redrive", "-service", "-reason", "-since", "-until", "-limit", "-json", "-dry-run", "-all", "FLOWLINE_NATS_URL"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q:\n%s", w, out.String())
		}
	}
	for _, tt := range []struct {
		args    []string
		mention string
	}{
		{[]string{"dlq"}, "list|show|redrive"},
		{[]string{"dlq", "purge"}, `unknown subcommand "purge"`},
		{[]string{"dlq", "list", "7"}, "list takes no arguments"},
		{[]string{"dlq", "list", "--json", "--dry-run"}, "-dry-run"},
		{[]string{"dlq", "list", "--since", "yesterday"}, `--since: "yesterday" is neither`},
		{[]string{"dlq", "list", "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"dlq", "show"}, "show takes one dead-letter sequence"},
		{[]string{"dlq", "show", "x"}, `"x" is not a dead-letter sequence`},
		{[]string{"dlq", "redrive"}, "redrive what?"},
		{[]string{"dlq", "redrive", "3", "--service", "writer"}, "either dead-letter sequences or filters"},
		{[]string{"dlq", "redrive", "--all", "--json"}, "-json"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.mention) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.mention)
			}
		})
	}
}
