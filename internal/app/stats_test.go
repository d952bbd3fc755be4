package app

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/stats"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/redistest"
)

func TestStatsCommand(t *testing.T) {
	rdb, k := redistest.New(t)
	day := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	st, err := stats.New(stats.Options{Content: content.NewHolder(contenttest.Load(t)), Redis: rdb, Keys: k,
		Interval: time.Hour, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		st.Observe(conversation.Outcome{Input: engine.InButton, Lang: "fa",
			From: content.Ref{Flow: "main", Step: "menu"}, To: content.Ref{Flow: "sos", Step: "numbers"}})
	}
	st.Observe(conversation.Outcome{Input: engine.InText, Lang: "en", Notice: "unknown_text",
		From: content.Ref{Flow: "main", Step: "menu"}, To: content.Ref{Flow: "main", Step: "menu"}})
	if err := st.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = redistest.DefaultURL
	}
	envWith := map[string]string{"REDIS_URL": url, "REDIS_KEY_PREFIX": k.Prefix()}
	runEnv := func(vars map[string]string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(n string) string { return vars[n] }}
		return Main(context.Background(), args, env), out.String(), errOut.String()
	}

	code, out, errOut := runEnv(envWith, "stats", "--until", "2026-11-26", "--days", "7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Putokaz usage 2026-11-20 to 2026-11-26 (7 days, UTC; 1 with data)",
		"Inputs: 4, by language",
		"  fa  3  75.0%\n",
		"  en  1  25.0%\n",
		"  sos  3  100.0%\n",
		"  unknown_text  1  25.0%\n",
		"  sos/numbers      3      3    100.0%\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	// A period without the day has nothing.
	if code, out, _ := runEnv(envWith, "stats", "--until", "2026-11-19"); code != 0 || !strings.Contains(out, "No usage recorded") {
		t.Errorf("empty period: exit %d\n%s", code, out)
	}
	if code, _, errOut := runEnv(map[string]string{}, "stats"); code != 1 || !strings.Contains(errOut, "set REDIS_URL") {
		t.Errorf("without Redis: exit %d %s", code, errOut)
	}
	for _, args := range [][]string{{"--days", "0"}, {"--days", "401"}, {"--until", "yesterday"}, {"extra"}} {
		if code, _, _ := runEnv(envWith, append([]string{"stats"}, args...)...); code != 2 {
			t.Errorf("stats %v: exit %d, want 2", args, code)
		}
	}
}
