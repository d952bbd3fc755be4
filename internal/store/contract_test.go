package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// testContract checks the Sessions behaviour both implementations promise.
func testContract(t *testing.T, s Sessions) {
	ctx := t.Context()

	t.Run("missing", func(t *testing.T) {
		b, err := s.Load(ctx, "tg:missing")
		if b != nil || err != nil {
			t.Fatalf("Load(missing) = %q, %v; want nil, nil", b, err)
		}
	})

	t.Run("round trip and copies", func(t *testing.T) {
		buf := []byte("state-1")
		if err := s.Save(ctx, "tg:1", buf); err != nil {
			t.Fatal(err)
		}
		copy(buf, "XXXXX") // caller reuses its buffer
		got, err := s.Load(ctx, "tg:1")
		if err != nil || string(got) != "state-1" {
			t.Fatalf("Load = %q, %v; want state-1", got, err)
		}
		got[0] = 'Z' // caller modifies what it got
		again, _ := s.Load(ctx, "tg:1")
		if string(again) != "state-1" {
			t.Fatalf("stored blob changed through a returned slice: %q", again)
		}
		if err := s.Save(ctx, "tg:1", []byte("state-2")); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Load(ctx, "tg:1"); string(got) != "state-2" {
			t.Fatalf("after overwrite Load = %q", got)
		}
	})

	t.Run("binary and empty blobs", func(t *testing.T) {
		bin := []byte{0, 1, 2, 0xff, '\r', '\n'}
		if err := s.Save(ctx, "tg:bin", bin); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Load(ctx, "tg:bin"); !bytes.Equal(got, bin) {
			t.Fatalf("binary blob = %v", got)
		}
		if err := s.Save(ctx, "tg:empty", nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, "tg:empty")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("empty blob Load = %#v, %v; want non-nil empty (saved, not missing)", got, err)
		}
	})

	t.Run("users are isolated", func(t *testing.T) {
		users := []string{"tg:7", "tg:77", "tg:*", "a{b}", "tg:7}:session"}
		for _, u := range users {
			if err := s.Save(ctx, u, []byte("v-"+u)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, "tg:*"); err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			got, err := s.Load(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			want := "v-" + u
			if u == "tg:*" {
				want = ""
			}
			if string(got) != want {
				t.Errorf("Load(%q) = %q, want %q", u, got, want)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.Save(ctx, "tg:del", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "tg:del"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(ctx, "tg:del"); got != nil || err != nil {
			t.Fatalf("after Delete Load = %q, %v", got, err)
		}
		if err := s.Delete(ctx, "tg:del"); err != nil {
			t.Fatalf("Delete of nothing: %v", err)
		}
	})

	t.Run("empty user rejected", func(t *testing.T) {
		_, err := s.Load(ctx, "")
		if !errors.Is(err, ErrEmptyUser) {
			t.Errorf("Load: %v", err)
		}
		if err := s.Save(ctx, "", []byte("x")); !errors.Is(err, ErrEmptyUser) {
			t.Errorf("Save: %v", err)
		}
		if err := s.Delete(ctx, ""); !errors.Is(err, ErrEmptyUser) {
			t.Errorf("Delete: %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		testConcurrent(t, s)
	})
}

// testConcurrent runs Save/Load/Delete from many goroutines (meaningful under
// -race) and checks every Load sees a complete blob.
func testConcurrent(t *testing.T, s Sessions) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for i := range 50 {
				user := fmt.Sprintf("tg:c%d", (g+i)%4) // shared between goroutines
				buf = fmt.Appendf(buf[:0], "blob-%d-%d", g, i)
				if err := s.Save(ctx, user, buf); err != nil {
					errs <- err
					return
				}
				got, err := s.Load(ctx, user)
				if err != nil {
					errs <- err
					return
				}
				if got != nil && !bytes.HasPrefix(got, []byte("blob-")) {
					errs <- fmt.Errorf("torn blob %q", got)
					return
				}
				if i%10 == 0 {
					if err := s.Delete(ctx, user); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
