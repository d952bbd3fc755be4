package content

import (
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"
)

// base is a small, valid content tree; tests break one thing at a time.
func base() (fstest.MapFS, fstest.MapFS) {
	flows := fstest.MapFS{
		"main.yaml": {Data: []byte(`flow: main
title: main.title
steps:
  menu:
    say: main.menu
    buttons:
      - { label: main.btn.sos, go: sos }
      - { label: main.btn.ask, go: topic/ask }
      - { label: main.btn.site, url: "https://example.org" }
`)},
		"sos.yaml": {Data: []byte(`flow: sos
title: sos.title
keywords: sos.keywords
emergency: true
steps:
  numbers:
    say: sos.numbers
    buttons:
      - { label: main.btn.menu, action: menu }
`)},
		"topic.yaml": {Data: []byte(`flow: topic
keywords: topic.keywords
steps:
  ask:
    ask: topic.ask
    save: town
    buttons:
      - { label: main.btn.menu, action: menu }
    next: done
  done:
    say: topic.done
    count: town
    end: true
`)},
	}
	locales := fstest.MapFS{
		"languages.yaml": {Data: []byte(`- tag: sr-Cyrl
  name: Српски
  aliases: [sr]
- tag: sr-Latn
  name: Srpski
  from: sr-Cyrl
- tag: en
  name: English
- tag: ar
  name: العربية
  rtl: true
`)},
		"active.en.yaml": {Data: []byte(localeEN + systemYAML("Text"))},
		"active.sr-Cyrl.yaml": {Data: []byte(strings.NewReplacer(
			"Menu", "Мени", "Help", "Помоћ", "Town?", "Град?", "Site", "Сајт", "Police", "Полиција",
			"help, police", "помоћ, полиција", "town, city", "град", "Choose", "Изаберите",
			"one: \"{{.town}} one\"", "one: \"{{.town}} један\"\n    few: \"{{.town}} неколико\"",
			"other: \"{{.town}} many\"", "other: \"{{.town}} много\"").Replace(localeEN) + systemYAML("Текст"))},
		"active.ar.yaml": {Data: []byte(localeAR + systemYAML("نص"))},
	}
	return flows, locales
}

const localeEN = `main:
  title: Menu
  menu: Choose
  btn:
    sos: Help
    ask: Town?
    site: Site
    menu: Menu
sos:
  title: Help
  keywords: help, police
  numbers: Police 192
topic:
  keywords: town, city
  ask: Town?
  done:
    one: "{{.town}} one"
    other: "{{.town}} many"
`

const localeAR = `main:
  title: القائمة
  menu: اختر
  btn:
    sos: مساعدة
    ask: المدينة؟
    site: الموقع
    menu: القائمة
sos:
  title: مساعدة
  keywords: مساعدة, شرطة
  numbers: "الشرطة ` + "\u2066" + `192` + "\u2069" + `"
topic:
  keywords: مدينة
  ask: المدينة؟
  done:
    zero: "مدينة {{.town}} ٠"
    one: "مدينة {{.town}} ١"
    two: "مدينة {{.town}} ٢"
    few: "مدينة {{.town}} ٣"
    many: "مدينة {{.town}} ١١"
    other: "مدينة {{.town}} كثيرة"
`

// systemYAML writes every system text with the same word, nested as go-i18n reads it.
func systemYAML(word string) string {
	tree := map[string]any{}
	for _, id := range SystemTexts {
		parts := strings.Split(id, ".")
		m := tree
		for _, p := range parts[:len(parts)-1] {
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = word + " " + id
	}
	out, err := yaml.Marshal(tree)
	if err != nil {
		panic(err)
	}
	return string(out)
}

func loadFS(t *testing.T, flows, locales fstest.MapFS) (*Content, Diags) {
	t.Helper()
	return Load(Source{Flows: flows, Locales: locales, FlowsDir: "flows", LocalesDir: "locales"})
}

func TestBaseLoads(t *testing.T) {
	f0, l0 := base()
	c, diags := loadFS(t, f0, l0)
	if c == nil || len(diags) > 0 {
		t.Fatalf("base content: %v", diags)
	}
	if c.Emergency != "sos" {
		t.Fatalf("emergency = %q", c.Emergency)
	}
	// Serbian Latin is generated from Cyrillic.
	s, err := c.Texts.Render("sr-Latn", "main.btn.sos", nil, nil)
	if err != nil || s != "Pomoć" {
		t.Fatalf("sr-Latn = %q, %v", s, err)
	}
	s, _ = c.Texts.Render("sr-Cyrl", "main.btn.sos", nil, nil)
	if s != "Помоћ" {
		t.Fatalf("sr-Cyrl = %q", s)
	}
	s, _ = c.Texts.Render("ar", "main.menu", nil, nil)
	if s != "اختر" {
		t.Fatalf("ar = %q", s)
	}
	// Plural forms by CLDR rules, with variables.
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{{"en", 1, "x one"}, {"en", 3, "x many"}, {"sr-Cyrl", 3, "x неколико"}, {"sr-Latn", 21, "x jedan"}, {"ar", 2, "مدينة x ٢"}, {"ar", 11, "مدينة x ١١"}} {
		got, err := c.Texts.Render(tc.lang, "topic.done", map[string]string{"town": "x"}, tc.n)
		if err != nil || got != tc.want {
			t.Errorf("%s %d: %q, %v; want %q", tc.lang, tc.n, got, err, tc.want)
		}
	}
	// Keywords fold case, diacritics and script.
	for _, w := range []string{"pomoc", "POMOĆ", "помоћ", "Police", "شرطة"} {
		if k, ok := c.MatchEmergency(fold(w), true); !ok || k.Flow != "sos" {
			t.Errorf("%q: not an emergency word", w)
		}
	}
	if k, ok := c.MatchKeyword(fold("which city is it")); !ok || k.Flow != "topic" {
		t.Errorf("phrase keyword not found")
	}
}

func TestMissingTemplateVariableFailsInsteadOfNoValue(t *testing.T) {
	f0, l0 := base()
	c, _ := loadFS(t, f0, l0)
	if _, err := c.Texts.Render("en", "topic.done", map[string]string{}, 1); err == nil {
		t.Fatal("rendering without the variable should fail, not print <no value>")
	}
}

// TestCountBesideOtherValues: a counting text knows {{.Count}} also when
// other values are given (the engine always gives {{.org}}).
func TestCountBesideOtherValues(t *testing.T) {
	f0, l0 := base()
	l0["active.en.yaml"].Data = []byte(strings.Replace(string(l0["active.en.yaml"].Data), `other: "{{.town}} many"`, `other: "{{.town}} {{.Count}} many"`, 1))
	c, diags := loadFS(t, f0, l0)
	if c == nil {
		t.Fatal(joinDiags(diags))
	}
	got, err := c.Texts.Render("en", "topic.done", map[string]string{"town": "Niš", "org": "X"}, 3)
	if err != nil || got != "Niš 3 many" {
		t.Fatalf("Render = %q, %v", got, err)
	}
}

func TestProblemsArePositioned(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(f, l fstest.MapFS)
		where  string // file:line:col prefix
		says   string
		isWarn bool
	}{
		{"yaml syntax", func(f, l fstest.MapFS) {
			f["main.yaml"] = &fstest.MapFile{Data: []byte("flow: main\nsteps:\n  menu:\n   say: [x\n")}
		},
			"flows/main.yaml:", "YAML cannot be read", false},
		{"unknown field with suggestion", func(f, l fstest.MapFS) { replace(f, "main.yaml", "    say: main.menu", "    sya: main.menu") },
			"flows/main.yaml:5:5", `did you mean "say"`, false},
		{"missing step", func(f, l fstest.MapFS) { replace(f, "main.yaml", "go: topic/ask", "go: topic/aks") },
			"flows/main.yaml:8:36", `flow "topic" has no step "aks" — did you mean "ask"?`, false},
		{"missing flow", func(f, l fstest.MapFS) { replace(f, "main.yaml", "go: sos }", "go: nosuch }") },
			"flows/main.yaml:7:36", "neither a step of this flow nor a flow", false},
		{"missing text everywhere", func(f, l fstest.MapFS) { replace(f, "sos.yaml", "say: sos.numbers", "say: sos.nmbers") },
			"flows/sos.yaml:7:10", `no text "sos.nmbers" in any language`, false},
		{"missing text in one language", func(f, l fstest.MapFS) { replace(l, "active.ar.yaml", "  ask: المدينة؟\n  done", "  done") },
			"locales/active.ar.yaml:1:1", `text "topic.ask" is missing in ar`, false},
		{"unreachable step", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "      - { label: main.btn.menu, action: menu }", "      - { label: main.btn.menu, action: menu }\n  lost:\n    say: sos.numbers\n    buttons:\n      - { label: main.btn.menu, action: menu }")
		}, "flows/sos.yaml:10:3", "can never be reached", false},
		{"plural forms", func(f, l fstest.MapFS) { replace(l, "active.ar.yaml", "    two: \"مدينة {{.town}} ٢\"\n", "") },
			"locales/active.ar.yaml:16:3", "add: two", false},
		{"unset variable", func(f, l fstest.MapFS) { replace(l, "active.en.yaml", "{{.town}} one", "{{.twon}} one") },
			"locales/active.en.yaml:16:3", `uses {{.twon}}, but no step saves "twon"`, false},
		{"rtl start", func(f, l fstest.MapFS) { replace(l, "active.ar.yaml", "menu: اختر", "menu: OK اختر") },
			"locales/active.ar.yaml:3:9", "must start with an Arabic-script letter", false},
		{"rtl bare number", func(f, l fstest.MapFS) {
			replace(l, "active.ar.yaml", "ask: المدينة؟", "ask: المدينة؟ 192")
		},
			"locales/active.ar.yaml:6:10", "not wrapped in direction marks", true},
		{"keyword claimed twice", func(f, l fstest.MapFS) { replace(l, "active.en.yaml", "town, city", "town, police") },
			"locales/active.en.yaml:14:13", `keyword "police"`, false},
		{"dead end", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "    buttons:\n      - { label: main.btn.menu, action: menu }\n", "")
		}, "flows/sos.yaml:6:3", "dead end", false},
		{"loop without waiting", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "      - { label: main.btn.menu, action: menu }", "      - { label: main.btn.menu, go: a }\n  a:\n    go: b\n  b:\n    go: a")
		}, "flows/sos.yaml:", "loop of steps that never wait", false},
		{"too many buttons", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "      - { label: main.btn.menu, action: menu }", strings.Repeat("      - { label: main.btn.menu, action: menu }\n", 101))
		}, "flows/sos.yaml:6:3", "101 buttons", false},
		{"question without way back", func(f, l fstest.MapFS) {
			replace(f, "topic.yaml", "    buttons:\n      - { label: main.btn.menu, action: menu }\n    next: done", "    next: done")
		}, "flows/topic.yaml:4:3", "no button to go back", false},
		{"binary garbage", func(f, l fstest.MapFS) { l["active.ar.yaml"] = &fstest.MapFile{Data: []byte("\x00\xff\xfe garbage")} },
			"locales/active.ar.yaml:1:1", "not plain text", false},
		{"huge file", func(f, l fstest.MapFS) {
			l["active.ar.yaml"] = &fstest.MapFile{Data: []byte("a: " + strings.Repeat("x", 10<<20))}
		}, "locales/active.ar.yaml:1:1", "must be under", false},
		{"deep nesting", func(f, l fstest.MapFS) {
			l["active.ar.yaml"] = &fstest.MapFile{Data: []byte(strings.Repeat("[", 100) + strings.Repeat("]", 100))}
		}, "locales/active.ar.yaml:", "nested more than", false},
		{"two emergency flows", func(f, l fstest.MapFS) {
			replace(f, "topic.yaml", "keywords: topic.keywords", "keywords: topic.keywords\nemergency: true")
		},
			"flows/", "only one flow can be the emergency flow", false},
		{"bad link", func(f, l fstest.MapFS) { replace(f, "main.yaml", "https://example.org", "http://example.org") },
			"flows/main.yaml:9:38", "must start with https://", false},
		{"duplicate step", func(f, l fstest.MapFS) {
			replace(f, "sos.yaml", "steps:\n", "steps:\n  numbers:\n    say: sos.numbers\n    next: numbers\n")
		}, "flows/sos.yaml:", "defined twice", false},
		{"nearby step that lists nothing", func(f, l fstest.MapFS) {
			replace(f, "main.yaml", "      - { label: main.btn.site, url: \"https://example.org\" }", "      - { label: main.btn.site, url: \"https://example.org\" }\n  nearby:\n    say: main.menu\n    buttons:\n      - { label: main.btn.menu, action: menu }")
		}, "flows/main.yaml:10:3", `what a location shared anywhere opens, so it must list the nearest places`, false},
		{"unknown action", func(f, l fstest.MapFS) { replace(f, "sos.yaml", "action: menu", "action: exitt") },
			"flows/sos.yaml:9:41", "actions: menu, language, help, delete, exit", false},
		{"untranslated", func(f, l fstest.MapFS) {
			replace(l, "active.sr-Cyrl.yaml", "sos: Помоћ", "sos: Help me")
			replace(l, "active.en.yaml", "sos: Help", "sos: Help me")
		},
			"locales/active.sr-Cyrl.yaml:5:10", "same as in English", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, l := base()
			tc.edit(f, l)
			c, diags := loadFS(t, f, l)
			found := false
			for _, d := range diags {
				if strings.HasPrefix(d.String(), tc.where) && strings.Contains(d.Msg, tc.says) && (d.Severity == Warning) == tc.isWarn {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %q at %s, got:\n%s", tc.says, tc.where, joinDiags(diags))
			}
			if !tc.isWarn && c != nil {
				t.Fatal("content with an error was returned")
			}
		})
	}
}

func replace(fs fstest.MapFS, name, old, new string) {
	s := string(fs[name].Data)
	if !strings.Contains(s, old) {
		panic("test fixture: " + name + " has no " + old)
	}
	fs[name] = &fstest.MapFile{Data: []byte(strings.Replace(s, old, new, 1))}
}

func joinDiags(ds Diags) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

// One typo gives one error: a rejected step keeps its name, so nothing that
// leads to it, follows from it or uses its texts is reported as well.
func TestOneTypoOneError(t *testing.T) {
	cases := []struct {
		name string
		edit func(f, l fstest.MapFS)
		says string
	}{
		{"misspelt say", func(f, l fstest.MapFS) { replace(f, "main.yaml", "    say: main.menu", "    sya: main.menu") }, `no field "sya"`},
		{"misspelt buttons", func(f, l fstest.MapFS) { replace(f, "main.yaml", "    buttons:", "    buttns:") }, `no field "buttns"`},
		{"misspelt next", func(f, l fstest.MapFS) { replace(f, "topic.yaml", "    next: done", "    nxet: done") }, `no field "nxet"`},
		{"misspelt ask", func(f, l fstest.MapFS) { replace(f, "topic.yaml", "    ask: topic.ask", "    aks: topic.ask") }, `no field "aks"`},
		{"misspelt button field", func(f, l fstest.MapFS) {
			replace(f, "main.yaml", "label: main.btn.ask, go:", "label: main.btn.ask, og:")
		}, `no field "og"`},
		{"step that is not a group", func(f, l fstest.MapFS) {
			replace(f, "topic.yaml", "  done:\n    say: topic.done\n    count: town\n    end: true\n", "  done: topic.done\n")
		}, "should be a list of"},
		{"misspelt flow field", func(f, l fstest.MapFS) {
			replace(f, "topic.yaml", "keywords: topic.keywords", "keywrods: topic.keywords")
		}, `no field "keywrods"`},
		{"flow file without a name", func(f, l fstest.MapFS) { replace(f, "sos.yaml", "flow: sos\n", "") }, `must start with "flow: <name>"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, l := base()
			tc.edit(f, l)
			_, diags := loadFS(t, f, l)
			if len(diags) != 1 || !strings.Contains(diags[0].Msg, tc.says) {
				t.Fatalf("want exactly one diagnostic saying %q, got:\n%s", tc.says, joinDiags(diags))
			}
		})
	}
}
