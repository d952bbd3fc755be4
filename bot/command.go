package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

// maxCommandLen is Telegram's limit on a command name (1–32 of A-Za-z0-9_).
const maxCommandLen = 32

// ParseCommand finds the bot command a message starts with.
//
// Telegram marks commands with "bot_command" entities whose offset and length
// count UTF-16 code units (an emoji before the command counts 2), so they are
// converted here instead of slicing bytes (the library's matcher gets this
// wrong). A command counts only if nothing but spaces, emoji and punctuation
// precede it ("👋 /start" yes, "please /delete" no). Without entities (some
// clients, forwarded texts, tests) a text starting with '/' and a valid name
// is accepted too.
//
// name is lower-case without the slash and without "@BotName"; arg is the rest
// of the command's line, trimmed ("/start PAYLOAD" → "start", "PAYLOAD").
// ok is false when there is no command or it is addressed to another bot
// ("/start@OtherBot"); botUsername may be "" when unknown, then any address
// is accepted.
func ParseCommand(text string, entities []models.MessageEntity, botUsername string) (name, arg string, ok bool) {
	for _, e := range entities {
		if e.Type != models.MessageEntityTypeBotCommand {
			continue
		}
		start, end, valid := utf16Span(text, e.Offset, e.Length)
		if !valid || !onlyDecorationBefore(text[:start]) {
			continue
		}
		return splitCommand(text[start:end], text[end:], botUsername)
	}
	if len(entities) == 0 && strings.HasPrefix(text, "/") {
		end := strings.IndexFunc(text, unicode.IsSpace)
		if end < 0 {
			end = len(text)
		}
		return splitCommand(text[:end], text[end:], botUsername)
	}
	return "", "", false
}

// splitCommand turns "/Start@Bot" plus the text after it into name and arg.
func splitCommand(token, after, botUsername string) (name, arg string, ok bool) {
	token, found := strings.CutPrefix(token, "/")
	if !found {
		return "", "", false
	}
	name, addressee, addressed := strings.Cut(token, "@")
	if addressed && botUsername != "" && !strings.EqualFold(addressee, strings.TrimPrefix(botUsername, "@")) {
		return "", "", false
	}
	if !validCommandName(name) {
		return "", "", false
	}
	line, _, _ := strings.Cut(after, "\n")
	return strings.ToLower(name), strings.TrimSpace(line), true
}

func validCommandName(name string) bool {
	if name == "" || len(name) > maxCommandLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// onlyDecorationBefore reports whether s holds no letters or digits (only
// spaces, emoji, punctuation), so a command after it still starts the message.
func onlyDecorationBefore(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return false
		}
	}
	return true
}

// utf16Span converts an entity's UTF-16 offset and length into byte indexes
// of text. ok is false if the span is out of range or splits a surrogate
// pair (a malformed entity must not panic or cut a character in half).
func utf16Span(text string, offset, length int) (start, end int, ok bool) {
	if offset < 0 || length <= 0 {
		return 0, 0, false
	}
	units := 0
	start, end = -1, -1
	for i, r := range text {
		if units == offset {
			start = i
		}
		if units == offset+length {
			end = i
			break
		}
		if r == utf8.RuneError {
			// Invalid UTF-8 cannot come from Telegram; count it as one unit.
			units++
			continue
		}
		units += utf16Len(r)
	}
	if end < 0 && units == offset+length {
		end = len(text)
	}
	if start < 0 || end < 0 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// utf16Len is the number of UTF-16 code units of r.
func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// utf16Count is the number of UTF-16 code units of s (Telegram's length unit).
func utf16Count(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}
