package engine_test

import (
	"testing"
	"unicode/utf8"

	"putokaz/internal/engine"
)

// FuzzInput feeds arbitrary input events and stored sessions to the engine:
// it must never panic, and every answer must leave the person a way on.
func FuzzInput(f *testing.F) {
	c := loadDefault(f)
	f.Add(uint8(0), "help", "", []byte(nil))
	f.Add(uint8(1), "", "m1.0", []byte(`{"v":1,"lang":"fa","flow":"main","step":"menu","menu":1,"targets":["go:emergency/numbers"]}`))
	f.Add(uint8(2), "", "start", []byte(`{"v":1,"lang":"en","flow":"voluntary_return","step":"family"}`))
	f.Add(uint8(1), "", "L:ar", []byte(`{"v":1,"handoff":"x","lang":"ar"}`))
	f.Add(uint8(0), "hello", "", []byte(`{"v":1,"case":{"code":"PK-7F3Q","service":"svc"},"lang":"en"}`))
	f.Fuzz(func(t *testing.T, kind uint8, text, data string, blob []byte) {
		e := newEngine()
		var s *engine.Session
		if blob != nil {
			var err error
			if s, err = engine.DecodeSession(blob); err != nil {
				s = nil
			}
		}
		in := engine.Input{Kind: engine.InputKind(kind % 6), Text: text, Data: data, Command: data, Arg: text, Media: "sticker", Lat: 44, Lon: 20}
		res := e.Handle(c, s, in)
		if res.Session == nil {
			return // erased
		}
		if (res.Session.Handoff != "" || res.Session.Case != nil) && len(res.Messages) == 0 {
			return // relayed to staff silently
		}
		waits := false
		for _, m := range res.Messages {
			waits = waits || m.Waits()
			if !utf8.ValidString(m.Text) && utf8.ValidString(text) {
				t.Fatalf("invalid UTF-8 in answer")
			}
		}
		if !waits {
			t.Fatalf("no way on after %+v", in)
		}
	})
}
