package announce

import (
	"os"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/textnorm"
)

var checkNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

const goodFile = `id: shelter-closed-2026-12
topics: [shelter]
expires: 2026-12-09T18:00:00+01:00
text:
  en: "The centre in Obrenovac is closed until 15 December. Call <b>+381 11 123 4567</b> or see https://example.org/centres"
  sr-Cyrl: "Центар у Обреновцу је затворен до 15. децембра. Позовите <b>+381 11 123 4567</b> или погледајте https://example.org/centres"
  ar: "المركز في أوبرينوفاتس مغلق حتى 15 ديسمبر. اتصل بالرقم <b>⁦+381 11 123 4567⁩</b> أو انظر https://example.org/centres"
  fa: "مرکز اوبرنواتس تا 15 دسامبر بسته است. به <b>⁦+381 11 123 4567⁩</b> زنگ بزنید یا https://example.org/centres را ببینید"
`

func checkFile(t *testing.T, c *content.Content, src string) content.Diags {
	t.Helper()
	u, diags := Parse("flows/updates/x.yaml", []byte(src))
	if u == nil {
		return diags
	}
	return append(diags, Check(u, c, checkNow)...)
}

func TestCheckGoodFile(t *testing.T) {
	c := loadContent(t)
	u, diags := Parse("x.yaml", []byte(goodFile))
	diags = append(diags, Check(u, c, checkNow)...)
	if len(diags) > 0 {
		t.Fatalf("a good file has problems:\n%v", diags)
	}
	// sr-Latn is made from sr-Cyrl; every message has the header and footer.
	if got := u.TextIn(c, "sr-Latn"); got != textnorm.CyrToLat(u.Text["sr-Cyrl"]) || !strings.HasPrefix(got, "Centar u Obrenovcu") {
		t.Fatalf("sr-Latn text %q", got)
	}
	for _, l := range c.Languages {
		msg := u.Render(c, l.Tag)
		if !strings.Contains(msg, "/unsubscribe") || !strings.Contains(msg, "+381 11 123 4567") || strings.Count(msg, "\n\n") != 2 {
			t.Fatalf("message in %s:\n%s", l.Tag, msg)
		}
	}
	en := u.Render(c, "en")
	title, _ := c.Texts.Render("en", c.Flows["shelter"].Title, nil, nil)
	if !strings.HasPrefix(en, "🔔 <b>Update: "+title+"</b>\n\n") {
		t.Fatalf("English message starts %q", en[:60])
	}
}

func TestCheckProblems(t *testing.T) {
	c := loadContent(t)
	long := strings.Repeat("a", 4000)
	cases := []struct {
		name, file string
		want       []string // each a part of one problem
	}{
		{"not yaml", "id: [", []string{"x.yaml:1:1: the file is not valid YAML"}},
		{"unknown field", goodFile + "send_at: now\n", []string{"an update has only id, topics, expires and text"}},
		{"bad id", strings.Replace(goodFile, "shelter-closed-2026-12", "Shelter Closed", 1), []string{"x.yaml:1:1: id \"Shelter Closed\" may have only"}},
		{"unknown topic", strings.Replace(goodFile, "[shelter]", "[shelter, housing]", 1), []string{"x.yaml:2:19: there is no flow \"housing\""}},
		{"no topics", strings.Replace(goodFile, "[shelter]", "[]", 1), []string{"the update has no topics"}},
		{"bad date", strings.Replace(goodFile, "2026-12-09T18:00:00+01:00", "9.12.2026", 1), []string{"x.yaml:3:1: expires \"9.12.2026\" is not a date"}},
		{"far", strings.Replace(goodFile, "2026-12-09", "2027-02-09", 1), []string{"more than 30 days away"}},
		{"missing language", strings.Replace(goodFile, "  fa:", "  xx:", 1), []string{"the text in fa (", "there is no language \"xx\""}},
		{"other phone", strings.Replace(goodFile, "<b>⁦+381 11 123 4567⁩</b> أو", "<b>⁦+381 11 123 4568⁩</b> أو", 1),
			[]string{"x.yaml:7:7: the text in ar does not match English: it lacks the phone number +381111234567; it has the phone number +381111234568"}},
		{"other date", strings.Replace(goodFile, "до 15. децембра", "до 16. децембра", 1), []string{"the text in sr-Cyrl does not match English: it lacks the number 15"}},
		{"lost link", strings.Replace(goodFile, "https://example.org/centres را", "را", 1), []string{"the text in fa does not match English: it lacks the link"}},
		{"lost tag", strings.Replace(goodFile, "<b>+381 11 123 4567</b> или", "+381 11 123 4567 или", 1), []string{"sr-Cyrl does not match English: it has <b>…</b> nowhere"}},
		{"bad html", strings.Replace(goodFile, "<b>+381 11 123 4567</b> or", "<h1>+381 11 123 4567</h1> or", 1), []string{"the text in en has the tag <h1>"}},
		{"unclosed", strings.Replace(goodFile, "<b>+381 11 123 4567</b> or", "<b>+381 11 123 4567 or", 1), []string{"the text in en does not close <b>"}},
		{"ampersand", strings.Replace(goodFile, "Obrenovac is", "Obrenovac & Krnjača are", 1), []string{`the text in en has an "&"`}},
		{"template", strings.Replace(goodFile, "Obrenovac", "{{.org}}", 1), []string{"nothing is filled in"}},
		{"rtl", strings.Replace(goodFile, `ar: "المركز`, `ar: "Obrenovac: المركز`, 1), []string{"the text in ar must start with an Arabic-script letter"}},
		{"too long", strings.Replace(goodFile, "The centre", long, 1), []string{"the message in en, with its first and last line, is"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diags := checkFile(t, c, strings.ReplaceAll(tc.file, "flows/updates/x.yaml", "x.yaml"))
			all := diags.Errors()
			text := ""
			for _, d := range all {
				text += d.String() + "\n"
			}
			text = strings.ReplaceAll(text, "flows/updates/", "")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems lack %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestCheckExpiredIsAWarning(t *testing.T) {
	c := loadContent(t)
	u, _ := Parse("x.yaml", []byte(goodFile))
	diags := Check(u, c, time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC))
	if diags.HasErrors() || len(diags) != 1 || !strings.Contains(diags[0].Msg, "expired") {
		t.Fatalf("diags %v; want one warning", diags)
	}
}

// TestReadmeExample keeps the example in flows/updates/README.md valid.
func TestReadmeExample(t *testing.T) {
	data, err := os.ReadFile("../../flows/updates/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(data), "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml example in flows/updates/README.md")
	}
	u, diags := Parse("README.md", []byte(block))
	if u != nil {
		diags = append(diags, Check(u, loadContent(t), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))...)
	}
	if len(diags) > 0 {
		t.Fatalf("the README example has problems:\n%v", diags)
	}
}
