package lease

import (
	"context"
	"sync"
)

// Local is a lock per key within one process (a chat, a person): holders
// of one key take turns, other keys do not wait. Waiting ends with the
// context. An entry exists only while someone holds or waits for its key.
// The zero value is ready to use; a Local must not be copied.
type Local struct {
	mu sync.Mutex
	m  map[string]*localEntry
}

type localEntry struct {
	ch    chan struct{} // holds one token while locked
	users int           // the holder and the waiters; the entry goes at 0
}

// Lock waits for key's lock (or ctx) and returns its unlock, which may be
// called more than once.
func (l *Local) Lock(ctx context.Context, key string) (unlock func(), err error) {
	unlock, _, err = l.LockWaited(ctx, key)
	return unlock, err
}

// LockWaited is Lock that also tells whether the lock was held by someone
// else when asked for (whether the caller had to queue).
func (l *Local) LockWaited(ctx context.Context, key string) (unlock func(), waited bool, err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*localEntry{}
	}
	e := l.m[key]
	if e == nil {
		e = &localEntry{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.users++
	l.mu.Unlock()
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			<-e.ch
			l.put(key, e)
		})
	}
	select {
	case e.ch <- struct{}{}:
		return unlock, false, nil
	default:
	}
	select {
	case e.ch <- struct{}{}:
		return unlock, true, nil
	case <-ctx.Done():
		l.put(key, e)
		return nil, true, ctx.Err()
	}
}

func (l *Local) put(key string, e *localEntry) {
	l.mu.Lock()
	e.users--
	if e.users == 0 {
		delete(l.m, key)
	}
	l.mu.Unlock()
}

// Len is the number of keys held or waited for.
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
