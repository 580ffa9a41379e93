package stream

// FetchSizer turns a fetch's byte budget into a message count, for pull
// consumers that must not fetch with a byte limit: a pull request with
// one that ends on its count or its bytes makes nats-server send a 409
// status ("Batch Completed", "Message Size Exceeds MaxBytes") at once,
// while the messages of a replicated consumer follow only once their
// delivery is replicated; nats.go ends the fetch on the status and drops
// them, and they wait out the consumer's AckWait (nats-server 2.15.2, the
// same in 2.15.3). A request without a byte limit ends when the client
// has every message, or expires with a 408 sent after the deliveries.
//
// It keeps the size of the messages fetched so far: a moving average that
// jumps up at once when a fetch's messages are larger, and comes down
// slowly. It bounds a fetch's bytes only as well as the last fetches
// predict the next (at most the count asked times the largest message).
// Owned by one fetch loop: the writer's. The Camunda 7 fold, whose page
// messages run to megabytes, bounds its fetches by the largest message
// instead, so that no fetch can pass the server's pending limit.
type FetchSizer struct {
	mean float64 // bytes per message; 0 before the first
}

// InitialMessageBytes is the size assumed before any message was fetched:
// on the large side, so the first fetch stays within its budget.
const InitialMessageBytes = 64 << 10

// Fit is how many messages of the expected size fit in budget bytes (at
// least one).
func (m *FetchSizer) Fit(budget int) int {
	mean := m.mean
	if mean <= 0 {
		mean = InitialMessageBytes
	}
	return max(1, int(float64(budget)/mean))
}

// Observe adds a fetch of n messages holding bytes bytes.
func (m *FetchSizer) Observe(bytes, n int) {
	if n == 0 {
		return
	}
	got := float64(bytes) / float64(n)
	if got >= m.mean {
		m.mean = got // larger messages: believe them at once
		return
	}
	m.mean = 0.8*m.mean + 0.2*got
}
