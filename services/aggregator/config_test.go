package aggregator

import (
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// TestAttemptBounds: one attempt at a broker operation waits a sixth of
// PublishTimeout (at least a second, at most all of it); one attempt at
// uploading a checkpoint snapshot twice that, plus a second per MiB.
func TestAttemptBounds(t *testing.T) {
	for _, tt := range []struct {
		publish       time.Duration
		snapshotBytes int
		attempt       time.Duration
		upload        time.Duration
	}{
		{30 * time.Second, 0, 5 * time.Second, 10 * time.Second},
		{30 * time.Second, 64 << 20, 5 * time.Second, 74 * time.Second},
		{3 * time.Second, 1 << 19, time.Second, 2500 * time.Millisecond},
		{500 * time.Millisecond, 0, 500 * time.Millisecond, time.Second},
	} {
		c := Config{PublishTimeout: config.Duration(tt.publish)}
		if got := c.AttemptTimeout(); got != tt.attempt {
			t.Errorf("PublishTimeout %s: attempt %s, want %s", tt.publish, got, tt.attempt)
		}
		if got := c.uploadTimeout(tt.snapshotBytes); got != tt.upload {
			t.Errorf("PublishTimeout %s, %d bytes: upload %s, want %s", tt.publish, tt.snapshotBytes, got, tt.upload)
		}
	}
}
