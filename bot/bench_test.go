package bot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	tgbot "github.com/go-telegram/bot"
	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/redistest"
)

// BenchmarkWebhookUpdate measures one update end to end: HTTP POST to the
// webhook, dedupe + lease (Redis), conversation, sendMessage to the fake API,
// finish (Redis), 200. Run with -cpu to vary parallelism:
//
//	go test -run '^$' -bench 'Webhook|Baseline' -benchtime 3s ./bot/
func BenchmarkWebhookUpdate(b *testing.B) {
	api := botapitest.NewServer(botapitest.Options{})
	defer api.Close()
	rdb, k := redistest.New(b)
	lim := testLimits()
	cfg := Config{Token: api.Token(), APIURL: api.URL(), WebhookURL: "https://x.org/hook", WebhookSecret: testSecret,
		BotUsername: "PutokazBot", Limits: lim}
	sender, err := NewSender(cfg, rdb, k, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(sender, Handlers{Conversation: &echoConv{}})
	if err != nil {
		b.Fatal(err)
	}
	benchPost(b, srv.Handler(), "/hook")
}

// BenchmarkBaselineBareLibrary is the comparison the load test uses: a bare
// go-telegram/bot handler doing one Redis GET, one SET and one sendMessage.
func BenchmarkBaselineBareLibrary(b *testing.B) {
	api := botapitest.NewServer(botapitest.Options{})
	defer api.Close()
	rdb, k := redistest.New(b)
	tb, err := tgbot.New(api.Token(), tgbot.WithServerURL(api.URL()), tgbot.WithSkipGetMe())
	if err != nil {
		b.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, err := decodeUpdate(mustRead(r))
		if err != nil || u.Message == nil {
			w.WriteHeader(400)
			return
		}
		ctx := r.Context()
		key := k.Session(userKey(u.Message.From.ID))
		_ = rdb.Get(ctx, key).Err()
		_ = rdb.Set(ctx, key, "x", 0).Err()
		_, _ = tb.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "echo"})
	})
	benchPost(b, h, "/hook")
}

func mustRead(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

func benchPost(b *testing.B, h http.Handler, path string) {
	srv := newBenchServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var id, chat atomic.Int64
	id.Store(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := 5000 + chat.Add(1) // one chat per goroutine, like one user tapping
		for pb.Next() {
			body := textUpdate(id.Add(1), c, "hello")
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+path, strings.NewReader(body))
			req.Header.Set(secretHeader, testSecret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Error(fmt.Sprint("status ", resp.StatusCode))
				return
			}
		}
	})
}

func newBenchServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
