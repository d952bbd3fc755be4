package bot

import (
	"testing"

	"github.com/go-telegram/bot/models"
)

func cmdEntity(offset, length int) []models.MessageEntity {
	return []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: offset, Length: length}}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		entities []models.MessageEntity
		wantName string
		wantArg  string
		wantOK   bool
	}{
		{"plain", "/start", cmdEntity(0, 6), "start", "", true},
		{"payload", "/start ref_ABC-12", cmdEntity(0, 6), "start", "ref_ABC-12", true},
		{"upper case", "/Menu", cmdEntity(0, 5), "menu", "", true},
		{"own bot", "/start@PutokazBot payload", cmdEntity(0, 17), "start", "payload", true},
		{"own bot any case", "/help@putokazbot", cmdEntity(0, 16), "help", "", true},
		{"other bot", "/start@OtherBot", cmdEntity(0, 15), "", "", false},
		// 👋 is one rune but two UTF-16 units: the entity starts at 3, not 2 or 5.
		{"after emoji", "👋 /start", cmdEntity(3, 6), "start", "", true},
		{"after two emoji and payload", "🇷🇸🙂 /language sr", cmdEntity(7, 9), "language", "sr", true},
		{"emoji with bytes offset is rejected", "👋 /start", cmdEntity(5, 6), "", "", false},
		{"arabic before command", "مرحبا /start", cmdEntity(6, 6), "", "", false},
		{"word before command", "please /delete", cmdEntity(7, 7), "", "", false},
		{"arg stops at newline", "/start abc\nsecond line", cmdEntity(0, 6), "start", "abc", true},
		{"no entities", "/delete now", nil, "delete", "now", true},
		{"no entities other bot", "/delete@Other", nil, "", "", false},
		{"no entities not a name", "/ hello", nil, "", "", false},
		{"no entities cyrillic", "/старт", nil, "", "", false},
		{"not a command", "hello", nil, "", "", false},
		{"entities but none is a command", "/start", []models.MessageEntity{{Type: "bold", Offset: 0, Length: 6}}, "", "", false},
		{"entity out of range", "/start", cmdEntity(0, 60), "", "", false},
		{"negative offset", "/start", cmdEntity(-1, 3), "", "", false},
		{"entity inside surrogate pair", "😀/start", cmdEntity(1, 7), "", "", false},
		{"second entity used if first is mid-text", "/start", append(cmdEntity(3, 2), cmdEntity(0, 6)...), "start", "", true},
		{"too long name", "/abcdefghijabcdefghijabcdefghijabc", nil, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, arg, ok := ParseCommand(tc.text, tc.entities, "PutokazBot")
			if name != tc.wantName || arg != tc.wantArg || ok != tc.wantOK {
				t.Errorf("ParseCommand(%q) = %q, %q, %v; want %q, %q, %v", tc.text, name, arg, ok, tc.wantName, tc.wantArg, tc.wantOK)
			}
		})
	}
}

func TestParseCommandUnknownUsername(t *testing.T) {
	// Before getMe answered we do not know our name: accept any address
	// rather than ignore the person.
	if name, _, ok := ParseCommand("/start@Whatever", cmdEntity(0, 15), ""); !ok || name != "start" {
		t.Errorf("got %q %v", name, ok)
	}
}

func TestUTF16Count(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "👋": 2, "ćš": 2, "🇷🇸": 4, "سلام": 4} {
		if got := utf16Count(s); got != want {
			t.Errorf("utf16Count(%q) = %d, want %d", s, got, want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add("👋 /start@PutokazBot x", 3, 17)
	f.Add("/start", 0, 6)
	f.Add("\xff/a", 1, 2)
	f.Fuzz(func(t *testing.T, text string, off, n int) {
		name, _, ok := ParseCommand(text, cmdEntity(off, n), "PutokazBot")
		if ok && !validCommandName(name) {
			t.Errorf("invalid name %q", name)
		}
	})
}
