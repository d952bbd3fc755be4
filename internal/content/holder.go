package content

import "sync/atomic"

// Holder keeps the content in use and swaps it atomically on reload, so a
// conversation always sees one consistent version.
type Holder struct{ p atomic.Pointer[Content] }

// NewHolder holds c.
func NewHolder(c *Content) *Holder {
	h := &Holder{}
	h.p.Store(c)
	return h
}

// Content returns the content in use.
func (h *Holder) Content() *Content { return h.p.Load() }

// Swap replaces the content in use.
func (h *Holder) Swap(c *Content) { h.p.Store(c) }
