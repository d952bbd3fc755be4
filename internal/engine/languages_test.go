package engine_test

import (
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/testkit/contenttest"
)

// localContent is the test content plus a flow for English readers only,
// with a menu button and keywords, and no Farsi texts at all.
func localContent(t *testing.T) *content.Content {
	t.Helper()
	files := contenttest.Files()
	main := strings.Replace(files["flows/main.yaml"], "      - { label: main.btn.site,",
		"      - { label: abroad.title, go: abroad }\n      - { label: main.btn.site,", 1)
	dir := contenttest.Write(t, map[string]string{
		"flows/main.yaml": main,
		"flows/abroad.yaml": `flow: abroad
title: abroad.title
keywords: abroad.keywords
languages: [en]
steps:
  intro:
    say: abroad.intro
    buttons:
      - { label: abroad.btn.more, go: more }
      - { label: common.btn.menu, action: menu }
  more:
    say: abroad.more
    buttons:
      - { label: main.btn.sos, go: sos }
      - { label: common.btn.back, go: intro }
`,
		"locales/active.en.yaml": files["locales/active.en.yaml"] + `abroad:
  title: Work abroad
  keywords: work abroad, job abroad
  intro: Check the agency first.
  more: Keep your passport.
  btn: {more: More}
`,
	})
	c, diags := engine.Load(content.Dir(dir))
	if c == nil || len(diags) > 0 {
		t.Fatalf("content with a flow for English only:\n%v", diags)
	}
	return c
}

func localPerson(t *testing.T, lang string) *person {
	p := &person{t: t, e: newEngine(), c: localContent(t)}
	p.send(engine.Input{Kind: engine.InButton, Data: "L:" + lang})
	return p
}

func hasButton(p *person, label string) bool {
	for _, b := range p.buttons() {
		if strings.Contains(b.Label, label) {
			return true
		}
	}
	return false
}

func TestFlowForSomeLanguagesInMenu(t *testing.T) {
	en := localPerson(t, "en")
	if !hasButton(en, "Work abroad") {
		t.Fatalf("en menu lacks the flow for English:\n%s", dump(en.last))
	}
	en.press("Work abroad")
	en.says("Check the agency first.")

	fa := localPerson(t, "fa")
	if len(fa.buttons()) != 6 || hasButton(fa, "Work abroad") || hasButton(fa, "abroad.title") {
		t.Fatalf("fa menu must not offer the flow for English:\n%s", dump(fa.last))
	}
	// The buttons the reader sees are the ones pressed: hiding one shifts no target.
	fa.press("بپرس")
	fa.says("اسم شما چیست؟")
}

func TestFlowForSomeLanguagesKeywords(t *testing.T) {
	en := localPerson(t, "en")
	en.text("is this job abroad real?")
	if en.s.Flow != "abroad" || en.res.Notice != "keyword" {
		t.Fatalf("en: flow %q, notice %q", en.s.Flow, en.res.Notice)
	}
	fa := localPerson(t, "fa")
	fa.text("job abroad")
	if fa.s.Flow != content.HomeFlow || fa.res.Notice != "unknown_text" {
		t.Fatalf("fa: a keyword of a flow for English opened %q (notice %q)", fa.s.Flow, fa.res.Notice)
	}
	fa.says("متن common.match.nothing")
}

func TestFlowForSomeLanguagesClosedToOthers(t *testing.T) {
	// A /start link to it, for a reader of another language: the menu.
	fa := localPerson(t, "fa")
	fa.send(engine.Input{Kind: engine.InCommand, Command: "start", Arg: "abroad"})
	if fa.s.Flow != content.HomeFlow {
		t.Fatalf("fa /start abroad: flow %q", fa.s.Flow)
	}
	fa.says("یک موضوع انتخاب کنید.")

	// Changing language inside it: the menu in the new language, never
	// English texts shown as if they were Farsi.
	en := localPerson(t, "en")
	en.press("Work abroad")
	en.press("More")
	en.send(engine.Input{Kind: engine.InButton, Data: "L:fa"})
	if en.s.Flow != content.HomeFlow {
		t.Fatalf("after switching to fa inside the flow: flow %q", en.s.Flow)
	}
	if strings.Contains(dump(en.last), "passport") {
		t.Fatalf("English text shown to a Farsi reader:\n%s", dump(en.last))
	}
	en.says("یک موضوع انتخاب کنید.")

	// A link from it into a flow for everyone works as usual.
	back := localPerson(t, "en")
	back.press("Work abroad")
	back.press("More")
	back.press("Help")
	if back.s.Flow != "sos" {
		t.Fatalf("flow %q, want sos", back.s.Flow)
	}
}
