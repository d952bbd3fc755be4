package content

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"putokaz/internal/match"
)

func TestExamplesLoadAndIndex(t *testing.T) {
	f, l := base()
	l["examples.en.yaml"] = &fstest.MapFile{Data: []byte("topic:\n  - which town do I live in\ntopic/done:\n  - all finished thank god\ngreeting:\n  - hello there\n")}
	l["examples.sr-Cyrl.yaml"] = &fstest.MapFile{Data: []byte("topic:\n  - у ком граду живим\n")}
	l["examples.ar.yaml"] = &fstest.MapFile{Data: []byte("greeting:\n  - مرحبا\n")}
	c, diags := loadFS(t, f, l)
	if c == nil {
		t.Fatalf("does not load: %v", diags)
	}
	if len(c.Examples) != 5 {
		t.Fatalf("examples %+v", c.Examples)
	}
	if e := c.Examples[0]; e.Pos.String() != "locales/examples.sr-Cyrl.yaml:2:5" && e.Pos.Line == 0 {
		t.Errorf("example without position: %+v", e)
	}
	for text, want := range map[string]string{"which town": "topic", "u kom gradu": "topic", "hello": match.Greeting} {
		d, cs := c.Matcher.Match(text).Decide()
		if d != match.Open || cs[0].Target != want {
			t.Errorf("%q: %s %v, want %s", text, d, cs, want)
		}
	}
}

func TestExampleProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		pos   string
		msg   string
		err   bool
	}{
		{"unknown target", map[string]string{"examples.en.yaml": "topic/nope:\n  - where\n"},
			"locales/examples.en.yaml:1:1", `"topic/nope" is not a topic`, true},
		{"unknown language", map[string]string{"examples.de.yaml": "topic:\n  - wo\n"},
			"locales/examples.de.yaml:1:1", `language "de"`, true},
		{"claimed twice", map[string]string{"examples.en.yaml": "topic:\n  - my town\n", "examples.ar.yaml": "sos:\n  - My Town!\n"},
			"locales/examples.", "written for", true},
		{"not a list", map[string]string{"examples.en.yaml": "topic: my town\n"},
			"locales/examples.en.yaml:1:8", "should be a list", true},
		{"sent elsewhere", map[string]string{"examples.en.yaml": "topic:\n  - river bridge\nsos:\n  - river bridge river bridge\n  - river\ngreeting:\n  - hi\n"},
			"locales/examples.en.yaml:", "instead", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, l := base()
			for name, data := range tc.files {
				l[name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, diags := loadFS(t, f, l)
			for _, d := range diags {
				if strings.HasPrefix(d.Pos.String(), tc.pos) && strings.Contains(d.Msg, tc.msg) {
					if (d.Severity == Error) != tc.err {
						t.Errorf("%s: severity %v", d, d.Severity)
					}
					return
				}
			}
			t.Errorf("no %q at %s in %v", tc.msg, tc.pos, diags)
		})
	}
}

// Typed text must not start a handoff or referral without its consent text.
func TestExampleForHandoffStep(t *testing.T) {
	src := Embedded()
	l := fstest.MapFS{}
	err := fs.WalkDir(src.Locales, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src.Locales, p)
		l[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	l["examples.en.yaml"] = &fstest.MapFile{Data: []byte("trafficking/talk:\n  - let me talk to them\n")}
	src.Locales = l
	_, diags := Load(src)
	for _, d := range diags {
		if d.Severity == Error && strings.Contains(d.Msg, "is a handoff step") && d.Pos.String() == "locales/examples.en.yaml:1:1" {
			return
		}
	}
	t.Errorf("no error for examples of a handoff step: %v", diags)
}
