package content

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestSafetyCriticalGlobs(t *testing.T) {
	c := &Content{Safety: []string{"services.*.consent", "emergency.numbers", "common.delete.*"}}
	for id, want := range map[string]bool{
		"services.avr.consent": true, "services.avr.declined": false, "emergency.numbers": true,
		"emergency.numbers2": false, "common.delete.yes": true, "common.delete": false, "about.data": false,
		"services.a.b.consent": false, "services.consent": false,
	} {
		if got := c.IsSafetyCritical(id); got != want {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
}

func TestReviewHashFollowsEveryForm(t *testing.T) {
	f, l := base()
	c, _ := loadFS(t, f, l)
	h := c.Texts.ReviewHash("ar", "topic.done")
	if len(h) != 12 || "ar:"+h != c.Texts.Version("ar", "topic.done") {
		t.Fatalf("hash %q, version %q", h, c.Texts.Version("ar", "topic.done"))
	}
	replace(l, "active.ar.yaml", "two: \"مدينة {{.town}} ٢\"", "two: \"مدينتان {{.town}} ٢\"")
	c, _ = loadFS(t, f, l)
	if c.Texts.ReviewHash("ar", "topic.done") == h {
		t.Fatal("changing one plural form kept the hash")
	}
	if c.Texts.ReviewHash("ar", "no.such") != "" {
		t.Fatal("a missing text has a hash")
	}
}

// reviewDiags are the back-translation warnings, as "file:line:col: msg".
func reviewDiags(t *testing.T, diags Diags) []string {
	t.Helper()
	var out []string
	for _, d := range diags {
		if strings.Contains(d.Msg, "back-translat") || strings.Contains(d.Msg, "review") || strings.Contains(d.Pos.File, "review.") {
			if d.Severity != Warning {
				t.Errorf("not a warning: %s", d)
			}
			out = append(out, d.String())
		}
	}
	return out
}

func TestBackTranslations(t *testing.T) {
	f, l := richBase()
	c, _ := loadFS(t, f, l)
	current := c.Texts.ReviewHash("ar", "common.delete.yes")
	l["review.ar.yaml"] = &fstest.MapFile{Data: []byte(`# English back-translations of ar texts.
sos.numbers:
  hash: ""
  english: Police 192 ...
common.delete.yes:
  hash: "` + current + `"
  english: Yes, erase
common.delete.no: {hash: 0123456789ab, english: "No, keep"}
common.delete.kept:
  hash: ""
  english: ""
sos.nmbers:
  hash: ""
  english: typo
`)}
	c, diags := loadFS(t, f, l)
	if c == nil {
		t.Fatalf("back-translations stopped the content:\n%s", joinDiags(diags))
	}
	got := strings.Join(reviewDiags(t, diags), "\n")
	for _, want := range []string{
		`locales/review.ar.yaml:3:9: warning: the back-translation of "sos.numbers" is not stamped: once it has been checked against the ar text, run putokaz translate review --stamp ar`,
		`locales/review.ar.yaml:8:26: warning: the ar text "common.delete.no" changed after this back-translation was made`,
		`locales/review.ar.yaml:12:1: warning: there is no text "sos.nmbers" in ar to back-translate — did you mean "sos.numbers"?`,
		`safety-critical text "common.delete.kept" in ar has no English back-translation in locales/review.ar.yaml`,
		`safety-critical text "common.delete.confirm" in ar has no English back-translation`,
		`locales/active.sr-Cyrl.yaml:1:1: warning: 6 safety-critical texts in sr-Cyrl have no English back-translation: write locales/review.sr-Cyrl.yaml`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "common.delete.yes") {
		t.Errorf("a current back-translation is reported:\n%s", got)
	}
	var ar ReviewState
	for _, st := range c.ReviewStatus() {
		if st.Lang == "ar" {
			ar = st
		}
		if st.Lang == "sr-Latn" || st.Lang == "en" {
			t.Errorf("%s writes no safety-critical text of its own: %+v", st.Lang, st)
		}
	}
	if len(ar.Needed) != 6 || strings.Join(ar.Unstamped, ",") != "sos.numbers" || strings.Join(ar.Outdated, ",") != "common.delete.no" ||
		strings.Join(ar.Missing, ",") != "common.delete.confirm,common.delete.done,common.delete.kept" {
		t.Fatalf("status: %+v", ar)
	}
}

func TestBrokenReviewFileIsOnlyAWarning(t *testing.T) {
	for name, data := range map[string]string{
		"yaml":          "sos.numbers: [\n",
		"unknown field": "sos.numbers:\n  hash: \"\"\n  englsh: Police\n",
		"not a mapping": "- sos.numbers\n",
		"stray file":    "",
	} {
		t.Run(name, func(t *testing.T) {
			f, l := richBase()
			file := "review.ar.yaml"
			if name == "stray file" {
				file = "review.xx.yaml"
			}
			l[file] = &fstest.MapFile{Data: []byte(data)}
			c, diags := loadFS(t, f, l)
			if c == nil {
				t.Fatalf("content stopped:\n%s", joinDiags(diags))
			}
			found := false
			for _, d := range reviewDiags(t, diags) {
				found = found || strings.HasPrefix(d, "locales/"+file+":")
			}
			if !found {
				t.Fatalf("no warning about %s:\n%s", file, joinDiags(diags))
			}
		})
	}
}

func TestSafetyFile(t *testing.T) {
	f, l := richBase()
	l[SafetyFile] = &fstest.MapFile{Data: []byte("- sos.numbers\n- sos.nmbers\n- \"[\"\n")}
	_, diags := loadFS(t, f, l)
	got := joinDiags(diags)
	for _, want := range []string{
		`locales/safety.yaml:2:3: warning: "sos.nmbers" in safety.yaml names no English text`,
		`locales/safety.yaml:3:3: "[" is not a text name or pattern`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	l[SafetyFile] = &fstest.MapFile{Data: []byte("sos: numbers\n")}
	if c, diags := loadFS(t, f, l); c != nil || !strings.Contains(joinDiags(diags), "should be a list of text names") {
		t.Fatalf("a safety file that is not a list: %v", diags)
	}
}
