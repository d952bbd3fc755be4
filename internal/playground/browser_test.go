package playground_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/graph"
	"putokaz/internal/playground"
	"putokaz/internal/store"
	"putokaz/internal/testkit/browsertest"
)

// artifacts is where the screenshots go (git-ignored: testdata/artifacts/).
const artifacts = "testdata/artifacts"

// defaultContent is the content built into the binary: what `go run .`
// from a fresh clone shows.
func defaultContent(t *testing.T) *content.Content {
	t.Helper()
	c, diags := engine.Load(content.Embedded())
	if c == nil {
		errs := diags.Errors()
		if len(errs) > 5 {
			errs = errs[:5]
		}
		t.Fatalf("the default content has %d errors (run `go run . check`); the first: %v", len(diags.Errors()), errs)
	}
	return c
}

// diagrams is what internal/app wires in: internal/graph.
type diagrams struct{}

func (diagrams) Mermaid(c *content.Content, flow, lang string) (string, error) {
	return graph.Mermaid(c, flow, lang, content.Ref{})
}

func (diagrams) NodeID(c *content.Content, r content.Ref) string { return graph.NodeID(c, r) }

// browser drives one tab of a headless Chromium.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string // errors and exceptions the page reported
}

func newBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	bctx := browsertest.Start(t, ctx, "the playground")
	b := &browser{t: t, ctx: bctx}
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// act runs an action that sends an input and waits for the bot's answer.
func (b *browser) act(what string, action ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	bots := eval[int](b, `document.querySelectorAll('.msg.in').length`)
	errs := eval[int](b, `document.querySelectorAll('.msg.sys.error').length`)
	b.do(what, action...)
	cond := fmt.Sprintf(`(document.querySelectorAll('.msg.in').length > %d || document.querySelectorAll('.msg.sys.error').length > %d) && document.body.dataset.busy === '0'`, bots, errs)
	b.do(what+": wait for the answer", chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(10*time.Second)))
	if n := eval[int](b, `document.querySelectorAll('.msg.sys.error').length`); n > errs {
		b.t.Fatalf("%s: the page shows an error: %s", what, eval[string](b, `[...document.querySelectorAll('.msg.sys.error')].pop().textContent`))
	}
}

// press clicks the newest inline button with this label.
func (b *browser) press(label string) {
	b.t.Helper()
	found := eval[bool](b, `((label) => {
		for (const el of document.querySelectorAll('[data-pick]')) el.removeAttribute('data-pick');
		const all = [...document.querySelectorAll('.kbd .kbtn')].filter((el) => el.textContent.trim() === label);
		if (!all.length) return false;
		all[all.length - 1].setAttribute('data-pick', '1');
		return true;
	})(`+jsString(label)+`)`)
	if !found {
		b.t.Fatalf("no button %q; buttons: %s", label, eval[string](b, `[...document.querySelectorAll('.kbd .kbtn')].map((e) => e.textContent).join(' | ')`))
	}
	b.act("press "+label, chromedp.Click(chromedp.CSS(`[data-pick="1"]`)))
}

func (b *browser) typeText(text string) {
	b.t.Helper()
	b.act("type "+text, chromedp.SendKeys(chromedp.ID("text"), text), chromedp.Click(chromedp.ID("send")))
}

// at is the step the flows panel highlights.
func (b *browser) at() string {
	return eval[string](b, `(document.querySelector('#flowlist li.current') || {dataset: {}}).dataset.at || ''`)
}

func (b *browser) lastBotText() string {
	return eval[string](b, `[...document.querySelectorAll('.msg.in .bubble .text')].pop().textContent`)
}

func (b *browser) shot(name string) {
	b.t.Helper()
	// Clicks scroll the page; a screenshot shows the phone from its top.
	b.save(name, `window.scrollTo(0, 0)`)
}

// shotOf saves a screenshot with the element in view.
func (b *browser) shotOf(name, selector string) {
	b.t.Helper()
	b.save(name, `window.scrollTo(0, 0); document.querySelector(`+jsString(selector)+`).scrollIntoView({block: 'start'})`)
}

// save scrolls with the script and writes a screenshot under artifacts.
func (b *browser) save(name, scroll string) {
	b.t.Helper()
	eval[chromedp.Void](b, scroll)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifacts, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noOverflow checks that nothing is wider than the viewport (a phone).
func (b *browser) noOverflow(when string) {
	b.t.Helper()
	if w := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		b.t.Errorf("%s: the page is %dpx wide in a %dpx viewport", when, w[0], w[1])
	}
}

// goStep is the step a button leads to, nil for actions and links.
func goStep(c *content.Content, bt content.Button) *content.Step {
	if bt.Go == nil {
		return nil
	}
	return c.Step(*bt.Go)
}

func label(t *testing.T, c *content.Content, lang, id string) string {
	t.Helper()
	s, ok := c.Texts.Plain(lang, id)
	if !ok {
		t.Fatalf("no text %s in %s", id, lang)
	}
	return s
}

// TestBrowser walks the playground in headless Chromium on the default
// content, as an editor would: English, a flow, a keyword, Farsi (checking
// that the page reads right to left), and a location from the picker and
// the map. Screenshots go to testdata/artifacts/.
func TestBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := defaultContent(t)

	// What the page needs from the content, by meaning rather than wording,
	// so that editors can change the texts without breaking this test.
	lang := func(tag string) string {
		l, ok := c.Language(tag)
		if !ok {
			t.Fatalf("no language %s", tag)
		}
		return l.Name
	}
	avr := c.Flows["voluntary_return"]
	shelter := c.Flows["shelter"]
	if avr == nil || shelter == nil {
		t.Fatal("the default content has no voluntary_return or shelter flow")
	}
	keyword := content.SplitKeywords(label(t, c, "en", shelter.Keywords))[0]
	var locButton, locStep string
	for _, bt := range shelter.Steps[shelter.Start].Buttons {
		if st := goStep(c, bt); st != nil && st.Kind == content.KindLocation {
			locButton, locStep = label(t, c, "en", bt.Label), bt.Go.String()
		}
	}
	if locButton == "" {
		t.Fatal("the shelter flow's first step has no button to a location request")
	}

	mem, err := store.NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	tracked := playground.TrackSessions(mem)
	holder := content.NewHolder(c)
	srvHandler, err := playground.New(playground.Options{
		Conversation: conversation.New(tracked, engine.New(time.Now, func() uint64 { return 7 }), holder, nil, nil),
		Content:      holder, Sessions: tracked, Graph: diagrams{},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(srvHandler)
	defer srv.Close()

	b := newBrowser(t, ctx)
	b.do("open the page",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("start")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#flowlist .flow').length > 0`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if r := eval[[]float64](b, `[document.getElementById('start').getBoundingClientRect().bottom, innerHeight]`); r[0] > r[1] {
		t.Errorf("START ends at %vpx, below the %vpx screen", r[0], r[1])
	}
	b.shot("start.png")
	user := eval[string](b, `sessionStorage.getItem('putokaz.user')`)
	if !strings.HasPrefix(user, "web:") {
		t.Fatalf("user ID %q", user)
	}

	// English: the picker, a flow, a button, a keyword.
	b.act("start", chromedp.Click(chromedp.ID("start")))
	b.press(lang("en"))
	if got := b.at(); got != c.Home().String() {
		t.Fatalf("after choosing English, at %q, want %s", got, c.Home())
	}
	b.press(label(t, c, "en", avr.Title))
	if got := b.at(); got != avr.StartRef().String() {
		t.Fatalf("after %q, at %q", avr.Title, got)
	}
	// A button to another message (a question would take the keyword below
	// as its answer).
	var first string
	for _, bt := range avr.Steps[avr.Start].Buttons {
		if st := goStep(c, bt); st != nil && st.Kind == content.KindMessage && first == "" {
			first = label(t, c, "en", bt.Label)
		}
	}
	if first == "" {
		t.Fatal("the voluntary_return flow's first step has no button to a message")
	}
	b.press(first)
	if got := b.at(); got == avr.StartRef().String() || got == "" {
		t.Errorf("pressing %q did not move on (at %q)", first, got)
	}
	b.typeText(keyword)
	if got := b.at(); got != shelter.StartRef().String() {
		t.Fatalf("typing %q: at %q, want %s", keyword, got, shelter.StartRef())
	}
	if dir := eval[string](b, `getComputedStyle([...document.querySelectorAll('.msg.in .bubble')].pop()).direction`); dir != "ltr" {
		t.Errorf("an English bubble reads %s", dir)
	}
	b.noOverflow("English")
	b.shot("en-flow.png")
	// The diagram shows the current flow with the current step's node marked.
	node := graph.NodeID(c, shelter.StartRef())
	b.do("diagram", chromedp.Poll[chromedp.Void](`(document.querySelector('#graph span.current') || {}).textContent`, chromedp.WithPollingTimeout(5*time.Second)))
	if got := eval[string](b, `document.querySelector('#graph span.current').textContent`); !strings.HasPrefix(strings.TrimSpace(got), node) {
		t.Errorf("highlighted diagram line %q, want the node %s", got, node)
	}
	// Drawn by the vendored Mermaid, offline, with the same node marked.
	b.do("drawn diagram", chromedp.Poll[chromedp.Void](`document.querySelector('#graph-svg svg .current')`, chromedp.WithPollingTimeout(10*time.Second)))
	if got := eval[string](b, `document.querySelector('#graph-svg svg .current').id`); !strings.Contains(got, node) {
		t.Errorf("highlighted diagram node %q, want %s", got, node)
	}
	b.do("desktop", chromedp.EmulateViewport(1280, 900))
	b.shot("desktop-en.png")
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))

	// A location from the town picker.
	b.press(locButton)
	if got := b.at(); got != locStep {
		t.Fatalf("after %q: at %q, want %s", locButton, got, locStep)
	}
	b.do("open the location sheet", chromedp.WaitVisible(chromedp.ID("shareloc")), chromedp.Click(chromedp.ID("shareloc")),
		chromedp.WaitVisible(chromedp.ID("locsheet")))
	b.noOverflow("location sheet")
	b.shot("location-sheet.png")
	b.act("pick Belgrade", chromedp.Click(chromedp.CSS(`#towns button[data-town="Belgrade"]`)))
	near := c.Step(content.Ref{Flow: shelter.Name, Step: strings.TrimPrefix(locStep, shelter.Name+"/")}).Next
	if got := b.at(); near == nil || got != near.String() {
		t.Fatalf("after sharing Belgrade: at %q, want %v (last message: %s)", got, near, b.lastBotText())
	}
	if !strings.Contains(b.lastBotText(), "km") {
		t.Errorf("no distances in the answer to a location: %s", b.lastBotText())
	}
	if eval[bool](b, `!document.getElementById('replykbd').hidden`) {
		t.Error("the share-location keyboard is still shown after the location was sent")
	}
	b.shot("location-result.png")

	// A location from a click on the map (Kragujevac, 44.01 N 20.91 E).
	b.typeText(keyword)
	b.press(locButton)
	b.do("open the sheet again", chromedp.Click(chromedp.ID("shareloc")), chromedp.WaitVisible(chromedp.ID("locsheet")))
	xy := eval[[]float64](b, `(() => { const r = document.querySelector('#map svg').getBoundingClientRect();
		return [r.left + (20.91 - 18.8) / 4.2 * r.width, r.top + (46.2 - 44.01) / 4.0 * r.height]; })()`)
	b.act("click the map", chromedp.MouseClickXY(xy[0], xy[1]))
	sent := eval[string](b, `[...document.querySelectorAll('.msg.out .text')].pop().textContent`)
	var lat, lon float64
	if _, err := fmt.Sscanf(sent[strings.LastIndex(sent, "📍")+len("📍"):], "%f, %f", &lat, &lon); err != nil || math.Abs(lat-44.01) > 0.05 || math.Abs(lon-20.91) > 0.05 {
		t.Errorf("the map click sent %q, want about 44.01, 20.91 (%v)", sent, err)
	}

	// Farsi: switch language on the menu, then walk a flow; bubbles read
	// right to left.
	b.typeText("/menu")
	b.act("choose Farsi", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('lang');
		s.value = 'fa'; s.dispatchEvent(new Event('change')); })()`))
	dir := `getComputedStyle([...document.querySelectorAll('.msg.in .bubble')].pop()).direction`
	if got := eval[string](b, dir); got != "rtl" {
		t.Errorf("after choosing Farsi the last bubble reads %s: %s", got, b.lastBotText())
	}
	b.press(label(t, c, "fa", avr.Title))
	if got := eval[string](b, dir); got != "rtl" {
		t.Errorf("a Farsi bubble reads %s: %s", got, b.lastBotText())
	}
	if got := eval[string](b, `getComputedStyle([...document.querySelectorAll('.kbd .kbtn')].pop()).direction`); got != "rtl" {
		t.Errorf("a Farsi button reads %s", got)
	}
	if got := b.at(); got != avr.StartRef().String() {
		t.Errorf("Farsi %s: at %q", avr.Name, got)
	}
	b.noOverflow("Farsi")
	b.shot("fa-flow.png")

	// A sticker gets an answer, not silence.
	b.act("send a sticker", chromedp.Click(chromedp.ID("sticker")))

	// The renderer builds only whitelisted nodes from the bot's HTML.
	rendered := eval[string](b, `window.putokazRender('<b>bold</b> <script>alert(1)</script><img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a> <a href="https://iom.int">iom</a> &lt;i&gt;')`)
	for _, bad := range []string{"<script", "<img", "javascript:", "<i>"} {
		if strings.Contains(rendered, bad) {
			t.Errorf("rendered HTML contains %q: %s", bad, rendered)
		}
	}
	if !strings.Contains(rendered, "<b>bold</b>") || !strings.Contains(rendered, `href="https://iom.int/"`) {
		t.Errorf("rendered HTML lost formatting: %s", rendered)
	}

	// The whole page on a desktop, then reset: a new person, a fresh chat.
	b.do("desktop", chromedp.EmulateViewport(1280, 900))
	b.shot("desktop.png")
	b.do("reset", chromedp.Click(chromedp.ID("reset")), chromedp.WaitVisible(chromedp.ID("start")))
	if n := eval[int](b, `document.querySelectorAll('.msg').length`); n != 0 {
		t.Errorf("after reset %d messages remain", n)
	}
	if u := eval[string](b, `sessionStorage.getItem('putokaz.user')`); u == user || !strings.HasPrefix(u, "web:") {
		t.Errorf("after reset the user is %q (was %q)", u, user)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		t.Errorf("browser console: %s", m)
	}
}

// pathTo is the labels (in lang) of the buttons that lead from a flow's
// first step to its first step of kind, through messages only.
func pathTo(t *testing.T, c *content.Content, flow string, kind content.Kind, lang string) []string {
	t.Helper()
	f := c.Flows[flow]
	if f == nil {
		t.Fatalf("no flow %s", flow)
	}
	type node struct {
		ref  content.Ref
		path []string
	}
	queue := []node{{ref: f.StartRef()}}
	seen := map[string]bool{f.StartRef().String(): true}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		st := c.Step(n.ref)
		if st == nil {
			continue
		}
		if st.Kind == kind {
			return n.path
		}
		if st.Kind != content.KindMessage {
			continue
		}
		for _, bt := range st.Buttons {
			if bt.Go == nil || seen[bt.Go.String()] {
				continue
			}
			seen[bt.Go.String()] = true
			queue = append(queue, node{ref: *bt.Go, path: append(append([]string{}, n.path...), label(t, c, lang, bt.Label))})
		}
	}
	t.Fatalf("no way to a %s step in flow %s", kind, flow)
	return nil
}

// waitJS polls a JavaScript condition.
func (b *browser) waitJS(what, cond string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(10*time.Second)))
}

// staffClick clicks a button of a case card.
func (b *browser) staffClick(code, button string) {
	b.t.Helper()
	b.do("staff: "+button+" "+code, chromedp.Click(chromedp.CSS(`.case[data-code="`+code+`"] button.`+button)))
}

// staffWrite sends a reply (or an internal note) from a case card.
func (b *browser) staffWrite(code, text string, note bool) {
	b.t.Helper()
	card := `.case[data-code="` + code + `"]`
	if got := eval[bool](b, `document.querySelector('`+card+` .notetoggle input').checked`); got != note {
		b.do("toggle note", chromedp.Click(chromedp.CSS(card+` .notetoggle input`)))
	}
	b.do("staff writes", chromedp.SendKeys(chromedp.CSS(card+` textarea`), text), chromedp.Click(chromedp.CSS(card+` .sendreply`)))
	kind := map[bool]string{true: "note", false: "reply"}[note]
	b.waitJS("the "+kind+" in the topic", `[...document.querySelectorAll('`+card+` .smsg.kind-`+kind+` .stext')].some((e) => e.textContent === `+jsString(text)+`)`)
}

// TestBrowserStaff walks a referral and a handoff on the default content
// with the staff pane: the person's side in the phone, staff's beside it.
func TestBrowserStaff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := defaultContent(t)
	srvHandler, _ := withReferrals(t, c, diagrams{})
	srv := httptest.NewServer(srvHandler)
	defer srv.Close()

	en := func(id string) string { return label(t, c, "en", id) }
	refStep := ""
	var questions []content.Question
	for _, name := range c.Flows["voluntary_return"].Order {
		if st := c.Flows["voluntary_return"].Steps[name]; st.Kind == content.KindReferral {
			refStep = name
			questions = c.Directory.Services[st.Service].Questions
			break
		}
	}
	if refStep == "" {
		t.Fatal("the voluntary_return flow has no referral step")
	}

	b := newBrowser(t, ctx)
	b.do("open the page",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("start")),
	)
	b.waitJS("the empty staff pane", `!document.getElementById('noCases').hidden`)
	b.act("start", chromedp.Click(chromedp.ID("start")))
	english, _ := c.Language("en")
	b.press(english.Name)

	// A referral in English: consent yes, the questions, the code.
	b.typeText("/start voluntary_return")
	for _, l := range pathTo(t, c, "voluntary_return", content.KindReferral, "en") {
		b.press(l)
	}
	b.press(en(content.TextReferralYes))
	want := map[string]string{}
	for _, q := range questions {
		switch {
		case q.Expect == content.ExpectChoice:
			b.press(en(q.Choices[0].Label))
			want[q.Save] = q.Choices[0].Value
		case q.Expect == content.ExpectPhone:
			b.typeText("+381 64 123 4567")
		case q.Expect == content.ExpectNumber:
			b.typeText("3")
		default:
			answer := "Kragujevac " + q.Save
			b.typeText(answer)
			want[q.Save] = answer
		}
	}
	// The code, then when staff answer (perhaps in a message of its own).
	all := caseCodeRe.FindAllString(eval[string](b, `[...document.querySelectorAll('.msg.in .bubble .text')].slice(-3).map((e) => e.textContent).join('\n')`), -1)
	if len(all) == 0 {
		t.Fatalf("no case code in the last messages: %s", b.lastBotText())
	}
	code := all[len(all)-1]
	card := `.case[data-code="` + code + `"]`

	// The card in the staff pane, with the answers.
	b.waitJS("the case card", `document.querySelector('`+card+`') !== null`)
	fields := eval[string](b, `document.querySelector('`+card+` .fields').textContent`)
	for name, value := range want {
		if !strings.Contains(fields, name) || !strings.Contains(fields, value) {
			t.Errorf("the card lacks %s = %s: %s", name, value, fields)
		}
	}
	if eval[bool](b, `document.getElementById('noCases').hidden`) != true {
		t.Error("the pane still says there are no cases")
	}
	b.typeText("/status " + code)
	received := b.lastBotText()
	b.staffClick(code, "claim")
	b.waitJS("claimed", `document.querySelector('`+card+` .badge').textContent === 'claimed'`)
	b.typeText("/status " + code)
	if claimed := b.lastBotText(); claimed == received || !strings.Contains(claimed, code) {
		t.Errorf("/status after the claim: %q (before: %q)", claimed, received)
	}
	reply := "We will call you tomorrow."
	b.staffWrite(code, reply, false)
	// It arrives under a header naming the service and the case.
	b.waitJS("the reply in the person's chat, under its case's header", `[...document.querySelectorAll('.msg.in .bubble .text')].some((e) => e.textContent.includes(`+jsString(reply)+`) && e.textContent.includes(`+jsString(code)+`))`)
	b.noOverflow("referral with the staff pane")
	b.shotOf("staff-referral-phone.png", card)
	b.do("desktop", chromedp.EmulateViewport(1280, 900))
	b.noOverflow("desktop referral")
	b.shot("staff-referral-desktop.png")
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))

	// A handoff: "talk to a person" from the about flow.
	b.typeText("/start about")
	path := pathTo(t, c, "about", content.KindHandoff, "en")
	for _, l := range path {
		b.press(l)
	}
	b.waitJS("the handoff card", `document.querySelector('.case[data-kind="handoff"]') !== null`)
	live := eval[string](b, `document.querySelector('.case[data-kind="handoff"]').dataset.code`)
	hcard := `.case[data-code="` + live + `"]`
	if first := eval[string](b, `document.querySelector('#cases .case').dataset.code`); first != live {
		t.Errorf("the newest case is not first: %s, want %s", first, live)
	}
	b.staffClick(live, "claim")
	claimedText := en(content.TextHandoffClaimed)
	b.waitJS("the claimed notice in the person's chat", `[...document.querySelectorAll('.msg.in .bubble .text')].some((e) => e.textContent.includes(`+jsString(firstWords(claimedText))+`))`)

	msg := "I need help with my papers"
	b.do("the person writes", chromedp.SendKeys(chromedp.ID("text"), msg), chromedp.Click(chromedp.ID("send")))
	b.waitJS("the person's message in the topic", `[...document.querySelectorAll('`+hcard+` .smsg.kind-relay')].some((e) => e.textContent.includes(`+jsString(msg)+`))`)
	fa := "سلام، ما اینجا هستیم"
	b.staffWrite(live, fa, false)
	b.waitJS("the staff reply in the person's chat", `[...document.querySelectorAll('.msg.in .bubble .text')].some((e) => e.textContent === `+jsString(fa)+`)`)
	if dir := eval[string](b, `getComputedStyle([...document.querySelectorAll('.msg.in .bubble')].pop()).direction`); dir != "rtl" {
		t.Errorf("a Farsi staff reply reads %s in the chat", dir)
	}
	if dir := eval[string](b, `getComputedStyle([...document.querySelectorAll('`+hcard+` .kind-reply .stext')].pop()).direction`); dir != "rtl" {
		t.Errorf("a Farsi staff reply reads %s in the topic", dir)
	}
	note := "Called the legal-aid desk"
	b.staffWrite(live, note, true)
	time.Sleep(2500 * time.Millisecond) // one inbox poll
	if eval[bool](b, `[...document.querySelectorAll('.msg .bubble')].some((e) => e.textContent.includes(`+jsString(note)+`))`) {
		t.Error("an internal note reached the person")
	}
	b.noOverflow("handoff")
	b.shotOf("staff-handoff-phone.png", hcard)
	b.do("desktop", chromedp.EmulateViewport(1280, 900))
	b.noOverflow("desktop handoff")
	b.shot("staff-handoff-desktop.png")
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))

	// Close: the person is told and asked whether it helped.
	b.staffClick(live, "close")
	b.waitJS("closed", `document.querySelector('`+hcard+` .badge').textContent === 'closed'`)
	yes := en(content.TextFeedbackYes)
	b.waitJS("was this helpful?", `[...document.querySelectorAll('.kbd .kbtn')].some((e) => e.textContent.trim() === `+jsString(yes)+`)`)
	b.press(yes)
	if eval[bool](b, `!document.querySelector('`+hcard+` .casereply').hidden`) {
		t.Error("a closed case still offers a reply box")
	}
	b.do("desktop", chromedp.EmulateViewport(1280, 900))
	b.shot("staff-closed-desktop.png")

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		t.Errorf("browser console: %s", m)
	}
}

// firstWords is the beginning of a text before any placeholder or markup.
func firstWords(s string) string {
	s = strings.SplitN(s, "{{", 2)[0]
	s = strings.SplitN(s, "<", 2)[0]
	if r := []rune(s); len(r) > 20 {
		s = string(r[:20])
	}
	return strings.TrimSpace(s)
}
