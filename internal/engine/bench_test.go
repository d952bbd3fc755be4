package engine_test

import (
	"testing"

	"putokaz/internal/engine"
)

// BenchmarkStep measures one engine step on the default content: a button
// press on the main menu that renders a topic with its keyboard, plus the
// session encode/decode the conversation core does around it (no I/O).
func BenchmarkStep(b *testing.B) {
	c := loadDefault(b)
	e := newEngine()
	res := e.Handle(c, nil, engine.Input{Kind: engine.InButton, Data: "L:en"})
	home, _ := engine.EncodeSession(res.Session)
	data := res.Messages[len(res.Messages)-1].Buttons[1].Data
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := engine.DecodeSession(home)
		if err != nil {
			b.Fatal(err)
		}
		r := e.Handle(c, s, engine.Input{Kind: engine.InButton, Data: data})
		if len(r.Messages) == 0 {
			b.Fatal("no reply")
		}
		if _, err := engine.EncodeSession(r.Session); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandle is the engine alone (no session encoding).
func BenchmarkHandle(b *testing.B) {
	c := loadDefault(b)
	e := newEngine()
	res := e.Handle(c, nil, engine.Input{Kind: engine.InButton, Data: "L:fa"})
	s := *res.Session
	data := res.Messages[len(res.Messages)-1].Buttons[1].Data
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cp := s
		cp.Targets = append([]string(nil), s.Targets...)
		r := e.Handle(c, &cp, engine.Input{Kind: engine.InButton, Data: data})
		if len(r.Messages) == 0 {
			b.Fatal("no reply")
		}
	}
}

// BenchmarkKeyword is a typed sentence understood (emergency words, then
// the matcher's ranking of every topic) and answered.
func BenchmarkKeyword(b *testing.B) {
	c := loadDefault(b)
	e := newEngine()
	res := e.Handle(c, nil, engine.Input{Kind: engine.InButton, Data: "L:en"})
	s := *res.Session
	b.ReportAllocs()
	for b.Loop() {
		cp := s
		cp.Targets = append([]string(nil), s.Targets...)
		e.Handle(c, &cp, engine.Input{Kind: engine.InText, Text: "Hello, I would like to go home to my family please"})
	}
}
