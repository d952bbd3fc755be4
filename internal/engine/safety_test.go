package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"putokaz/internal/engine"
)

func effectKinds(res engine.Result) []engine.EffectKind {
	var out []engine.EffectKind
	for _, fx := range res.Effects {
		out = append(out, fx.Kind)
	}
	return out
}

// TestPrivacyNoticeOnce: the notice follows the first choice of a language,
// never a later one; a person who erased everything is new again.
func TestPrivacyNoticeOnce(t *testing.T) {
	p := newPerson(t, "en")
	p.says("EN common.privacy")
	if !p.s.Privacy {
		t.Fatal("the session must remember the notice was shown")
	}
	p.cmd("language")
	p.send(engine.Input{Kind: engine.InButton, Data: "L:fa"})
	if strings.Contains(dump(p.last), "common.privacy") {
		t.Fatalf("notice shown twice:\n%s", dump(p.last))
	}
	p.cmd("delete")
	p.press("common.delete.yes")
	if p.s != nil {
		t.Fatal("/delete must erase the session")
	}
	p.send(engine.Input{Kind: engine.InButton, Data: "L:en"})
	p.says("EN common.privacy")
}

// TestPrivacyNoticeAfterEmergencyFirst: a person whose language an emergency
// word chose sees the notice before their first main menu, not in the
// middle of the emergency numbers.
func TestPrivacyNoticeAfterEmergencyFirst(t *testing.T) {
	p := newPerson(t, "")
	p.text("police")
	if p.s.Lang != "en" || strings.Contains(dump(p.last), "common.privacy") {
		t.Fatalf("emergency first: lang %q:\n%s", p.s.Lang, dump(p.last))
	}
	p.cmd("menu")
	p.says("EN common.privacy")
	p.cmd("menu")
	if strings.Contains(dump(p.last), "common.privacy") {
		t.Fatalf("notice shown twice:\n%s", dump(p.last))
	}
}

// TestQuickExitCommand: /exit in a chat with staff ends it without a word,
// forgets where the person was and what they answered, asks the transport
// to wipe the chat, stops every subscription (an update would bring the chat
// back), and shows only the neutral line with "start again".
func TestQuickExitCommand(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Ask me")
	p.text("Ana")
	p.cmd("menu")
	p.press("Talk")
	if p.s.Handoff != "svc" {
		t.Fatalf("no handoff: %+v", p.s)
	}
	old := p.buttons()[0].Data
	res := p.cmd("exit")
	if got := effectKinds(res); !slices.Equal(got, []engine.EffectKind{engine.EffectHandoffEnd, engine.EffectUnsubscribe, engine.EffectQuickExit}) {
		t.Fatalf("effects = %v, want handoff_end, unsubscribe, quick_exit", got)
	}
	if res.Notice != "quick_exit" || p.s.Handoff != "" || p.s.Flow != "" || p.s.Vars["name"] != "" {
		t.Fatalf("session not reset: notice %q, %+v", res.Notice, p.s)
	}
	if len(p.last) != 1 || !strings.Contains(p.last[0].Text, "EN common.exit.done") ||
		strings.Contains(p.last[0].Text, "common.handoff.left") {
		t.Fatalf("want only the exit line, got:\n%s", dump(p.last))
	}
	if bs := p.buttons(); len(bs) != 1 || bs[0].Label != "EN common.btn.start" {
		t.Fatalf("want only start again, got %+v", bs)
	}
	p.press("EN common.btn.start")
	p.says("Choose a topic.")
	p.send(engine.Input{Kind: engine.InButton, Data: old})
	if p.res.Notice != "stale_button" {
		t.Errorf("a button from before the exit must be stale, notice %q", p.res.Notice)
	}
}

// TestQuickExitKeepsCode: /status still knows the last referral's code
// after a quick exit (nothing on the phone shows it).
func TestQuickExitKeepsCode(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Refer me")
	p.press("EN common.referral.yes")
	p.text("Novi Sad")
	p.press("EN common.referral.skip")
	code := p.s.Vars["code"]
	if code == "" {
		t.Fatalf("no referral code: %s", dump(p.last))
	}
	p.cmd("exit")
	if p.s.Vars["code"] != code || p.s.Vars["town"] != "" {
		t.Fatalf("vars after exit = %v, want only the code %s", p.s.Vars, code)
	}
}

// TestQuickExitButton: the "Quick exit" button of the sensitive topics in
// the default content does what /exit does.
func TestQuickExitButton(t *testing.T) {
	c := loadDefault(t)
	e := newEngine()
	for _, flow := range []string{"trafficking", "women_children", "emergency", "missing_family"} {
		s := e.Handle(c, nil, engine.Input{Kind: engine.InButton, Data: "L:en"}).Session
		res := e.Handle(c, s, engine.Input{Kind: engine.InCommand, Command: "start", Arg: flow})
		var data string
		for _, m := range res.Messages {
			for _, b := range m.Buttons {
				if b.Label == "🚪 Quick exit" {
					data = b.Data
				}
			}
		}
		if data == "" {
			t.Errorf("%s: no quick exit button on its first screen", flow)
			continue
		}
		res = e.Handle(c, res.Session, engine.Input{Kind: engine.InButton, Data: data})
		if !slices.Contains(effectKinds(res), engine.EffectQuickExit) || res.Session.Flow != "" {
			t.Errorf("%s: quick exit button: effects %v, flow %q", flow, effectKinds(res), res.Session.Flow)
		}
		if len(res.Messages) != 1 || strings.Contains(res.Messages[0].Text, "Putokaz") {
			t.Errorf("%s: the screen after a quick exit must be neutral: %+v", flow, res.Messages)
		}
	}
}

// TestLocationAnywhere: a location outside a location step lists the
// nearest centres, in the reader's script; outside the service area it
// gives 112 instead.
func TestLocationAnywhere(t *testing.T) {
	c := loadDefault(t)
	e := newEngine()
	belgrade := engine.Input{Kind: engine.InLocation, Lat: 44.81, Lon: 20.46}
	vienna := engine.Input{Kind: engine.InLocation, Lat: 48.21, Lon: 16.37}
	for lang, want := range map[string]string{"en": "Krnjača", "sr-Cyrl": "Крњача", "sr-Latn": "Krnjača"} {
		s := e.Handle(c, nil, engine.Input{Kind: engine.InButton, Data: "L:" + lang}).Session
		res := e.Handle(c, s, belgrade)
		if res.Notice != "location_nearby" || !strings.Contains(dump(res.Messages), want) {
			t.Errorf("%s: notice %q, want %q in:\n%s", lang, res.Notice, want, dump(res.Messages))
		}
		res = e.Handle(c, res.Session, vienna)
		if res.Notice != "location_abroad" || !strings.Contains(dump(res.Messages), "112") || strings.Contains(dump(res.Messages), want) {
			t.Errorf("%s: abroad: notice %q:\n%s", lang, res.Notice, dump(res.Messages))
		}
	}
}

// TestLocationDuringReferral keeps the referral: going elsewhere would drop it.
func TestLocationDuringReferral(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Refer me")
	p.send(engine.Input{Kind: engine.InLocation, Lat: 44.8, Lon: 20.4})
	if p.s.Ref == nil || p.res.Notice != "unexpected_location" {
		t.Fatalf("referral dropped: notice %q, %+v", p.res.Notice, p.s)
	}
	p.says("EN common.referral.yes")
}

// TestConsentNamesHolderAndStaffHours: a referral consent and a handoff
// consent name the organisation and the data contact; a handoff consent
// says whether someone is at work, or when they will be.
func TestConsentNamesHolderAndStaffHours(t *testing.T) {
	c := loadDefault(t)
	at := func(when time.Time, org engine.Organisation) *engine.Engine {
		e := engine.New(func() time.Time { return when }, func() uint64 { return 7 })
		e.Org = org
		return e
	}
	thursday := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	saturday := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	org := engine.Organisation{Name: "Example Aid", DataContact: "privacy@example.org"}
	open := func(e *engine.Engine, lang, flow, step string) string {
		s := e.Handle(c, nil, engine.Input{Kind: engine.InButton, Data: "L:" + lang}).Session
		res := e.Handle(c, s, engine.Input{Kind: engine.InCommand, Command: "start", Arg: flow})
		for _, m := range res.Messages {
			for _, b := range m.Buttons {
				if strings.Contains(b.Label, step) {
					return dump(e.Handle(c, res.Session, engine.Input{Kind: engine.InButton, Data: b.Data}).Messages)
				}
			}
		}
		t.Fatalf("%s: no button %q", flow, step)
		return ""
	}
	got := open(at(thursday, org), "en", "trafficking", "Talk to someone now")
	for _, want := range []string{"Someone is at work now", "This service is run by Example Aid", "privacy@example.org"} {
		if !strings.Contains(got, want) {
			t.Errorf("trafficking/connect on Thursday: want %q in:\n%s", want, got)
		}
	}
	got = open(at(saturday, org), "en", "about", "Talk to a person")
	if !strings.Contains(got, "Nobody is at work right now") || !strings.Contains(got, "Monday 09:00") {
		t.Errorf("about/connect on Saturday: want when staff are back:\n%s", got)
	}
	got = open(at(thursday, engine.Organisation{}), "en", "voluntary_return", "Ask IOM to contact me")
	if !strings.Contains(got, "This service is run by a humanitarian organisation") || strings.Contains(got, "at work now") {
		t.Errorf("referral consent without config: want the fallback name and no staff hours:\n%s", got)
	}
	got = open(at(thursday, engine.Organisation{Name: "Example Aid", Names: map[string]string{"sr-Cyrl": "Пример"}}), "sr-Latn", "about", "Razgovor")
	if !strings.Contains(got, "čuva: Primer.") {
		t.Errorf("sr-Latn must transliterate the sr-Cyrl name:\n%s", got)
	}
	got = open(at(thursday, org), "fa", "trafficking", "حرف بزنید")
	if !strings.Contains(got, "\u2068Example Aid\u2069") {
		t.Errorf("fa: a Latin name must be isolated:\n%q", got)
	}
}

// TestTypedBeforeChoosingALanguage: what a person types before choosing a
// language is answered in the language it is written in when that and a
// topic are clear — a generic "help" or "doctor" inside it no longer opens
// the emergency numbers instead; a bare call for help still does; anything
// unclear gets the picker.
func TestTypedBeforeChoosingALanguage(t *testing.T) {
	c := loadDefault(t)
	for _, tc := range []struct {
		text, lang, flow, step string
		danger                 bool // the emergency flow, not a topic
	}{
		{text: "i need legal help with my asylum case", lang: "en", flow: "asylum", step: "legal"},
		{text: "my son is sick i need a doctor for him", lang: "en", flow: "health"},
		{text: "treba mi doktor", lang: "sr-Latn", flow: "health"},
		{text: "help", lang: "en", danger: true},
		{text: "policija", lang: "sr-Latn", danger: true}, // the keyword list is Cyrillic
		{text: "полиција", lang: "sr-Cyrl", danger: true},
		{text: "police", lang: "en", danger: true},
	} {
		p := &person{t: t, e: newEngine(), c: c}
		p.text(tc.text)
		if p.s.Lang != tc.lang {
			t.Errorf("%q: language %q, want %q", tc.text, p.s.Lang, tc.lang)
		}
		if tc.danger {
			if p.s.Flow != c.Emergency {
				t.Errorf("%q: flow %q, want the emergency flow", tc.text, p.s.Flow)
			}
			continue
		}
		if p.s.Flow != tc.flow || tc.step != "" && p.s.Step != tc.step {
			t.Errorf("%q: at %s/%s, want %s/%s:\n%s", tc.text, p.s.Flow, p.s.Step, tc.flow, tc.step, dump(p.last))
		}
		if !strings.Contains(dump(p.last), "/delete") { // the privacy notice, the only text naming it here
			t.Errorf("%q: no privacy notice with the first answer:\n%s", tc.text, dump(p.last))
		}
	}
	p := &person{t: t, e: newEngine(), c: c}
	p.text("xyzzy")
	if p.s.Lang != "" || len(p.buttons()) < 5 {
		t.Errorf("unclear words: language %q, buttons %d; want the picker", p.s.Lang, len(p.buttons()))
	}
}
