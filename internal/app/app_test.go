package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"putokaz/internal/testkit/contenttest"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

func TestCheckGoodAndBrokenContent(t *testing.T) {
	dir := contenttest.Write(t, nil)
	if code, out, _ := run(t, "", "check", dir); code != 0 || !strings.Contains(out, "content OK") {
		t.Fatalf("good content: exit %d\n%s", code, out)
	}
	broken := contenttest.Write(t, map[string]string{
		"flows/sos.yaml": strings.Replace(contenttest.Files()["flows/sos.yaml"], "say: sos.numbers", "sya: sos.numbers", 1),
	})
	code, out, _ := run(t, "", "check", broken)
	if code != 1 {
		t.Fatalf("broken content: exit %d", code)
	}
	want := filepath.ToSlash(filepath.Join(broken, "flows/sos.yaml")) + ":7:5: step \"numbers\" has no field \"sya\" — did you mean \"say\"?"
	if !strings.Contains(out, want) {
		t.Fatalf("want %q in:\n%s", want, out)
	}
}

func TestChatPiped(t *testing.T) {
	dir := contenttest.Write(t, nil)
	code, out, errOut := run(t, "2\nAna\n/nonsense\n9\n@44.8,20.46\n", "chat", "--lang", "en", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"[1] Help", "What is your name?", "Hello, Ana.", "EN common.unknown_command", "(no button 9", "EN common.location.unexpected"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if code, _, errOut := run(t, "", "chat", "--lang", "xx", dir); code != 2 || !strings.Contains(errOut, "unknown language") {
		t.Errorf("unknown language: exit %d %s", code, errOut)
	}
}

func TestUnknownCommandAndConfig(t *testing.T) {
	if code, _, errOut := run(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, out, _ := run(t, "", "config")
	if code != 0 || !strings.Contains(out, "TELEGRAM_WEBHOOK_SECRET") || !strings.Contains(out, "redis.url") {
		t.Fatalf("config: %d\n%s", code, out)
	}
}

func TestTranslateCommands(t *testing.T) {
	fa := strings.Replace(contenttest.Files()["locales/active.fa.yaml"], "ask: بپرس, ", "", 1)
	dir := contenttest.Write(t, map[string]string{"locales/active.fa.yaml": fa})
	code, out, errOut := run(t, "", "translate", "--dir", dir)
	if code != 0 || !strings.Contains(out, "fa") || !strings.Contains(out, "1 missing") {
		t.Fatalf("status: %d %s %s", code, out, errOut)
	}
	t.Chdir(t.TempDir())
	if code, out, errOut := run(t, "", "translate", "--dir", dir, "export", "fa"); code != 0 || !strings.Contains(out, "1 texts") {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	data, err := os.ReadFile("translate.fa.yaml")
	if err != nil || !strings.Contains(string(data), "Ask me") {
		t.Fatalf("export file: %v\n%s", err, data)
	}
	if err := os.WriteFile("translate.fa.yaml", []byte(strings.Replace(string(data), "Ask me", "بپرس", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "", "translate", "--dir", dir, "import", "translate.fa.yaml"); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	if code, out, _ := run(t, "", "check", dir); code != 0 {
		t.Fatalf("after import: %s", out)
	}
}

func TestTranslateReviewStamp(t *testing.T) {
	dir := contenttest.Write(t, map[string]string{
		"locales/safety.yaml":    "- sos.numbers\n",
		"locales/review.fa.yaml": "# back-translations\nsos.numbers:\n  hash: \"\"\n  english: Police 192\n",
	})
	code, out, _ := run(t, "", "check", dir)
	if code != 0 || !strings.Contains(out, `warning: the back-translation of "sos.numbers" is not stamped`) {
		t.Fatalf("check before stamping: %d\n%s", code, out)
	}
	if code, out, errOut := run(t, "", "translate", "--dir", dir, "review"); code != 0 || !strings.Contains(out, "not stamped: sos.numbers") {
		t.Fatalf("review: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, "", "translate", "--dir", dir, "review", "--stamp", "fa"); code != 0 || !strings.Contains(out, "1 back-translations stamped") {
		t.Fatalf("stamp: %d %s %s", code, out, errOut)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "locales/review.fa.yaml"))
	if !strings.HasPrefix(string(data), "# back-translations\nsos.numbers:\n  hash: \"") || strings.Contains(string(data), `hash: ""`) {
		t.Fatalf("stamped file:\n%s", data)
	}
	code, out, _ = run(t, "", "check", dir)
	if code != 0 || strings.Contains(out, "back-translation") || !strings.Contains(out, "0 warnings") {
		t.Fatalf("check after stamping: %d\n%s", code, out)
	}
	if code, out, _ := run(t, "", "translate", "--dir", dir); code != 0 || !strings.Contains(out, "fa       1/1 current") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "", "translate", "--dir", dir, "review", "--stamp", "xx"); code != 2 || !strings.Contains(errOut, "unknown language") {
		t.Fatalf("unknown language: %d %s", code, errOut)
	}
}
