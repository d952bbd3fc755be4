package bot

import (
	"encoding/json"
	"strings"
	"testing"

	"putokaz/internal/engine"
)

// The exact reply_markup JSON, field by field as the Bot API documents it:
// InlineKeyboardMarkup{inline_keyboard: Array of Array of InlineKeyboardButton},
// InlineKeyboardButton{text, and exactly one optional field such as
// callback_data (1-64 bytes) or url}; ReplyKeyboardMarkup{keyboard,
// resize_keyboard, one_time_keyboard} with KeyboardButton{text,
// request_location}; ReplyKeyboardRemove{remove_keyboard: true}. No empty
// copy_text (the library's InlineKeyboardButton would send one).
func TestRenderExactJSON(t *testing.T) {
	ops, dropped := render(42, 0, []engine.Message{{
		Text: "<b>Pomoć</b>", Lang: "sr-Latn",
		Buttons: []engine.Button{
			{Label: "Povratak kući i reintegracija", Data: "m:1:0"},
			{Label: "Nazad", Data: "m:1:1"},
			{Label: "Početak", Data: "m:1:2"},
			{Label: "Karta", URL: "https://maps.example.org/?q=44.8,20.4"},
		},
	}}, false)
	if dropped != 0 || len(ops) != 1 {
		t.Fatalf("ops = %+v, dropped %d", ops, dropped)
	}
	got, _ := json.Marshal(ops[0].Params)
	want := `{"chat_id":42,"text":"\u003cb\u003ePomoć\u003c/b\u003e","parse_mode":"HTML","link_preview_options":{"is_disabled":true},` +
		`"reply_markup":{"inline_keyboard":[[{"text":"Povratak kući i reintegracija","callback_data":"m:1:0"}],` +
		`[{"text":"Nazad","callback_data":"m:1:1"},{"text":"Početak","callback_data":"m:1:2"}],` +
		`[{"text":"Karta","url":"https://maps.example.org/?q=44.8,20.4"}]]}}`
	if string(got) != want {
		t.Errorf("sendMessage params\n got %s\nwant %s", got, want)
	}
	if strings.Contains(string(got), "copy_text") {
		t.Error("copy_text must not be sent")
	}

	loc, _ := render(42, 0, []engine.Message{{Text: "Gdje ste?", RequestLocation: true, LocationLabel: "📍 Pošalji lokaciju"}}, false)
	got, _ = json.Marshal(loc[0].Params.ReplyMarkup)
	want = `{"keyboard":[[{"text":"📍 Pošalji lokaciju","request_location":true}]],"resize_keyboard":true,"one_time_keyboard":true}`
	if string(got) != want || loc[0].Kbd != kbdShown {
		t.Errorf("location keyboard\n got %s\nwant %s", got, want)
	}
	if string(removeKeyboardJSON) != `{"remove_keyboard":true}` {
		t.Errorf("remove = %s", removeKeyboardJSON)
	}
}

func TestRenderRTLOneButtonPerRow(t *testing.T) {
	ops, _ := render(1, 0, []engine.Message{{Text: "مرحبا", Lang: "ar",
		Buttons: []engine.Button{{Label: "رجوع", Data: "b"}, {Label: "الرئيسية", Data: "h"}}}}, false)
	var kb inlineKeyboardMarkup
	_ = json.Unmarshal(ops[0].Params.ReplyMarkup, &kb)
	if len(kb.InlineKeyboard) != 2 {
		t.Errorf("rows = %d, want one button per row for RTL", len(kb.InlineKeyboard))
	}
}

func TestRenderDropsInvalidButtons(t *testing.T) {
	long := strings.Repeat("ب", 33) // 66 bytes: over Telegram's 64
	ops, dropped := render(1, 0, []engine.Message{{Text: "x", Buttons: []engine.Button{
		{Label: "ok", Data: strings.Repeat("a", 64)},
		{Label: "too long", Data: long},
		{Label: "js", URL: "javascript:alert(1)"},
		{Label: "  ", Data: "x"},
		{Label: "nothing"},
		{Label: "tg", URL: "tg://resolve?domain=x"},
	}}}, false)
	if dropped != 4 {
		t.Errorf("dropped = %d, want 4", dropped)
	}
	var kb inlineKeyboardMarkup
	_ = json.Unmarshal(ops[0].Params.ReplyMarkup, &kb)
	var labels []string
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			labels = append(labels, b.Text)
		}
	}
	if strings.Join(labels, ",") != "ok,tg" {
		t.Errorf("kept %v", labels)
	}
	// All buttons invalid: the text still goes out, without a keyboard.
	ops, _ = render(1, 0, []engine.Message{{Text: "x", Buttons: []engine.Button{{Label: "bad", Data: long}}}}, false)
	if len(ops) != 1 || ops[0].Params.ReplyMarkup != nil {
		t.Errorf("ops = %+v", ops)
	}
}

func TestRenderLocationWithInlineButtons(t *testing.T) {
	ops, _ := render(9, 0, []engine.Message{{Text: "Share your location or go back.", Lang: "en",
		Buttons:         []engine.Button{{Label: "Back", Data: "b"}},
		RequestLocation: true, LocationLabel: "📍 Send location"}}, false)
	if len(ops) != 2 {
		t.Fatalf("ops = %d, want text+inline then the location request", len(ops))
	}
	if !strings.Contains(string(ops[0].Params.ReplyMarkup), "inline_keyboard") || ops[0].Kbd != kbdNone {
		t.Errorf("first = %s", ops[0].Params.ReplyMarkup)
	}
	if !strings.Contains(string(ops[1].Params.ReplyMarkup), "request_location") || ops[1].Kbd != kbdShown ||
		ops[1].Params.Text != "📍 Send location" {
		t.Errorf("second = %+v", ops[1].Params)
	}
}

func TestRenderRemovesReplyKeyboard(t *testing.T) {
	plain := engine.Message{Text: "Nearest centres: …"}
	menu := engine.Message{Text: "What next?", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}

	// Not showing: nothing removed.
	ops, _ := render(9, 0, []engine.Message{plain}, false)
	if ops[0].Params.ReplyMarkup != nil {
		t.Errorf("removed a keyboard that was not showing")
	}
	// Showing: the first message without inline buttons removes it.
	ops, _ = render(9, 0, []engine.Message{menu, plain, plain}, true)
	if len(ops) != 3 || string(ops[1].Params.ReplyMarkup) != `{"remove_keyboard":true}` || ops[1].Kbd != kbdRemoved ||
		ops[2].Params.ReplyMarkup != nil || !strings.Contains(string(ops[0].Params.ReplyMarkup), "inline") {
		t.Errorf("ops = %+v", ops)
	}
	// Showing, every message has inline buttons: remove on the first, then
	// attach its buttons by editing it.
	ops, _ = render(9, 0, []engine.Message{menu}, true)
	if len(ops) != 2 || string(ops[0].Params.ReplyMarkup) != `{"remove_keyboard":true}` ||
		ops[1].Method != "editMessageReplyMarkup" || !ops[1].EditPrev || ops[1].Fallback != "What next?" ||
		!strings.Contains(string(ops[1].Params.ReplyMarkup), `"callback_data":"h"`) || ops[1].Params.Text != "" {
		t.Errorf("ops = %+v", ops)
	}
	// Showing, but asked again: the new keyboard replaces it, no removal.
	ops, _ = render(9, 0, []engine.Message{plain, {Text: "Where?", RequestLocation: true, LocationLabel: "Send"}}, true)
	if ops[0].Params.ReplyMarkup != nil || ops[1].Kbd != kbdShown {
		t.Errorf("ops = %+v", ops)
	}
}

func TestRenderEmptyText(t *testing.T) {
	ops, _ := render(9, 0, []engine.Message{{Text: "  "}, {Text: "", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}}, false)
	if len(ops) != 1 || ops[0].Params.Text != emptyTextStub {
		t.Errorf("ops = %+v", ops)
	}
}

func TestSplitHTML(t *testing.T) {
	if got := splitHTML("short <b>text</b>", 4096); len(got) != 1 || got[0] != "short <b>text</b>" {
		t.Errorf("short = %q", got)
	}
	// Prefers line breaks.
	text := "aaaa bbbb\ncccc dddd\neeee"
	parts := splitHTML(text, 12)
	if strings.Join(parts, "|") != "aaaa bbbb|cccc dddd|eeee" {
		t.Errorf("parts = %q", parts)
	}
	// A tag open across the split is closed and reopened.
	parts = splitHTML(`<b>one two three</b> <a href="https://x.org/a b">four five</a>`, 8)
	for _, p := range parts {
		if visibleLen(p) > 8 {
			t.Errorf("part %q too long", p)
		}
		if strings.Count(p, "<b>") != strings.Count(p, "</b>") || strings.Count(p, "<a ") != strings.Count(p, "</a>") {
			t.Errorf("unbalanced part %q", p)
		}
	}
	if strings.Join(parts, "|") != `<b>one two</b>|<b>three</b>|<a href="https://x.org/a b">four</a>|<a href="https://x.org/a b">five</a>` {
		t.Errorf("parts = %q", parts)
	}
	// Entities count as one character and are never cut.
	parts = splitHTML(strings.Repeat("&amp;", 10), 4)
	for _, p := range parts {
		if visibleLen(p) > 4 || strings.Count(p, "&") != strings.Count(p, ";") {
			t.Errorf("part %q", p)
		}
	}
	// A word longer than the limit is cut by characters, surrogate pairs intact.
	parts = splitHTML(strings.Repeat("😀", 5), 4)
	if strings.Join(parts, "|") != "😀😀|😀😀|😀" {
		t.Errorf("emoji parts = %q", parts)
	}
	// Real size: 10 000 characters of Cyrillic.
	long := strings.Repeat("Ово је реченица. ", 600)
	parts = splitHTML(long, maxTextLen)
	total := 0
	for _, p := range parts {
		if n := visibleLen(p); n > maxTextLen {
			t.Errorf("part of %d characters", n)
		}
		total += len(p)
	}
	if len(parts) != 3 || total < len(strings.TrimSpace(long))-10 {
		t.Errorf("%d parts, %d bytes of %d", len(parts), total, len(long))
	}
}

func TestVisibleLenAndPlainText(t *testing.T) {
	s := `<b>A &amp; B</b> <a href="https://e.org">😀</a>`
	if n := visibleLen(s); n != 8 {
		t.Errorf("visibleLen = %d, want 8", n)
	}
	if p := plainText(s); p != "A & B 😀" {
		t.Errorf("plainText = %q", p)
	}
	if escapeHTML(`<a> & "q"`) != `&lt;a&gt; &amp; "q"` {
		t.Error("escapeHTML")
	}
}

func TestRenderThread(t *testing.T) {
	ops, _ := render(-1001, 77, []engine.Message{{Text: "case"}}, false)
	if ops[0].Params.MessageThreadID != 77 || ops[0].Params.ChatID != -1001 {
		t.Errorf("params = %+v", ops[0].Params)
	}
}

func TestOpsSurviveJSON(t *testing.T) {
	ops, _ := render(9, 0, []engine.Message{{Text: "x", Buttons: []engine.Button{{Label: "H", Data: "h"}}}}, true)
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	var back []op
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Errorf("round trip changed ops:\n%s\n%s", b, b2)
	}
}
