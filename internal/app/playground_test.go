package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

var urlRe = regexp.MustCompile(`Putokaz playground: (http://\S+/)`)

// startPlayground runs `putokaz serve` without a token and returns the
// page's URL, the logs, and a stop function that returns the exit code.
func startPlayground(t *testing.T, vars map[string]string) (string, *testlog.Buffer, func() int) {
	t.Helper()
	vars["LISTEN_ADDR"] = "127.0.0.1:0"
	out, errOut := &testlog.Buffer{}, &testlog.Buffer{}
	env := Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: errOut,
		Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- Main(ctx, []string{"serve"}, env) }()
	stop := func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("the playground did not stop within 10s")
			return -1
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			return m[1], errOut, stop
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited with %d:\n%s\n%s", c, out, errOut)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("no URL printed:\n%s\n%s", out, errOut)
	return "", nil, nil
}

func status(t *testing.T, url string) map[string]any {
	t.Helper()
	res, err := http.Get(url + "api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func input(t *testing.T, url, body string) map[string]any {
	t.Helper()
	res, err := http.Post(url+"api/input", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("input: %d %v %v", res.StatusCode, out, err)
	}
	return out
}

// Without a token, serve is the playground; with content from a folder, an
// edit reloads it and the status says so.
func TestServePlaygroundHotReload(t *testing.T) {
	// Not a checkout: the same must hold for the built-in content.
	t.Chdir(t.TempDir())
	dir := contenttest.Write(t, nil)
	url, logs, stop := startPlayground(t, map[string]string{"CONTENT_DIR": dir})
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("URL %q", url)
	}
	if !strings.Contains(logs.String(), "IN-MEMORY STORE") {
		t.Errorf("no in-memory warning in the log:\n%s", logs)
	}
	page, err := http.Get(url)
	if err != nil || page.StatusCode != 200 {
		t.Fatalf("page: %v %v", page, err)
	}
	page.Body.Close()
	st := status(t, url)
	if st["ok"] != true || st["reload"] != true {
		t.Fatalf("status: %v", st)
	}
	before := st["version"]
	out := input(t, url, `{"user":"web:00112233aabbccdd","kind":"button","data":"L:en"}`)
	if out["at"] != "main/menu" {
		t.Fatalf("input: %v", out)
	}

	// A broken edit: rejected, reported, the old content keeps serving.
	sos := filepath.Join(dir, "flows/sos.yaml")
	good, _ := os.ReadFile(sos)
	if err := os.WriteFile(sos, bytes.Replace(good, []byte("say: sos.numbers"), []byte("sya: sos.numbers"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, url, func(st map[string]any) bool { return st["ok"] == false })
	if st := status(t, url); st["version"] != before || !strings.Contains(fmt.Sprint(st["problems"]), "flows/sos.yaml:7:5") {
		t.Errorf("after a broken edit: %v", st)
	}
	if !strings.Contains(logs.String(), "flows/sos.yaml:7:5") {
		t.Errorf("the problem is not in the log:\n%s", logs)
	}
	// Fixed, with a text changed too: a new version serves.
	en := filepath.Join(dir, "locales/active.en.yaml")
	text, _ := os.ReadFile(en)
	if err := os.WriteFile(en, bytes.Replace(text, []byte("numbers: Police 192"), []byte("numbers: Police, 192"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sos, good, 0o644); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, url, func(st map[string]any) bool { return st["ok"] == true && st["version"] != before })

	if code := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
}

func waitStatus(t *testing.T, url string, ok func(map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok(status(t, url)) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("status never changed: %v", status(t, url))
}

func TestServePlaygroundRedis(t *testing.T) {
	rdb, k := redistest.New(t)
	url, logs, stop := startPlayground(t, map[string]string{
		"CONTENT_DIR":      contenttest.Write(t, nil),
		"REDIS_URL":        firstNonEmpty(os.Getenv("REDIS_URL"), redistest.DefaultURL),
		"REDIS_KEY_PREFIX": k.Prefix(),
	})
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("exit %d:\n%s", code, logs)
		}
	}()
	if strings.Contains(logs.String(), "IN-MEMORY") {
		t.Errorf("memory warning with Redis:\n%s", logs)
	}
	const user = "web:00112233aabbccdd"
	input(t, url, `{"user":"`+user+`","kind":"command","text":"/start"}`)
	n, err := rdb.Exists(context.Background(), k.Session(user)).Result()
	if err != nil || n != 1 {
		t.Fatalf("no session in Redis under %s: %d %v", k.Session(user), n, err)
	}
}

// The playground reloads exactly the folder contentSource reads; the
// built-in content never reloads.
func TestPlaygroundFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	if got := contentFolder(""); got != "" {
		t.Errorf("no flows/ here: %q, want the built-in content", got)
	}
	if got := contentFolder("/srv/content"); got != "/srv/content" {
		t.Errorf("CONTENT_DIR: %q", got)
	}
	for _, d := range []string{"flows", "locales"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := contentFolder(""); got != "" {
		t.Errorf("empty flows/: %q", got)
	}
	if err := os.WriteFile("flows/main.yaml", []byte("flow: main"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := contentFolder(""); got != "." {
		t.Errorf("a checkout: %q, want .", got)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func TestServePlaygroundBrokenContent(t *testing.T) {
	dir := contenttest.Write(t, map[string]string{"flows/sos.yaml": "flow: [broken"})
	var out, errOut bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return map[string]string{"CONTENT_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0"}[k] }}
	if code := Main(context.Background(), []string{"serve"}, env); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut.String(), "sos.yaml") || out.Len() != 0 {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestPlaygroundURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080/",
		"0.0.0.0:8080":   "http://localhost:8080/",
		"[::]:8080":      "http://localhost:8080/",
		"127.0.0.1:9000": "http://127.0.0.1:9000/",
		"[::1]:9000":     "http://[::1]:9000/",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := playgroundURL(tcp); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

// The served playground handles referrals with its staff pane: a referral
// from the person's side is a case card; a staff reply reaches their inbox.
func TestServePlaygroundReferrals(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := contenttest.Write(t, nil)
	url, _, stop := startPlayground(t, map[string]string{"CONTENT_DIR": dir})
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("exit code %d", code)
		}
	}()
	const user = "web:00112233aabbccdd"
	press := func(out map[string]any, label string) map[string]any {
		t.Helper()
		for _, m := range out["messages"].([]any) {
			for _, b := range m.(map[string]any)["buttons"].([]any) {
				if b := b.(map[string]any); b["label"] == label {
					return input(t, url, `{"user":"`+user+`","kind":"button","data":"`+b["data"].(string)+`"}`)
				}
			}
		}
		t.Fatalf("no button %q in %v", label, out)
		return nil
	}
	out := input(t, url, `{"user":"`+user+`","kind":"button","data":"L:en"}`)
	out = press(out, "Talk")
	if !strings.Contains(fmt.Sprint(out["messages"]), "Connecting you to staff") {
		t.Fatalf("handoff: %v", out)
	}
	var code string
	deadline := time.Now().Add(5 * time.Second)
	for code == "" && time.Now().Before(deadline) {
		res, err := http.Get(url + "api/staff")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Cases []struct{ Code, Kind, Service string }
		}
		err = json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /api/staff: %d %v", res.StatusCode, err)
		}
		if len(v.Cases) == 1 && v.Cases[0].Kind == "handoff" && v.Cases[0].Service == "svc" {
			code = v.Cases[0].Code
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code == "" {
		t.Fatal("no case card in the staff pane")
	}
	res, err := http.Post(url+"api/staff", "application/json", strings.NewReader(`{"code":"`+code+`","action":"reply","text":"hi from staff"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("reply: %v %v", res, err)
	}
	res.Body.Close()
	res, err = http.Get(url + "api/inbox?user=" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var in struct{ Messages []struct{ Text string } }
	if err := json.NewDecoder(res.Body).Decode(&in); err != nil || len(in.Messages) != 1 || in.Messages[0].Text != "hi from staff" {
		t.Errorf("inbox: %+v %v", in, err)
	}
}
