package app

import (
	"strings"
	"testing"

	"putokaz/internal/content"
)

func builtinHolder(t *testing.T) *content.Holder {
	t.Helper()
	c, diags := content.Load(content.Embedded())
	if c == nil || diags.HasErrors() {
		t.Fatalf("built-in content does not load:\n%v", diags)
	}
	return content.NewHolder(c)
}

// TestCommandMenu: Telegram's menu lists every command of content.Commands,
// in order, described in each menu language.
func TestCommandMenu(t *testing.T) {
	ct := commandTexts{builtinHolder(t)}
	for _, code := range []string{"en", "sr", "ar", "fa"} {
		got := ct.Commands(code)
		if len(got) != len(content.Commands) {
			t.Fatalf("%s: %d commands in the menu, want %d", code, len(got), len(content.Commands))
		}
		for i, c := range got {
			if c.Name != content.Commands[i].Name || strings.TrimSpace(c.Description) == "" {
				t.Errorf("%s: command %d = %+v, want %s with a description", code, i, c, content.Commands[i].Name)
			}
		}
	}
	if en, sr := ct.Commands("en")[0].Description, ct.Commands("sr")[0].Description; en == sr {
		t.Errorf("the Serbian menu is in English: %q", sr)
	}
}

// TestErrorTextByAppLanguage: the transport's apology comes from the
// content, in the language the content's table gives a Telegram app's
// language_code (English for any other).
func TestErrorTextByAppLanguage(t *testing.T) {
	ct := commandTexts{builtinHolder(t)}
	for lang, prefix := range map[string]string{"": "Sorry", "en": "Sorry", "de": "Sorry", "sr": "Извините",
		"sr-Latn": "Izvinite", "hr": "Izvinite", "ar": "عذر", "fa": "متأسف", "fa-AF": "متأسف"} {
		got := ct.ErrorText(lang)
		if !strings.HasPrefix(got, prefix) || !strings.Contains(got, "/menu") {
			t.Errorf("%q → %q", lang, got)
		}
	}
}
