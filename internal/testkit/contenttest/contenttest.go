// Package contenttest provides a small, stable content tree for tests of
// the engine and its transports, independent of the default content (which
// editors change). Every step kind, a service and places are in it.
package contenttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"putokaz/internal/content"
)

// Files returns the fixture as path → file contents.
func Files() map[string]string {
	return map[string]string{
		"flows/main.yaml": `flow: main
title: main.title
start: menu
steps:
  menu:
    say: main.menu
    buttons:
      - { label: main.btn.sos, go: sos }
      - { label: main.btn.ask, go: ask }
      - { label: main.btn.refer, go: refer }
      - { label: main.btn.talk, go: talk }
      - { label: main.btn.near, go: where }
      - { label: main.btn.site, url: "https://example.org" }
  ask:
    ask: main.ask
    save: name
    buttons:
      - { label: common.btn.menu, action: menu }
    next: echo
  echo:
    say: main.echo
    end: true
  refer:
    referral: svc
  talk:
    say: main.talk
    handoff: svc
  where:
    location: main.where
    save: location
    buttons:
      - { label: common.btn.menu, action: menu }
    next: near
  near:
    nearest: centre
    from: location
    item: main.place
    limit: 2
    buttons:
      - { label: common.btn.menu, action: menu }
`,
		"flows/sos.yaml": `flow: sos
title: sos.title
keywords: sos.keywords
emergency: true
steps:
  numbers:
    say: sos.numbers
    buttons:
      - { label: common.btn.menu, action: menu }
`,
		"flows/directory.yaml": `services:
  svc:
    name: svc.name
    consent: svc.consent
    declined: svc.declined
    hours: mon-fri 09:00-17:00
    timezone: Europe/Belgrade
    questions:
      - { ask: svc.q.town, save: town }
      - { ask: svc.q.phone, save: phone, expect: phone, optional: true }
places:
  - { id: a, name: Alpha, kinds: [centre], address: "Street 1, Beograd", lat: 44.80, lon: 20.46 }
  - { id: b, name: Beta, kinds: [centre], address: "Street 2, Niš", lat: 43.32, lon: 21.90 }
  - { id: c, name: Gamma, kinds: [centre], address: "Street 3, Subotica", lat: 46.10, lon: 19.67 }
  - { id: d, name: Delta, kinds: [centre], address: "Closed", lat: 44.81, lon: 20.46, status: closed }
`,
		"locales/languages.yaml": `- tag: en
  name: English
  aliases: [en-*]
- tag: fa
  name: فارسی
  rtl: true
  aliases: [prs, fa-*]
`,
		"locales/active.en.yaml": en + System("en"),
		"locales/active.fa.yaml": fa + System("fa"),
	}
}

const en = `main:
  title: Menu
  menu: Choose a topic.
  btn: {sos: Help, ask: Ask me, refer: Refer me, talk: Talk, near: Nearest, site: Website}
  ask: What is your name?
  echo: "Hello, {{.name}}."
  talk: Connecting you to staff.
  where: Share your location.
  place: "{{.name}} {{.distance}} {{.address}} {{.map}}"
sos:
  title: SOS
  keywords: help, police, sos
  numbers: Police 192
svc:
  name: Test service
  consent: May we send your town to the test service?
  declined: Call the test service yourself.
  q: {town: "Which town?", phone: "Your phone?"}
`

const fa = `main:
  title: منو
  menu: یک موضوع انتخاب کنید.
  btn: {sos: کمک, ask: بپرس, refer: ارجاع, talk: گفتگو, near: نزدیک, site: وبسایت}
  ask: اسم شما چیست؟
  echo: "سلام {{.name}}."
  talk: وصل به کارکنان.
  where: مکان خود را بفرستید.
  place: "مرکز {{.name}} {{.distance}} {{.address}} {{.map}}"
sos:
  title: کمک فوری
  keywords: کمک, پلیس
  numbers: "پلیس ⁦192⁩"
svc:
  name: خدمت آزمایشی
  consent: آیا شهر شما را بفرستیم؟
  declined: خودتان زنگ بزنید.
  q: {town: کدام شهر؟, phone: تلفن شما؟}
`

// vars gives system texts that show values a placeholder for them.
var vars = map[string]string{
	content.TextReferralSent:   " {{.code}} {{.service}}",
	content.TextReferralLater:  " {{.opens}}",
	content.TextHandoffLater:   " {{.opens}}",
	content.TextServiceOffline: " {{.service}}",
	content.TextCaseFrom:       " {{.service}} {{.code}}",
	content.TextCaseClosed:     " {{.code}}",
	content.TextHandoffCode:    " {{.code}}",
	content.TextStatusReceived: " {{.code}}",
	content.TextStatusClaimed:  " {{.code}}",
	content.TextStatusClosed:   " {{.code}}",
	content.TextLanguageChosen: "",
	content.TextLanguagePrompt: "",
}

// System writes every system text as "<lang word> <id>" (plus the values it
// shows), nested as go-i18n reads it.
func System(lang string) string {
	word := map[string]string{"en": "EN", "fa": "متن"}[lang]
	tree := map[string]any{}
	for _, id := range content.SystemTexts {
		parts := strings.Split(id, ".")
		m := tree
		for _, p := range parts[:len(parts)-1] {
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = word + " " + id + vars[id]
	}
	out, err := yaml.Marshal(tree)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// Write writes the fixture (with overrides: path → contents, "" deletes)
// into a new temporary folder and returns it.
func Write(t testing.TB, overrides map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := Files()
	for k, v := range overrides {
		files[k] = v
	}
	for name, data := range files {
		if data == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Load loads the fixture, failing the test on any problem.
func Load(t testing.TB) *content.Content {
	t.Helper()
	c, diags := content.Load(content.Dir(Write(t, nil)))
	if c == nil || diags.HasErrors() {
		t.Fatalf("test content does not load:\n%v", diags)
	}
	return c
}
