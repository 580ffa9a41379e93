// Package bufpool recycles the large byte slices of the data path (request
// bodies, encoding arenas, JetStream message bodies), which would otherwise
// be garbage after every request and keep the collector busy.
package bufpool

import "sync"

// MaxPooled: larger buffers (a rare huge request) go back to the GC.
const MaxPooled = 64 << 20

// Pool is a pool of byte slices. A buffer is owned by whoever took it until
// it is put back; nothing may alias it after that. The zero Pool is ready;
// safe for concurrent use.
type Pool struct{ pool sync.Pool }

// Get returns an empty buffer with room for at least n bytes.
func (b *Pool) Get(n int) []byte {
	if v, ok := b.pool.Get().(*[]byte); ok {
		if cap(*v) >= n {
			return (*v)[:0]
		}
		b.pool.Put(v) // too small for this one; keep it for a smaller one
	}
	return make([]byte, 0, n)
}

// Put hands buf back for reuse.
func (b *Pool) Put(buf []byte) {
	if cap(buf) > 0 && cap(buf) <= MaxPooled {
		b.pool.Put(&buf)
	}
}
