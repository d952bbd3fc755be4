package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/testkit/contenttest"
)

func loadDefault(t testing.TB) *content.Content {
	t.Helper()
	c, diags := content.Load(content.Embedded())
	if c == nil {
		t.Fatalf("default content does not load:\n%v", diags)
	}
	return c
}

var fixtureContent *content.Content

func fixture(t testing.TB) *content.Content {
	if fixtureContent == nil {
		fixtureContent = contenttest.Load(t)
	}
	return fixtureContent
}

func newEngine() *engine.Engine {
	var n uint64
	return engine.New(func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) },
		func() uint64 { n += 7919; return n })
}

// person drives the engine like one Telegram user.
type person struct {
	t    *testing.T
	e    *engine.Engine
	c    *content.Content
	s    *engine.Session
	last []engine.Message
	res  engine.Result
}

// newPerson talks to the engine on the stable test content.
func newPerson(t *testing.T, lang string) *person {
	p := &person{t: t, e: newEngine(), c: fixture(t)}
	if lang != "" {
		p.send(engine.Input{Kind: engine.InButton, Data: "L:" + lang})
	}
	return p
}

func (p *person) send(in engine.Input) engine.Result {
	p.t.Helper()
	p.res = p.e.Handle(p.c, p.s, in)
	p.s = p.res.Session
	p.last = p.res.Messages
	if len(p.last) == 0 && p.s != nil && p.s.Handoff == "" && p.s.Case == nil {
		p.t.Fatalf("input %+v produced no message", in)
	}
	return p.res
}

func (p *person) text(s string) engine.Result {
	return p.send(engine.Input{Kind: engine.InText, Text: s})
}
func (p *person) cmd(s string) engine.Result {
	return p.send(engine.Input{Kind: engine.InCommand, Command: s})
}

// press presses the button whose label contains label, on the last message.
func (p *person) press(label string) engine.Result {
	p.t.Helper()
	for _, m := range p.last {
		for _, b := range m.Buttons {
			if strings.Contains(b.Label, label) && b.Data != "" {
				return p.send(engine.Input{Kind: engine.InButton, Data: b.Data})
			}
		}
	}
	p.t.Fatalf("no button %q in %s", label, dump(p.last))
	return engine.Result{}
}

func (p *person) buttons() []engine.Button {
	var bs []engine.Button
	for _, m := range p.last {
		bs = append(bs, m.Buttons...)
	}
	return bs
}

func (p *person) says(sub string) {
	p.t.Helper()
	if !strings.Contains(dump(p.last), sub) {
		p.t.Fatalf("want %q in:\n%s", sub, dump(p.last))
	}
}

func dump(ms []engine.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Text)
		for _, bt := range m.Buttons {
			fmt.Fprintf(&b, "\n  [%s] %s%s", bt.Data, bt.Label, bt.URL)
		}
		b.WriteString("\n---\n")
	}
	return b.String()
}

// TestRandomWalksNeverDeadEnd presses random buttons and types random
// things in every language: every answer must carry a way on, and the
// engine must never panic or lose the session.
func TestRandomWalksNeverDeadEnd(t *testing.T) {
	c := loadDefault(t)
	e := newEngine()
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{"help", "return", "hello", "3", "+381 60 123 4567", "", "<script>", "yes", "povratak", "بازگشت"}
	for walk := range 300 {
		var s *engine.Session
		var last []engine.Message
		for step := range 40 {
			var in engine.Input
			var bs []engine.Button
			for _, m := range last {
				for _, b := range m.Buttons {
					if b.Data != "" {
						bs = append(bs, b)
					}
				}
			}
			switch r := rng.IntN(10); {
			case r < 6 && len(bs) > 0:
				in = engine.Input{Kind: engine.InButton, Data: bs[rng.IntN(len(bs))].Data}
			case r < 8:
				in = engine.Input{Kind: engine.InText, Text: texts[rng.IntN(len(texts))]}
			case r < 9:
				in = engine.Input{Kind: engine.InCommand, Command: content.Commands[rng.IntN(len(content.Commands))].Name}
			default:
				in = engine.Input{Kind: engine.InLocation, Lat: 44, Lon: 20}
			}
			res := e.Handle(c, s, in)
			if res.Session == nil && !hasErase(res) {
				t.Fatalf("walk %d step %d: session lost without erase", walk, step)
			}
			waits := false
			for _, m := range res.Messages {
				waits = waits || m.Waits()
				if m.Text == "" {
					t.Fatalf("walk %d step %d: empty message", walk, step)
				}
			}
			relayed := len(res.Messages) == 0 && res.Session != nil && (res.Session.Handoff != "" || res.Session.Case != nil)
			if !waits && !relayed {
				t.Fatalf("walk %d step %d: input %+v left the person without a button:\n%s", walk, step, in, dump(res.Messages))
			}
			s = res.Session
			if !relayed {
				last = res.Messages
			}
		}
	}
}

func hasErase(r engine.Result) bool {
	for _, fx := range r.Effects {
		if fx.Kind == engine.EffectErase {
			return true
		}
	}
	return false
}

func TestCheckAcceptsDefaultContent(t *testing.T) {
	if ds := engine.Check(loadDefault(t)); len(ds) > 0 {
		t.Fatalf("engine check: %v", ds)
	}
}

// Load gives content only when the loader and Check both accept it.
func TestLoad(t *testing.T) {
	if c, diags := engine.Load(content.Dir(contenttest.Write(t, nil))); c == nil || diags.HasErrors() {
		t.Fatalf("fixture: %v", diags.Errors())
	}
	c, diags := engine.Load(content.Dir(contenttest.Write(t, map[string]string{"flows/main.yaml": "steps: ["})))
	if c != nil || !diags.HasErrors() {
		t.Errorf("broken YAML: content %v, diags %v", c != nil, diags)
	}
}
