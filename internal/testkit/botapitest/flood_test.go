package botapitest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"putokaz/internal/testkit/botapitest"
)

func post(t *testing.T, s *botapitest.Server, method string, chat int64) (int, string) {
	t.Helper()
	resp, err := http.Post(s.URL()+"/bot"+s.Token()+"/"+method, "application/json",
		strings.NewReader(fmt.Sprintf(`{"chat_id":%d,"text":"x"}`, chat)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

// Messages beyond the flood limits get 429 with retry_after; other methods
// and refused messages use no budget.
func TestFlood(t *testing.T) {
	s := botapitest.NewServer(botapitest.Options{Flood: &botapitest.Flood{PerSecond: 0.001, Burst: 3, RetryAfter: 2}})
	defer s.Close()
	for i := range 3 {
		if st, _ := post(t, s, "sendMessage", int64(10+i)); st != 200 {
			t.Fatalf("message %d within the burst: %d", i, st)
		}
	}
	st, body := post(t, s, "sendMessage", 20)
	if st != 429 || !strings.Contains(body, `"retry_after":2`) {
		t.Errorf("beyond the limit: %d %s", st, body)
	}
	if st, _ := post(t, s, "getMe", 0); st != 200 {
		t.Errorf("getMe is no message: %d", st)
	}
	if st, _ := post(t, s, "editMessageText", 10); st != 429 {
		t.Errorf("an edit counts as a message: %d", st)
	}

	chat := botapitest.NewServer(botapitest.Options{Flood: &botapitest.Flood{PerChatPerSecond: 0.001, PerChatBurst: 1}})
	defer chat.Close()
	if st, _ := post(t, chat, "sendMessage", 1); st != 200 {
		t.Fatalf("first message to a chat: %d", st)
	}
	if st, _ := post(t, chat, "sendMessage", 1); st != 429 {
		t.Errorf("second message to the chat: %d", st)
	}
	if st, _ := post(t, chat, "sendMessage", 2); st != 200 {
		t.Errorf("another chat: %d", st)
	}
	var n int
	for _, c := range chat.Calls() {
		if c.Status == 429 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d 429s recorded", n)
	}
}
