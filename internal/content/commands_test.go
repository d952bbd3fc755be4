package content

import (
	"regexp"
	"slices"
	"testing"
)

// TestCommands: each command has a name Telegram accepts, once, and a text
// the checker requires in every language.
func TestCommands(t *testing.T) {
	name := regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	seen := map[string]bool{}
	for _, c := range Commands {
		if !name.MatchString(c.Name) || seen[c.Name] {
			t.Errorf("command %q: not a Telegram command name, or listed twice", c.Name)
		}
		seen[c.Name] = true
		if !slices.Contains(SystemTexts, c.Text) {
			t.Errorf("command %s: its text %s is not a system text", c.Name, c.Text)
		}
	}
	if !slices.Contains(SystemTexts, TextTransportError) {
		t.Error("the transport's apology is not a system text")
	}
}
