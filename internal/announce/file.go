package announce

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"putokaz/internal/content"
	"putokaz/internal/textnorm"
)

// Update is an editor's update file (flows/updates/*.yaml):
//
//	id: shelter-closed-2026-12
//	topics: [shelter]
//	expires: 2026-12-09T18:00:00+01:00
//	text:
//	  en: "…"
//	  sr-Cyrl: "…"
//	  ar: "…"
//	  fa: "…"
//
// sr-Latn may be left out: it is then transliterated from sr-Cyrl, as the
// texts in locales/ are.
type Update struct {
	ID      string
	Topics  []string
	Expires time.Time
	Text    map[string]string // by language tag, as written
	File    string

	pos     map[string]content.Pos // "id", "topics", "expires", "text", "text.<lang>"
	topicAt map[string]content.Pos
}

// MaxLifetime bounds an update's expiry: the recipients of a send (who is
// subscribed to what) are kept until then, and an urgent update that takes
// longer than this is no longer urgent.
const MaxLifetime = 30 * 24 * time.Hour

// idRe is what an update ID may be: it is typed in commands and shown in logs.
var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9\-]{0,63}$`)

type fileYAML struct {
	ID      string            `yaml:"id"`
	Topics  []string          `yaml:"topics"`
	Expires string            `yaml:"expires"`
	Text    map[string]string `yaml:"text"`
}

// Parse reads an update file. Problems are reported as content diagnostics
// (file:line:col); the Update is nil when the file cannot be read at all.
func Parse(file string, data []byte) (*Update, content.Diags) {
	var diags content.Diags
	bad := func(p content.Pos, format string, args ...any) {
		diags = append(diags, content.Diag{Pos: p, Severity: content.Error, Msg: fmt.Sprintf(format, args...)})
	}
	top := content.Pos{File: file, Line: 1, Col: 1}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		bad(top, "the file is not valid YAML: %v", yamlMessage(err))
		return nil, diags
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw fileYAML
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			bad(top, "the file is empty; an update needs id, topics, expires and text")
		} else {
			bad(top, "%s (an update has only id, topics, expires and text)", yamlMessage(err))
		}
		return nil, diags
	}
	u := &Update{ID: raw.ID, Topics: raw.Topics, Text: raw.Text, File: file,
		pos: map[string]content.Pos{}, topicAt: map[string]content.Pos{}}
	if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			u.pos[k.Value] = content.Pos{File: file, Line: k.Line, Col: k.Column}
			switch k.Value {
			case "topics":
				for _, t := range v.Content {
					u.topicAt[t.Value] = content.Pos{File: file, Line: t.Line, Col: t.Column}
				}
			case "text":
				for j := 0; j+1 < len(v.Content); j += 2 {
					u.pos["text."+v.Content[j].Value] = content.Pos{File: file, Line: v.Content[j+1].Line, Col: v.Content[j+1].Column}
				}
			}
		}
	}
	if raw.Expires != "" {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(raw.Expires))
		if err != nil {
			bad(u.at("expires"), "expires %q is not a date and time with its zone, like 2026-12-09T18:00:00+01:00", raw.Expires)
		}
		u.Expires = t
	}
	return u, diags
}

func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// at is where a field of the file is, or its top.
func (u *Update) at(field string) content.Pos {
	if p, ok := u.pos[field]; ok {
		return p
	}
	return content.Pos{File: u.File, Line: 1, Col: 1}
}

// Subscribable reports whether people can subscribe to a flow's updates
// (the flow's "subscribable" field).
func Subscribable(f *content.Flow) bool { return f.Subscribable }

// Check reports every problem of an update against the content: a missing
// or unknown field, a topic that is not a subscribable flow, a missing
// language, a translation whose numbers, phone numbers, links, e-mails,
// /commands or HTML tags differ from its source (the same comparison as the
// texts in locales/), HTML Telegram does not accept, a message longer than
// Telegram allows. An expiry in the past is a warning (the file is harmless
// but cannot be sent); Queue refuses it.
func Check(u *Update, c *content.Content, now time.Time) content.Diags {
	var diags content.Diags
	bad := func(p content.Pos, format string, args ...any) {
		diags = append(diags, content.Diag{Pos: p, Severity: content.Error, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case u.ID == "":
		bad(u.at("id"), "the update has no id: give it a short name like shelter-closed-2026-12 (lowercase letters, digits and dashes)")
	case !idRe.MatchString(u.ID):
		bad(u.at("id"), "id %q may have only lowercase letters, digits and dashes (at most 64), like shelter-closed-2026-12", u.ID)
	}
	if len(u.Topics) == 0 {
		bad(u.at("topics"), "the update has no topics: list the flows it concerns, like topics: [shelter]; their subscribers receive it")
	}
	seen := map[string]bool{}
	for _, t := range u.Topics {
		p, ok := u.topicAt[t]
		if !ok {
			p = u.at("topics")
		}
		f := c.Flows[t]
		switch {
		case seen[t]:
			bad(p, "topic %q is listed twice", t)
		case f == nil:
			bad(p, "there is no flow %q; topics are flow names (the flow: line of a file in flows/), e.g. %s", t, strings.Join(firstFlows(c, 4), ", "))
		case !Subscribable(f):
			bad(p, "flow %q is not subscribable, so nobody can be subscribed to it; mark it subscribable first", t)
		}
		seen[t] = true
	}
	if u.Expires.IsZero() {
		if _, ok := u.pos["expires"]; !ok {
			bad(u.at("expires"), "the update has no expires: the date and time after which it is no longer sent, like 2026-12-09T18:00:00+01:00")
		}
	} else if !u.Expires.After(now) {
		diags = append(diags, content.Diag{Pos: u.at("expires"), Severity: content.Warning,
			Msg: fmt.Sprintf("the update expired on %s; it can no longer be sent", u.Expires.Format(time.RFC3339))})
	} else if u.Expires.Sub(now) > MaxLifetime {
		bad(u.at("expires"), "expires is more than 30 days away; an urgent update must end sooner (who receives it is kept until then)")
	}
	diags = append(diags, u.checkTexts(c)...)
	return diags
}

func firstFlows(c *content.Content, n int) []string {
	names := slices.Clone(c.FlowOrder)
	if len(names) > n {
		names = names[:n]
	}
	return names
}

// checkTexts checks the text of every language and each against its source.
func (u *Update) checkTexts(c *content.Content) content.Diags {
	var diags content.Diags
	bad := func(p content.Pos, format string, args ...any) {
		diags = append(diags, content.Diag{Pos: p, Severity: content.Error, Msg: fmt.Sprintf(format, args...)})
	}
	known := map[string]bool{}
	for _, l := range c.Languages {
		known[l.Tag] = true
	}
	for _, tag := range slices.Sorted(maps.Keys(u.Text)) {
		if !known[tag] {
			bad(u.at("text."+tag), "there is no language %q; the languages are %s", tag, languageList(c))
		}
	}
	for _, l := range c.Languages {
		s, ok := u.Text[l.Tag]
		if !ok {
			if l.From != "" {
				if _, fromOK := u.Text[l.From]; fromOK {
					continue // made from l.From
				}
			}
			bad(u.at("text"), "the text in %s (%s) is missing; every language must have it", l.Tag, l.Name)
			continue
		}
		p := u.at("text." + l.Tag)
		if strings.TrimSpace(s) == "" {
			bad(p, "the text in %s is empty", l.Tag)
			continue
		}
		if strings.Contains(s, "{{") {
			bad(p, "the text in %s has {{ … }}: an update is sent as written, nothing is filled in", l.Tag)
		}
		for _, msg := range htmlProblems(s) {
			bad(p, "the text in %s %s", l.Tag, msg)
		}
		if l.RTL && !textnorm.StartsWithArabicLetter(tagRe.ReplaceAllString(s, "")) {
			bad(p, "the text in %s must start with an Arabic-script letter, or the phone shows it left-to-right; move numbers, links and emoji after the first word", l.Tag)
		}
		if n := textnorm.UTF16Len(u.Render(c, l.Tag)); n > content.MaxTextLen {
			bad(p, "the message in %s, with its first and last line, is %d characters long; Telegram allows %d — shorten it", l.Tag, n, content.MaxTextLen)
		}
		src, srcName := u.source(l)
		if src == "" || src == l.Tag {
			continue
		}
		problems, formatting := content.CompareTranslation(u.Text[src], s, srcName)
		if len(problems)+len(formatting) > 0 {
			bad(p, "the text in %s does not match %s: %s", l.Tag, srcName, strings.Join(append(problems, formatting...), "; "))
		}
	}
	return diags
}

// source is the language a text is compared with: the one it is made from
// (sr-Latn from sr-Cyrl) when that is written too, else English.
func (u *Update) source(l content.Language) (tag, name string) {
	if l.Tag == content.DefaultLanguage {
		return "", ""
	}
	if l.From != "" {
		if _, ok := u.Text[l.From]; ok {
			return l.From, "the " + l.From + " text"
		}
	}
	if _, ok := u.Text[content.DefaultLanguage]; !ok {
		return "", ""
	}
	return content.DefaultLanguage, "English"
}

// TextIn is the update's text in a language of c: as written, or made from
// the language it is transliterated from.
func (u *Update) TextIn(c *content.Content, lang string) string {
	if s, ok := u.Text[lang]; ok {
		return s
	}
	for _, l := range c.Languages {
		if l.Tag == lang && l.From != "" {
			if s, ok := u.Text[l.From]; ok {
				return textnorm.CyrToLat(s)
			}
		}
	}
	return ""
}

// Render is the message a subscriber reading lang receives: a header naming
// the topics, the text, and a footer on how to stop such updates.
func (u *Update) Render(c *content.Content, lang string) string {
	var titles []string
	for _, t := range u.Topics {
		f := c.Flows[t]
		if f == nil || f.Title == "" {
			continue
		}
		if s, err := c.Texts.Render(lang, f.Title, nil, nil); err == nil {
			titles = append(titles, s)
		}
	}
	vars := map[string]string{"topic": strings.Join(titles, ", ")}
	header, _ := c.Texts.Render(lang, content.TextUpdateHeader, vars, nil)
	footer, _ := c.Texts.Render(lang, content.TextUpdateFooter, nil, nil)
	parts := []string{}
	for _, s := range []string{header, strings.TrimSpace(u.TextIn(c, lang)), footer} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

func languageList(c *content.Content) string {
	tags := make([]string, len(c.Languages))
	for i, l := range c.Languages {
		tags[i] = l.Tag
	}
	return strings.Join(tags, ", ")
}
