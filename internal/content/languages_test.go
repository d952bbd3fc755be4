package content

import (
	"strings"
	"testing"
	"testing/fstest"
)

// withLocal adds to the base content a flow for Serbian and English only,
// reached by a button from the menu, with texts in those languages only.
func withLocal() (fstest.MapFS, fstest.MapFS) {
	f, l := base()
	f["local.yaml"] = &fstest.MapFile{Data: []byte(`flow: local
title: local.title
keywords: local.keywords
languages: [sr-Cyrl, sr-Latn, en]
steps:
  info:
    say: local.info
    buttons:
      - { label: main.btn.sos, go: sos }
      - { label: main.btn.menu, action: menu }
`)}
	replace(f, "main.yaml", "      - { label: main.btn.site,", "      - { label: local.title, go: local }\n      - { label: main.btn.site,")
	replace(l, "active.en.yaml", "topic:\n", "local:\n  title: Work abroad\n  keywords: work abroad, abroad\n  info: Check the agency\ntopic:\n")
	replace(l, "active.sr-Cyrl.yaml", "topic:\n", "local:\n  title: Рад у иностранству\n  keywords: рад у иностранству, иностранство\n  info: Проверите агенцију\ntopic:\n")
	return f, l
}

func TestFlowForSomeLanguages(t *testing.T) {
	f, l := withLocal()
	c, diags := loadFS(t, f, l)
	if c == nil || len(diags) > 0 {
		t.Fatalf("a flow for some languages should load without texts in the others:\n%s", joinDiags(diags))
	}
	local := c.Flows["local"]
	if got := strings.Join(local.Languages, " "); got != "sr-Cyrl sr-Latn en" {
		t.Fatalf("languages = %q", got)
	}
	for _, tc := range []struct {
		lang string
		want bool
	}{{"en", true}, {"sr-Cyrl", true}, {"sr-Latn", true}, {"ar", false}, {"", false}} {
		if got := c.Serves("local", tc.lang); got != tc.want {
			t.Errorf("Serves(local, %q) = %v, want %v", tc.lang, got, tc.want)
		}
		// Its texts, and the menu button's label, are needed only where it is read.
		for _, id := range []string{"local.info", "local.title", "local.keywords"} {
			if tc.lang != "" && c.TextNeeded(tc.lang, id) != tc.want {
				t.Errorf("TextNeeded(%s, %s) = %v, want %v", tc.lang, id, !tc.want, tc.want)
			}
		}
	}
	if !c.Serves("main", "ar") || !c.TextNeeded("ar", "main.menu") || !c.TextNeeded("ar", "main.btn.sos") {
		t.Error("texts of flows for every language must be needed in every language")
	}
	if c.Serves("nosuch", "en") {
		t.Error("a flow that does not exist serves no one")
	}
	// Its keywords open it for its readers only; others' words still work.
	if k, ok := c.MatchKeywordFor(fold("I want to work abroad"), "en"); !ok || k.Flow != "local" {
		t.Errorf("en: %+v %v", k, ok)
	}
	if k, ok := c.MatchKeywordFor(fold("rad u inostranstvu"), "sr-Latn"); !ok || k.Flow != "local" {
		t.Errorf("sr-Latn: %+v %v", k, ok)
	}
	if k, ok := c.MatchKeywordFor(fold("work abroad"), "ar"); ok {
		t.Errorf("ar opened %q, a flow it does not serve", k.Flow)
	}
	if k, ok := c.MatchKeywordFor(fold("work abroad, which city"), "ar"); !ok || k.Flow != "topic" {
		t.Errorf("ar: a longer phrase of a flow for others hid %q: %+v %v", "city", k, ok)
	}
}

func TestFlowForSomeLanguagesProblems(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(f, l fstest.MapFS)
		where string
		says  string
	}{
		{"unknown language", func(f, l fstest.MapFS) {
			replace(f, "local.yaml", "[sr-Cyrl, sr-Latn, en]", "[sr-Cyrl, sr-Latn, en, sr-Ltn]")
		},
			"flows/local.yaml:4:12", `lists language "sr-Ltn", which is not in languages.yaml`},
		{"listed twice", func(f, l fstest.MapFS) { replace(f, "local.yaml", "[sr-Cyrl, sr-Latn, en]", "[sr-Cyrl, en, en]") },
			"flows/local.yaml:4:", `language "en" is listed twice`},
		{"empty list", func(f, l fstest.MapFS) { replace(f, "local.yaml", "[sr-Cyrl, sr-Latn, en]", "[]") },
			"flows/local.yaml:4:12", "should list language tags"},
		{"without English", func(f, l fstest.MapFS) {
			replace(f, "local.yaml", "[sr-Cyrl, sr-Latn, en]", "[sr-Cyrl, sr-Latn]")
		}, "flows/local.yaml:4:12", `must also serve en`},
		{"main menu", func(f, l fstest.MapFS) {
			replace(f, "main.yaml", "title: main.title\n", "title: main.title\nlanguages: [en]\n")
		},
			"flows/main.yaml:3:12", "must serve every language"},
		{"emergency flow", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "emergency: true\n", "emergency: true\nlanguages: [en]\n")
		},
			"flows/sos.yaml:5:12", "emergency flow must serve every language"},
		{"next from a flow for everyone", func(f, l fstest.MapFS) {
			replace(f, "topic.yaml", "    next: done", "    next: local")
		}, "flows/topic.yaml:9:11", `next: "local/info" leads to flow "local", which serves only sr-Cyrl, sr-Latn, en; readers of ar`},
		{"go from a flow for everyone", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "      - { label: main.btn.menu, action: menu }", "      - { label: main.btn.menu, go: away }\n  away:\n    go: local/info")
		}, "flows/sos.yaml:11:9", `go: "local/info" leads to flow "local"`},
		{"only buttons to it", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "      - { label: main.btn.menu, action: menu }", "      - { label: local.title, go: local }")
		}, "flows/sos.yaml:6:3", `step "numbers" shows no button in ar`},
		{"missing in one of its languages", func(f, l fstest.MapFS) {
			replace(l, "active.sr-Cyrl.yaml", "  info: Проверите агенцију\n", "")
		}, "locales/active.sr-Cyrl.yaml:1:1", `text "local.info" is missing in sr-Cyrl`},
		{"missing in all of its languages", func(f, l fstest.MapFS) {
			replace(f, "local.yaml", "say: local.info", "say: local.inf")
		}, "flows/local.yaml:7:10", `no text "local.inf" in any language; add it to the locales/active.*.yaml files of sr-Cyrl, en`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, l := withLocal()
			tc.edit(f, l)
			c, diags := loadFS(t, f, l)
			found := false
			for _, d := range diags {
				if strings.HasPrefix(d.String(), tc.where) && strings.Contains(d.Msg, tc.says) && d.Severity == Error {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %q at %s, got:\n%s", tc.says, tc.where, joinDiags(diags))
			}
			if c != nil {
				t.Fatal("content with an error was returned")
			}
		})
	}
}

// A flow for some languages may lead into a flow for everyone, and a flow
// for everyone may lead to it with a button, as long as another button stays.
func TestFlowForSomeLanguagesLinksThatAreFine(t *testing.T) {
	f, l := withLocal()
	replace(f, "local.yaml", "      - { label: main.btn.menu, action: menu }", "      - { label: main.btn.ask, go: topic/ask }")
	replace(f, "sos.yaml", "      - { label: main.btn.menu, action: menu }", "      - { label: local.title, go: local }\n      - { label: main.btn.menu, action: menu }")
	if c, diags := loadFS(t, f, l); c == nil || len(diags) > 0 {
		t.Fatalf("want no problems, got:\n%s", joinDiags(diags))
	}
}

// The default content's topics for Serbian citizens (issue 18) serve Serbian
// and English readers only, and need no Arabic or Farsi texts.
func TestDefaultTopicsForSerbianAndEnglishReaders(t *testing.T) {
	c, diags := Load(Embedded())
	if c == nil {
		t.Fatalf("default content: %v", diags)
	}
	for _, name := range []string{"work_abroad", "readmission"} {
		f := c.Flows[name]
		if f == nil {
			t.Fatalf("no flow %q", name)
		}
		for _, lang := range []string{"sr-Cyrl", "sr-Latn", "en"} {
			if !f.Serves(lang) || !c.TextNeeded(lang, f.Title) {
				t.Errorf("%s must serve %s", name, lang)
			}
		}
		for _, lang := range []string{"ar", "fa"} {
			if f.Serves(lang) || c.TextNeeded(lang, f.Title) {
				t.Errorf("%s must not serve %s", name, lang)
			}
		}
	}
	if !c.Flows["trafficking"].Serves("ar") {
		t.Error("the trafficking topic, linked from work_abroad, serves everyone")
	}
}
