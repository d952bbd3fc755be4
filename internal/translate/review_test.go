package translate_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/translate"
)

const review = `# English back-translations of safety-critical texts in active.fa.yaml.
sos.numbers:
  hash: ""          # filled in by --stamp
  english: Police 192
svc.consent: {hash: '', english: "May we send your town?"}
svc.declined:
  hash:
  english: Call them yourself.
main.menu:
  hash: "0123456789ab"
  english: Choose a topic.
no.such:
  hash: ""
  english: stays as it is
`

func reviewTree(t *testing.T) string {
	t.Helper()
	return contenttest.Write(t, map[string]string{
		"locales/safety.yaml":    "- sos.numbers\n- svc.consent\n- svc.declined\n- main.menu\n",
		"locales/review.fa.yaml": review,
	})
}

func TestStampFillsOnlyEmptyHashes(t *testing.T) {
	dir := reviewTree(t)
	c, diags := content.Load(content.Dir(dir))
	if c == nil {
		t.Fatalf("load: %v", diags)
	}
	out, n, err := translate.Stamp(c, "fa", []byte(review))
	if err != nil || n != 3 {
		t.Fatalf("stamp: n=%d err=%v\n%s", n, err, out)
	}
	want := strings.NewReplacer(
		`  hash: ""          # filled`, `  hash: "`+c.Texts.ReviewHash("fa", "sos.numbers")+`"          # filled`,
		`{hash: '', english`, `{hash: "`+c.Texts.ReviewHash("fa", "svc.consent")+`", english`,
		"  hash:\n  english: Call", `  hash: "`+c.Texts.ReviewHash("fa", "svc.declined")+"\"\n  english: Call",
	).Replace(review)
	if string(out) != want {
		t.Fatalf("stamped file:\n%s\nwant:\n%s", out, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "locales/review.fa.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ = content.Load(content.Dir(dir))
	st := translate.Reviews(c)
	if len(st) != 1 || st[0].Lang != "fa" || len(st[0].Unstamped) != 0 || len(st[0].Missing) != 0 || strings.Join(st[0].Outdated, ",") != "main.menu" {
		t.Fatalf("after stamping: %+v", st)
	}
	// Stamping again changes nothing.
	if again, n, err := translate.Stamp(c, "fa", out); err != nil || n != 0 || !bytes.Equal(again, out) {
		t.Fatalf("second stamp: n=%d err=%v", n, err)
	}
}

func TestStampRejects(t *testing.T) {
	c, _ := content.Load(content.Dir(reviewTree(t)))
	if _, _, err := translate.Stamp(c, "xx", []byte(review)); err == nil {
		t.Error("unknown language stamped")
	}
	if _, _, err := translate.Stamp(c, "fa", []byte("a: [\n")); err == nil {
		t.Error("broken YAML stamped")
	}
	if out, n, err := translate.Stamp(c, "fa", []byte("# nothing yet\n")); err != nil || n != 0 || string(out) != "# nothing yet\n" {
		t.Errorf("empty file: %q %d %v", out, n, err)
	}
}

func TestWriteReviews(t *testing.T) {
	c, _ := content.Load(content.Dir(reviewTree(t)))
	var b bytes.Buffer
	translate.WriteReviews(c, &b)
	for _, want := range []string{"fa       0/4 current, 1 outdated, 3 not stamped", "outdated: main.menu", "not stamped: sos.numbers, svc.consent, svc.declined"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("want %q in:\n%s", want, b.String())
		}
	}
}
