package terminal_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/store"
	"putokaz/internal/subscribe"
	"putokaz/internal/terminal"
	"putokaz/internal/testkit/golden"
)

// TestTranscripts replays testdata/transcripts/*.in through the terminal
// chat on the default content and compares with the .golden file beside it.
// The first lines of an .in file may be "# lang: fa" (chat --lang) and
// "# at: 2026-11-28T20:00:00Z" (the clock; default Thursday 10:00 UTC).
func TestTranscripts(t *testing.T) {
	c, diags := content.Load(content.Embedded())
	if c == nil {
		t.Fatalf("default content: %v", diags)
	}
	files, _ := filepath.Glob("testdata/transcripts/*.in")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			opt := terminal.Options{Echo: true, User: "test:" + name}
			now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) // a Thursday: staff are at work
			for {
				first, _, _ := strings.Cut(string(input), "\n")
				if v, ok := strings.CutPrefix(first, "# lang: "); ok {
					opt.Lang = strings.TrimSpace(v)
				} else if v, ok := strings.CutPrefix(first, "# at: "); ok {
					if now, err = time.Parse(time.RFC3339, strings.TrimSpace(v)); err != nil {
						t.Fatalf("%s: # at: %v", in, err)
					}
				} else {
					break
				}
				input = input[min(len(first)+1, len(input)):]
			}
			var out bytes.Buffer
			conv, staff := newConversation(t, c, &out, now)
			opt.Referrals = staff
			if err := terminal.Run(context.Background(), bytes.NewReader(input), &out, conv, opt); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in")+".golden", out.String(), "go test ./internal/terminal -update")
		})
	}
}

func newConversation(t *testing.T, c *content.Content, out *bytes.Buffer, now time.Time) (*conversation.Runner, *terminal.LocalStaff) {
	mem, err := store.NewMemory(time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	e := engine.New(func() time.Time { return now },
		func() uint64 { n += 104729; return n })
	// The organisation as an operator's config.yaml names it.
	e.Org = engine.Organisation{Name: "Example Aid", Names: map[string]string{"sr-Cyrl": "Пример помоћ", "ar": "مثال للمساعدة", "fa": "کمک نمونه"},
		DataContact: "privacy@example.org"}
	staff := terminal.NewLocalStaff(out)
	subs := subscribe.NewHandler(subscribe.NewMemory(subscribe.DefaultTTL, func() time.Time { return now }), staff)
	conv := conversation.New(mem, e, content.NewHolder(c), subs, nil)
	conv.Statuses = staff
	conv.Subscriptions = subs
	return conv, staff
}
