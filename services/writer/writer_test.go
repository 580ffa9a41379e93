package writer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func flowNode(key int64, state string, extra string) []byte {
	return []byte(fmt.Sprintf(`{"key":%d,"processInstanceKey":1,"flowNodeId":"task","type":"SERVICE_TASK","state":%q,"startDate":"2026-11-23T06:00:00.000Z","endDate":null,"position":%d%s}`,
		key, state, key, extra))
}

func TestRejectedDocumentIsDeadLetteredAndTheRestWritten(t *testing.T) {
	env := testenv.NewEnv(t)
	js := testenv.ConnectStreams(t, env.NATS).JS
	ctx := context.Background()

	big := int64(5)<<51 + 3 // above 2^53
	testenv.PublishDocuments(t, js, 5,
		&recordv1.Document{Family: "flownode-instance", Id: fmt.Sprint(big), Version: 10, Source: flowNode(big, "ACTIVE", "")},
		&recordv1.Document{Family: "flownode-instance", Id: "2", Version: 11, Source: flowNode(2, "ACTIVE", `,"notInMapping":true`)},
		&recordv1.Document{Family: "flownode-instance", Id: fmt.Sprint(big), Version: 9, Source: flowNode(big, "STALE", "")},
		&recordv1.Document{Family: "no-such-family", Id: "3", Version: 1, Source: []byte(`{}`)},
		&recordv1.Document{Family: "another-unknown-family", Id: "3", Version: 1, Source: []byte(`{"other":true}`)},
	)

	w := writer.New(smallWriterConfig(env.NATS, env.ESConfig, env.Prefix), testenv.Deps(t))
	testenv.Run(t, w)

	index := schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance)
	testenv.Eventually(t, 15*time.Second, func() error {
		if err := search.Refresh(ctx, env.ES, index); err != nil {
			return err
		}
		b, err := esGet(ctx, env.ES, index, fmt.Sprint(big))
		if err != nil {
			return err
		}
		var got struct {
			Version int64           `json:"_version"`
			Source  json.RawMessage `json:"_source"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			return err
		}
		if got.Version != 10 || !strings.Contains(string(got.Source), `"state":"ACTIVE"`) || !strings.Contains(string(got.Source), fmt.Sprint(big)) {
			return fmt.Errorf("document %d: version %d source %s", big, got.Version, got.Source)
		}
		return nil
	})

	// Three dead letters: the mapping violation and the two documents of
	// unknown families (the same id, kept apart).
	dlq, err := js.OrderedConsumer(ctx, stream.DLQStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	var unknown []string
	for range 3 {
		msg, err := dlq.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("missing dead letter: %v", err)
		}
		if msg.Subject() != stream.DLQSubject("writer") {
			t.Errorf("dead letter on %s", msg.Subject())
		}
		reasons[msg.Headers().Get(stream.HeaderDLQID)] = msg.Headers().Get(stream.HeaderDLQReason)
		if msg.Headers().Get(stream.HeaderDLQID) == "3" {
			unknown = append(unknown, msg.Headers().Get(stream.HeaderDLQReason)+" "+string(msg.Data()))
		}
		if msg.Headers().Get(stream.HeaderDLQID) == "2" && (msg.Headers().Get(stream.HeaderDLQIndex) != index || !strings.Contains(string(msg.Data()), "notInMapping")) {
			t.Errorf("dead letter of doc 2: index %q data %s", msg.Headers().Get(stream.HeaderDLQIndex), msg.Data())
		}
	}
	if !strings.Contains(reasons["2"], "strict_dynamic_mapping_exception") || !strings.Contains(reasons["3"], "unknown document family") {
		t.Errorf("reasons = %v", reasons)
	}
	slices.Sort(unknown)
	if len(unknown) != 2 || !strings.Contains(unknown[0], `"another-unknown-family"`) || !strings.Contains(unknown[0], `{"other":true}`) ||
		!strings.Contains(unknown[1], `"no-such-family"`) || !strings.Contains(unknown[1], `{}`) {
		t.Errorf("dead letters of the unknown families: %q, want one per family, each naming it", unknown)
	}
	// The message was acked: the work-queue stream is empty.
	resilWaitDrained(t, js, 5*time.Second)
}
