package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// TestDeadLettersAreListedShownAndRedrivenWithTheCLI: the list-view index
// is made with a mapping that refuses the instances' processName, so the
// writer dead-letters every list-view document of the fixture while the
// rest of the pipeline goes on. `flowline dlq list` shows them (family, id,
// partition, reason), `dlq show` prints one decoded; once the index is
// deleted (the cause), `dlq redrive --service writer` gets every instance
// searchable as the fixture expects, and a second redrive changes nothing:
// no dead letter, no document message, no index operation.
func TestDeadLettersAreListedShownAndRedrivenWithTheCLI(t *testing.T) {
	s := stack.Start(t, stack.Options{})
	ctx := context.Background()
	index := schema.RuntimeIndex(s.Prefix, schema.ListView)
	// The writer created the index at start; it is made again, its template
	// overridden for one field.
	if _, err := s.ES.Do(ctx, search.Request{Method: http.MethodDelete, Path: "/" + index, What: "delete " + index}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ES.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + index,
		Body: []byte(`{"mappings":{"properties":{"processName":{"type":"long"}}}}`), What: "create " + index}); err != nil {
		t.Fatal(err)
	}
	if code, res := post(t, s.IngestURL(), "application/x-ndjson", ndjson(fixture())); code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, res)
	}

	bin := testenv.Flowline(t)
	dlq := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, append([]string{"dlq"}, args...)...)
		cmd.Env = append(os.Environ(), "FLOWLINE_NATS_URL="+s.NATS.URL())
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return out.String(), fmt.Errorf("flowline dlq %v: %w: %s%s", args, err, out.String(), errOut.String())
		}
		return out.String(), nil
	}
	type summary struct {
		Seq       uint64 `json:"seq"`
		Service   string `json:"service"`
		Kind      string `json:"kind"`
		Partition *int32 `json:"partition"`
		What      string `json:"what"`
		Reason    string `json:"reason"`
	}
	list := func(args ...string) []summary {
		t.Helper()
		out, err := dlq(append([]string{"list", "--json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var ls []summary
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var l summary
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("list --json line %q: %v", line, err)
			}
			ls = append(ls, l)
		}
		return ls
	}

	// Every instance's newest document arrives dead-lettered (older
	// versions of one may too: each document message is its own bulk).
	wantInstances := expectedInstances()
	var letters []summary
	testenv.Eventually(t, 30*time.Second, func() error {
		letters = list("--service", "writer", "--since", "1h")
		seen := map[string]bool{}
		for _, l := range letters {
			seen[l.What] = true
		}
		for id := range wantInstances {
			if !seen["list-view/"+id] {
				return fmt.Errorf("no dead letter for instance %s yet: %v", id, letters)
			}
		}
		return nil
	})
	for _, l := range letters {
		if l.Service != "writer" || l.Kind != "document" || l.Partition == nil || !strings.HasPrefix(l.What, "list-view/") ||
			!strings.Contains(l.Reason, "failed to parse field [processName]") {
			t.Errorf("dead letter %+v", l)
		}
	}
	if ls := list("--reason", "no such reason"); len(ls) != 0 {
		t.Errorf("--reason selected %v", ls)
	}
	out, err := dlq("show", strconv.FormatUint(letters[0].Seq, 10))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{stream.HeaderDLQFamily + ": list-view", `"processName": "order-`, "payload (document"} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq show lacks %q:\n%s", want, out)
		}
	}
	if _, err := dlq("redrive"); err == nil || !strings.Contains(err.Error(), "exit status 2") {
		t.Errorf("redrive without a selection: %v", err)
	}

	// The cause goes; the template creates the index again on the next write.
	if _, err := s.ES.Do(ctx, search.Request{Method: http.MethodDelete, Path: "/" + index, What: "delete " + index}); err != nil {
		t.Fatal(err)
	}
	if out, err = dlq("redrive", "--service", "writer", "--dry-run"); err != nil || !strings.Contains(out, "would redrive") {
		t.Fatalf("dry run: %s %v", out, err)
	}
	if ls := list(); len(ls) != len(letters) {
		t.Fatalf("a dry run changed the dead letters: %d -> %d", len(letters), len(ls))
	}
	if out, err = dlq("redrive", "--service", "writer"); err != nil || !strings.Contains(out, fmt.Sprintf("%d dead letters redriven, 0 not", len(letters))) {
		t.Fatalf("redrive: %s %v", out, err)
	}
	testenv.Eventually(t, 30*time.Second, func() error { // the writer creates the index with its first document
		return search.Refresh(ctx, s.ES, schema.Alias(s.Prefix, schema.ListView))
	})
	instances := waitForDocs(t, s, schema.ListView, wantInstances)

	// Twice: nothing left to send, nothing sent.
	js := testenv.Connect(t, s.NATS).JS
	docs, err := js.Stream(ctx, stream.DocsStream)
	if err != nil {
		t.Fatal(err)
	}
	before, err := docs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out, err = dlq("redrive", "--service", "writer"); err != nil || !strings.Contains(out, "0 dead letters redriven, 0 not") {
		t.Fatalf("second redrive: %s %v", out, err)
	}
	if out, err = dlq("redrive", strconv.FormatUint(letters[0].Seq, 10)); err != nil || !strings.Contains(out, "nothing to redrive") {
		t.Fatalf("second redrive by sequence: %s %v", out, err)
	}
	after, err := docs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.State.LastSeq != before.State.LastSeq {
		t.Errorf("the second redrive published %d document messages", after.State.LastSeq-before.State.LastSeq)
	}
	if ls := list(); len(ls) != 0 {
		t.Errorf("dead letters after redriving: %v", ls)
	}
	now := searchAll(t, s, schema.ListView)
	for id, h := range instances {
		if now[id].SeqNo != h.SeqNo || !reflect.DeepEqual(now[id].Source, h.Source) {
			t.Errorf("list-view %s changed by the second redrive: seq_no %d -> %d", id, h.SeqNo, now[id].SeqNo)
		}
	}
}
