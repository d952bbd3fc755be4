package translate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/translate"
)

// writeTree writes the test content with Farsi missing one text and one
// translated from an older English text.
func writeTree(t *testing.T) string {
	t.Helper()
	fa := contenttest.Files()["locales/active.fa.yaml"]
	fa = strings.Replace(fa, "ask: بپرس, ", "", 1)
	fa = strings.Replace(fa, "  menu: یک موضوع انتخاب کنید.", "  menu: {hash: sha1-0000000000000000000000000000000000000000, other: یک موضوع انتخاب کنید.}", 1)
	return contenttest.Write(t, map[string]string{"locales/active.fa.yaml": fa})
}

func TestExportImportRoundTrip(t *testing.T) {
	dir := writeTree(t)
	c, _ := content.LoadLenient(content.Dir(dir))
	if c == nil {
		t.Fatal("lenient load failed")
	}
	var fa translate.Coverage
	for _, cv := range translate.Status(c) {
		if cv.Lang == "fa" {
			fa = cv
		}
	}
	if strings.Join(fa.Missing, ",") != "main.btn.ask" || strings.Join(fa.Outdated, ",") != "main.menu" {
		t.Fatalf("coverage: missing %v outdated %v", fa.Missing, fa.Outdated)
	}
	out, n, err := translate.Export(c, "fa")
	if err != nil || n != 2 {
		t.Fatalf("export: n=%d err=%v", n, err)
	}
	exported := string(out)
	for _, want := range []string{"hash: " + c.Texts.SourceHash("main.menu"), "Ask me", "other:", "Choose a topic."} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}
	// A translator replaces the English texts and leaves the hashes.
	translated := strings.NewReplacer("Choose a topic.", "یک موضوع را انتخاب کنید.", "Ask me", "بپرس 📨").Replace(exported)
	active, _ := os.ReadFile(filepath.Join(dir, "locales/active.fa.yaml"))
	merged, n, err := translate.Import(active, []byte(translated))
	if err != nil || n != 2 {
		t.Fatalf("import: n=%d err=%v", n, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "locales/active.fa.yaml"), merged, 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags := content.Load(content.Dir(dir))
	if c == nil {
		t.Fatalf("merged content does not load:\n%v\n%s", diags, merged)
	}
	for _, cv := range translate.Status(c) {
		if cv.Percent() != 100 {
			t.Errorf("%s: %d%% after import (missing %v, outdated %v)", cv.Lang, cv.Percent(), cv.Missing, cv.Outdated)
		}
	}
	for _, d := range diags {
		if strings.Contains(d.Msg, "older English") {
			t.Errorf("still outdated: %s", d)
		}
	}
	if got, _ := c.Texts.Render("fa", "main.btn.ask", nil, nil); got != "بپرس 📨" {
		t.Errorf("fa main.btn.ask = %q", got)
	}
	if strings.Contains(string(merged), `\U0001`) {
		t.Errorf("emoji escaped in the active file:\n%s", merged)
	}
}

func TestOutdatedIsAWarningInCheck(t *testing.T) {
	fa := strings.Replace(contenttest.Files()["locales/active.fa.yaml"], "  menu: یک موضوع انتخاب کنید.",
		"  menu: {hash: sha1-0000000000000000000000000000000000000000, other: یک موضوع انتخاب کنید.}", 1)
	c, diags := content.Load(content.Dir(contenttest.Write(t, map[string]string{"locales/active.fa.yaml": fa})))
	if c == nil {
		t.Fatalf("load: %v", diags)
	}
	found := false
	for _, d := range diags {
		found = found || (d.Severity == content.Warning && strings.Contains(d.Msg, `"main.menu" in fa was translated from an older English text`))
	}
	if !found {
		t.Fatalf("no outdated warning: %v", diags)
	}
}
