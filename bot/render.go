package bot

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"putokaz/internal/engine"
)

// Rendering rules (engine.Message → Bot API calls):
//
//   - Text is trusted content in Telegram's HTML subset: sent with
//     parse_mode HTML and link previews off (they cost data on cheap phones and
//     bury the text under a map thumbnail). A text longer than Telegram's 4096
//     characters is split at a line break (else a space) into several messages;
//     tags open at a split are closed and reopened. Buttons go on the last part.
//   - Buttons become an inline keyboard of our own minimal JSON (text plus
//     callback_data or url; the library's InlineKeyboardButton would add an
//     empty copy_text). One button per row, except that two consecutive short
//     labels (≤ shortLabel characters) share a row — not for right-to-left
//     languages, whose readers would take the left one for the second.
//     A button Telegram would reject (callback_data over 64 bytes, a URL that is
//     not http(s)/tg, an empty label) is left out and counted rather than
//     losing the whole message.
//   - RequestLocation becomes a reply keyboard with one request_location
//     button (one_time_keyboard, resize_keyboard). A message has one
//     reply_markup, so when the same message also has inline buttons, the text
//     keeps its inline buttons and the location request follows as a short
//     second message (its text is the button label) carrying the reply
//     keyboard. The inline buttons are never lost.
//   - A reply keyboard stays until removed. The chat remembers that one is
//     showing; the next batch of replies that does not ask for a location
//     again removes it (remove_keyboard) on its first message without inline
//     buttons. If every message of the batch has inline buttons, the first one
//     is sent with remove_keyboard and its inline buttons are attached right
//     after by editMessageReplyMarkup (if Telegram refuses the edit, the text
//     is sent again with its buttons: a duplicate is better than a dead end).
const (
	maxTextLen      = 4096 // characters after entity parsing (UTF-16 units)
	maxCallbackData = 64   // bytes
	shortLabel      = 14   // characters; two such buttons may share a row
	emptyTextStub   = "👇"  // Telegram rejects empty texts; used only if a message has buttons but no text
)

// kbdEffect is what a call does to the chat's reply keyboard.
type kbdEffect int8

const (
	kbdNone    kbdEffect = 0
	kbdShown   kbdEffect = 1
	kbdRemoved kbdEffect = -1
)

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

type inlineKeyboardMarkup struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type keyboardButton struct {
	Text            string `json:"text"`
	RequestLocation bool   `json:"request_location,omitempty"`
}

type replyKeyboardMarkup struct {
	Keyboard        [][]keyboardButton `json:"keyboard"`
	ResizeKeyboard  bool               `json:"resize_keyboard"`
	OneTimeKeyboard bool               `json:"one_time_keyboard"`
}

type replyKeyboardRemove struct {
	RemoveKeyboard bool `json:"remove_keyboard"`
}

type linkPreviewOptions struct {
	IsDisabled bool `json:"is_disabled"`
}

// outParams are the parameters of sendMessage and editMessageReplyMarkup.
type outParams struct {
	ChatID             int64               `json:"chat_id"`
	MessageThreadID    int                 `json:"message_thread_id,omitempty"`
	MessageID          int                 `json:"message_id,omitempty"`
	Text               string              `json:"text,omitempty"`
	ParseMode          string              `json:"parse_mode,omitempty"`
	LinkPreviewOptions *linkPreviewOptions `json:"link_preview_options,omitempty"`
	ReplyMarkup        json.RawMessage     `json:"reply_markup,omitempty"`
}

// op is one Bot API call of a reply. Ops are stored as JSON in Redis when an
// attempt fails half way, so that the retry sends only what is missing.
type op struct {
	Method string    `json:"m"`
	Params outParams `json:"p"`
	// EditPrev: an edit of the message the previous op sent (its message_id
	// is filled in once known).
	EditPrev bool `json:"e,omitempty"`
	// Fallback is the text to send with Params.ReplyMarkup if the edit is
	// refused.
	Fallback string    `json:"f,omitempty"`
	Kbd      kbdEffect `json:"k,omitempty"`
	// Emergency: part of an emergency answer, kept with replies stored for
	// a re-delivery so that they still go first then.
	Emergency bool `json:"u,omitempty"`
}

var (
	removeKeyboardJSON = mustJSON(replyKeyboardRemove{RemoveKeyboard: true})
	noPreview          = &linkPreviewOptions{IsDisabled: true}
)

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// render turns engine messages into the calls that show them in chatID
// (threadID: forum topic, 0 for none). kbdShowing says whether a reply
// keyboard is showing now. dropped counts buttons left out.
func render(chatID int64, threadID int, msgs []engine.Message, kbdShowing bool) (ops []op, dropped int) {
	needRemove := kbdShowing
	for _, m := range msgs {
		if m.RequestLocation {
			needRemove = false // a new reply keyboard replaces the old one
		}
	}
	base := func(text string) outParams {
		return outParams{ChatID: chatID, MessageThreadID: threadID, Text: text, ParseMode: "HTML", LinkPreviewOptions: noPreview}
	}
	for _, m := range msgs {
		inline, d := inlineKeyboard(m.Buttons, m.Lang)
		dropped += d
		text := m.Text
		if strings.TrimSpace(text) == "" {
			if inline == nil && !m.RequestLocation {
				continue // nothing to show; Telegram would reject it
			}
			text = emptyTextStub
		}
		parts := splitHTML(text, maxTextLen)
		for i, part := range parts {
			o := op{Method: "sendMessage", Params: base(part)}
			if i == len(parts)-1 {
				switch {
				case inline != nil:
					o.Params.ReplyMarkup = inline
				case m.RequestLocation:
					o.Params.ReplyMarkup = locationKeyboard(m.LocationLabel)
					o.Kbd = kbdShown
				}
			}
			if needRemove && o.Params.ReplyMarkup == nil {
				o.Params.ReplyMarkup = removeKeyboardJSON
				o.Kbd = kbdRemoved
				needRemove = false
			}
			ops = append(ops, o)
		}
		if m.RequestLocation && inline != nil {
			o := op{Method: "sendMessage", Params: base(locationPrompt(m.LocationLabel)), Kbd: kbdShown}
			o.Params.ReplyMarkup = locationKeyboard(m.LocationLabel)
			ops = append(ops, o)
		}
	}
	if needRemove && len(ops) > 0 {
		// Every message carries inline buttons: send the first with
		// remove_keyboard and attach its buttons by an edit right after.
		first := ops[0]
		edit := op{Method: "editMessageReplyMarkup", EditPrev: true, Fallback: first.Params.Text,
			Params: outParams{ChatID: chatID, ReplyMarkup: first.Params.ReplyMarkup}}
		ops[0].Params.ReplyMarkup = removeKeyboardJSON
		ops[0].Kbd = kbdRemoved
		ops = append(ops[:1], append([]op{edit}, ops[1:]...)...)
	}
	return ops, dropped
}

func locationPrompt(label string) string {
	if strings.TrimSpace(label) == "" {
		return "📍"
	}
	return escapeHTML(label)
}

func locationKeyboard(label string) json.RawMessage {
	if strings.TrimSpace(label) == "" {
		label = "📍"
	}
	return mustJSON(replyKeyboardMarkup{
		Keyboard:        [][]keyboardButton{{{Text: label, RequestLocation: true}}},
		ResizeKeyboard:  true,
		OneTimeKeyboard: true,
	})
}

// inlineKeyboard builds the inline keyboard JSON, or nil if no button is valid.
func inlineKeyboard(buttons []engine.Button, lang string) (json.RawMessage, int) {
	valid := make([]inlineButton, 0, len(buttons))
	dropped := 0
	for _, b := range buttons {
		label := strings.TrimSpace(b.Label)
		switch {
		case label == "":
			dropped++
		case b.Data != "":
			if len(b.Data) > maxCallbackData {
				dropped++
				continue
			}
			valid = append(valid, inlineButton{Text: label, CallbackData: b.Data})
		case b.URL != "":
			if !validButtonURL(b.URL) {
				dropped++
				continue
			}
			valid = append(valid, inlineButton{Text: label, URL: b.URL})
		default:
			dropped++
		}
	}
	if len(valid) == 0 {
		return nil, dropped
	}
	rtl := isRTL(lang)
	rows := make([][]inlineButton, 0, len(valid))
	for i := 0; i < len(valid); i++ {
		// Rows are windows on valid: no copy per row.
		if !rtl && i+1 < len(valid) && isShort(valid[i].Text) && isShort(valid[i+1].Text) {
			rows = append(rows, valid[i:i+2:i+2])
			i++
			continue
		}
		rows = append(rows, valid[i:i+1:i+1])
	}
	return mustJSON(inlineKeyboardMarkup{InlineKeyboard: rows}), dropped
}

func isShort(label string) bool { return utf8.RuneCountInString(label) <= shortLabel }

func validButtonURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "https", "http":
		return u.Host != ""
	case "tg":
		return true
	}
	return false
}

// isRTL reports whether lang (a BCP 47 tag) is written right to left.
func isRTL(lang string) bool {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	switch base {
	case "ar", "fa", "prs", "ps", "ur", "ckb", "he", "yi", "dv", "sd", "ug":
		return true
	}
	return false
}

// escapeHTML escapes what Telegram's HTML parser needs escaped in text that
// did not come from content.
func escapeHTML(s string) string {
	return htmlEscaper.Replace(s)
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// splitHTML splits Telegram HTML into parts of at most limit visible
// characters (UTF-16 units after entity parsing), preferring line breaks, then
// spaces. Tags open at a split are closed at the end of the part and reopened
// at the start of the next, so every part is valid on its own.
func splitHTML(text string, limit int) []string {
	if visibleLen(text) <= limit {
		return []string{text}
	}
	atoms := htmlAtoms(text, limit)
	var parts []string
	var cur []atom
	curLen := 0
	flush := func(n int) {
		// Emit the first n atoms of cur as a part; keep the rest.
		var b strings.Builder
		for _, a := range cur[:n] {
			b.WriteString(a.s)
		}
		parts = append(parts, b.String())
		rest := append([]atom(nil), cur[n:]...)
		cur, curLen = rest, 0
		for _, a := range cur {
			curLen += a.vis
		}
	}
	for _, a := range atoms {
		if curLen+a.vis > limit && len(cur) > 0 {
			// Break at the last line end in the second half of the part, if any.
			n := len(cur)
			seen := 0
			for i, c := range cur {
				seen += c.vis
				if strings.HasSuffix(c.s, "\n") && seen > limit/2 {
					n = i + 1
				}
			}
			flush(n)
			for curLen+a.vis > limit && len(cur) > 0 {
				flush(len(cur))
			}
		}
		cur = append(cur, a)
		curLen += a.vis
	}
	if len(cur) > 0 {
		flush(len(cur))
	}
	return balanceTags(parts)
}

// atom is an unbreakable piece of HTML: a word with its trailing space or line
// break (or one character of an over-long word), with any tags inside it.
type atom struct {
	s   string
	vis int
}

// htmlAtoms cuts text after spaces and line breaks, never inside a tag or an
// entity; words longer than limit are cut into single characters.
func htmlAtoms(text string, limit int) []atom {
	var atoms []atom
	start, vis := 0, 0
	for i := 0; i < len(text); {
		n, v := htmlToken(text[i:])
		i += n
		vis += v
		if c := text[i-1]; v == 1 && (c == ' ' || c == '\n') || i == len(text) {
			atoms = append(atoms, atom{text[start:i], vis})
			start, vis = i, 0
		}
	}
	var out []atom
	for _, a := range atoms {
		if a.vis <= limit {
			out = append(out, a)
			continue
		}
		for j := 0; j < len(a.s); {
			n, v := htmlToken(a.s[j:])
			out = append(out, atom{a.s[j : j+n], v})
			j += n
		}
	}
	return out
}

// htmlToken measures the token at the start of s: a tag (0 visible), an
// entity such as &amp; (1) or one character (its UTF-16 length).
func htmlToken(s string) (n, vis int) {
	switch s[0] {
	case '<':
		if end := strings.IndexByte(s, '>'); end > 0 {
			return end + 1, 0
		}
	case '&':
		if end := strings.IndexByte(s, ';'); end > 1 && end <= 10 {
			return end + 1, 1
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	return size, utf16Len(r)
}

// visibleLen is the length Telegram counts after parsing the HTML.
func visibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		size, v := htmlToken(s[i:])
		i += size
		n += v
	}
	return n
}

// balanceTags closes the tags left open at the end of each part and reopens
// them at the start of the next one; leading line breaks of a part are
// dropped.
func balanceTags(parts []string) []string {
	type open struct{ name, raw string }
	var stack []open
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		var b strings.Builder
		for _, o := range stack {
			b.WriteString(o.raw)
		}
		body := strings.TrimLeft(p, "\n ")
		b.WriteString(strings.TrimRight(body, "\n "))
		for i := 0; i < len(body); {
			n, v := htmlToken(body[i:])
			if v == 0 && n > 1 {
				tag := body[i : i+n]
				name := tagName(tag)
				if strings.HasPrefix(tag, "</") {
					if len(stack) > 0 && stack[len(stack)-1].name == name {
						stack = stack[:len(stack)-1]
					}
				} else {
					stack = append(stack, open{name, tag})
				}
			}
			i += n
		}
		for i := len(stack) - 1; i >= 0; i-- {
			b.WriteString("</" + stack[i].name + ">")
		}
		out = append(out, b.String())
	}
	return out
}

// tagName is the lower-case element name of "<a href=...>" or "</a>".
func tagName(tag string) string {
	t := strings.TrimPrefix(strings.TrimPrefix(tag, "<"), "/")
	t = strings.TrimSuffix(t, ">")
	if i := strings.IndexAny(t, " \t\n/"); i >= 0 {
		t = t[:i]
	}
	return strings.ToLower(t)
}
