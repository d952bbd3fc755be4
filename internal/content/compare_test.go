package content

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// richBase is base() with a safety-critical text holding everything the
// translation checks compare: lines, bullets, a number, a phone number, an
// e-mail, a link, a /command, tags and a variable. Each translation writes
// them the way real ones do: Arabic-Indic digits inside direction marks, a
// phone number grouped differently, a button without its emoji.
func richBase() (fstest.MapFS, fstest.MapFS) {
	f, l := base()
	l[SafetyFile] = &fstest.MapFile{Data: []byte("# safety-critical texts\n- sos.numbers\n- common.delete.*\n")}
	replace(l, "active.en.yaml", "  numbers: Police 192", `  numbers: |-
    <b>Police</b>: 192
    • SOS line: +381 11 785 0000
    • Write: help@example.org
    • Web: https://example.org/help
    Send /delete to erase it. You are in {{.town}}.`)
	replace(l, "active.sr-Cyrl.yaml", "  numbers: Полиција 192", `  numbers: |-
    <b>Полиција</b>: 192
    • СОС линија: +381 (11) 785-0000
    • Пишите: help@example.org
    • Сајт: https://example.org/help.
    Пошаљите /delete да обришете. Ви сте у месту {{.town}}.`)
	replace(l, "active.ar.yaml", "  numbers: \"الشرطة \u2066192\u2069\"", "  numbers: |-\n"+
		"    <b>الشرطة</b>: \u2066١٩٢\u2069\n"+
		"    • خط النجدة: \u2066+٣٨١ ١١ ٧٨٥ ٠٠٠٠\u2069\n"+
		"    • اكتب: \u2066help@example.org\u2069\n"+
		"    • الموقع: \u2066https://example.org/help\u2069\n"+
		"    أرسل \u2066/delete\u2069 للمسح. أنت في {{.town}}.")
	replace(l, "active.en.yaml", "    sos: Help", "    sos: 🆘 Help 1️⃣")
	return f, l
}

// lineOf is "file:line:" of a text in a fixture file.
func lineOf(l fstest.MapFS, file, key string) string {
	for i, line := range strings.Split(string(l[file].Data), "\n") {
		if strings.HasPrefix(line, key) {
			return fmt.Sprintf("locales/%s:%d:", file, i+1)
		}
	}
	panic("test fixture: no " + key + " in " + file)
}

// translationDiags are the translation checks' diagnostics.
func translationDiags(diags Diags) []Diag {
	var out []Diag
	for _, d := range diags {
		if strings.Contains(d.Msg, "does not match") || strings.Contains(d.Msg, "formatted differently") {
			out = append(out, d)
		}
	}
	return out
}

func TestTranslationsMatchTheirSource(t *testing.T) {
	f, l := richBase()
	if c, diags := loadFS(t, f, l); c == nil || len(translationDiags(diags)) > 0 || diags.HasErrors() {
		t.Fatalf("matching translations are reported:\n%s", joinDiags(diags))
	}
}

func TestTranslationChecks(t *testing.T) {
	const ar, sr = "active.ar.yaml", "active.sr-Cyrl.yaml"
	cases := []struct {
		name   string
		file   string // where the problem is reported
		key    string
		edit   func(l fstest.MapFS)
		says   string
		isWarn bool
	}{
		{"missing bullet", ar, "  numbers:", func(l fstest.MapFS) { replace(l, ar, "    • اكتب", "    اكتب") },
			"it has 2 list bullets, English has 3", false},
		{"missing line", sr, "  numbers:", func(l fstest.MapFS) {
			replace(l, sr, "    • Пишите: help@example.org\n", "")
		}, "it has 4 lines, English has 5", false},
		{"changed phone number", ar, "  numbers:", func(l fstest.MapFS) { replace(l, ar, "٧٨٥ ٠٠٠٠", "٧٨٥ ٠٠٠١") },
			"it lacks the phone number +381117850000; it has the phone number +381117850001, which English does not", false},
		{"changed number", sr, "  numbers:", func(l fstest.MapFS) { replace(l, sr, "</b>: 192", "</b>: 194") },
			"it lacks the number 192; it has the number 194", false},
		{"dropped /delete", ar, "  numbers:", func(l fstest.MapFS) { replace(l, ar, "أرسل \u2066/delete\u2069 للمسح. ", "") },
			"it lacks the command /delete", false},
		{"changed e-mail", sr, "  numbers:", func(l fstest.MapFS) { replace(l, sr, "help@example.org", "info@example.org") },
			"it lacks the e-mail help@example.org", false},
		{"changed link", ar, "  numbers:", func(l fstest.MapFS) { replace(l, ar, "example.org/help", "example.org/ar") },
			"it lacks the link https://example.org/help", false},
		{"extra variable", sr, "  numbers:", func(l fstest.MapFS) { replace(l, sr, "{{.town}}.", "{{.town}} ({{.code}}).") },
			"it has the variable {{.code}}, which English does not", false},
		{"missing <b> is formatting", ar, "  numbers:", func(l fstest.MapFS) { replace(l, ar, "<b>الشرطة</b>", "الشرطة") },
			"formatted differently from English: it has <b>…</b> nowhere, English has it once", true},
		{"not safety-critical: a warning", sr, "  ask:", func(l fstest.MapFS) { replace(l, sr, "  ask: Град?\n  done", "  ask: Град? 1\n  done") },
			"it has the number 1, which English does not", true},
		{"plural form", ar, "  done:", func(l fstest.MapFS) {
			replace(l, ar, "other: \"مدينة {{.town}} كثيرة\"", "other: \"مدينة كثيرة\"")
		},
			"form other: it lacks the variable {{.town}}", true},
		{"sr-Latn against Cyrillic", "active.sr-Latn.yaml", "  numbers:", func(l fstest.MapFS) {
			l["active.sr-Latn.yaml"] = &fstest.MapFile{Data: []byte("sos:\n  numbers: |-\n    <b>Policija</b>: 192\n" +
				"    • SOS linija: +381 11 785 0000\n    • Pišite: help@example.org\n    Pošaljite /delete. Vi ste u mestu {{.town}}.\n")}
		}, `does not match the sr-Cyrl text: it has 4 lines, the sr-Cyrl text has 5`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, l := richBase()
			tc.edit(l)
			c, diags := loadFS(t, f, l)
			where := lineOf(l, tc.file, tc.key)
			found := translationDiags(diags)
			if len(found) != 1 || !strings.HasPrefix(found[0].String(), where) || !strings.Contains(found[0].Msg, tc.says) || (found[0].Severity == Warning) != tc.isWarn {
				t.Fatalf("want one diagnostic %q at %s (warning: %v), got:\n%s", tc.says, where, tc.isWarn, joinDiags(diags))
			}
			if !tc.isWarn && c != nil {
				t.Fatal("content with a wrong safety-critical translation was returned")
			}
			if c, _ := LoadLenient(Source{Flows: f, Locales: l, FlowsDir: "flows", LocalesDir: "locales"}); c == nil {
				t.Fatal("the translators' tools cannot load content whose translation differs")
			}
		})
	}
}

func TestReadFeaturesNormalises(t *testing.T) {
	a := readFeatures("Call ⁦+۳۸۱ ۱۱ ۷۸۵ ۰۰۰۰⁩ or ٠١١/٧٨٥-٠٠٠٠ at 09:00, see www.example.org.", false)
	b := readFeatures("Call +381117850000 or 011 785 0000 at 9:00, see www.example.org", false)
	if d := differences(a, b, "English", compareOptions{}); len(d) > 0 {
		t.Fatalf("same facts written differently: %v", d)
	}
	if d := differences(readFeatures("🆘 Help 1️⃣", true), readFeatures("Помоћ", true), "English", compareOptions{}); len(d) > 0 {
		t.Fatalf("button labels differ only in emoji: %v", d)
	}
	if d := differences(readFeatures("🆘 Help 1️⃣", false), readFeatures("Помоћ", false), "English", compareOptions{}); len(d) == 0 {
		t.Fatal("a keycap number in a text that is not a label went unnoticed")
	}
}
