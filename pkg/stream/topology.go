package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

const (
	// maxMsgSize bounds the messages of every stream. It is larger than the
	// server's default so ingest can batch a partition's records into one
	// message (see services/ingest), and the same everywhere because a dead
	// letter carries the message that failed whole.
	maxMsgSize = 8 << 20
	// dedupWindow is how long the records and docs streams remember message
	// ids, dropping a message published again under the same id.
	dedupWindow = 2 * time.Minute
)

// dedupWindowWithin is the dedup window of a stream keeping messages for
// maxAge: the server refuses a window longer than the max age.
func dedupWindowWithin(maxAge time.Duration) time.Duration { return min(dedupWindow, maxAge) }

// StreamConfigs returns the configuration of Flowline's streams.
func StreamConfigs(cfg config.Streams) []jetstream.StreamConfig {
	streams := []jetstream.StreamConfig{
		{
			Name:        RecordsStream,
			Description: "Zeebe partition records, one subject per partition",
			Subjects:    []string{AllRecords},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      cfg.RecordsMaxAge.D(),
			Replicas:    cfg.Replicas,
			Duplicates:  dedupWindowWithin(cfg.RecordsMaxAge.D()),
			MaxMsgSize:  maxMsgSize,
		},
		{
			Name:        DocsStream,
			Description: "entity documents built by the aggregator, consumed by writers",
			Subjects:    []string{AllDocs},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.WorkQueuePolicy,
			Replicas:    cfg.Replicas,
			Duplicates:  dedupWindow,
			MaxMsgSize:  maxMsgSize,
		},
		{
			Name:        C7Stream,
			Description: "pages of Camunda 7 history entities imported through the engine's Optimize API, one subject per source and kind",
			Subjects:    []string{AllC7},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      cfg.RecordsMaxAge.D(),
			Replicas:    cfg.Replicas,
			Duplicates:  dedupWindowWithin(cfg.RecordsMaxAge.D()),
			MaxMsgSize:  maxMsgSize,
		},
		{
			Name:        DLQStream,
			Description: "messages and documents a service could not process, with the reason in a header",
			Subjects:    []string{AllDLQ},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      cfg.DLQMaxAge.D(),
			Replicas:    cfg.Replicas,
			// What the server sets when none is given: explicit, so that
			// an existing stream compares equal.
			Duplicates: dedupWindowWithin(cfg.DLQMaxAge.D()),
			MaxMsgSize: maxMsgSize,
		},
	}
	if cfg.Compression == "s2" {
		for i := range streams {
			streams[i].Compression = jetstream.S2Compression
		}
	}
	return streams
}

// ErrSettingsDiffer is wrapped by the DiffError EnsureStreams returns when
// existing streams have settings that differ from the config it was given,
// which it was not allowed to change (config.Streams.Manage unset).
var ErrSettingsDiffer = errors.New("stream settings differ from this service's configuration")

// SettingDiff is one managed setting of an existing stream that differs
// from a service's configuration.
type SettingDiff struct {
	Stream   string // e.g. FLOWLINE_RECORDS
	Setting  string // e.g. max_age
	Variable string // the variable that sets it; "" for a setting built into Flowline
	Have     string // the stream's value
	Want     string // the configuration's value
}

// DiffError lists the differing settings of the streams EnsureStreams left
// as they are. The streams exist and are usable.
type DiffError struct{ Diffs []SettingDiff }

func (e *DiffError) Error() string {
	parts := make([]string, len(e.Diffs))
	for i, d := range e.Diffs {
		parts[i] = fmt.Sprintf("%s %s is %s, configured %s", d.Stream, d.Setting, d.Have, d.Want)
		if d.Variable != "" {
			parts[i] += " (" + d.Variable + ")"
		}
	}
	return fmt.Sprintf("%v: %s", ErrSettingsDiffer, strings.Join(parts, "; "))
}

func (e *DiffError) Unwrap() error { return ErrSettingsDiffer }

// EnsureStreams makes sure Flowline's streams exist: a missing stream is
// created with cfg's settings. An existing stream whose managed settings
// (those StreamConfigs sets) differ from cfg's is updated only when
// cfg.Manage is set — the one owner of the settings; otherwise it is left
// alone and the differences are returned as a *DiffError (the streams are
// usable then). So services started with different settings never reset
// each other. Safe for several services to call at once; services start
// through Open, which retries it and logs the differences.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg config.Streams) error {
	var diffs []SettingDiff
	for _, sc := range StreamConfigs(cfg) {
		st, err := js.Stream(ctx, sc.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			// Another service may create it at the same moment: the same
			// config is accepted again, a different one is refused
			// (ErrStreamNameAlreadyInUse) and compared on the next try.
			created, err := js.CreateStream(ctx, sc)
			if err != nil {
				return fmt.Errorf("stream: create %s: %w", sc.Name, err)
			}
			if err := compressionTaken(created.CachedInfo().Config, sc); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("stream: look up %s: %w", sc.Name, err)
		}
		// A stream already configured as wanted is left alone: needless
		// updates race with consumers being created (and churn the
		// cluster's metadata).
		d := diffStreamConfig(st.CachedInfo().Config, sc)
		if len(d) == 0 {
			continue
		}
		if !cfg.Manage {
			diffs = append(diffs, d...)
			continue
		}
		updated, err := js.UpdateStream(ctx, sc)
		if err != nil {
			return fmt.Errorf("stream: update %s: %w", sc.Name, err)
		}
		if err := compressionTaken(updated.CachedInfo().Config, sc); err != nil {
			return err
		}
	}
	if len(diffs) > 0 {
		return &DiffError{Diffs: diffs}
	}
	return nil
}

// diffStreamConfig lists the settings Flowline manages in which an
// existing stream differs from the wanted config.
func diffStreamConfig(have, want jetstream.StreamConfig) []SettingDiff {
	var out []SettingDiff
	add := func(setting, variable string, h, w any) {
		out = append(out, SettingDiff{Stream: want.Name, Setting: setting, Variable: variable, Have: fmt.Sprint(h), Want: fmt.Sprint(w)})
	}
	if !slices.Equal(have.Subjects, want.Subjects) {
		add("subjects", "", have.Subjects, want.Subjects)
	}
	if have.Storage != want.Storage {
		add("storage", "", have.Storage, want.Storage)
	}
	if have.Retention != want.Retention {
		add("retention", "", have.Retention, want.Retention)
	}
	if have.MaxAge != want.MaxAge {
		add("max_age", maxAgeVariable[want.Name], have.MaxAge, want.MaxAge)
	}
	if have.Replicas != want.Replicas {
		add("replicas", config.Prefix+"_STREAM_REPLICAS", have.Replicas, want.Replicas)
	}
	if have.Duplicates != want.Duplicates {
		add("duplicate_window", "", have.Duplicates, want.Duplicates)
	}
	if have.MaxMsgSize != want.MaxMsgSize {
		add("max_msg_size", "", have.MaxMsgSize, want.MaxMsgSize)
	}
	if have.Description != want.Description {
		add("description", "", have.Description, want.Description)
	}
	if have.Compression != want.Compression {
		add("compression", config.Prefix+"_STREAM_COMPRESSION", compressionName(have.Compression), compressionName(want.Compression))
	}
	return out
}

// compressionTaken checks that the server kept the compression asked for:
// a nats-server before 2.10 ignores the setting, and the stream would then
// differ from it at every start.
func compressionTaken(got, want jetstream.StreamConfig) error {
	if got.Compression == want.Compression {
		return nil
	}
	return fmt.Errorf("%w: stream %s: the server stored compression %s, not %s: %s_STREAM_COMPRESSION=s2 needs nats-server 2.10 or later",
		config.ErrInvalid, want.Name, compressionName(got.Compression), compressionName(want.Compression), config.Prefix)
}

// compressionName is c as FLOWLINE_STREAM_COMPRESSION spells it.
func compressionName(c jetstream.StoreCompression) string { return strings.ToLower(c.String()) }

// maxAgeVariable names the variable of each stream's max age.
var maxAgeVariable = map[string]string{
	RecordsStream: config.Prefix + "_STREAM_RECORDS_MAX_AGE",
	C7Stream:      config.Prefix + "_STREAM_RECORDS_MAX_AGE",
	DLQStream:     config.Prefix + "_STREAM_DLQ_MAX_AGE",
}

// sameStreamConfig reports whether an existing stream has every setting
// Flowline manages as wanted.
func sameStreamConfig(have, want jetstream.StreamConfig) bool {
	return len(diffStreamConfig(have, want)) == 0
}
