package content

import (
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary bytes as a flow file and as a locale file: the
// loader must never panic, and content it accepts must be usable.
func FuzzLoad(f *testing.F) {
	f0, l0 := base()
	f.Add(f0["topic.yaml"].Data, l0["active.ar.yaml"].Data)
	f.Add([]byte("flow: topic\nsteps:\n  a:\n    go: a\n"), []byte("a: {{"))
	f.Add([]byte("[[[[[[[[[["), []byte("\x00\x01"))
	f.Add([]byte("flow: topic\nsteps: &a\n  x: *a\n"), []byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, flow, locale []byte) {
		fl, lo := base()
		fl["topic.yaml"] = &fstest.MapFile{Data: flow}
		lo["active.ar.yaml"] = &fstest.MapFile{Data: locale}
		c, diags := Load(Source{Flows: fl, Locales: lo, FlowsDir: "flows", LocalesDir: "locales"})
		if c == nil {
			if !diags.HasErrors() {
				t.Fatal("content refused without an error")
			}
			return
		}
		for _, l := range c.Languages {
			for _, id := range c.Texts.IDs(l.Tag) {
				_, _ = c.Texts.Render(l.Tag, id, map[string]string{"town": "x"}, 2)
			}
		}
	})
}
