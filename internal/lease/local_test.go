package lease_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"putokaz/internal/lease"
)

func TestLocalSerialisesOneKey(t *testing.T) {
	var l lease.Local
	ctx := t.Context()
	var mu sync.Mutex
	inside, most := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			unlock, err := l.Lock(ctx, "a")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if most != 1 {
		t.Errorf("%d holders of one key at once, want 1", most)
	}
	if n := l.Len(); n != 0 {
		t.Errorf("Len after every unlock = %d, want 0", n)
	}
}

func TestLocalKeysAreIndependent(t *testing.T) {
	var l lease.Local
	ctx := t.Context()
	ua, waited, err := l.LockWaited(ctx, "a")
	if err != nil || waited {
		t.Fatalf("first lock = %v, waited %v", err, waited)
	}
	ub, waited, err := l.LockWaited(ctx, "b")
	if err != nil || waited {
		t.Fatalf("another key's lock = %v, waited %v; want it at once", err, waited)
	}
	if n := l.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	// A second holder of "a" queues until the first unlocks.
	got := make(chan bool)
	go func() {
		u, waited, err := l.LockWaited(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		u() // before reporting, so that Len below sees it released
		got <- waited
	}()
	select {
	case <-got:
		t.Fatal("a held key was locked again")
	case <-time.After(30 * time.Millisecond):
	}
	ua()
	ua() // a second unlock is harmless
	if !<-got {
		t.Error("the queued holder did not report waiting")
	}
	ub()
	if n := l.Len(); n != 0 {
		t.Errorf("Len after every unlock = %d, want 0", n)
	}
}

func TestLocalWaitEndsWithContext(t *testing.T) {
	var l lease.Local
	unlock, err := l.Lock(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, "a"); err != context.DeadlineExceeded {
		t.Fatalf("lock of a held key with an ending context = %v, want DeadlineExceeded", err)
	}
	if n := l.Len(); n != 1 {
		t.Errorf("Len with one holder and a waiter gone = %d, want 1", n)
	}
	unlock()
	if u, err := l.Lock(t.Context(), "a"); err != nil {
		t.Fatalf("lock after unlock = %v", err)
	} else {
		u()
	}
	if n := l.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
}

// TestLocalPerPerson (from the playground, its first user): one holder per
// person at a time; a waiter gives up with its context.
func TestLocalPerPerson(t *testing.T) {
	l := new(lease.Local)
	ctx := context.Background()
	unlock, err := l.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := l.Lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(short, "a"); err == nil {
		t.Fatal("locked twice")
	}
	got := make(chan struct{})
	go func() {
		u, err := l.Lock(ctx, "a")
		if err == nil {
			u()
		}
		close(got)
	}()
	time.Sleep(10 * time.Millisecond)
	unlock()
	unlock() // twice is harmless
	select {
	case <-got:
	case <-time.After(time.Second):
		t.Fatal("the waiter never got the lock")
	}
}
