package stack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
)

// C7KindProgress is how far the import of one entity kind has got: its
// import index as stored in the stack's broker, and whether the engine has
// more of the kind than that.
type C7KindProgress struct {
	Kind  string
	Index c7import.ImportIndex // Time -1: nothing stored yet
	// Behind: the engine has entities of the kind after Index.Time, or
	// at Index.Time ones whose ids Index.IDsAt does not hold.
	Behind bool
}

func (p C7KindProgress) String() string {
	at := "nothing stored"
	if p.Index.Time >= 0 {
		at = fmt.Sprintf("at %s (%d there), %d imported", c7.FormatDate(p.Index.Time), p.Index.CountAt, p.Index.Imported)
	}
	if p.Behind {
		return p.Kind + ": " + at + ", behind the engine"
	}
	return p.Kind + ": " + at + ", caught up"
}

// C7Progress reads the import index of every kind (c7.Kinds) of engine c
// from the stack's broker, whoever runs the import (the stack, or the test
// through C7ImportEnv), and asks the engine whether it has more.
func (s *Stack) C7Progress(c C7) ([]C7KindProgress, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := C7ImportConfig(s.t, s.NATS, c)
	engine, err := c7.New(c7.Options{URL: c.URL, Engine: cfg.Engine.Name, Timeout: 20 * time.Second})
	if err != nil {
		return nil, err
	}
	kv, err := s.conn().JS.KeyValue(ctx, cfg.Engine.IndexBucket)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, err
	}
	out := make([]C7KindProgress, 0, len(c7.Kinds))
	for _, kind := range c7.Kinds {
		p := C7KindProgress{Kind: kind.Name, Index: c7import.ImportIndex{Time: -1}}
		if kv != nil {
			if _, err := stream.LoadJSON(ctx, kv, c7import.IndexKey(c.Source, kind.Name), &p.Index); err != nil {
				return nil, err
			}
		}
		after, err := engine.After(ctx, kind, p.Index.Time, 1)
		if err != nil {
			return nil, err
		}
		p.Behind = len(after.Entities) > 0
		if !p.Behind && p.Index.Time >= 0 {
			known := map[string]bool{}
			for _, id := range p.Index.IDsAt {
				known[id] = true
			}
			at, err := engine.At(ctx, kind, p.Index.Time, known)
			if err != nil {
				return nil, err
			}
			p.Behind = len(at.Entities) > 0
		}
		out = append(out, p)
	}
	return out, nil
}

// C7Settled returns nil once everything of engine c is in Elasticsearch:
// every kind's import index stands at the engine's newest entity, the c7
// fold has folded (and acked) every page stored, and the writer has
// indexed every document (FLOWLINE_DOCS, a work queue, is empty). Poll it
// with testenv.Eventually while the engine stands still.
func (s *Stack) C7Settled(c C7) error {
	progress, err := s.C7Progress(c)
	if err != nil {
		return err
	}
	for _, p := range progress {
		if p.Behind {
			return fmt.Errorf("the import is behind: %s", p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := s.conn().JS
	cons, err := js.Consumer(ctx, stream.C7Stream, c7fold.ConsumerName(c.Source))
	if err != nil {
		return fmt.Errorf("the fold's consumer: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	if info.NumPending > 0 || info.NumAckPending > 0 {
		return fmt.Errorf("the fold has %d pages to fetch and %d to ack", info.NumPending, info.NumAckPending)
	}
	if n := testenv.StreamMessages(s.t, js, stream.DocsStream); n > 0 {
		return fmt.Errorf("%d document messages wait for the writer", n)
	}
	return nil
}

// conn is the stack's own client of its broker, connected on first use.
func (s *Stack) conn() *stream.Conn {
	if s.client == nil {
		s.client = testenv.Connect(s.t, s.NATS)
	}
	return s.client
}
