package engine_test

import (
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/testkit/contenttest"
)

func TestFirstContactShowsPickerWithGuessFirst(t *testing.T) {
	cases := []struct{ hint, first string }{
		{"fa", "fa"}, {"prs", "fa"}, {"fa-AF", "fa"}, {"en-US", "en"},
		// No confident regional guesses: Kurdish, Uzbek, Pashto get the content's order.
		{"ku", "en"}, {"uz", "en"}, {"ps", "en"}, {"", "en"},
	}
	for _, tc := range cases {
		p := newPerson(t, "")
		p.send(engine.Input{Kind: engine.InCommand, Command: "start", LangHint: tc.hint})
		bs := p.buttons()
		if len(bs) != 2 || bs[0].Data != "L:"+tc.first {
			t.Errorf("hint %q: buttons %+v, want L:%s first", tc.hint, bs, tc.first)
		}
		if p.s.Lang != "" {
			t.Errorf("hint %q: a hint must not choose the language", tc.hint)
		}
		if !strings.Contains(p.last[0].Text, "EN common.language.prompt") || !strings.Contains(p.last[0].Text, "متن common.language.prompt") {
			t.Errorf("picker must ask in every language: %q", p.last[0].Text)
		}
	}
}

func TestMatchLanguageAliases(t *testing.T) {
	c := loadDefault(t)
	for hint, want := range map[string]string{"sr": "sr-Cyrl", "sr-RS": "sr-Cyrl", "hr": "sr-Latn", "bs": "sr-Latn",
		"sh": "sr-Latn", "cnr": "sr-Latn", "prs": "fa", "fa-AF": "fa", "ar-EG": "ar", "ar": "ar", "en_GB": "en",
		"ku": "", "ckb": "", "tr": "", "uz": "", "": ""} {
		if got := engine.MatchLanguage(c.Languages, hint); got != want {
			t.Errorf("MatchLanguage(%q) = %q, want %q", hint, got, want)
		}
	}
}

func TestLanguageChoiceIsStoredAndChangeable(t *testing.T) {
	p := newPerson(t, "")
	p.cmd("start")
	res := p.send(engine.Input{Kind: engine.InButton, Data: "L:fa"})
	if p.s.Lang != "fa" || res.Effects[0].Kind != engine.EffectSetLanguage {
		t.Fatalf("language not stored: %+v", p.s)
	}
	p.press("بپرس")
	p.says("اسم شما چیست؟")
	p.cmd("language")
	if p.last[0].Lang != "fa" || p.buttons()[0].Data != "L:fa" {
		t.Fatalf("/language should list the current language first: %+v", p.buttons())
	}
	p.send(engine.Input{Kind: engine.InButton, Data: "L:en"})
	p.says("What is your name?") // changing language mid-question keeps the place
}

func TestStartPayloadOpensFlowAfterLanguage(t *testing.T) {
	p := newPerson(t, "")
	p.send(engine.Input{Kind: engine.InCommand, Command: "start", Arg: "sos"})
	p.send(engine.Input{Kind: engine.InButton, Data: "L:en"})
	if p.s.Flow != "sos" {
		t.Fatalf("flow = %q, want sos", p.s.Flow)
	}
	p.send(engine.Input{Kind: engine.InCommand, Command: "start", Arg: "no_such_flow"})
	if p.s.Flow != content.HomeFlow {
		t.Fatalf("unknown payload: flow = %q", p.s.Flow)
	}
}

func TestStaleAndForgedButtons(t *testing.T) {
	p := newPerson(t, "en")
	old := p.buttons()[1].Data
	p.press("Ask me")
	for _, data := range []string{old, "m9999.0", "mzzz.1", "garbage", "", "m1.-1", "m1.99999999999999999999", "go:main/menu", "ref:yes", "S2"} {
		before := p.s.Step
		res := p.send(engine.Input{Kind: engine.InButton, Data: data})
		if res.Session == nil || p.s.Step != before {
			t.Errorf("data %q moved the person from %q to %q", data, before, p.s.Step)
		}
		if res.Notice != "stale_button" {
			t.Errorf("data %q: notice %q, want stale_button", data, res.Notice)
		}
		if len(p.buttons()) == 0 {
			t.Errorf("data %q: no buttons in the answer", data)
		}
	}
}

func TestQuestionAnswerIsEscaped(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Ask me")
	p.text("")
	if p.res.Notice != "invalid_answer" {
		t.Fatalf("empty answer accepted")
	}
	p.text(strings.Repeat("x", 301))
	if p.res.Notice != "invalid_answer" {
		t.Fatalf("301-letter answer accepted")
	}
	p.text(`<b>Ana</b> & "co"`)
	p.says("Hello, &lt;b&gt;Ana&lt;/b&gt; &amp; &#34;co&#34;.")
	if p.s.Vars["name"] != `<b>Ana</b> & "co"` {
		t.Fatalf("saved %q", p.s.Vars["name"])
	}
}

func TestEmergencyWordsFromAnyState(t *testing.T) {
	for _, word := range []string{"help", "POLICE!", "I need help now", "کمک", "كمك"} {
		p := newPerson(t, "")
		p.cmd("start")
		p.text(word)
		if p.s.Flow != "sos" || p.s.Lang == "" {
			t.Errorf("%q before choosing a language: flow %q lang %q", word, p.s.Flow, p.s.Lang)
		}
	}
	p := newPerson(t, "en")
	p.press("Ask me")
	p.text("my town is near the police station") // an answer that only contains the word stays an answer
	if p.s.Flow == "sos" {
		t.Fatal("an answer containing an emergency word was taken away")
	}
	p.press("common.btn.menu")
	p.press("Ask me")
	p.text("police")
	if p.s.Flow != "sos" {
		t.Fatalf("the bare word during a question: flow %q", p.s.Flow)
	}
}

func TestUnknownTextCommandMediaLocation(t *testing.T) {
	p := newPerson(t, "fa")
	for _, in := range []engine.Input{
		{Kind: engine.InText, Text: "qwertyuiop"},
		{Kind: engine.InCommand, Command: "frobnicate"},
		{Kind: engine.InMedia, Media: "sticker"},
		{Kind: engine.InLocation, Lat: 44.8, Lon: 20.4},
		{Kind: engine.InContact, Text: "+381601234567"},
	} {
		res := p.send(in)
		if res.Notice == "" || len(p.buttons()) == 0 {
			t.Errorf("%+v: notice %q, buttons %d", in, res.Notice, len(p.buttons()))
		}
	}
}

func TestDeleteAsksThenErases(t *testing.T) {
	p := newPerson(t, "en")
	p.cmd("delete")
	p.press("common.delete.no")
	if p.s == nil || p.s.Lang != "en" {
		t.Fatal("No erased the session")
	}
	p.cmd("delete")
	res := p.press("common.delete.yes")
	if res.Session != nil || !hasErase(res) {
		t.Fatalf("Yes did not erase: %+v", res)
	}
	p.s = nil
	p.press("common.btn.start")
	if len(p.buttons()) != 2 {
		t.Fatalf("restart should show the language picker, got %s", dump(p.last))
	}
}

func TestSessionOnVanishedStepGoesHome(t *testing.T) {
	p := newPerson(t, "en")
	p.s.Flow, p.s.Step = "gone", "nowhere"
	p.send(engine.Input{Kind: engine.InMedia, Media: "sticker"})
	if p.s.Flow != content.HomeFlow || !strings.Contains(dump(p.last), "common.content_changed") {
		t.Fatalf("vanished step: flow %q\n%s", p.s.Flow, dump(p.last))
	}
}

func TestRecoverAfterUnreadableSession(t *testing.T) {
	for _, blob := range []string{"{not json", `{"v":99}`, "\x00\x01"} {
		if _, err := engine.DecodeSession([]byte(blob)); err == nil {
			t.Errorf("%q decoded", blob)
		}
	}
	res := newEngine().Recover(fixture(t), engine.Input{Kind: engine.InText, Text: "hi"})
	if res.Notice != "reset" || len(res.Messages) < 2 || res.Session == nil {
		t.Fatalf("recover: %+v", res)
	}
}

func TestNearestListsActivePlacesByDistance(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Nearest")
	if !p.last[len(p.last)-1].RequestLocation {
		t.Fatal("no location request")
	}
	p.send(engine.Input{Kind: engine.InLocation, Lat: 44.81, Lon: 20.46}) // Belgrade
	out := dump(p.last)
	if !strings.Contains(out, "Alpha 1.1 km Street 1, Beograd https://www.openstreetmap.org/?mlat=44.80000&amp;mlon=20.46000") {
		t.Errorf("nearest first:\n%s", out)
	}
	if !strings.Contains(out, "Gamma 156 km") || strings.Contains(out, "Beta") || strings.Contains(out, "Delta") {
		t.Errorf("want Alpha, Gamma; not Beta (limit 2) nor Delta (closed, though nearest):\n%s", out)
	}
	// Farsi: Latin names and numbers are isolated inside the RTL text.
	p = newPerson(t, "fa")
	p.press("نزدیک")
	p.send(engine.Input{Kind: engine.InLocation, Lat: 46.1, Lon: 19.66})
	if !strings.Contains(dump(p.last), "مرکز \u2066Gamma\u2069 \u2066") {
		t.Errorf("fa isolates:\n%s", dump(p.last))
	}
}

func TestReferralConsentQuestionsCode(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Refer me")
	p.says("May we send your town")
	if len(p.res.Effects) != 0 {
		t.Fatalf("effects before consent: %+v", p.res.Effects)
	}
	p.press("common.referral.yes")
	p.says("Which town?")
	p.text("Šid")
	p.says("Your phone?")
	p.text("not a phone")
	if p.res.Notice != "invalid_answer" {
		t.Fatal("invalid phone accepted")
	}
	res := p.press("common.referral.skip") // optional
	var fx *engine.Effect
	for i := range res.Effects {
		if res.Effects[i].Kind == engine.EffectReferral {
			fx = &res.Effects[i]
		}
	}
	if fx == nil {
		t.Fatalf("no referral effect: %+v", res.Effects)
	}
	if fx.Service != "svc" || fx.Vars["town"] != "Šid" || len(fx.Vars) != 1 || fx.ConsentAt.IsZero() ||
		!strings.HasPrefix(fx.ConsentVersion, "en:") || !strings.HasPrefix(fx.Code, "PK-") || len(fx.Code) != 7 {
		t.Fatalf("effect: %+v", fx)
	}
	p.says("common.referral.sent " + fx.Code + " Test service")
	if p.s.Ref != nil || p.s.Vars["town"] != "" {
		t.Fatalf("answers must not stay in the session: %+v", p.s)
	}
	// The status button asks about this code.
	if code, ok := engine.StatusQuery(p.s, engine.Input{Kind: engine.InButton, Data: "S"}); !ok || code != fx.Code {
		t.Fatalf("status query: %q %v", code, ok)
	}
}

func TestReferralCodeIsStableAcrossRetries(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Refer me")
	p.press("common.referral.yes")
	p.text("Niš")
	before := *p.s
	before.Ref = &engine.Referral{}
	*before.Ref = *p.s.Ref
	a := p.e.Handle(p.c, &before, engine.Input{Kind: engine.InText, Text: "+381 60 1234567"})
	again := *p.s
	b := p.e.Handle(p.c, &again, engine.Input{Kind: engine.InText, Text: "+381 60 1234567"})
	if a.Effects[0].Code != b.Effects[0].Code {
		t.Fatalf("retry created another code: %s vs %s", a.Effects[0].Code, b.Effects[0].Code)
	}
}

func TestReferralDeclinedOrAbandonedStoresNothing(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Refer me")
	res := p.press("common.referral.no")
	if len(res.Effects) != 0 || p.s.Ref != nil {
		t.Fatalf("declined: %+v %+v", res.Effects, p.s.Ref)
	}
	p.says("Call the test service yourself")
	p.cmd("menu")
	p.press("Refer me")
	p.press("common.referral.yes")
	p.text("Niš")
	p.cmd("menu") // walking away drops the answers
	if p.s.Ref != nil {
		t.Fatal("abandoned referral kept in the session")
	}
	p.press("Refer me")
	p.press("common.referral.yes")
	p.press("common.referral.cancel")
	if p.s.Ref != nil || p.s.Flow != content.HomeFlow {
		t.Fatal("cancel did not drop the referral")
	}
}

// A service without a staff queue gets no referral or handoff: the person
// is told at once and given its public contacts, and nothing is stored.
func TestOfflineServiceGivesPublicContacts(t *testing.T) {
	p := newPerson(t, "en")
	offline := true
	p.e.Offline = func(service string) bool { return offline && service == "svc" }
	for _, button := range []string{"Refer me", "Talk"} {
		p.cmd("menu")
		res := p.press(button)
		if len(res.Effects) != 0 || p.s.Ref != nil || p.s.Handoff != "" || res.Notice != "service_offline" {
			t.Fatalf("%s: effects %+v, session %+v, notice %q", button, res.Effects, p.s, res.Notice)
		}
		p.says("common.referral.offline Test service")
		p.says("Call the test service yourself")
		p.press("common.btn.menu")
	}
	// The queue went away while the person was answering: still nothing sent.
	offline = false
	p.cmd("menu")
	p.press("Refer me")
	p.press("common.referral.yes")
	p.text("Niš")
	offline = true
	res := p.press("common.referral.skip")
	if len(res.Effects) != 0 || p.s.Ref != nil || res.Notice != "service_offline" {
		t.Fatalf("submit to an offline service: effects %+v, notice %q", res.Effects, res.Notice)
	}
	p.says("Call the test service yourself")
}

func TestStatus(t *testing.T) {
	p := newPerson(t, "en")
	p.cmd("status")
	p.says("common.status.ask")
	for status, want := range map[string]string{engine.StatusReceived: "common.status.received PK-7F3Q",
		engine.StatusClaimed: "common.status.claimed PK-7F3Q", "": "common.status.unknown"} {
		p.send(engine.Input{Kind: engine.InCommand, Command: "status", Arg: "pk 7f3q", Status: status})
		p.says(want)
	}
	for in, want := range map[string]string{"PK-7F3Q": "PK-7F3Q", "7f3q": "PK-7F3Q", "pk7fo1": "", "PK-7F3QX": "", "": ""} {
		if got := engine.NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHandoffRelaysAndResumes(t *testing.T) {
	p := newPerson(t, "en")
	res := p.press("Talk")
	if len(res.Effects) != 1 || res.Effects[0].Kind != engine.EffectHandoff || p.s.Handoff != "svc" {
		t.Fatalf("handoff: %+v", res.Effects)
	}
	// The chat has a code like a referral: on the effect (stored before
	// the person sees it), told to the person, and /status's default.
	code := res.Effects[0].Code
	if engine.NormalizeCode(code) != code || code == "" || p.s.Vars["code"] != code {
		t.Fatalf("handoff code %q, session code %q", code, p.s.Vars["code"])
	}
	p.says("live_chat.code " + code)
	// Whatever the person sends goes to staff; the engine stays silent.
	for _, in := range []engine.Input{{Kind: engine.InText, Text: "hello"}, {Kind: engine.InMedia, Media: "photo"}, {Kind: engine.InLocation, Lat: 1, Lon: 2}} {
		res = p.e.Handle(p.c, p.s, in)
		if len(res.Messages) != 0 || len(res.Effects) != 1 || res.Effects[0].Kind != engine.EffectRelay {
			t.Fatalf("%+v during handoff: %+v", in, res)
		}
	}
	// An emergency word still gets the numbers at once, and staff an alert.
	res = p.text("police")
	if p.s.Flow != "sos" || p.s.Handoff != "svc" || len(res.Effects) != 2 || res.Effects[0].Kind != engine.EffectEmergency {
		t.Fatalf("emergency in handoff: %+v, session %+v", res.Effects, p.s)
	}
	p.send(engine.Input{Kind: engine.InEvent, Event: engine.EventHandoffClaimed})
	p.says("common.handoff.claimed")
	p.send(engine.Input{Kind: engine.InEvent, Event: engine.EventHandoffClosed})
	if p.s.Handoff != "" {
		t.Fatal("still in handoff after staff closed")
	}
	res = p.press("common.feedback.yes")
	if len(res.Effects) != 1 || res.Effects[0].Kind != engine.EffectFeedback || res.Effects[0].Value != "yes" || res.Effects[0].Service != "svc" {
		t.Fatalf("feedback: %+v", res.Effects)
	}
	// Leaving by /menu ends the handoff.
	p.press("Talk")
	res = p.cmd("menu")
	if p.s.Handoff != "" || res.Effects[0].Kind != engine.EffectHandoffEnd {
		t.Fatalf("menu during handoff: %+v", res.Effects)
	}
}

func TestWorkingHours(t *testing.T) {
	c := fixture(t)
	svc := c.Directory.Services["svc"]
	belgrade := svc.Hours.Location
	for _, tc := range []struct {
		at   time.Time
		open bool
		next string
	}{
		{time.Date(2026, 11, 26, 10, 0, 0, 0, belgrade), true, "Thu 10:00"},  // Thursday
		{time.Date(2026, 11, 26, 18, 0, 0, 0, belgrade), false, "Fri 09:00"}, // after hours
		{time.Date(2026, 11, 28, 12, 0, 0, 0, belgrade), false, "Mon 09:00"}, // Saturday
		{time.Date(2026, 11, 30, 8, 59, 0, 0, belgrade), false, "Mon 09:00"},
	} {
		if got := svc.Hours.Open(tc.at); got != tc.open {
			t.Errorf("%v: open %v", tc.at, got)
		}
		if got := svc.Hours.NextOpen(tc.at).In(belgrade).Format("Mon 15:04"); got != tc.next {
			t.Errorf("%v: next %s, want %s", tc.at, got, tc.next)
		}
	}
}

// Staff writing about an open referral make what the person types next go
// to that case (EffectRelay with its Code) until they leave, the case is
// closed, or they go elsewhere; emergency words still open the emergency
// flow and alert that case's staff; commands are still the bot's.
func TestCaseTalkRelaysAndEnds(t *testing.T) {
	p := newPerson(t, "en")
	p.send(engine.Input{Kind: engine.InEvent, Event: engine.EventCaseMessage, Case: "PK-7F3Q", CaseService: "svc"})
	p.says("common.case_talk.open")
	if p.s.Case == nil || p.s.Case.Code != "PK-7F3Q" || p.res.Notice != "case_open" {
		t.Fatalf("case talk not open: %+v, notice %q", p.s.Case, p.res.Notice)
	}
	// A second staff message says nothing more.
	if res := p.e.Handle(p.c, p.s, engine.Input{Kind: engine.InEvent, Event: engine.EventCaseMessage, Case: "PK-7F3Q", CaseService: "svc"}); len(res.Messages) != 0 {
		t.Fatalf("second staff message: %+v", res.Messages)
	}
	for _, in := range []engine.Input{{Kind: engine.InText, Text: "thank you"}, {Kind: engine.InMedia, Media: "photo"}, {Kind: engine.InLocation, Lat: 44.8, Lon: 20.4}} {
		res := p.e.Handle(p.c, p.s, in)
		if len(res.Messages) != 0 || len(res.Effects) != 1 || res.Effects[0].Kind != engine.EffectRelay ||
			res.Effects[0].Code != "PK-7F3Q" || res.Effects[0].Service != "svc" || res.Effects[0].Input.Kind != in.Kind {
			t.Fatalf("%+v in a case talk: %+v", in, res)
		}
	}
	// Commands are the bot's: /help answers, and the talk goes on.
	res := p.cmd("help")
	if len(res.Effects) != 0 || p.s.Case == nil {
		t.Fatalf("/help in a case talk: %+v %+v", res.Effects, p.s.Case)
	}
	// An emergency word: the numbers, an alert and the words to that case.
	res = p.text("police")
	if p.s.Flow != "sos" || len(res.Effects) != 2 || res.Effects[0].Kind != engine.EffectEmergency ||
		res.Effects[0].Code != "PK-7F3Q" || res.Effects[1].Kind != engine.EffectRelay || res.Effects[1].Code != "PK-7F3Q" {
		t.Fatalf("emergency in a case talk: %+v, session %+v", res.Effects, p.s)
	}
	// The way out: a language change keeps it, the leave button ends it.
	p.cmd("language")
	p.send(engine.Input{Kind: engine.InButton, Data: "L:en"})
	p.press("common.case_talk.leave")
	if p.s.Case != nil || !strings.Contains(p.last[0].Text, "common.case_talk.left") {
		t.Fatalf("leave: %+v, %v", p.s.Case, p.last)
	}
	if res := p.text("hello"); len(res.Effects) != 0 {
		t.Fatalf("typing after leaving went to staff: %+v", res.Effects)
	}
	// A reply to a staff message goes to its case, and opens the talk again.
	res = p.send(engine.Input{Kind: engine.InText, Text: "yes, tomorrow", ReplyTo: 12, Case: "PK-7F3Q", CaseService: "svc"})
	if len(res.Effects) != 1 || res.Effects[0].Kind != engine.EffectRelay || res.Effects[0].Code != "PK-7F3Q" || p.s.Case == nil {
		t.Fatalf("reply: %+v", res)
	}
	// Closing another case changes nothing; closing this one ends it silently.
	p.send(engine.Input{Kind: engine.InEvent, Event: engine.EventCaseClosed, Case: "PK-AAAA"})
	if p.s.Case == nil {
		t.Fatal("another case's close ended the talk")
	}
	res = p.e.Handle(p.c, p.s, engine.Input{Kind: engine.InEvent, Event: engine.EventCaseClosed, Case: "PK-7F3Q"})
	if res.Session.Case != nil || len(res.Messages) != 0 {
		t.Fatalf("close: %+v", res)
	}
	// A live chat with staff is not taken over by a referral's message.
	p.cmd("menu")
	p.press("Talk")
	p.send(engine.Input{Kind: engine.InEvent, Event: engine.EventCaseMessage, Case: "PK-7F3Q", CaseService: "svc"})
	if p.s.Case != nil || p.s.Handoff != "svc" {
		t.Fatalf("handoff after a case message: %+v", p.s)
	}
	// /menu ends a case talk.
	p.cmd("menu")
	p.send(engine.Input{Kind: engine.InEvent, Event: engine.EventCaseMessage, Case: "PK-7F3Q", CaseService: "svc"})
	p.cmd("menu")
	if p.s.Case != nil {
		t.Fatal("/menu kept the case talk")
	}
}

// TestCaseClosedNotice: staff closing a referral tell the person (one
// message naming the code, in their language) only where the service's
// directory entry has notify_closed.
func TestCaseClosedNotice(t *testing.T) {
	for _, notify := range []bool{false, true} {
		files := contenttest.Files()
		if notify {
			files["flows/directory.yaml"] = strings.Replace(files["flows/directory.yaml"],
				"    declined: svc.declined\n", "    declined: svc.declined\n    notify_closed: true\n", 1)
		}
		c, diags := content.Load(content.Dir(contenttest.Write(t, map[string]string{"flows/directory.yaml": files["flows/directory.yaml"]})))
		if c == nil || diags.HasErrors() {
			t.Fatalf("content: %v", diags)
		}
		p := &person{t: t, e: newEngine(), c: c}
		p.send(engine.Input{Kind: engine.InButton, Data: "L:fa"})
		res := p.e.Handle(p.c, p.s, engine.Input{Kind: engine.InEvent, Event: engine.EventCaseClosed, Case: "PK-7F3Q", CaseService: "svc"})
		switch {
		case !notify && len(res.Messages) != 0:
			t.Errorf("told without notify_closed: %v", res.Messages)
		case notify && (len(res.Messages) != 1 || !strings.Contains(res.Messages[0].Text, "متن common.case_closed PK-7F3Q") ||
			res.Messages[0].Lang != "fa"):
			t.Errorf("notice with notify_closed: %+v", res.Messages)
		}
	}
}

// What a message came from (the transport's Origin) reaches every effect it
// causes, so that staff can be shown the person's own message.
func TestOriginReachesEffects(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Talk")
	o := engine.Origin{Chat: 5, Message: 42, Delivery: "7"}
	res := p.send(engine.Input{Kind: engine.InText, Text: "police", Origin: o})
	if len(res.Effects) != 2 {
		t.Fatalf("emergency in handoff: %+v", res.Effects)
	}
	for _, fx := range res.Effects {
		if fx.Origin != o {
			t.Errorf("%s effect has origin %+v, want %+v", fx.Kind, fx.Origin, o)
		}
	}
	if res := p.text("hello"); len(res.Effects) != 1 || res.Effects[0].Origin != (engine.Origin{}) {
		t.Errorf("an input without an origin gave %+v", res.Effects)
	}
}
