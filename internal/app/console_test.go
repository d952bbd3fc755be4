package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"putokaz/internal/console"
	"putokaz/internal/testkit/botapitest"
)

// TestServeConsole: `putokaz serve` with the console enabled serves it on its
// own address; a stranger is refused, a member of the queue's staff group
// (getChatMember) sees the waiting referral and claims it, and the claim
// reaches the Telegram card and the person's /status.
func TestServeConsole(t *testing.T) {
	const group = -1009002
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	b := serveForTest(t, map[string]string{"REFERRAL_QUEUES": fmt.Sprintf(`{svc: {group: %d}}`, group),
		"CONSOLE_ENABLED": "true", "CONSOLE_LISTEN_ADDR": addr, "CONSOLE_PUBLIC_URL": base,
		"CONSOLE_INSECURE_COOKIE": "true"})
	b.api.SetMemberStatus(group, 99, "left")
	b.text("/start")
	b.tap("English")
	b.tap("Refer me")
	b.tap("common.referral.yes")
	b.text("Novi Sad")
	b.text("+381 60 1234567")
	var code string
	for _, c := range b.api.ByChat(servedChat) {
		if s := c.Str("text"); strings.Contains(s, "common.referral.sent") {
			code = strings.Fields(s)[2]
		}
	}
	if !strings.HasPrefix(code, "PK-") {
		t.Fatalf("no code told; stderr:\n%s", b.errOut.String())
	}
	if _, err := b.api.WaitUntil(func(cs []botapitest.Call) bool {
		for _, c := range cs {
			if c.Method == "sendMessage" && c.ChatID == group && strings.Contains(c.Str("text"), code) {
				return true
			}
		}
		return false
	}, 10*time.Second); err != nil {
		t.Fatalf("no card: %v", err)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, ck *http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if ck != nil {
			req.AddCookie(ck)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b.errOut.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	login := func(user int64) url.Values {
		return console.SignLogin(url.Values{"id": {strconv.FormatInt(user, 10)}, "first_name": {"S"},
			"auth_date": {strconv.FormatInt(time.Now().Unix(), 10)}}, b.api.Token())
	}
	if resp, body := get("/login", nil); resp.StatusCode != 200 || !strings.Contains(body, `data-telegram-login="`+b.api.BotUsername()+`"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := get("/auth?"+login(99).Encode(), nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a stranger: %d", resp.StatusCode)
	}
	resp, _ := get("/auth?"+login(77).Encode(), nil)
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
		t.Fatalf("a member: %d\n%s", resp.StatusCode, b.errOut.String())
	}
	ck := resp.Cookies()[0]
	_, page := get("/", ck)
	if !strings.Contains(page, `data-code="`+code+`"`) {
		t.Fatalf("the waiting list lacks %s:\n%s", code, page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	req, _ := http.NewRequest("POST", base+"/case/"+code+"/claim", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	resp, err = client.Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=claimed") {
		t.Fatalf("claim: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := b.api.WaitUntil(func(cs []botapitest.Call) bool {
		for _, c := range cs {
			if c.Method == "editMessageText" && c.ChatID == group && strings.Contains(c.Str("text"), "S,") {
				return true
			}
		}
		return false
	}, 10*time.Second); err != nil {
		t.Fatalf("the card does not show the claim: %v", err)
	}
	if _, page := get("/cases", ck); !strings.Contains(page, `data-code="`+code+`"`) || strings.Contains(page, "notshown") {
		t.Errorf("the case is missing, or marked as not in Telegram though its card is:\n%s", page)
	}
	b.text("/status " + code)
	if !b.said("common.status.claimed") {
		t.Errorf("/status does not show the claim; stderr:\n%s", b.errOut.String())
	}
	if strings.Contains(b.errOut.String(), "Novi Sad") || strings.Contains(b.errOut.String(), csrf) {
		t.Error("logs contain an answer or a token")
	}
}
