package ingest

import "sync"

// maxPooledBuffer: larger buffers (a rare huge request) go back to the GC.
const maxPooledBuffer = 64 << 20

// buffers recycles the large byte slices of the data path (request bodies,
// NDJSON encoding arenas, JetStream message bodies), which would otherwise
// be garbage after every request and keep the collector busy. A buffer is
// owned by whoever took it until it is put back; nothing may alias it after
// that. Safe for concurrent use.
type buffers struct{ pool sync.Pool }

// get returns an empty buffer with room for at least n bytes.
func (b *buffers) get(n int) []byte {
	if v, ok := b.pool.Get().(*[]byte); ok {
		if cap(*v) >= n {
			return (*v)[:0]
		}
		b.pool.Put(v) // too small for this one; keep it for a smaller one
	}
	return make([]byte, 0, n)
}

// put hands buf back for reuse.
func (b *buffers) put(buf []byte) {
	if cap(buf) > 0 && cap(buf) <= maxPooledBuffer {
		b.pool.Put(&buf)
	}
}
